package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/escalated/escalated/internal/store"
)

// BulkLoadFacts inserts analytics rows straight into the fact tables in one transaction
// (multi-row INSERTs of factBatchRows rows on the writer connection), without the rollups the
// store keeps for each saved row: a benchmark loads a million tickets' facts this way in
// seconds, then computes the rollups once (Tx.RebuildRollups), as a store does for facts that
// predate them. The upserts of the write path would take minutes for as many rows.
func (db *DB) BulkLoadFacts(ctx context.Context, ts []*store.TicketFact, es []*store.EscalationFact) error {
	if db.isClosed() {
		return errClosed()
	}
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	tArgs := make([][]any, len(ts))
	for i, f := range ts {
		tArgs[i] = []any{f.TicketID, ms(f.CreatedAt), f.IssueType, f.Channel, f.CustomerTier, f.AccountID,
			f.IntakeTeam, f.IntakeTier, f.FirstAgent, f.Solved, msPtr(f.SolvedAt), f.Escalations, msPtr(f.FirstEscalatedAt),
			f.Reopens, f.BreachesBeforeEscalation, f.ReopenedAfterT1Solve, f.MaxFrustration, f.PingPongs}
	}
	eArgs := make([][]any, len(es))
	for i, f := range es {
		eArgs[i] = []any{f.EscalationID, f.TicketID, ms(f.CreatedAt), f.FromTeam, f.ToTeam, f.FromTier, f.ToTier,
			f.ByAgent, f.Trigger, f.Reason, f.RuleID, f.IssueType, f.Channel, f.CustomerTier, f.AccountID,
			durMS(f.TimeToEscalate), msPtr(f.AcknowledgedAt), durMSPtr(f.TimeToAck), f.State,
			f.Returned, f.Unnecessary, f.ResolvedAtTarget, f.ReEscalated, durMSPtr(f.ResolvedAfter),
			f.InternalNotes, f.Completeness, f.ContextInsufficient, f.PingPong}
	}
	for _, load := range []struct {
		table, columns string
		rows           [][]any
	}{{"ticket_facts", ticketFactColumns, tArgs}, {"escalation_facts", escalationFactColumns, eArgs}} {
		if err := insertRows(ctx, tx, load.table, load.columns, load.rows); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return db.syncNow()
}

// factBatchRows is how many rows one INSERT carries: 500 rows of 28 columns stay under
// SQLite's 32,766 parameters.
const factBatchRows = 500

// insertRows inserts rows with multi-row INSERTs, the statement for a full batch prepared once.
func insertRows(ctx context.Context, tx *sql.Tx, table, columns string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	width := len(rows[0])
	stmt := func(n int) string {
		row := "(?" + strings.Repeat(", ?", width-1) + ")"
		return "INSERT INTO " + table + " (" + columns + ") VALUES " + row + strings.Repeat(", "+row, n-1)
	}
	full, err := tx.PrepareContext(ctx, stmt(factBatchRows))
	if err != nil {
		return err
	}
	defer full.Close()
	args := make([]any, 0, factBatchRows*width)
	for start := 0; start < len(rows); start += factBatchRows {
		chunk := rows[start:min(start+factBatchRows, len(rows))]
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r...)
		}
		if len(chunk) == factBatchRows {
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, stmt(len(chunk)), args...)
		}
		if err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
	}
	return nil
}

// ScanReport is the baseline reports are compared with: the report by issue type over
// [since, until) computed by scanning the window's fact rows (tickets and escalations per
// issue type, with two aggregates each), the denormalised scan PRODUCT.md measured. It returns
// the number of groups.
func (db *DB) ScanReport(ctx context.Context, since, until time.Time) (int, error) {
	if db.isClosed() {
		return 0, errClosed()
	}
	groups := map[string]bool{}
	for _, q := range []string{
		`SELECT issue_type, COUNT(*), SUM(escalations > 0) FROM ticket_facts WHERE created_at >= ? AND created_at < ? GROUP BY issue_type`,
		`SELECT issue_type, COUNT(*), SUM(returned) FROM escalation_facts WHERE created_at >= ? AND created_at < ? GROUP BY issue_type`,
	} {
		rows, err := db.readers.QueryContext(ctx, q, ms(since), ms(until))
		if err != nil {
			return 0, fmt.Errorf("scan report: %w", err)
		}
		for rows.Next() {
			var key string
			var n, m int64
			if err := rows.Scan(&key, &n, &m); err != nil {
				rows.Close()
				return 0, fmt.Errorf("scan report: %w", err)
			}
			groups[key] = true
		}
		if err := rows.Close(); err != nil {
			return 0, err
		}
		if err := rows.Err(); err != nil {
			return 0, err
		}
	}
	return len(groups), nil
}
