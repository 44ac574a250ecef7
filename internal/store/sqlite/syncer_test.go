package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// holdSyncs replaces the syncer's flush with one that waits for the test: each sync announces
// itself on started and flushes (for real) once the test sends on proceed.
func holdSyncs(t *testing.T, db *DB) (started <-chan struct{}, proceed chan<- struct{}) {
	t.Helper()
	s, p := make(chan struct{}, 16), make(chan struct{})
	db.wal.mu.Lock()
	db.wal.sync = func(f *os.File) error {
		if !strings.HasSuffix(f.Name(), "-wal") {
			t.Errorf("synced %s, want the write-ahead log", f.Name())
		}
		s <- struct{}{}
		<-p
		return f.Sync()
	}
	db.wal.mu.Unlock()
	t.Cleanup(func() {
		close(p) // first: a held sync holds db.wal.mu; then Close can drain
		db.wal.mu.Lock()
		db.wal.sync = (*os.File).Sync
		db.wal.mu.Unlock()
	})
	return s, p
}

func TestAnswerWaitsForTheSyncWhileTheWriterGoesOn(t *testing.T) {
	db := mustOpen(t)
	ctx := t.Context()
	before := db.Stats()
	changes, err := db.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	started, proceed := holdSyncs(t, db)

	now := time.Now()
	first := newTicket(now)
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- db.Update(ctx, func(tx store.Tx) error {
			if err := tx.CreateTicket(ctx, first); err != nil {
				return err
			}
			return tx.AppendEvent(ctx, &escalated.Event{ID: escalated.NewID(escalated.PrefixEvent, now), TicketID: first.ID,
				Seq: 1, Type: escalated.EventTicketCreated, Actor: "test", CreatedAt: now})
		})
	}()
	<-started // the first batch is committed and its sync is being held

	// Committed, so a reader sees it; not yet durable, so its caller has not been answered and
	// its change has not been announced.
	if !ticketExists(t, db, first.ID) {
		t.Fatal("the committed ticket is not visible while its sync is held")
	}
	select {
	case err := <-firstDone:
		t.Fatalf("Update returned (%v) before its commit was synced", err)
	case c := <-changes:
		t.Fatalf("change %+v announced before its commit was synced", c)
	case <-time.After(50 * time.Millisecond):
	}

	// The writer is not waiting for the disk: the next caller's fn runs during the held sync.
	second := newTicket(now.Add(time.Millisecond))
	ran := make(chan struct{})
	secondDone := make(chan error, 1)
	go func() {
		secondDone <- db.Update(ctx, func(tx store.Tx) error {
			defer close(ran)
			return tx.CreateTicket(ctx, second)
		})
	}()
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("the next caller's fn did not run while the previous commit was being synced")
	}
	// It is not committed yet: the writer commits it once the syncer is free.
	if ticketExists(t, db, second.ID) {
		t.Error("the second ticket was committed while the previous sync was still in progress")
	}

	proceed <- struct{}{}
	if err := <-firstDone; err != nil {
		t.Fatalf("first Update: %v", err)
	}
	select {
	case c := <-changes:
		if c.TicketID != first.ID {
			t.Errorf("announced %+v, want the first ticket's event", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the change was not announced after its sync")
	}
	<-started // the second batch's sync
	proceed <- struct{}{}
	if err := <-secondDone; err != nil {
		t.Fatalf("second Update: %v", err)
	}
	if s := db.Stats(); s.Commits-before.Commits != 2 || s.Syncs-before.Syncs != 2 {
		t.Errorf("stats %+v (before: %+v): want 2 commits, each synced", s, before)
	}
}

func TestFailedSyncRefusesEveryLaterWrite(t *testing.T) {
	db := mustOpen(t)
	ctx := t.Context()
	var calls atomic.Int32
	db.wal.mu.Lock()
	db.wal.sync = func(*os.File) error { calls.Add(1); return errors.New("input/output error") }
	db.wal.mu.Unlock()

	tk := newTicket(time.Now())
	err := createTicket(ctx, db, tk)
	if escalated.ErrorCode(err) != escalated.EUNAVAILABLE || !strings.Contains(err.Error(), "could not be synced") ||
		!strings.Contains(err.Error(), "input/output error") || !strings.Contains(err.Error(), "until escalated restarts") {
		t.Fatalf("Update with a failing sync: %v, want unavailable naming the sync, its cause and the restart", err)
	}
	// Later writes are refused without running (a later sync proves nothing about the frames
	// the failed one held); reads go on.
	ran := false
	err = db.Update(ctx, func(store.Tx) error { ran = true; return nil })
	if escalated.ErrorCode(err) != escalated.EUNAVAILABLE || ran {
		t.Errorf("Update after the failed sync: %v (fn ran: %v), want unavailable without running", err, ran)
	}
	if calls.Load() != 1 {
		t.Errorf("%d syncs attempted, want 1", calls.Load())
	}
	if err := db.View(ctx, func(tx store.Tx) error { _, _, err := tx.ListTickets(ctx, store.TicketFilter{}); return err }); err != nil {
		t.Errorf("View after the failed sync: %v", err)
	}
	if err := db.syncNow(); escalated.ErrorCode(err) != escalated.EUNAVAILABLE {
		t.Errorf("a direct write's sync after the failure: %v, want unavailable", err)
	}
}

func TestWALSyncerFollowsTheLogFile(t *testing.T) {
	dir := t.TempDir()
	wal := filepath.Join(dir, "x.db-wal")
	write := func(name, s string) {
		if err := os.WriteFile(name, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(wal, "log 1")
	s := newWALSyncer()
	if err := s.Sync(); err == nil || !strings.Contains(err.Error(), "not known") {
		t.Errorf("Sync before the log's name is known: %v, want an error", err)
	}
	s.setPath(wal)
	var synced []string
	s.sync = func(f *os.File) error {
		// What the descriptor holds, not what the name holds now.
		buf := make([]byte, 16)
		n, _ := f.ReadAt(buf, 0)
		synced = append(synced, filepath.Base(f.Name())+"="+string(buf[:n]))
		return f.Sync()
	}
	sync := func() {
		t.Helper()
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	sync()
	sync()
	// SQLite deletes the log when the last connection closes; the next open makes another file.
	if err := os.Remove(wal); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Sync without a log: %v, want an error saying it is missing (never a sync of something else)", err)
	}
	write(wal, "log 2")
	sync()
	if want := []string{"x.db-wal=log 1", "x.db-wal=log 1", "x.db-wal=log 2"}; strings.Join(synced, " ") != strings.Join(want, " ") {
		t.Errorf("synced %q, want %q", synced, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); escalated.ErrorCode(err) != escalated.EINTERNAL || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Sync after Close: %v, want store closed", err)
	}
}

// TestSyncsTheLogSQLiteWrites opens the database through a symbolic link: SQLite keeps the log
// beside the file the link points at, and that log is the one synced.
func TestSyncsTheLogSQLiteWrites(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(dir, "link")); err != nil {
		t.Skipf("symbolic links: %v", err)
	}
	db := mustOpenPath(t, filepath.Join(dir, "link", "x.db"))
	var names []string
	db.wal.mu.Lock()
	db.wal.sync = func(f *os.File) error { names = append(names, f.Name()); return f.Sync() }
	db.wal.mu.Unlock()
	if err := createTicket(t.Context(), db, newTicket(time.Now())); err != nil {
		t.Fatal(err)
	}
	want, err := filepath.EvalSymlinks(filepath.Join(real, "x.db-wal"))
	if err != nil {
		t.Fatal(err)
	}
	db.wal.mu.Lock()
	defer db.wal.mu.Unlock()
	if len(names) != 1 {
		t.Fatalf("synced %q for one commit, want one sync", names)
	}
	got, err := filepath.EvalSymlinks(names[0])
	if err != nil || got != want {
		t.Errorf("synced %s (%v), want the log SQLite writes, %s", names[0], err, want)
	}
}

func TestBatchRunningWhenASyncFailsIsNotCommitted(t *testing.T) {
	db := mustOpen(t)
	ctx := t.Context()
	started, proceed := make(chan struct{}, 4), make(chan struct{})
	db.wal.mu.Lock()
	db.wal.sync = func(f *os.File) error {
		started <- struct{}{}
		<-proceed
		return errors.New("input/output error")
	}
	db.wal.mu.Unlock()
	now := time.Now()
	first, second := newTicket(now), newTicket(now.Add(time.Millisecond))
	firstDone, secondDone := make(chan error, 1), make(chan error, 1)
	go func() { firstDone <- createTicket(ctx, db, first) }()
	<-started
	ran := make(chan struct{})
	go func() {
		secondDone <- db.Update(ctx, func(tx store.Tx) error {
			defer close(ran)
			return tx.CreateTicket(ctx, second)
		})
	}()
	<-ran // the second fn ran in the open transaction during the first batch's sync
	close(proceed)
	for name, done := range map[string]chan error{"first": firstDone, "second": secondDone} {
		if err := <-done; escalated.ErrorCode(err) != escalated.EUNAVAILABLE {
			t.Errorf("%s Update: %v, want unavailable", name, err)
		}
	}
	if ticketExists(t, db, second.ID) {
		t.Error("the batch that ran during the failed sync was committed")
	}
}

func TestFailureIsAnsweredAfterEarlierCommitsAreSynced(t *testing.T) {
	db := mustOpen(t)
	ctx := t.Context()
	started, proceed := holdSyncs(t, db)
	tk := newTicket(time.Now())
	firstDone := make(chan error, 1)
	go func() { firstDone <- createTicket(ctx, db, tk) }()
	<-started
	// The same ticket again: the conflict rests on the first write, not yet on disk.
	dupDone := make(chan error, 1)
	go func() { dupDone <- createTicket(ctx, db, tk) }()
	select {
	case err := <-dupDone:
		t.Fatalf("the conflict was answered (%v) before the write it rests on was synced", err)
	case <-time.After(100 * time.Millisecond):
	}
	proceed <- struct{}{}
	if err := <-firstDone; err != nil {
		t.Fatalf("first Update: %v", err)
	}
	if err := <-dupDone; escalated.ErrorCode(err) != escalated.ECONFLICT {
		t.Errorf("second create of %s: %v, want conflict", tk.ID, err)
	}
}

func TestCloseWaitsForTheLastSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	started, proceed := make(chan struct{}, 4), make(chan struct{})
	db.wal.mu.Lock()
	db.wal.sync = func(f *os.File) error { started <- struct{}{}; <-proceed; return f.Sync() }
	db.wal.mu.Unlock()
	tk := newTicket(time.Now())
	done := make(chan error, 1)
	go func() { done <- createTicket(context.Background(), db, tk) }()
	<-started
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a committed batch waited for its sync", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(proceed)
	if err := <-done; err != nil {
		t.Errorf("Update: %v", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	db = mustOpenPath(t, path)
	if !ticketExists(t, db, tk.ID) {
		t.Error("the ticket synced during Close is not in the reopened database")
	}
}

// The writer counts the time it waits with nothing to run and the time it waits for the syncer
// with a batch ready, and each only while it waits for that.
func TestWriterWaitsAreCounted(t *testing.T) {
	db := mustOpen(t)
	ctx := t.Context()
	const pause = 100 * time.Millisecond

	s0 := db.Stats()
	time.Sleep(pause) // nothing queued: the writer waits for work throughout
	// The wait in progress counts before it ends.
	if d := db.Stats().WriterWaitWork - s0.WriterWaitWork; d < pause {
		t.Errorf("while idle for %s the writer's wait for work grew by %s, want at least that", pause, d)
	}
	if err := createTicket(ctx, db, newTicket(time.Now())); err != nil {
		t.Fatal(err)
	}
	s1 := db.Stats()
	if d := s1.WriterWaitWork - s0.WriterWaitWork; d < pause {
		t.Errorf("the writer waited %s for work across an idle %s, want at least that", d, pause)
	}

	started, proceed := holdSyncs(t, db)
	first := make(chan error, 1)
	go func() { first <- createTicket(ctx, db, newTicket(time.Now())) }()
	<-started // committed, its sync held
	ran := make(chan struct{})
	second := make(chan error, 1)
	go func() {
		second <- db.Update(ctx, func(tx store.Tx) error {
			defer close(ran)
			return tx.CreateTicket(ctx, newTicket(time.Now().Add(time.Millisecond)))
		})
	}()
	<-ran // the second batch is open and ready; the syncer is still held
	time.Sleep(pause)
	proceed <- struct{}{}
	<-started // the second batch committed once the syncer was free
	proceed <- struct{}{}
	for _, c := range []chan error{first, second} {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}
	s2 := db.Stats()
	if d := s2.WriterWaitSync - s1.WriterWaitSync; d < pause {
		t.Errorf("the writer waited %s for the syncer with a batch ready across a held sync of %s, want at least that", d, pause)
	}
	if d := s2.WriterWaitWork - s1.WriterWaitWork; d > s2.WriterWaitSync-s1.WriterWaitSync+pause {
		t.Errorf("the writer counted %s waiting for work while a write was ready and the sync held (%s for the sync)", d, s2.WriterWaitSync-s1.WriterWaitSync)
	}
}

func TestSyncAndCommitTimesAndMetrics(t *testing.T) {
	db := mustOpen(t)
	ctx := t.Context()
	s0, c0 := db.Stats().Syncs, db.Stats().Commits
	if got := len(db.SyncTimes(0)); int64(got) != s0 {
		t.Fatalf("%d sync times kept after opening, Stats says %d syncs", got, s0)
	}
	if got := len(db.CommitTimes(0)); int64(got) != c0 {
		t.Fatalf("%d commit times kept after opening, Stats says %d commits", got, c0)
	}
	began := time.Now()
	for i := range 3 {
		if err := createTicket(ctx, db, newTicket(time.Now().Add(time.Duration(i)*time.Millisecond))); err != nil {
			t.Fatal(err)
		}
	}
	ds := db.SyncTimes(s0)
	if s := db.Stats().Syncs; len(ds) != 3 || s != s0+3 {
		t.Fatalf("after 3 lone writes: %d sync times since %d, %d syncs in all; want 3 and %d", len(ds), s0, s, s0+3)
	}
	for _, d := range ds {
		if d.Took <= 0 || d.At.Before(began) {
			t.Errorf("sync began %v (the writes began %v), took %v", d.At, began, d.Took)
		}
	}
	// Each lone write had a commit of its own, timed from its start.
	cs := db.CommitTimes(c0)
	if c := db.Stats().Commits; len(cs) != 3 || c != c0+3 {
		t.Fatalf("after 3 lone writes: %d commit times since %d, %d commits in all; want 3 and %d", len(cs), c0, c, c0+3)
	}
	for i, c := range cs {
		if c.Took <= 0 || c.At.Before(began) || c.At.After(time.Now()) || (i > 0 && c.At.Before(cs[i-1].At.Add(cs[i-1].Took))) {
			t.Errorf("commit %d: began %v (the writes began %v), took %v", i, c.At, began, c.Took)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(db.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		got[mf.GetName()] = mf
	}
	if h := got["escalated_sqlite_sync_seconds"]; h == nil || int64(h.Metric[0].GetHistogram().GetSampleCount()) != s0+3 {
		t.Errorf("sync histogram %v, want %d samples", h, s0+3)
	}
	if h := got["escalated_sqlite_commit_seconds"]; h == nil || int64(h.Metric[0].GetHistogram().GetSampleCount()) != c0+3 {
		t.Errorf("commit histogram %v, want %d samples", h, c0+3)
	}
	if c := got["escalated_sqlite_commits_total"]; c == nil || int64(c.Metric[0].GetCounter().GetValue()) != db.Stats().Commits {
		t.Errorf("commits counter %v, want %d", c, db.Stats().Commits)
	}
	for _, name := range []string{"escalated_sqlite_updates_total", "escalated_sqlite_batches_undone_total"} {
		if got[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	if w := got["escalated_sqlite_writer_wait_seconds_total"]; w == nil || len(w.Metric) != 2 {
		t.Errorf("writer wait counter %v, want one per reason (work, sync)", w)
	} else {
		st := db.Stats()
		for _, m := range w.Metric {
			want := map[string]time.Duration{"work": st.WriterWaitWork, "sync": st.WriterWaitSync}[m.GetLabel()[0].GetValue()]
			if v := m.GetCounter().GetValue(); v <= 0 && m.GetLabel()[0].GetValue() == "work" || v > want.Seconds() {
				t.Errorf("writer wait %s: %v s, Stats says %s (read after)", m.GetLabel()[0].GetValue(), v, want)
			}
		}
	}
}

func TestTimingRingKeepsTheLastOnes(t *testing.T) {
	r := newSyncRing()
	n := len(r.times) + 100
	t0 := time.Now()
	for i := 1; i <= n; i++ {
		r.add(t0.Add(time.Duration(i)*time.Second), time.Duration(i))
	}
	all := r.since(0)
	if len(all) != len(r.times) || all[0].Took != 101 || all[len(all)-1].Took != time.Duration(n) {
		t.Fatalf("kept %d, first %v, last %v; want %d from 101 to %d", len(all), all[0], all[len(all)-1], len(r.times), n)
	}
	if !all[0].At.Equal(t0.Add(101 * time.Second)) {
		t.Fatalf("the first kept began at %v, want %v", all[0].At, t0.Add(101*time.Second))
	}
	if tail := r.since(int64(n - 2)); len(tail) != 2 || tail[0].Took != time.Duration(n-1) || tail[1].Took != time.Duration(n) {
		t.Fatalf("since %d: %v", n-2, tail)
	}
	if none := r.since(int64(n)); len(none) != 0 {
		t.Fatalf("since the last: %v", none)
	}
	if none := r.since(int64(n + 5)); len(none) != 0 {
		t.Fatalf("since a count never reached: %v", none)
	}
}
