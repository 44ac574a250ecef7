package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/escalated/escalated/internal/store"
)

// TestAccountBlocksMigration: a database from before migration 15 kept its account cells
// daily; opening it with this build recomputes the rollups, so that every account's cells are
// block cells, and a report by account gives what the facts say, also after changes. (Left
// daily, the answers would still add up, a change going to the block beside the day's old
// cell and a block's first day folded into it, but a report would read a row per account and
// day again.)
func TestAccountBlocksMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "blocks.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	var src store.FactSource
	err = db.Update(ctx, func(tx store.Tx) error {
		for i := range 200 {
			f := &store.TicketFact{TicketID: fmt.Sprintf("tkt_%03d", i), CreatedAt: end.Add(-time.Duration(i*7) * time.Hour),
				AccountID: fmt.Sprintf("acct_%d", i%7), IssueType: "login", IntakeTeam: "support", IntakeTier: "t1"}
			src.Tickets = append(src.Tickets, f)
			if err := tx.SaveTicketFact(ctx, f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	// The cells as the earlier version kept them: one a day per account and scope.
	type cell struct {
		scope, key string
		day        int64
	}
	old := map[cell]int64{}
	for _, f := range src.Tickets {
		for _, scope := range []string{"", store.TeamScope(f.IntakeTeam)} {
			old[cell{scope, f.AccountID, store.DayOf(f.CreatedAt)}]++
		}
	}
	if _, err := raw.Exec(`DELETE FROM report_cells WHERE dim = 'account'`); err != nil {
		t.Fatal(err)
	}
	for c, n := range old {
		if _, err := raw.Exec(`INSERT INTO report_cells (scope, dim, day, key, shard, counts) VALUES (?, 'account', ?, ?, 0, ?)`,
			c.scope, c.day, c.key, (&store.Counts{Tickets: n, Opened: n}).Encode()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.Exec(`DELETE FROM schema_migrations WHERE version >= 15`); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	db = mustOpenPath(t, path)
	// Changes after the upgrade add to block cells: every ticket moves to another account.
	err = db.Update(ctx, func(tx store.Tx) error {
		for i, f := range src.Tickets {
			f.AccountID = fmt.Sprintf("acct_%d", (i+3)%7)
			if err := tx.SaveTicketFact(ctx, f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var daily int
	if err := db.readers.QueryRow(`SELECT count(*) FROM report_cells WHERE dim = 'account' AND key <> ''
		AND substr(counts, 1, 2) <> x'ff00'`).Scan(&daily); err != nil || daily != 0 {
		t.Errorf("%d daily account cells left after the upgrade (%v)", daily, err)
	}
	q := store.ReportQuery{GroupBy: store.GroupAccount, Since: end.Add(-40 * 24 * time.Hour), Until: end}
	want, err := store.BuildReport(ctx, src, q)
	if err != nil {
		t.Fatal(err)
	}
	var got []store.ReportGroup
	if err := db.View(ctx, func(tx store.Tx) (err error) { got, err = tx.ReportGroups(ctx, q); return err }); err != nil {
		t.Fatal(err)
	}
	if len(want) != 7 || !reflect.DeepEqual(got, want) {
		t.Errorf("report by account after the upgrade:\n got %+v\nwant %+v", got, want)
	}
}
