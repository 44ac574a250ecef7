package bench

import (
	"context"
	"strings"
	"testing"

	"github.com/escalated/escalated/internal/store"
)

// The recorded catch-up replays what it wrote raw on a copy of the loaded database; the
// replay itself refuses any statement that changes other rows than it did when recorded.
func TestCatchUpRecordsAndReplaysItsRows(t *testing.T) {
	c := RunCatchUp(t, DeadlineOptions{Store: "sqlite", DB: SQLiteDB(t, "catchup.db"), Overdue: 300, Record: true}, true)
	// Each escalating breach writes its events, the escalation, its deadlines, facts and the
	// ticket: well over ten statements.
	if c.Raw <= 0 || c.RawStatements < 10*c.Overdue {
		t.Fatalf("raw replay of the catch-up: %s for %d statements (%d breaches); want a measured replay of at least 10 statements a breach",
			c.Raw, c.RawStatements, c.Overdue)
	}
}

// The ingest baseline replays at least the message, its event, the ticket's update and the
// decision per message.
func TestRawReplayOfIngest(t *testing.T) {
	r := RawReplay(t, DemoPolicyFile(t, t.TempDir()), 300, 4, 100)
	if r.Rate <= 0 || r.PerMessage < 4 {
		t.Fatalf("raw replay of ingest: %.0f messages/s, %.1f statements a message; want a rate and at least 4 statements", r.Rate, r.PerMessage)
	}
}

// The API's raw baseline answers every request it recorded a message for, from concurrent
// clients, with each message's statements changing the rows they changed when recorded (a
// message written out of its ticket's order would fail its version check); one request more
// is refused, not written.
func TestRawServerWritesTheRecordedMessages(t *testing.T) {
	const n = 60
	url, db, stop := RawServer(t, DemoPolicyFile(t, t.TempDir()), n, 4)
	st0 := db.Stats()
	post := newPoster(t, url, "x", []string{"raw"}, messageBody()).post
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- post(i) }()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := db.Stats().Updates - st0.Updates; got != n {
		t.Fatalf("%d writes for %d requests", got, n)
	}
	err := post(n)
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("a request past the recording: %v, want 503", err)
	}
	if got := db.Stats().Failures - st0.Failures; got != 1 {
		t.Fatalf("%d failed writes, want the one past the recording", got)
	}
	// Stopped, it answers nothing and its store is closed (the next phase starts without it).
	stop()
	if err := post(n + 1); err == nil {
		t.Fatal("a request after stop was answered")
	}
	if err := db.Update(context.Background(), func(store.Tx) error { return nil }); err == nil {
		t.Fatal("the raw server's store is still open after stop")
	}
	stop() // and stopping twice is harmless
}
