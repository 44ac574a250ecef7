package sqlite

import (
	"database/sql"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/storetest"
)

// TestRollupMigrationComputesCells builds a database at schema version 10 with analytics facts
// written before the rollups existed, opens it (migration 11, then the store's one-time
// rebuild), and checks that the reports read from the new cells give what the rows say.
func TestRollupMigrationComputesCells(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v10.db")
	migs, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", dsn(path, "FULL"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := raw.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	for _, m := range migs[:10] {
		if _, err := raw.ExecContext(ctx, m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := raw.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, 0)`, m.Version); err != nil {
			t.Fatal(err)
		}
	}
	end := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
	src := store.FactSource{}
	err = storetest.GenerateFacts(end, 3, 3000, 900, 3000, func(ts []*store.TicketFact, es []*store.EscalationFact) error {
		tx, err := raw.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for _, f := range ts {
			if _, err := tx.ExecContext(ctx, sqlSaveTicketFact, f.TicketID, ms(f.CreatedAt), f.IssueType, f.Channel, f.CustomerTier, f.AccountID,
				f.IntakeTeam, f.IntakeTier, f.FirstAgent, f.Solved, msPtr(f.SolvedAt), f.Escalations, msPtr(f.FirstEscalatedAt),
				f.Reopens, f.BreachesBeforeEscalation, f.ReopenedAfterT1Solve, f.MaxFrustration, f.PingPongs); err != nil {
				return err
			}
			src.Tickets = append(src.Tickets, f)
		}
		for _, f := range es {
			if _, err := tx.ExecContext(ctx, sqlSaveEscalationFact, f.EscalationID, f.TicketID, ms(f.CreatedAt), f.FromTeam, f.ToTeam, f.FromTier, f.ToTier,
				f.ByAgent, f.Trigger, f.Reason, f.RuleID, f.IssueType, f.Channel, f.CustomerTier, f.AccountID,
				durMS(f.TimeToEscalate), msPtr(f.AcknowledgedAt), durMSPtr(f.TimeToAck), f.State,
				f.Returned, f.Unnecessary, f.ResolvedAtTarget, f.ReEscalated, durMSPtr(f.ResolvedAfter),
				f.InternalNotes, f.Completeness, f.ContextInsufficient, f.PingPong); err != nil {
				return err
			}
			src.Escalations = append(src.Escalations, f)
		}
		return tx.Commit()
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db := mustOpenPath(t, path)
	q := store.ReportQuery{Since: end.Add(-50 * time.Hour), Until: end, QuickSolve: 10 * time.Minute, HighFrustration: 0.7}
	for _, g := range []string{store.GroupIssueType, store.GroupTeam, store.GroupDay} {
		q.GroupBy = g
		want, err := store.BuildReport(ctx, src, q)
		if err != nil {
			t.Fatal(err)
		}
		var got []store.ReportGroup
		if err := db.View(ctx, func(tx store.Tx) error {
			var err error
			got, err = tx.ReportGroups(ctx, q)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || len(got) != len(want) {
			t.Fatalf("report by %s after the migration: %d groups, want %d", g, len(got), len(want))
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("report by %s after the migration:\n got %+v\nwant %+v", g, got, want)
		}
	}
	// The rebuild ran once, and the state says so.
	var built bool
	if err := db.readers.QueryRowContext(ctx, `SELECT built FROM rollup_state`).Scan(&built); err != nil || !built {
		t.Errorf("rollup state built=%v (%v), want true", built, err)
	}
}
