package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/storetest"
)

// mustOpen opens a store on a fresh file in t.TempDir and closes it when the test ends.
func mustOpen(t testing.TB, opts ...Option) *DB {
	t.Helper()
	return mustOpenPath(t, filepath.Join(t.TempDir(), "escalated.db"), opts...)
}

func mustOpenPath(t testing.TB, path string, opts ...Option) *DB {
	t.Helper()
	db, err := Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return mustOpen(t) })
}

// TestConformanceWithoutBatching runs the suite with group commit off, so that a bug hidden by
// batching (or only caused by it) shows up as a difference between the two runs.
func TestConformanceWithoutBatching(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	storetest.Run(t, func(t *testing.T) store.Store { return mustOpen(t, WithMaxBatch(1)) })
}

func newTicket(now time.Time) *escalated.Ticket {
	return &escalated.Ticket{
		ID: escalated.NewID(escalated.PrefixTicket, now), Subject: "help", Status: escalated.StatusNew,
		Priority: escalated.PriorityNormal, Channel: escalated.ChannelChat, Team: "frontline",
		Version: 1, CreatedAt: now, UpdatedAt: now,
	}
}

func createTicket(ctx context.Context, db *DB, tk *escalated.Ticket) error {
	return db.Update(ctx, func(tx store.Tx) error { return tx.CreateTicket(ctx, tk) })
}

func ticketExists(t *testing.T, db *DB, id string) bool {
	t.Helper()
	err := db.View(t.Context(), func(tx store.Tx) error { _, err := tx.GetTicket(t.Context(), id); return err })
	switch escalated.ErrorCode(err) {
	case "":
		return true
	case escalated.ENOTFOUND:
		return false
	}
	t.Fatalf("GetTicket %s: %v", id, err)
	return false
}

// blockWriter starts an Update whose fn holds the writer until release is closed, and returns
// once that fn is running, so that the test can queue requests behind it deterministically.
func blockWriter(t *testing.T, db *DB) (release func(), done <-chan error) {
	t.Helper()
	running, hold := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	var started sync.Once
	go func() {
		errc <- db.Update(context.Background(), func(tx store.Tx) error {
			// Once: fn runs again if a later fn in its transaction breaks it.
			started.Do(func() { close(running) })
			<-hold
			return nil
		})
	}()
	<-running
	var once sync.Once
	return func() { once.Do(func() { close(hold) }) }, errc
}

// waitQueued waits until n requests wait in the writer's queue.
func waitQueued(t *testing.T, db *DB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(db.queue) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d requests queued", len(db.queue), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestGroupCommitBatches(t *testing.T) {
	db := mustOpen(t)
	ctx := t.Context()
	release, first := blockWriter(t, db)

	const callers = 16
	var wg sync.WaitGroup
	errs := make([]error, callers)
	now := time.Now()
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = createTicket(ctx, db, newTicket(now.Add(time.Duration(i)*time.Millisecond)))
		}()
	}
	waitQueued(t, db, callers)
	before := db.Stats()
	release()
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	s := db.Stats()
	// The 16 that queued while the blocking caller's fn ran join its transaction: one commit.
	if got := s.Commits - before.Commits; got != 1 {
		t.Errorf("1 + 16 queued callers took %d commits, want 1 (stats %+v)", got, s)
	}
	if s.MaxBatch != callers+1 {
		t.Errorf("largest batch %d, want %d", s.MaxBatch, callers+1)
	}
	if s.Updates != callers+1 || s.Commits >= s.Updates {
		t.Errorf("stats %+v: want %d updates in fewer commits", s, callers+1)
	}
}

func TestGroupCommitUnderLoad(t *testing.T) {
	// Without any forcing: 16 goroutines writing as fast as they can must be batched, because
	// each fsync takes longer than queueing the next requests.
	db := mustOpen(t)
	ctx := t.Context()
	var wg sync.WaitGroup
	now := time.Now()
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				if err := createTicket(ctx, db, newTicket(now.Add(time.Duration(g*100+i)*time.Millisecond))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	s := db.Stats()
	t.Logf("stats: %+v", s)
	if s.Updates != 320 || s.Commits >= s.Updates {
		t.Errorf("stats %+v: want 320 updates in fewer commits", s)
	}
}

func TestMaxBatchBoundsTheBatch(t *testing.T) {
	db := mustOpen(t, WithMaxBatch(4))
	ctx := t.Context()
	release, first := blockWriter(t, db)
	var wg sync.WaitGroup
	now := time.Now()
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := createTicket(ctx, db, newTicket(now.Add(time.Duration(i)*time.Millisecond))); err != nil {
				t.Error(err)
			}
		}()
	}
	waitQueued(t, db, 4)
	// The queue holds MaxBatch requests; more callers wait to enqueue.
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := createTicket(ctx, db, newTicket(now.Add(time.Duration(10+i)*time.Millisecond))); err != nil {
				t.Error(err)
			}
		}()
	}
	release()
	wg.Wait()
	<-first
	if s := db.Stats(); s.MaxBatch > 4 || s.Updates != 11 {
		t.Errorf("stats %+v: want 11 updates in batches of at most 4", s)
	}
}

func TestBatchIsolation(t *testing.T) {
	// One batch holds callers that succeed, fail, panic, and break the transaction itself;
	// each gets its own outcome and exactly the successful callers' writes are committed.
	db := mustOpen(t)
	ctx := t.Context()
	release, first := blockWriter(t, db)
	errBoom := errors.New("boom")
	type caller struct {
		name    string
		fn      func(tx store.Tx) error // runs after the caller's ticket was written
		wantErr func(error) bool
		tk      *escalated.Ticket
		err     error
	}
	ok := func(err error) bool { return err == nil }
	callers := []*caller{
		{name: "good before", fn: func(store.Tx) error { return nil }, wantErr: ok},
		{name: "error", fn: func(store.Tx) error { return errBoom }, wantErr: func(err error) bool { return errors.Is(err, errBoom) }},
		{name: "panic", fn: func(store.Tx) error { panic("bug in a service") }, wantErr: func(err error) bool {
			return escalated.ErrorCode(err) == escalated.EINTERNAL && strings.Contains(err.Error(), "bug in a service")
		}},
		{name: "good between", fn: func(store.Tx) error { return nil }, wantErr: ok},
		{name: "breaks the transaction", fn: func(stx store.Tx) error {
			// Nothing a service can reach does this; it stands for an I/O error after which
			// SQLite has rolled the whole transaction back.
			_, err := stx.(*tx).q.ExecContext(ctx, "ROLLBACK")
			return err
		}, wantErr: func(err error) bool { return err != nil }},
		{name: "good after", fn: func(store.Tx) error { return nil }, wantErr: ok},
	}
	var wg sync.WaitGroup
	for i, c := range callers {
		c.tk = newTicket(time.Now().Add(time.Duration(i) * time.Millisecond))
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.err = db.Update(ctx, func(tx store.Tx) error {
				if err := tx.CreateTicket(ctx, c.tk); err != nil {
					return err
				}
				return c.fn(tx)
			})
		}()
		waitQueued(t, db, i+1) // queue in this order
	}
	release()
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for _, c := range callers {
		if !c.wantErr(c.err) {
			t.Errorf("%s: unexpected result %v", c.name, c.err)
		}
		if got, want := ticketExists(t, db, c.tk.ID), c.err == nil; got != want {
			t.Errorf("%s: ticket stored = %v, want %v", c.name, got, want)
		}
	}
	// Three transactions: the bare one the blocker's fn began, undone when the erring caller
	// failed after writing; its rerun (guarded from then on: the panicking caller rolls back to
	// its savepoint), which the breaker broke; and the rerun of the blocker and the good
	// callers before the breaker, which the good caller after it joins.
	if s := db.Stats(); s.Batches != 3 || s.Commits != 1 || s.MaxBatch != 4 || s.Undone != 1 {
		t.Errorf("stats %+v: want the batch undone once, broken once, then joined by the last caller", s)
	}
	// The writer survived all of it.
	if err := createTicket(ctx, db, newTicket(time.Now().Add(time.Second))); err != nil {
		t.Errorf("Update after the batch: %v", err)
	}
}

func TestCancelledWhileQueued(t *testing.T) {
	db := mustOpen(t)
	release, first := blockWriter(t, db)
	defer release() // on an early failure; release is idempotent

	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan struct{}, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- db.Update(ctx, func(tx store.Tx) error { ran <- struct{}{}; return nil })
	}()
	waitQueued(t, db, 1)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled caller still waits while the writer is busy")
	}
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// Let the writer pass the abandoned request.
	if err := createTicket(t.Context(), db, newTicket(time.Now())); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
		t.Error("fn of a caller that gave up was run")
	default:
	}
}

func TestCancelledAfterFnStartedWaitsForCommit(t *testing.T) {
	db := mustOpen(t)
	ctx, cancel := context.WithCancel(t.Context())
	tk := newTicket(time.Now())
	err := db.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateTicket(ctx, tk); err != nil {
			return err
		}
		// The caller gives up while its write is in flight; the statement above already ran
		// and the next one must not be interrupted either.
		cancel()
		return tx.AppendEvent(ctx, &escalated.Event{ID: escalated.NewID(escalated.PrefixEvent, time.Now()),
			TicketID: tk.ID, Seq: 1, Type: escalated.EventTicketCreated, CreatedAt: time.Now()})
	})
	if err != nil {
		t.Fatalf("Update whose context ended after fn started: %v (its writes committed, so it must report success)", err)
	}
	if !ticketExists(t, db, tk.ID) {
		t.Fatal("write missing")
	}
}

func TestCloseDrainsQueuedWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "drain.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	release, first := blockWriter(t, db)
	const queued = 10
	var wg sync.WaitGroup
	tickets := make([]*escalated.Ticket, queued)
	errs := make([]error, queued)
	now := time.Now()
	for i := range tickets {
		tickets[i] = newTicket(now.Add(time.Duration(i) * time.Millisecond))
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = createTicket(context.Background(), db, tickets[i]) }()
	}
	waitQueued(t, db, queued)

	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	// Close must refuse new work at once, while it still drains.
	deadline := time.Now().Add(5 * time.Second)
	for !db.isClosed() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	late := createTicket(context.Background(), db, newTicket(now.Add(time.Hour)))
	if escalated.ErrorCode(late) != escalated.EINTERNAL || !strings.Contains(late.Error(), "store closed") {
		t.Errorf("Update during Close: got %v, want internal \"store closed\"", late)
	}
	release()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("queued write %d: %v", i, err)
		}
	}
	if err := db.View(t.Context(), func(store.Tx) error { return nil }); escalated.ErrorCode(err) != escalated.EINTERNAL {
		t.Errorf("View after Close: got %v, want internal \"store closed\"", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	db = mustOpenPath(t, path)
	for _, tk := range tickets {
		if !ticketExists(t, db, tk.ID) {
			t.Errorf("ticket %s queued before Close is missing after reopen", tk.ID)
		}
	}
}

func TestDataSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reopen.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	tk := newTicket(time.Now())
	tk.Tags = []string{"vip"}
	if err := createTicket(t.Context(), db, tk); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpenPath(t, path)
	err = db.View(t.Context(), func(tx store.Tx) error {
		got, err := tx.GetTicket(t.Context(), tk.ID)
		if err != nil {
			return err
		}
		if got.Subject != tk.Subject || got.Tags[0] != "vip" || !got.CreatedAt.Equal(escalated.Truncate(tk.CreatedAt)) {
			t.Errorf("reopened ticket %+v differs from %+v", got, tk)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "migrate.db")
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		db, err := Open(t.Context(), path)
		if err != nil {
			t.Fatalf("open %d: %v", round, err)
		}
		if err := db.Migrate(t.Context()); err != nil {
			t.Fatalf("explicit Migrate %d: %v", round, err)
		}
		v, err := db.SchemaVersion(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var rows int
		if err := db.readers.QueryRowContext(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if v != len(ms) || rows != len(ms) {
			t.Errorf("open %d: schema version %d with %d rows, want %d", round, v, rows, len(ms))
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "future.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.writer.ExecContext(t.Context(), `INSERT INTO schema_migrations VALUES (999, 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err := Open(t.Context(), path); err == nil {
		db.Close()
		t.Fatal("Open accepted a database migrated by a newer build")
	} else if !strings.Contains(err.Error(), "999") {
		t.Errorf("error %q does not say which version the database is at", err)
	}
}

func TestPragmasOnEveryConnection(t *testing.T) {
	db := mustOpen(t)
	want := map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "5000"}
	pools := []struct {
		name  string
		query func(string) (string, error)
		extra map[string]string
	}{
		{"writer", func(p string) (v string, err error) {
			err = db.writer.QueryRowContext(t.Context(), "PRAGMA "+p).Scan(&v)
			return
		}, map[string]string{
			"query_only": "0",
			// NORMAL: the syncer makes the sync FULL would (syncer.go).
			"synchronous": "1",
			// The savepoints' statement journal in memory, checkpoints every 10,000 pages.
			"temp_store":         "2",
			"wal_autocheckpoint": fmt.Sprint(writerAutoCheckpoint),
		}},
		{"reader", func(p string) (v string, err error) {
			err = db.readers.QueryRowContext(t.Context(), "PRAGMA "+p).Scan(&v)
			return
		}, map[string]string{"query_only": "1", "synchronous": "2"}},
	}
	for _, pool := range pools {
		for p, w := range want {
			got, err := pool.query(p)
			if err != nil {
				t.Fatalf("%s PRAGMA %s: %v", pool.name, p, err)
			}
			if strings.ToLower(got) != w {
				t.Errorf("%s: %s = %s, want %s", pool.name, p, got, w)
			}
		}
		for p, w := range pool.extra {
			if got, err := pool.query(p); err != nil || got != w {
				t.Errorf("%s: %s = %s (%v), want %s", pool.name, p, got, err, w)
			}
		}
	}
}

func TestBackup(t *testing.T) {
	db := mustOpen(t)
	ctx := t.Context()
	var ids []string
	for i := range 20 {
		tk := newTicket(time.Now().Add(time.Duration(i) * time.Millisecond))
		ids = append(ids, tk.ID)
		if err := createTicket(ctx, db, tk); err != nil {
			t.Fatal(err)
		}
	}
	// Writes keep flowing during the backup: it must neither block them nor tear the copy.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := createTicket(ctx, db, newTicket(time.Now().Add(time.Hour+time.Duration(i)*time.Millisecond))); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	dest := filepath.Join(t.TempDir(), "backup.db")
	err := db.Backup(ctx, dest)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if err := db.Backup(ctx, dest); err == nil {
		t.Error("Backup overwrote an existing file")
	}

	copyDB := mustOpenPath(t, dest)
	v, err := copyDB.SchemaVersion(ctx)
	if err != nil || v == 0 {
		t.Errorf("backup schema version %d (%v)", v, err)
	}
	for _, id := range ids {
		if !ticketExists(t, copyDB, id) {
			t.Errorf("ticket %s missing from the backup", id)
		}
	}
}

func TestRawInsertMessages(t *testing.T) {
	db := mustOpen(t)
	ctx := t.Context()
	tk := newTicket(time.Now())
	if err := createTicket(ctx, db, tk); err != nil {
		t.Fatal(err)
	}
	var msgs []*escalated.Message
	for i := range 250 {
		now := time.Now().Add(time.Duration(i) * time.Millisecond)
		msgs = append(msgs, &escalated.Message{ID: escalated.NewID(escalated.PrefixMessage, now), TicketID: tk.ID,
			Seq: int64(i + 2), Author: escalated.Author{Kind: escalated.AuthorCustomer, ID: "c1"}, Body: fmt.Sprint("message ", i), CreatedAt: now})
	}
	if err := db.RawInsertMessages(ctx, msgs, 100); err != nil {
		t.Fatal(err)
	}
	err := db.View(ctx, func(tx store.Tx) error {
		got, err := tx.ListMessages(ctx, tk.ID)
		if err != nil {
			return err
		}
		evs, err := tx.ListEvents(ctx, tk.ID)
		if err != nil {
			return err
		}
		if len(got) != len(msgs) || len(evs) != len(msgs) {
			t.Errorf("%d messages and %d events, want %d each", len(got), len(evs), len(msgs))
		}
		for _, e := range evs {
			if e.Message == nil || e.Message.Seq != e.Seq || e.Actor != "customer:c1" {
				t.Errorf("event %d: message %+v actor %q", e.Seq, e.Message, e.Actor)
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A duplicate rolls back its own batch only.
	err = db.RawInsertMessages(ctx, msgs[:1], 100)
	if escalated.ErrorCode(err) != escalated.ECONFLICT {
		t.Errorf("duplicate raw insert: got %v, want conflict", err)
	}
}

func TestTxUnusableAfterFnReturns(t *testing.T) {
	db := mustOpen(t)
	ctx := t.Context()
	var kept store.Tx
	if err := db.Update(ctx, func(tx store.Tx) error { kept = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	err := kept.CreateTicket(ctx, newTicket(time.Now()))
	if escalated.ErrorCode(err) != escalated.EINTERNAL {
		t.Errorf("write through a Tx kept after fn returned: got %v, want an internal error", err)
	}
	if err := db.View(ctx, func(tx store.Tx) error { kept = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := kept.GetTicket(ctx, "tkt_x"); escalated.ErrorCode(err) != escalated.EINTERNAL {
		t.Errorf("read through a Tx kept after View: got %v, want an internal error", err)
	}
}

func TestViewIsReadOnly(t *testing.T) {
	db := mustOpen(t)
	err := db.View(t.Context(), func(tx store.Tx) error { return tx.CreateTicket(t.Context(), newTicket(time.Now())) })
	if err == nil {
		t.Fatal("a write inside View succeeded")
	}
}

func TestAuditIsAppendOnly(t *testing.T) {
	db := mustOpen(t)
	ctx := t.Context()
	a := &escalated.AuditRecord{ID: escalated.NewID(escalated.PrefixAudit, time.Now()), Actor: "system", Action: "x", CreatedAt: time.Now()}
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.AppendAudit(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{`UPDATE audit SET actor = 'mallory'`, `DELETE FROM audit`} {
		if _, err := db.writer.ExecContext(ctx, stmt); err == nil {
			t.Errorf("%s succeeded on the append-only audit table", stmt)
		}
	}
}

func TestInterpretError(t *testing.T) {
	db := mustOpen(t)
	ctx := t.Context()
	other := errors.New("disk on fire")
	if got := interpretError(other); got != other {
		t.Errorf("a non-SQLite error was changed to %v", got)
	}
	if interpretError(nil) != nil {
		t.Error("nil became an error")
	}
	for _, tc := range []struct {
		name, setup, stmt, code string
	}{
		{"primary key", `CREATE TABLE x (id TEXT PRIMARY KEY)`, `INSERT INTO x VALUES ('a'), ('a')`, escalated.ECONFLICT},
		{"unique", `CREATE TABLE y (id INTEGER PRIMARY KEY, h TEXT UNIQUE)`, `INSERT INTO y (h) VALUES ('a'), ('a')`, escalated.ECONFLICT},
		{"foreign key", `CREATE TABLE z (t TEXT REFERENCES tickets (id))`, `INSERT INTO z VALUES ('tkt_missing')`, escalated.ENOTFOUND},
		{"other", ``, `SELECT * FROM no_such_table`, escalated.EINTERNAL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != "" {
				if _, err := db.writer.ExecContext(ctx, tc.setup); err != nil {
					t.Fatal(err)
				}
			}
			_, err := db.writer.ExecContext(ctx, tc.stmt)
			if err == nil {
				t.Fatal("statement did not fail")
			}
			if got := escalated.ErrorCode(interpretError(err)); got != tc.code {
				t.Errorf("%v interpreted as %s, want %s", err, got, tc.code)
			}
		})
	}
}

func TestListQueriesUseIndexes(t *testing.T) {
	// Every list filter must walk an index in id order: no full scan of the table and no sort.
	db := mustOpen(t)
	ctx := t.Context()
	yes := true
	queries := map[string]func() (string, []any){}
	for name, f := range map[string]store.TicketFilter{
		"tickets":           {},
		"tickets team":      {Team: "a", Cursor: "tkt_z"},
		"tickets tier":      {Tier: "a"},
		"tickets status":    {Status: escalated.StatusOpen},
		"tickets priority":  {Priority: escalated.PriorityHigh},
		"tickets assignee":  {Assignee: "ana"},
		"tickets account":   {AccountID: "acc"},
		"tickets escalated": {Escalated: &yes, Cursor: "tkt_z"},
	} {
		queries[name] = func() (string, []any) { q, a := ticketListQuery(f); return q, append(a, 51) }
	}
	for name, f := range map[string]store.EscalationFilter{
		"escalations":         {},
		"escalations ticket":  {TicketID: "tkt", Cursor: "esc_z"},
		"escalations team":    {Team: "a", Cursor: "esc_z"},
		"escalations to_team": {ToTeam: "a"},
		"escalations state":   {State: escalated.EscalationPending},
	} {
		queries[name] = func() (string, []any) { q, a := escalationListQuery(f, 50); return q, append(a, 51) }
	}
	for name, f := range map[string]store.AuditFilter{
		"audit":             {},
		"audit object":      {ObjectKind: "escalation", ObjectID: "esc_1"},
		"audit object id":   {ObjectID: "esc_1", Cursor: "aud_z"},
		"audit object kind": {ObjectKind: "escalation"},
		"audit action":      {Action: "x"},
	} {
		queries[name] = func() (string, []any) { q, a := auditListQuery(f); return q, append(a, 51) }
	}
	// A ticket's conversation: its messages are found through the events that announce them,
	// on the events' (ticket_id, seq) index, since the messages table has none by ticket.
	queries["messages ticket"] = func() (string, []any) { return sqlListMessages, []any{"tkt"} }
	for name, build := range queries {
		t.Run(name, func(t *testing.T) {
			q, args := build()
			rows, err := db.readers.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			text := strings.Join(plan, "; ")
			unfiltered := name == "tickets" || name == "escalations" || name == "audit"
			for _, d := range plan {
				if strings.Contains(d, "TEMP B-TREE") {
					t.Errorf("plan sorts: %s", text)
				}
				// "SCAN x USING INDEX" walks an index in id order and stops after the page, which
				// is right for an unfiltered list; a filtered list must SEARCH its filter's index.
				// "SCAN (subquery-N)" reads a page-sized co-routine, not a table.
				if strings.HasPrefix(d, "SCAN ") && !strings.HasPrefix(d, "SCAN (subquery") &&
					(!strings.Contains(d, "USING") || !unfiltered) {
					t.Errorf("plan scans a table: %s", text)
				}
			}
			t.Log(text)
		})
	}
}

func TestOpenRejectsEmptyPath(t *testing.T) {
	if _, err := Open(t.Context(), ""); escalated.ErrorCode(err) != escalated.EINVALID {
		t.Errorf("Open(\"\"): got %v, want invalid", err)
	}
}

func TestOpenPathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a?b#c%d")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	db := mustOpenPath(t, filepath.Join(dir, "x.db"))
	if err := createTicket(t.Context(), db, newTicket(time.Now())); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err != nil {
		t.Errorf("database not created at the given path: %v", err)
	}
}
