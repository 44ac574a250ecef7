package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/escalated/escalated/internal/store"
)

// Report rollups (see internal/store/rollup.go for what the cells count).

const cellColumns = `scope, dim, day, key, shard, counts`

const cellWidth = 6

// shards is how many shards a cell has (store/rollup.go): SQLite has one writer, so one.
const shards = 1

// cellBatch is how many cells one INSERT of a rebuild writes.
const cellBatch = 400

func cellArgs(c *store.Cell) []any {
	return []any{c.Scope, c.Dim, c.Day, c.Key, c.Shard, c.Encode()}
}

// flushCells applies the caller's rollup deltas, merged, when its function has returned.
func (t *tx) flushCells(ctx context.Context) error {
	deltas := t.cells.Cells()
	if len(deltas) == 0 {
		return nil
	}
	return t.applyCells(ctx, deltas)
}

// The statements applyCells runs once per cell, compiled once per connection (stmtcache.go):
// a change touches a few dozen cells, and compiling a statement of a few hundred parameters
// for every change cost more than running a prepared one per cell.
const (
	sqlGetCell    = `SELECT counts FROM report_cells WHERE scope = ? AND dim = ? AND day = ? AND key = ? AND shard = ?`
	sqlUpsertCell = `INSERT INTO report_cells (` + cellColumns + `) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (scope, dim, day, key, shard) DO UPDATE SET counts = excluded.counts`
	sqlDeleteCell = `DELETE FROM report_cells WHERE scope = ? AND dim = ? AND day = ? AND key = ? AND shard = ?`
)

// applyCells adds deltas (merged and sorted: store.Deltas) to the cells, reading, adding
// and writing back each in the caller's transaction, which on SQLite is the only writer. A cell
// that comes to count nothing is deleted: a report would skip it anyway.
func (t *tx) applyCells(ctx context.Context, deltas []store.Cell) error {
	var counts []byte
	for i := range deltas {
		d := &deltas[i]
		c := store.Cell{CellID: d.CellID}
		err := t.queryRow(ctx, sqlGetCell, d.Scope, d.Dim, d.Day, d.Key, d.Shard).Scan(&counts)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("read report cell: %w", err)
		default:
			if err := c.AddEncoded(counts, store.PartAll); err != nil {
				return fmt.Errorf("report cell %s/%s/%s of day %d: %w", d.Scope, d.Dim, d.Key, d.Day, err)
			}
		}
		c.Add(&d.Counts, store.PartAll)
		if c.Zero() {
			_, err = t.exec(ctx, sqlDeleteCell, d.Scope, d.Dim, d.Day, d.Key, d.Shard)
		} else {
			_, err = t.exec(ctx, sqlUpsertCell, cellArgs(&c)...)
		}
		if err != nil {
			return writeErr(err, "write report cell", "", "")
		}
	}
	return nil
}

// RollupCells calls fn with every cell of scope and dim with day in [from, to).
func (t *tx) RollupCells(ctx context.Context, scope, dim string, from, to int64, fn func(string, int64, []byte) error) error {
	rows, err := t.query(ctx, `SELECT key, day, counts FROM report_cells WHERE scope = ? AND dim = ? AND day >= ? AND day < ?`,
		scope, dim, from, to)
	if err != nil {
		return fmt.Errorf("read report cells: %w", err)
	}
	defer rows.Close()
	var (
		key    string
		day    int64
		counts sql.RawBytes // fn's counts are only valid during the call: no copy
	)
	for rows.Next() {
		if err := rows.Scan(&key, &day, &counts); err != nil {
			return fmt.Errorf("read report cells: %w", err)
		}
		if err := fn(key, day, counts); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read report cells: %w", err)
	}
	return nil
}

// FactsCreated returns the ticket rows created in [from, to) and the escalation rows escalated
// in it, through the created_at indexes.
func (t *tx) FactsCreated(ctx context.Context, from, to time.Time) ([]*store.TicketFact, []*store.EscalationFact, error) {
	ts, err := list(ctx, t, `SELECT `+ticketFactColumns+` FROM ticket_facts WHERE created_at >= ? AND created_at < ?`,
		[]any{ms(from), ms(to)}, scanTicketFact)
	if err != nil {
		return nil, nil, fmt.Errorf("read ticket facts: %w", err)
	}
	es, err := list(ctx, t, `SELECT `+escalationFactColumns+` FROM escalation_facts WHERE created_at >= ? AND created_at < ?`,
		[]any{ms(from), ms(to)}, scanEscalationFact)
	if err != nil {
		return nil, nil, fmt.Errorf("read escalation facts: %w", err)
	}
	return ts, es, nil
}

// FactsCreatedFor is FactsCreated reading only store.EdgeColumns(dim).
func (t *tx) FactsCreatedFor(ctx context.Context, from, to time.Time, dim string) ([]*store.TicketFact, []*store.EscalationFact, error) {
	tcols, ecols := store.EdgeColumns(dim)
	ts, err := list(ctx, t, `SELECT `+strings.Join(tcols, ", ")+` FROM ticket_facts WHERE created_at >= ? AND created_at < ?`,
		[]any{ms(from), ms(to)}, store.ScanColumns(tcols, ticketFactField))
	if err != nil {
		return nil, nil, fmt.Errorf("read ticket facts: %w", err)
	}
	es, err := list(ctx, t, `SELECT `+strings.Join(ecols, ", ")+` FROM escalation_facts WHERE created_at >= ? AND created_at < ?`,
		[]any{ms(from), ms(to)}, store.ScanColumns(ecols, escalationFactField))
	if err != nil {
		return nil, nil, fmt.Errorf("read escalation facts: %w", err)
	}
	return ts, es, nil
}

// ticketFactField and escalationFactField read the time columns as this store keeps them,
// milliseconds (store.ScanColumns; the rest is store.TicketFactField's).
func ticketFactField(f *store.TicketFact, col string) (any, func()) {
	if col == "created_at" {
		var v int64
		return &v, func() { f.CreatedAt = fromMS(v) }
	}
	return store.TicketFactField(f, col), nil
}

func escalationFactField(f *store.EscalationFact, col string) (any, func()) {
	switch col {
	case "created_at":
		var v int64
		return &v, func() { f.CreatedAt = fromMS(v) }
	case "acknowledged_at":
		var v sql.NullInt64
		return &v, func() { f.AcknowledgedAt = fromNullMS(v) }
	case "time_to_escalate":
		var v int64
		return &v, func() { f.TimeToEscalate = time.Duration(v) * time.Millisecond }
	case "time_to_ack":
		var v sql.NullInt64
		return &v, func() { f.TimeToAck = fromNullDur(v) }
	case "resolved_after":
		var v sql.NullInt64
		return &v, func() { f.ResolvedAfter = fromNullDur(v) }
	}
	return store.EscalationFactField(f, col), nil
}

// ReportGroups aggregates the facts of q's window by q.GroupBy from the rollups.
func (t *tx) ReportGroups(ctx context.Context, q store.ReportQuery) ([]store.ReportGroup, error) {
	groups, err := store.BuildReport(ctx, t, q)
	if err != nil {
		return nil, fmt.Errorf("report by %s: %w", q.GroupBy, err)
	}
	return groups, nil
}

// ReportOutcomes counts the window's outcome measures from the rollups.
func (t *tx) ReportOutcomes(ctx context.Context, q store.ReportQuery) (*store.Outcomes, error) {
	o, err := store.BuildOutcomes(ctx, t, q)
	if err != nil {
		return nil, fmt.Errorf("report outcomes: %w", err)
	}
	return o, nil
}

// RebuildRollups recomputes every cell from the fact tables, a day at a time.
func (t *tx) RebuildRollups(ctx context.Context) error {
	if _, err := t.exec(ctx, `DELETE FROM report_cells`); err != nil {
		return writeErr(err, "clear report cells", "", "")
	}
	// What this caller saved before is in the rows the rebuild reads.
	t.cells.Reset()
	var first, last sql.NullInt64
	err := t.queryRow(ctx, `SELECT MIN(d), MAX(d) FROM (
		SELECT MIN(created_at) AS d FROM ticket_facts UNION ALL SELECT MAX(created_at) FROM ticket_facts
		UNION ALL SELECT MIN(created_at) FROM escalation_facts UNION ALL SELECT MAX(created_at) FROM escalation_facts)`).Scan(&first, &last)
	if err != nil {
		return fmt.Errorf("rebuild report cells: %w", err)
	}
	if first.Valid {
		err = store.RebuildCells(ctx, t, store.DayOf(fromMS(first.Int64)), store.DayOf(fromMS(last.Int64)), shards, func(cells []store.Cell) error {
			for start := 0; start < len(cells); start += cellBatch {
				batch := cells[start:min(start+cellBatch, len(cells))]
				args := make([]any, 0, len(batch)*cellWidth)
				for i := range batch {
					args = append(args, cellArgs(&batch[i])...)
				}
				_, err := t.exec(ctx, `INSERT INTO report_cells (`+cellColumns+`) VALUES (?, ?, ?, ?, ?, ?)`+
					strings.Repeat(", (?, ?, ?, ?, ?, ?)", len(batch)-1), args...)
				if err != nil {
					return writeErr(err, "write report cells", "", "")
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	_, err = t.exec(ctx, `UPDATE rollup_state SET built = 1`)
	return writeErr(err, "mark report cells built", "", "")
}
