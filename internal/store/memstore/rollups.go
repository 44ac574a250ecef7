package memstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/escalated/escalated/internal/store"
)

// Report rollups (see internal/store/rollup.go for what the cells count). Table:
//
//	"report_cells"  scope \x00 dim \x00 factKeyInt(day) \x00 key \x00 shard -> *cellRow
//
// A stored cellRow is never changed: applying a delta writes a new one (or deletes the cell
// when it comes to count nothing, as the SQL stores do).

const tblReportCells = "report_cells"

// cellShards is how many shards a cell has: one writer, so one, as on SQLite.
const cellShards = 1

type cellRow struct {
	Key    string
	Day    int64
	Counts store.Counts
}

func cellPrefix(scope, dim string) string { return scope + "\x00" + dim + "\x00" }

func cellKey(id store.CellID) string {
	return cellPrefix(id.Scope, id.Dim) + factKeyInt(id.Day) + "\x00" + id.Key + "\x00" + strconv.Itoa(id.Shard)
}

// applyCells adds deltas to the cells.
func (x *tx) applyCells(deltas []store.Cell) {
	for i := range deltas {
		d := &deltas[i]
		k := cellKey(d.CellID)
		var c store.Counts
		if old, ok := get[*cellRow](x, tblReportCells, k); ok {
			c.Add(&old.Counts, store.PartAll)
		}
		c.Add(&d.Counts, store.PartAll)
		if c.Zero() {
			del[*cellRow](x, tblReportCells, k)
		} else {
			put(x, tblReportCells, k, &cellRow{Key: d.Key, Day: d.Day, Counts: c})
		}
	}
}

// RollupCells calls fn with every cell of scope and dim with day in [from, to).
func (x *tx) RollupCells(ctx context.Context, scope, dim string, from, to int64, fn func(string, int64, []byte) error) error {
	if from >= to {
		return nil
	}
	prefix := cellPrefix(scope, dim)
	var err error
	scan(x, tblReportCells, prefix, prefix+factKeyInt(from), func(_ string, c *cellRow) bool {
		if c.Day >= to {
			return false
		}
		err = fn(c.Key, c.Day, c.Counts.Encode())
		return err == nil
	})
	return err
}

// FactsCreated returns the ticket rows created in [from, to) and the escalation rows escalated
// in it (to the millisecond, as the SQL stores compare them).
func (x *tx) FactsCreated(ctx context.Context, from, to time.Time) ([]*store.TicketFact, []*store.EscalationFact, error) {
	lo, hi := factKeyTime(from), factKeyTime(to)
	var ts []*store.TicketFact
	scan(x, tblTicketFactsCreated, "", lo, func(k string, id string) bool {
		if k >= hi {
			return false
		}
		if f, ok := get[*store.TicketFact](x, tblTicketFacts, id); ok {
			ts = append(ts, clone(f))
		}
		return true
	})
	var es []*store.EscalationFact
	scan(x, tblEscalationFactsCrtd, "", lo, func(k string, id string) bool {
		if k >= hi {
			return false
		}
		if f, ok := get[*store.EscalationFact](x, tblEscalationFacts, id); ok {
			es = append(es, clone(f))
		}
		return true
	})
	return ts, es, nil
}

// ReportGroups aggregates the facts of q's window by q.GroupBy from the rollups.
func (x *tx) ReportGroups(ctx context.Context, q store.ReportQuery) ([]store.ReportGroup, error) {
	groups, err := store.BuildReport(ctx, x, q)
	if err != nil {
		return nil, fmt.Errorf("report by %s: %w", q.GroupBy, err)
	}
	return groups, nil
}

// ReportOutcomes counts the window's outcome measures from the rollups.
func (x *tx) ReportOutcomes(ctx context.Context, q store.ReportQuery) (*store.Outcomes, error) {
	o, err := store.BuildOutcomes(ctx, x, q)
	if err != nil {
		return nil, fmt.Errorf("report outcomes: %w", err)
	}
	return o, nil
}

// RebuildRollups recomputes every cell from the fact rows, a day at a time.
func (x *tx) RebuildRollups(ctx context.Context) error {
	if err := x.writable("rebuild rollups"); err != nil {
		return err
	}
	var keys []string
	scan(x, tblReportCells, "", "", func(k string, _ *cellRow) bool {
		keys = append(keys, k)
		return true
	})
	for _, k := range keys {
		del[*cellRow](x, tblReportCells, k)
	}
	var first, last *time.Time
	see := func(t time.Time) {
		if first == nil || t.Before(*first) {
			first = &t
		}
		if last == nil || t.After(*last) {
			last = &t
		}
	}
	ends := func(index string, created func(id string) (time.Time, bool)) {
		pick := func(_ string, id string) bool {
			if t, ok := created(id); ok {
				see(t)
			}
			return false
		}
		scan(x, index, "", "", pick)
		scanDesc(x, index, "", "", pick)
	}
	ends(tblTicketFactsCreated, func(id string) (time.Time, bool) {
		f, ok := get[*store.TicketFact](x, tblTicketFacts, id)
		if !ok {
			return time.Time{}, false
		}
		return f.CreatedAt, true
	})
	ends(tblEscalationFactsCrtd, func(id string) (time.Time, bool) {
		f, ok := get[*store.EscalationFact](x, tblEscalationFacts, id)
		if !ok {
			return time.Time{}, false
		}
		return f.CreatedAt, true
	})
	if first == nil {
		return nil
	}
	return store.RebuildCells(ctx, x, store.DayOf(*first), store.DayOf(*last), cellShards, func(cells []store.Cell) error {
		x.applyCells(cells)
		return nil
	})
}
