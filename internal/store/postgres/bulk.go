package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/escalated/escalated/internal/store"
)

// BulkLoadFacts copies analytics rows straight into the fact tables (COPY), without the
// rollups the store keeps for each saved row: a benchmark loads a million tickets' facts this
// way, then runs AnalyzeFacts and computes the rollups once (Tx.RebuildRollups), as a store
// does for facts that predate them. The upserts of the write path would take minutes.
func (db *DB) BulkLoadFacts(ctx context.Context, tfs []*store.TicketFact, efs []*store.EscalationFact) error {
	cols := func(list string) []string {
		out := strings.Split(list, ",")
		for i := range out {
			out[i] = strings.TrimSpace(out[i])
		}
		return out
	}
	tRows := make([][]any, len(tfs))
	for i, f := range tfs {
		tRows[i] = []any{f.TicketID, ts(f.CreatedAt), f.IssueType, f.Channel, f.CustomerTier, f.AccountID,
			f.IntakeTeam, f.IntakeTier, f.FirstAgent, f.Solved, tsPtr(f.SolvedAt), f.Escalations, tsPtr(f.FirstEscalatedAt),
			f.Reopens, f.BreachesBeforeEscalation, f.ReopenedAfterT1Solve, f.MaxFrustration, f.PingPongs}
	}
	eRows := make([][]any, len(efs))
	for i, f := range efs {
		eRows[i] = []any{f.EscalationID, f.TicketID, ts(f.CreatedAt), f.FromTeam, f.ToTeam, f.FromTier, f.ToTier,
			f.ByAgent, f.Trigger, f.Reason, f.RuleID, f.IssueType, f.Channel, f.CustomerTier, f.AccountID,
			durMS(f.TimeToEscalate), tsPtr(f.AcknowledgedAt), durMSPtr(f.TimeToAck), f.State,
			f.Returned, f.Unnecessary, f.ResolvedAtTarget, f.ReEscalated, durMSPtr(f.ResolvedAfter),
			f.InternalNotes, f.Completeness, f.ContextInsufficient, f.PingPong}
	}
	if _, err := db.pool.CopyFrom(ctx, pgx.Identifier{db.schema, "ticket_facts"}, cols(ticketFactColumns), pgx.CopyFromRows(tRows)); err != nil {
		return fmt.Errorf("copy ticket facts: %w", err)
	}
	if _, err := db.pool.CopyFrom(ctx, pgx.Identifier{db.schema, "escalation_facts"}, cols(escalationFactColumns), pgx.CopyFromRows(eRows)); err != nil {
		return fmt.Errorf("copy escalation facts: %w", err)
	}
	return nil
}

// AnalyzeFacts runs VACUUM ANALYZE on the fact tables, which autovacuum would do on its own
// shortly after a bulk load: the planner needs the statistics, and index-only scans need the
// visibility map.
func (db *DB) AnalyzeFacts(ctx context.Context) error {
	if _, err := db.pool.Exec(ctx, "VACUUM ANALYZE ticket_facts, escalation_facts"); err != nil {
		return fmt.Errorf("vacuum analyze: %w", err)
	}
	return nil
}

// ScanReport is the baseline reports are compared with: the report by issue type over
// [since, until) computed by scanning the window's fact rows (the SQLite store's ScanReport).
func (db *DB) ScanReport(ctx context.Context, since, until time.Time) (int, error) {
	groups := map[string]bool{}
	for _, q := range []string{
		`SELECT issue_type, COUNT(*), SUM(CASE WHEN escalations > 0 THEN 1 ELSE 0 END) FROM ticket_facts WHERE created_at >= $1 AND created_at < $2 GROUP BY issue_type`,
		`SELECT issue_type, COUNT(*), SUM(CASE WHEN returned THEN 1 ELSE 0 END) FROM escalation_facts WHERE created_at >= $1 AND created_at < $2 GROUP BY issue_type`,
	} {
		rows, err := db.pool.Query(ctx, q, ts(since), ts(until))
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
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("scan report: %w", err)
		}
	}
	return len(groups), nil
}
