package sqlite

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// queueFns queues one Update per fn behind a blocked writer, in order, lets the writer go and
// returns each caller's outcome, once the blocker's has been checked.
func queueFns(t *testing.T, db *DB, fns ...func(store.Tx) error) []error {
	t.Helper()
	release, first := blockWriter(t, db)
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Update(t.Context(), fn)
		}()
		waitQueued(t, db, i+1)
	}
	release()
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	return errs
}

func TestBareFnFailingBeforeItWritesCostsNoRerun(t *testing.T) {
	// The common failure, a check that fails before anything is written (a ticket not found, a
	// stale version), leaves nothing to undo: the batch goes on without a rollback.
	for _, cache := range []int{DefaultTicketCache, 0} {
		db := mustOpen(t, WithTicketCache(cache))
		ctx := t.Context()
		now := time.Now()
		a, b := newTicket(now), newTicket(now.Add(time.Millisecond))
		errs := queueFns(t, db,
			func(tx store.Tx) error { return tx.CreateTicket(ctx, a) },
			func(tx store.Tx) error {
				_, err := tx.GetTicket(ctx, "tkt_missing")
				return err
			},
			func(tx store.Tx) error { return tx.CreateTicket(ctx, b) },
		)
		if errs[0] != nil || errs[2] != nil || escalated.ErrorCode(errs[1]) != escalated.ENOTFOUND {
			t.Fatalf("cache %d: outcomes %v, want nil, not found, nil", cache, errs)
		}
		if !ticketExists(t, db, a.ID) || !ticketExists(t, db, b.ID) {
			t.Errorf("cache %d: a ticket of the batch is missing", cache)
		}
		if s := db.Stats(); s.Batches != 1 || s.Commits != 1 || s.Undone != 0 {
			t.Errorf("cache %d: stats %+v, want one batch, nothing undone", cache, s)
		}
	}
}

func TestBareFnFailingAfterItWritesIsUndone(t *testing.T) {
	// With the ticket cache on and off: the failing fn's update of a ticket that an earlier fn
	// of the batch also updated must vanish from the file and from the cache, and the earlier
	// fn's update must stay.
	for _, cache := range []int{DefaultTicketCache, 0} {
		db := mustOpen(t, WithTicketCache(cache))
		ctx := t.Context()
		now := time.Now()
		tk := newTicket(now)
		if err := createTicket(ctx, db, tk); err != nil {
			t.Fatal(err)
		}
		setSubject := func(subject string, fail error) func(store.Tx) error {
			return func(tx store.Tx) error {
				cur, err := tx.GetTicket(ctx, tk.ID)
				if err != nil {
					return err
				}
				next := *cur
				next.Subject, next.Version = subject, cur.Version+1
				if err := tx.UpdateTicket(ctx, &next, cur.Version); err != nil {
					return err
				}
				return fail
			}
		}
		errBoom := errors.New("boom after writing")
		other := newTicket(now.Add(time.Millisecond))
		before := db.Stats()
		errs := queueFns(t, db,
			setSubject("kept", nil),
			setSubject("undone", errBoom),
			func(tx store.Tx) error { return tx.CreateTicket(ctx, other) },
		)
		if errs[0] != nil || !errors.Is(errs[1], errBoom) || errs[2] != nil {
			t.Fatalf("cache %d: outcomes %v, want nil, boom, nil", cache, errs)
		}
		s := db.Stats()
		if s.Undone-before.Undone != 1 || s.Commits-before.Commits != 1 {
			t.Errorf("cache %d: stats %+v (before %+v), want one batch undone and one commit", cache, s, before)
		}
		// Through the writer (and its cache) and through a reader: the kept update, version 2.
		for name, read := range map[string]func(func(store.Tx) error) error{
			"writer": func(fn func(store.Tx) error) error { return db.Update(ctx, fn) },
			"reader": func(fn func(store.Tx) error) error { return db.View(ctx, fn) },
		} {
			if err := read(func(tx store.Tx) error {
				got, err := tx.GetTicket(ctx, tk.ID)
				if err != nil {
					return err
				}
				if got.Subject != "kept" || got.Version != 2 {
					t.Errorf("cache %d, %s: subject %q version %d, want kept 2", cache, name, got.Subject, got.Version)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		if !ticketExists(t, db, other.ID) {
			t.Errorf("cache %d: the fn after the undone one lost its ticket", cache)
		}
	}
}

func TestBatchesAfterAnUndoneOneAreGuarded(t *testing.T) {
	// A stream of fns that fail after writing costs one rerun, not one per failure: the rest
	// of the undone batch and the next guardedBatches batches roll such a fn back to its own
	// savepoint.
	db := mustOpen(t)
	ctx := t.Context()
	now := time.Now()
	errBoom := errors.New("boom after writing")
	n := 0
	writeThenFail := func(tx store.Tx) error {
		n++
		if err := tx.CreateTicket(ctx, newTicket(now.Add(time.Duration(n)*time.Millisecond))); err != nil {
			return err
		}
		return errBoom
	}
	var kept []*escalated.Ticket
	keep := func(tx store.Tx) error {
		tk := newTicket(now.Add(time.Hour + time.Duration(len(kept))*time.Millisecond))
		kept = append(kept, tk)
		return tx.CreateTicket(ctx, tk)
	}
	errs := queueFns(t, db, keep, writeThenFail, keep, writeThenFail, keep)
	for i, err := range errs {
		if want := i%2 == 1; errors.Is(err, errBoom) != want {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if s := db.Stats(); s.Undone != 1 {
		t.Errorf("stats %+v: want one undo in the first batch", s)
	}
	// The rerun ran each kept fn again (a new ticket each time); the last run's are stored.
	for _, tk := range kept[len(kept)-3:] {
		if !ticketExists(t, db, tk.ID) {
			t.Errorf("kept ticket %s missing", tk.ID)
		}
	}
	// The next guardedBatches batches, one at a time, are guarded: the last of them too.
	for range guardedBatches - 1 {
		if err := createTicket(ctx, db, newTicket(now.Add(2*time.Hour+time.Duration(n)*time.Millisecond))); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if err := db.Update(ctx, writeThenFail); !errors.Is(err, errBoom) {
		t.Fatalf("Update: %v", err)
	}
	if s := db.Stats(); s.Undone != 1 {
		t.Errorf("stats %+v: want no more undos in the %d guarded batches", s, guardedBatches)
	}
	// Bare again: the next such failure undoes its batch.
	if err := db.Update(ctx, writeThenFail); !errors.Is(err, errBoom) {
		t.Fatalf("Update: %v", err)
	}
	if s := db.Stats(); s.Undone != 2 {
		t.Errorf("stats %+v: want batches bare again after %d guarded ones", s, guardedBatches)
	}
}

func TestFnExpectingRollbackRunsInASavepoint(t *testing.T) {
	// A dry run writes and always rolls back (store.ExpectRollback): in a savepoint of its own,
	// its rollback costs the batch no rerun.
	db := mustOpen(t)
	ctx := t.Context()
	now := time.Now()
	before, dry, after := newTicket(now), newTicket(now.Add(time.Millisecond)), newTicket(now.Add(2*time.Millisecond))
	release, first := blockWriter(t, db)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i, c := range []struct {
		ctx context.Context
		fn  func(store.Tx) error
	}{
		{ctx, func(tx store.Tx) error { return tx.CreateTicket(ctx, before) }},
		{store.ExpectRollback(ctx), func(tx store.Tx) error {
			if err := tx.CreateTicket(ctx, dry); err != nil {
				return err
			}
			return errDry
		}},
		{ctx, func(tx store.Tx) error { return tx.CreateTicket(ctx, after) }},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Update(c.ctx, c.fn)
		}()
		waitQueued(t, db, i+1)
	}
	release()
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || !errors.Is(errs[1], errDry) || errs[2] != nil {
		t.Fatalf("outcomes %v, want nil, the dry run's rollback, nil", errs)
	}
	if !ticketExists(t, db, before.ID) || ticketExists(t, db, dry.ID) || !ticketExists(t, db, after.ID) {
		t.Error("want the tickets before and after the dry run stored, and the dry run's not")
	}
	if s := db.Stats(); s.Batches != 1 || s.Undone != 0 {
		t.Errorf("stats %+v: want one batch, nothing undone", s)
	}
}

var errDry = errors.New("dry run")

func TestBareFnFailingOnAForeignKeyCostsNoRerun(t *testing.T) {
	// A statement that writes several rows is checked for foreign keys at its end, after the
	// pre-update hook saw its rows (a one-row INSERT is refused before it writes); the failed
	// statement undid itself, so the fn wrote nothing and its batch goes on.
	db := mustOpen(t)
	ctx := t.Context()
	now := time.Now()
	a := newTicket(now)
	if err := createTicket(ctx, db, a); err != nil {
		t.Fatal(err)
	}
	b := newTicket(now.Add(time.Millisecond))
	before := db.Stats()
	var seen uint64
	errs := queueFns(t, db,
		func(tx store.Tx) error { return tx.CreateTicket(ctx, b) },
		func(stx store.Tx) error {
			w := stx.(*tx).watch
			rows := w.rows.Load()
			_, err := stx.(*tx).exec(ctx, `INSERT INTO events (id, ticket_id, seq, type, actor, created_at)
				VALUES (?, ?, 100, 'test', 'test', 0), (?, 'tkt_missing', 1, 'test', 'test', 0)`,
				escalated.NewID(escalated.PrefixEvent, now), a.ID, escalated.NewID(escalated.PrefixEvent, now))
			seen = w.rows.Load() - rows
			return interpretError(err)
		},
	)
	if errs[0] != nil || escalated.ErrorCode(errs[1]) != escalated.ENOTFOUND {
		t.Fatalf("outcomes %v, want nil, not found", errs)
	}
	if seen == 0 {
		t.Fatal("the watch saw no row of the failed INSERT: this test no longer covers a statement's own undo")
	}
	if s := db.Stats(); s.Batches-before.Batches != 1 || s.Undone != 0 {
		t.Errorf("stats %+v (before %+v): want one batch, nothing undone", s, before)
	}
	if !ticketExists(t, db, b.ID) {
		t.Error("the batch lost the ticket before the failed insert")
	}
}

func TestBareFnKeepsItsBatchAfterAConstraintError(t *testing.T) {
	// A statement that fails a constraint undoes only itself (SQLite's statement journal), so
	// a fn that handles the error and succeeds keeps the batch: the write watch must not take
	// that statement's undo for the transaction's rollback.
	db := mustOpen(t)
	ctx := t.Context()
	now := time.Now()
	dup, other := newTicket(now), newTicket(now.Add(time.Millisecond))
	if err := createTicket(ctx, db, dup); err != nil {
		t.Fatal(err)
	}
	before := db.Stats()
	errs := queueFns(t, db, func(tx store.Tx) error {
		if err := tx.CreateTicket(ctx, dup); escalated.ErrorCode(err) != escalated.ECONFLICT {
			t.Errorf("creating the ticket again: %v, want a conflict", err)
		}
		return tx.CreateTicket(ctx, other)
	})
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	if s := db.Stats(); s.Batches-before.Batches != 1 || s.Undone != 0 {
		t.Errorf("stats %+v (before %+v): want the batch kept", s, before)
	}
	if !ticketExists(t, db, other.ID) {
		t.Error("the fn's write after the handled constraint error was lost")
	}
}

func TestBareFnDuringWhichSQLiteRolledBackBreaksTheBatch(t *testing.T) {
	// A statement error after which SQLite rolls the whole transaction back (an I/O error, a
	// full disk) may be swallowed by a fn that then returns nil; without a savepoint to
	// release, the rollback hook is what tells: that fn gets an error and the fns before it
	// run again in a fresh transaction rather than autocommit one statement at a time.
	db := mustOpen(t)
	ctx := t.Context()
	now := time.Now()
	before, swallowed, after := newTicket(now), newTicket(now.Add(time.Millisecond)), newTicket(now.Add(2*time.Millisecond))
	later := newTicket(now.Add(3 * time.Millisecond))
	errs := queueFns(t, db,
		func(tx store.Tx) error { return tx.CreateTicket(ctx, before) },
		func(stx store.Tx) error {
			if err := stx.CreateTicket(ctx, swallowed); err != nil {
				return err
			}
			// Stands for SQLite's own rollback: nothing a service can reach does this.
			stx.(*tx).q.ExecContext(ctx, "ROLLBACK")
			// Outside any transaction now, this would commit on its own: it must be refused.
			if err := stx.CreateTicket(ctx, later); !errors.Is(err, errRolledBack) {
				t.Errorf("a write after the rollback: %v, want it refused", err)
			}
			return nil
		},
		func(tx store.Tx) error { return tx.CreateTicket(ctx, after) },
	)
	if errs[0] != nil || !errors.Is(errs[1], errRolledBack) || errs[2] != nil {
		t.Fatalf("outcomes %v, want nil, rolled back, nil", errs)
	}
	for _, c := range []struct {
		tk   *escalated.Ticket
		want bool
	}{{before, true}, {swallowed, false}, {later, false}, {after, true}} {
		if got := ticketExists(t, db, c.tk.ID); got != c.want {
			t.Errorf("ticket %s stored = %v, want %v", c.tk.ID, got, c.want)
		}
	}
	if s := db.Stats(); s.Undone != 0 || s.Commits != 1 {
		t.Errorf("stats %+v: want one commit, nothing undone", s)
	}
}
