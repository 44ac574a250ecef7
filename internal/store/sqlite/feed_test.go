package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// TestFeedMigrationKeepsHistory builds a database at schema version 5 with events written the
// old way, opens it (which runs migration 0006, the rebuild of the events table), and checks
// that every event survived with its fields, in the order it was written, tagged with its
// ticket's team, and that new events sort after them.
func TestFeedMigrationKeepsHistory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v5.db")
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", dsn(path, "FULL"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`)
	for _, m := range ms[:5] {
		exec(m.SQL)
		exec(`INSERT INTO schema_migrations VALUES (?, 0)`, m.Version)
	}
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	a, b := newTicket(now), newTicket(now.Add(time.Second))
	b.Team = "billing"
	var want []string
	for _, tk := range []*escalated.Ticket{a, b} {
		args, err := ticketArgs(tk)
		if err != nil {
			t.Fatal(err)
		}
		exec(sqlInsertTicket, append([]any{tk.ID}, args...)...)
	}
	// Ids out of time order on purpose: the feed must follow insertion, not id order.
	for i, tk := range []*escalated.Ticket{b, a, b, a} {
		id := fmt.Sprintf("evt_%03d", 9-i)
		exec(`INSERT INTO events (id, ticket_id, seq, type, actor, data, message_id, created_at) VALUES (?, ?, ?, 'test', 'system', '{"n":1}', NULL, ?)`,
			id, tk.ID, i/2+1, now.UnixMilli())
		want = append(want, id)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db := mustOpenPath(t, path)
	if v, err := db.SchemaVersion(ctx); err != nil || v != len(ms) {
		t.Fatalf("schema version %d (%v), want %d", v, err, len(ms))
	}
	tk := newTicket(now.Add(2 * time.Second))
	if err := db.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateTicket(ctx, tk); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, &escalated.Event{ID: "evt_000", TicketID: tk.ID, Seq: 1, Type: "test", Actor: "system", CreatedAt: now, Team: "frontline"})
	}); err != nil {
		t.Fatal(err)
	}
	want = append(want, "evt_000")
	var p store.FeedPage
	if err := db.View(ctx, func(tx store.Tx) error {
		p, err = tx.ReadFeed(ctx, store.FeedFilter{After: store.FeedStart})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range p.Events {
		got = append(got, e.Event.ID)
		wantTeam := "frontline"
		if e.Event.TicketID == b.ID {
			wantTeam = "billing"
		}
		if e.Event.Team != wantTeam || e.Event.FromTeam != "" {
			t.Errorf("event %s has team %q from %q after the migration, want %q", e.Event.ID, e.Event.Team, e.Event.FromTeam, wantTeam)
		}
		if e.Event.ID != "evt_000" && (e.Event.Data["n"] != float64(1) || e.Event.Type != "test") {
			t.Errorf("event %s lost fields in the migration: %+v", e.Event.ID, e.Event)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("feed after the migration = %v, want %v", got, want)
	}
	var hist []*escalated.Event
	if err := db.View(ctx, func(tx store.Tx) error {
		hist, err = tx.ListEvents(ctx, b.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Seq != 1 || hist[1].Seq != 2 {
		t.Errorf("history of %s after the migration: %+v", b.ID, hist)
	}
}

// TestFeedCursorAhead: a cursor beyond the newest event (a restored backup, another database)
// is refused rather than silently waiting for positions that will be reused.
func TestFeedCursorAhead(t *testing.T) {
	db := mustOpen(t)
	ctx := t.Context()
	tk := newTicket(time.Now())
	if err := createTicket(ctx, db, tk); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"1", "5"} {
		err := db.View(ctx, func(tx store.Tx) error {
			_, err := tx.ReadFeed(ctx, store.FeedFilter{After: c})
			return err
		})
		if escalated.ErrorCode(err) != escalated.EINVALID {
			t.Errorf("cursor %s on a database without events: %v, want invalid", c, err)
		}
	}
}
