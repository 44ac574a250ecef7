package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// Report rollups (see internal/store/rollup.go for what the cells count).

const cellColumns = `scope, dim, day, key, shard, counts`

const cellWidth = 6

// shards is how many shards a cell has (store/rollup.go): concurrent transactions add to the
// cells of the day, and each waits for another only when their tickets share a shard.
const shards = 8

// cellBatch is how many cells one statement reads or writes.
const cellBatch = 1000

func cellArgs(c *store.Cell) []any {
	return []any{c.Scope, c.Dim, c.Day, c.Key, c.Shard, c.Encode()}
}

func scanCell(s scanner) (store.Cell, error) {
	var (
		c      store.Cell
		counts []byte
	)
	if err := s.Scan(&c.Scope, &c.Dim, &c.Day, &c.Key, &c.Shard, &counts); err != nil {
		return c, err
	}
	var err error
	if c.Counts, err = store.DecodeCounts(counts); err != nil {
		return c, fmt.Errorf("cell %s/%s/%s of day %d: %w", c.Scope, c.Dim, c.Key, c.Day, err)
	}
	return c, nil
}

// idTypes are the types of a cell id's columns: a VALUES list's first row carries them, since
// a parameter in a VALUES list outside an INSERT would otherwise be text.
var idTypes = []string{"text", "text", "bigint", "text", "integer"}

// rows writes n rows of width placeholders from $first: "($1, $2), ($3, $4)"; with types, the
// first row's are cast to them.
func rows(n, width, first int, types ...string) string {
	var b strings.Builder
	p := first
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range width {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(p))
			if i == 0 && j < len(types) {
				b.WriteString("::" + types[j])
			}
			p++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// flushCells applies the transaction's rollup deltas, merged, just before it commits.
func (t *tx) flushCells(ctx context.Context) error {
	deltas := t.cells.Cells()
	if len(deltas) == 0 {
		return nil
	}
	return t.applyCells(ctx, deltas)
}

// applyCells adds deltas (merged and sorted by cell: store.Deltas) to the cells.
// dialect: concurrent transactions add to the same cells here (SQLite has one writer), so each
// batch first makes sure its rows exist, then locks them in cell order, byte-wise as Go sorts
// them (each transaction applies its deltas once, at commit, so all take cells in that one
// order and two cannot deadlock over them), reads, adds and writes back; the lock is held to
// commit. Shards keep two changes of different tickets mostly apart. A cell that comes to
// count nothing keeps its row with zero counts: deleting it could let a transaction waiting on
// its lock find no row and write over the cell a third one made anew.
func (t *tx) applyCells(ctx context.Context, deltas []store.Cell) error {
	for start := 0; start < len(deltas); start += cellBatch {
		batch := deltas[start:min(start+cellBatch, len(deltas))]
		ids := make([]any, 0, len(batch)*5)
		for i := range batch {
			c := &batch[i]
			ids = append(ids, c.Scope, c.Dim, c.Day, c.Key, c.Shard)
		}
		_, err := t.exec(ctx, `INSERT INTO report_cells (`+cellColumns+`)
			SELECT v.scope, v.dim, v.day, v.key, v.shard, ''::bytea
			FROM (VALUES `+rows(len(batch), 5, 1, idTypes...)+`) AS v (scope, dim, day, key, shard)
			ON CONFLICT DO NOTHING`, ids...)
		if err != nil {
			return writeErr(err, "add report cells", "", "")
		}
		// A join with the list (an IN list of row values would be an OR of conditions, tested
		// on every row of the table).
		existing, err := list(ctx, t, `SELECT c.scope, c.dim, c.day, c.key, c.shard, c.counts FROM report_cells AS c
			JOIN (VALUES `+rows(len(batch), 5, 1, idTypes...)+`) AS v (scope, dim, day, key, shard)
			USING (scope, dim, day, key, shard)
			ORDER BY c.scope COLLATE "C", c.dim COLLATE "C", c.day, c.key COLLATE "C", c.shard FOR UPDATE OF c`, ids, scanCell)
		if err != nil {
			return fmt.Errorf("read report cells: %w", err)
		}
		if len(existing) != len(batch) {
			// Only a rebuild deletes cells, and it locks the tables first.
			return escalated.Errorf(escalated.EINTERNAL, "report cells: %d of %d rows locked", len(existing), len(batch))
		}
		write, zero := store.ApplyDeltas(existing, batch)
		for _, id := range zero {
			write = append(write, store.Cell{CellID: id})
		}
		args := make([]any, 0, len(write)*cellWidth)
		for i := range write {
			args = append(args, cellArgs(&write[i])...)
		}
		_, err = t.exec(ctx, `INSERT INTO report_cells (`+cellColumns+`) VALUES `+rows(len(write), cellWidth, 1)+`
			ON CONFLICT (scope, dim, day, key, shard) DO UPDATE SET counts = excluded.counts`, args...)
		if err != nil {
			return writeErr(err, "write report cells", "", "")
		}
	}
	return nil
}

// RollupCells calls fn with every cell of scope and dim with day in [from, to).
func (t *tx) RollupCells(ctx context.Context, scope, dim string, from, to int64, fn func(string, int64, []byte) error) error {
	rows, err := t.query(ctx, `SELECT key, day, counts FROM report_cells WHERE scope = $1 AND dim = $2 AND day >= $3 AND day < $4`,
		scope, dim, from, to)
	if err != nil {
		return fmt.Errorf("read report cells: %w", err)
	}
	defer rows.Close()
	var (
		key    string
		day    int64
		counts []byte
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
	tf, err := list(ctx, t, `SELECT `+ticketFactColumns+` FROM ticket_facts WHERE created_at >= $1 AND created_at < $2`,
		[]any{ts(from), ts(to)}, scanTicketFact)
	if err != nil {
		return nil, nil, fmt.Errorf("read ticket facts: %w", err)
	}
	ef, err := list(ctx, t, `SELECT `+escalationFactColumns+` FROM escalation_facts WHERE created_at >= $1 AND created_at < $2`,
		[]any{ts(from), ts(to)}, scanEscalationFact)
	if err != nil {
		return nil, nil, fmt.Errorf("read escalation facts: %w", err)
	}
	return tf, ef, nil
}

var _ store.EdgeFactSource = (*tx)(nil)

// FactsCreatedFor is FactsCreated reading only store.EdgeColumns(dim).
func (t *tx) FactsCreatedFor(ctx context.Context, from, to time.Time, dim string) ([]*store.TicketFact, []*store.EscalationFact, error) {
	tcols, ecols := store.EdgeColumns(dim)
	tf, err := list(ctx, t, `SELECT `+strings.Join(tcols, ", ")+` FROM ticket_facts WHERE created_at >= $1 AND created_at < $2`,
		[]any{ts(from), ts(to)}, store.ScanColumns(tcols, ticketFactField))
	if err != nil {
		return nil, nil, fmt.Errorf("read ticket facts: %w", err)
	}
	ef, err := list(ctx, t, `SELECT `+strings.Join(ecols, ", ")+` FROM escalation_facts WHERE created_at >= $1 AND created_at < $2`,
		[]any{ts(from), ts(to)}, store.ScanColumns(ecols, escalationFactField))
	if err != nil {
		return nil, nil, fmt.Errorf("read escalation facts: %w", err)
	}
	return tf, ef, nil
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
	// dialect: the state row locked first, so that two nodes opening the same schema rebuild
	// one after the other, then the tables: writers wait while the cells are recomputed, so
	// that none adds to a cell the rebuild is about to recompute from rows that already hold
	// its change (SQLite has one writer). Readers go on reading the cells as they were.
	if _, err := t.exec(ctx, `SELECT built FROM rollup_state FOR UPDATE`); err != nil {
		return fmt.Errorf("lock rollup state: %w", err)
	}
	if _, err := t.exec(ctx, `LOCK TABLE ticket_facts, escalation_facts, report_cells IN EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("lock analytics tables: %w", err)
	}
	// What this transaction saved before is in the rows the rebuild reads.
	t.cells.Reset()
	if _, err := t.exec(ctx, `DELETE FROM report_cells`); err != nil {
		return writeErr(err, "clear report cells", "", "")
	}
	var first, last *time.Time
	err := t.queryRow(ctx, `SELECT MIN(d), MAX(d) FROM (
		SELECT MIN(created_at) AS d FROM ticket_facts UNION ALL SELECT MAX(created_at) FROM ticket_facts
		UNION ALL SELECT MIN(created_at) FROM escalation_facts UNION ALL SELECT MAX(created_at) FROM escalation_facts) AS ends`).Scan(&first, &last)
	if err != nil {
		return fmt.Errorf("rebuild report cells: %w", err)
	}
	if first != nil {
		err = store.RebuildCells(ctx, t, store.DayOf(*first), store.DayOf(*last), shards, func(cells []store.Cell) error {
			// dialect: COPY (SQLite: multi-row INSERTs); the day's cells are new rows.
			rows := make([][]any, len(cells))
			for i := range cells {
				rows[i] = cellArgs(&cells[i])
			}
			_, err := t.q.CopyFrom(ctx, pgx.Identifier{"report_cells"}, strings.Split(strings.ReplaceAll(cellColumns, " ", ""), ","),
				pgx.CopyFromRows(rows))
			if err := t.note(err); err != nil {
				return writeErr(err, "write report cells", "", "")
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	_, err = t.exec(ctx, `UPDATE rollup_state SET built = true`)
	return writeErr(err, "mark report cells built", "", "")
}

// ensureRollups computes the report rollups of a schema whose facts predate them (migration
// 11), once.
func (db *DB) ensureRollups(ctx context.Context) error {
	var built bool
	if err := db.pool.QueryRow(ctx, `SELECT built FROM rollup_state`).Scan(&built); err != nil {
		return fmt.Errorf("read rollup state: %w", err)
	}
	if built {
		return nil
	}
	start := time.Now()
	errBuilt := errors.New("built by another node")
	err := db.Update(ctx, func(st store.Tx) error {
		t := st.(*tx)
		// Another node may have built them while this one waited for the lock.
		var built bool
		if err := t.queryRow(ctx, `SELECT built FROM rollup_state FOR UPDATE`).Scan(&built); err != nil {
			return err
		}
		if built {
			return errBuilt
		}
		return t.RebuildRollups(ctx)
	})
	if errors.Is(err, errBuilt) {
		return nil
	} else if err != nil {
		return fmt.Errorf("compute report rollups: %w", err)
	}
	db.log.Info("computed report rollups from the existing analytics facts", "schema", db.schema, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
