package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

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

// loadBenchFacts bulk-loads the synthetic history straight into the fact tables: multi-row
// INSERTs of factBatchRows rows, in transactions of 100,000 tickets, on the writer connection.
// The upserts the store runs per change would take minutes for this many rows; loading is not
// what the benchmark measures.
func loadBenchFacts(b testing.TB, db *DB) {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	err := storetest.GenerateFacts(benchFactsEnd, benchFactDays, benchFactTickets, benchFactEscalations, 100_000,
		func(ts []*store.TicketFact, es []*store.EscalationFact) error {
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
			return tx.Commit()
		})
	if err != nil {
		b.Fatalf("load facts: %v", err)
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

// BenchmarkReportGroups times every report over the last 30 days and over all 90 days of a
// history of 1,000,000 tickets and 300,000 escalations, and the outcome measures, each as one
// View with one query, as the service runs them. ms/report is the figure to compare with the
// 100 ms target. Run it with
//
//	go test ./internal/store/sqlite -run '^$' -bench BenchmarkReportGroups -benchtime 20x
func BenchmarkReportGroups(b *testing.B) {
	if testing.Short() {
		b.Skip("loads 1.3 million facts")
	}
	db := mustOpen(b)
	loadBenchFacts(b, db)
	storetest.BenchReports(b, db, benchFactsEnd)
}
