package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/storetest"
)

// Sizes of the benchmark's history: the figures the analytics issue (E7) asks for.
const (
	benchFactTickets     = 1_000_000
	benchFactEscalations = 300_000
	benchFactDays        = 90
)

// benchFactsEnd is where the benchmark's history ends: reports look back from it.
var benchFactsEnd = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

// loadBenchFacts bulk-loads the synthetic history into the fact tables with COPY, then
// VACUUM ANALYZE, which autovacuum would do on its own shortly after such a load: the planner
// needs the statistics, and index-only scans need the visibility map. The upserts the store
// runs per change would take minutes for this many rows; loading is not what the benchmark
// measures.
func loadBenchFacts(b testing.TB, db *DB) {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	cols := func(list string) []string {
		out := strings.Split(list, ",")
		for i := range out {
			out[i] = strings.TrimSpace(out[i])
		}
		return out
	}
	tCols, eCols := cols(ticketFactColumns), cols(escalationFactColumns)
	err := storetest.GenerateFacts(benchFactsEnd, benchFactDays, benchFactTickets, benchFactEscalations, 100_000,
		func(tfs []*store.TicketFact, efs []*store.EscalationFact) error {
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
			if _, err := db.pool.CopyFrom(ctx, pgx.Identifier{db.schema, "ticket_facts"}, tCols, pgx.CopyFromRows(tRows)); err != nil {
				return fmt.Errorf("copy ticket facts: %w", err)
			}
			if _, err := db.pool.CopyFrom(ctx, pgx.Identifier{db.schema, "escalation_facts"}, eCols, pgx.CopyFromRows(eRows)); err != nil {
				return fmt.Errorf("copy escalation facts: %w", err)
			}
			return nil
		})
	if err != nil {
		b.Fatalf("load facts: %v", err)
	}
	if _, err := db.pool.Exec(ctx, "VACUUM ANALYZE ticket_facts, escalation_facts"); err != nil {
		b.Fatalf("vacuum analyze: %v", err)
	}
	b.Logf("loaded %d ticket and %d escalation facts in %s", benchFactTickets, benchFactEscalations, time.Since(start).Round(time.Millisecond))
	// The rows went in around the store, so the rollups are computed from them, as a store
	// does once for a database whose facts predate them.
	start = time.Now()
	if err := db.Update(context.Background(), func(tx store.Tx) error { return tx.RebuildRollups(context.Background()) }); err != nil {
		b.Fatalf("rebuild rollups: %v", err)
	}
	b.Logf("computed the report rollups in %s", time.Since(start).Round(time.Millisecond))
}

// BenchmarkReportGroups times every report over the last 30 days and over all 90 days of a
// history of 1,000,000 tickets and 300,000 escalations, and the outcome measures, each as one
// View with one query, as the service runs them, on a fresh schema. ms/report is the figure to
// compare with the 100 ms target. Run it with
//
//	ESCALATED_TEST_POSTGRES=postgres://... go test ./internal/store/postgres -run '^$' -bench BenchmarkReportGroups -benchtime 20x
func BenchmarkReportGroups(b *testing.B) {
	if testing.Short() {
		b.Skip("loads 1.3 million facts")
	}
	db := mustOpen(b, freshSchema(b))
	loadBenchFacts(b, db)
	storetest.BenchReports(b, db, benchFactsEnd)
}
