package engine

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/pgtest"
	"github.com/escalated/escalated/internal/store/postgres"
	"github.com/escalated/escalated/internal/store/sqlite"
)

// waitFor bounds how long a test waits for the engine to react. It is a guard against a hung
// test, never a way to let time pass: the engine runs on a fake clock wherever timing matters.
const waitFor = 30 * time.Second

// T0 is the fake clock's start in the tests.
var T0 = time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)

// forEachStore runs fn as a parallel subtest against a fresh SQLite store and, when
// ESCALATED_TEST_POSTGRES is set, a fresh PostgreSQL schema.
func forEachStore(t *testing.T, fn func(t *testing.T, open func(t *testing.T) store.Store)) {
	t.Helper()
	kinds := []struct {
		name string
		open func(t *testing.T) store.Store
	}{
		{"sqlite", func(t *testing.T) store.Store {
			return openSQLite(t, filepath.Join(t.TempDir(), "escalated.db"))
		}},
		{"postgres", func(t *testing.T) store.Store { return openPostgres(t, freshSchema(t)) }},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			fn(t, k.open)
		})
	}
}

// openSQLite opens (or creates) the SQLite store at path and closes it when the test ends.
func openSQLite(t testing.TB, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open SQLite store %s: %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openPostgres opens a store (one node) on schema and closes it when the test ends.
func openPostgres(t testing.TB, schema string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), postgresURL(t), postgres.WithSchema(schema))
	if err != nil {
		t.Fatalf("open PostgreSQL store on schema %s: %v", schema, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// createTickets stores n tickets, which deadlines need (they reference their ticket).
func createTickets(t testing.TB, s store.Store, n int) []*escalated.Ticket {
	t.Helper()
	tks := make([]*escalated.Ticket, n)
	for i := range tks {
		tks[i] = &escalated.Ticket{
			ID: escalated.NewID(escalated.PrefixTicket, T0), Subject: "help", Status: escalated.StatusOpen,
			Priority: escalated.PriorityNormal, Channel: escalated.ChannelChat, Team: "frontline",
			Version: 1, CreatedAt: T0, UpdatedAt: T0,
		}
	}
	err := s.Update(context.Background(), func(tx store.Tx) error {
		for _, tk := range tks {
			if err := tx.CreateTicket(context.Background(), tk); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("create tickets: %v", err)
	}
	return tks
}

// deadline returns a breach deadline for a ticket's target.
func deadline(id, ticketID, target string, due time.Time) *store.Deadline {
	return &store.Deadline{ID: id, TicketID: ticketID, Kind: "sla.breached", Target: target,
		DueAt: due, CreatedAt: T0.Add(-time.Hour)}
}

// schedule stores deadlines in one transaction.
func schedule(t testing.TB, s store.Store, ds ...*store.Deadline) {
	t.Helper()
	err := s.Update(context.Background(), func(tx store.Tx) error {
		for _, d := range ds {
			if err := tx.ScheduleDeadline(context.Background(), d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("schedule deadlines: %v", err)
	}
}

// nextDue reads the store's earliest pending due time.
func nextDue(t testing.TB, s store.Store) time.Time {
	t.Helper()
	var next time.Time
	err := s.View(context.Background(), func(tx store.Tx) error {
		var err error
		next, err = tx.NextDue(context.Background())
		return err
	})
	if err != nil {
		t.Fatalf("NextDue: %v", err)
	}
	return next
}

// auditFirer fires a deadline by writing an audit record whose ObjectID is the deadline's id,
// in the claiming transaction: the records are the durable proof of how often each deadline
// fired. fail, when set, decides per deadline whether firing fails (it may panic).
type auditFirer struct {
	mu   sync.Mutex
	seen []string // every FireDeadline call in order, rolled-back ones included
	fail func(d *store.Deadline) error
	// drop, when set, decides per deadline whether it is stale (dropped unfired, no record).
	drop func(d *store.Deadline) bool
}

func (f *auditFirer) FireDeadline(ctx context.Context, tx store.Tx, d *store.Deadline, firedAt time.Time) (bool, error) {
	f.mu.Lock()
	f.seen = append(f.seen, d.ID)
	fail, drop := f.fail, f.drop
	f.mu.Unlock()
	if fail != nil {
		if err := fail(d); err != nil {
			return false, err
		}
	}
	if drop != nil && drop(d) {
		return false, nil
	}
	return true, tx.AppendAudit(ctx, &escalated.AuditRecord{
		ID: escalated.NewID(escalated.PrefixAudit, firedAt), Actor: "system:engine", Action: "deadline.fired",
		ObjectKind: "deadline", ObjectID: d.ID, Details: map[string]any{"kind": d.Kind, "target": d.Target},
		CreatedAt: firedAt,
	})
}

func (f *auditFirer) setFail(fail func(d *store.Deadline) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
}

func (f *auditFirer) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

// firedCounts reads back how many audit records each deadline got.
func firedCounts(t testing.TB, s store.Store) map[string]int {
	t.Helper()
	counts := map[string]int{}
	cursor := ""
	for {
		var page []*escalated.AuditRecord
		err := s.View(context.Background(), func(tx store.Tx) error {
			var err error
			page, cursor, err = tx.ListAudit(context.Background(),
				store.AuditFilter{ObjectKind: "deadline", Limit: store.MaxLimit, Cursor: cursor})
			return err
		})
		if err != nil {
			t.Fatalf("list audit records: %v", err)
		}
		for _, a := range page {
			counts[a.ObjectID]++
		}
		if cursor == "" {
			return counts
		}
	}
}

// wantFiredOnce fails the test unless every id in want fired exactly once and nothing else
// fired.
func wantFiredOnce(t *testing.T, s store.Store, want []string) {
	t.Helper()
	counts := firedCounts(t, s)
	for _, id := range want {
		if n := counts[id]; n != 1 {
			t.Errorf("deadline %s fired %d times, want exactly once", id, n)
		}
	}
	if len(counts) != len(want) {
		t.Errorf("%d distinct deadlines fired, want %d", len(counts), len(want))
	}
}

// newEngine builds an engine and fails the test on error.
func newEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// startRun runs e.Run until the test ends, then checks that it returned nil.
func startRun(t *testing.T, e *Engine) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after its context was cancelled, want nil", err)
			}
		case <-time.After(waitFor):
			t.Errorf("Run did not return within %s of its context being cancelled", waitFor)
		}
	})
}

// fired is one OnFired call.
type fired struct {
	id       string
	lateness time.Duration
	at       time.Time // the engine clock when OnFired ran
}

// observe returns the OnFired hook, sending into a channel the test reads.
func observe(clk clockwork.Clock) (func(*store.Deadline, time.Duration), chan fired) {
	ch := make(chan fired, 4096)
	return func(d *store.Deadline, late time.Duration) { ch <- fired{d.ID, late, clk.Now()} }, ch
}

// expectFired waits for the next OnFired call and checks which deadline fired, with what
// lateness.
func expectFired(t *testing.T, ch <-chan fired, id string, lateness time.Duration) {
	t.Helper()
	select {
	case f := <-ch:
		if f.id != id || f.lateness != lateness {
			t.Fatalf("fired %s with lateness %s, want %s with lateness %s", f.id, f.lateness, id, lateness)
		}
	case <-time.After(waitFor):
		t.Fatalf("deadline %s did not fire", id)
	}
}

// expectNothingFired checks that no OnFired call is waiting.
func expectNothingFired(t *testing.T, ch <-chan fired, when string) {
	t.Helper()
	select {
	case f := <-ch:
		t.Fatalf("%s: deadline %s fired (lateness %s), want nothing yet", when, f.id, f.lateness)
	default:
	}
}

// sleepWatcher records every wake-up time Run arms.
func sleepWatcher(e *Engine) chan time.Time {
	ch := make(chan time.Time, 4096)
	e.sleeping = func(wake time.Time) { ch <- wake }
	return ch
}

// expectSleep waits until Run arms a wake-up at want (zero: none). Arms at other times on the
// way are passed over: on PostgreSQL the announcement of a deadline can reach the engine after
// that deadline fired (NOTIFY is delivered asynchronously), which costs one empty cycle that
// re-arms the previous wake-up. The firing instants themselves are checked by expectFired and
// expectNothingFired.
func expectSleep(t *testing.T, ch <-chan time.Time, want time.Time) {
	t.Helper()
	timeout := time.After(waitFor)
	var seen []string
	for {
		select {
		case got := <-ch:
			if got.Equal(want) {
				return
			}
			seen = append(seen, fmtWake(got))
		case <-timeout:
			t.Fatalf("engine did not go to sleep until %s (armed instead: %v)", fmtWake(want), seen)
		}
	}
}

func fmtWake(t time.Time) string {
	if t.IsZero() {
		return "a change arrives (no timer)"
	}
	return t.Format(time.RFC3339Nano)
}

// blockUntilSleeping waits until the engine's timer is the fake clock's only waiter.
func blockUntilSleeping(t *testing.T, clk *clockwork.FakeClock) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := clk.BlockUntilContext(ctx, 1); err != nil {
		t.Fatalf("engine did not start a timer: %v", err)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testLogger(buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func dlID(i int) string { return fmt.Sprintf("dl_%05d", i) }

// freshSchema is a schema of the test's own on the test server (skipping without one).
func freshSchema(t testing.TB) string {
	return pgtest.FreshSchema(t, "the engine", "escalated_engine_test")
}

// postgresURL is the test server's URL (skipping without one).
func postgresURL(t testing.TB) string { return pgtest.URL(t, "these tests") }
