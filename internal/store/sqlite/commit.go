package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// Request states. The caller and the writer race only on queued: the caller may abandon it
// (its context ended), the writer may claim it; a compare-and-swap picks exactly one winner.
const (
	stateQueued int32 = iota
	stateRunning
	stateAbandoned
)

// request is one Update call waiting for the writer.
type request struct {
	ctx   context.Context
	fn    func(store.Tx) error
	state atomic.Int32
	err   error         // written by the writer before done is closed
	done  chan struct{} // closed once the caller's outcome is known

	// Touched only by the writer goroutine.
	claimed bool           // fn has been allowed to run (it may run again after a broken batch)
	failed  bool           // fn's outcome is final and was already answered
	changes []store.Change // history events fn appended, announced after the commit
	// rec and stmts: the recorder that was on when fn last ran and what fn executed, added to
	// it once the batch commits (record.go).
	rec   *Recorder
	stmts []Statement
	// prepared is fn's speculative run (speculate.go), applied instead of running fn when what
	// it read still holds; nil to run fn. aheadIDs are the tickets whose rows later
	// speculations expect from this request (DB.ahead); set before it is queued.
	prepared     *speculation
	aheadIDs     []string
	appliedAhead bool // the last run of fn applied prepared as decided
	// settled is closed once the writer is done with fn (settleAhead), for the speculations
	// that wait for what it leaves; nil for requests not marked store.Speculate.
	settled     chan struct{}
	settledOnce sync.Once
}

// settle closes r.settled, once.
func (r *request) settle() { r.settledOnce.Do(func() { close(r.settled) }) }

// finished reports whether the writer is done with r: answered, or abandoned by its caller.
func (r *request) finished() bool {
	if r.state.Load() == stateAbandoned {
		return true
	}
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// answer tells the caller its outcome. It is called at most once per request.
func (r *request) answer(db *DB, err error) {
	if reason := unwritable(err); reason != "" {
		orig := err
		err = unavailable(reason) // begin, savepoint and commit errors come straight from the driver
		if db.unwritable.CompareAndSwap(false, true) {
			db.log.Error("database cannot be written: writes answer 503 unavailable until it can, reads go on",
				"path", db.path, "reason", reason, "err", orig)
		}
	} else if escalated.ErrorCode(err) == escalated.EUNAVAILABLE && db.unwritable.CompareAndSwap(false, true) {
		db.log.Error("database cannot be written: writes answer 503 unavailable until it can, reads go on",
			"path", db.path, "reason", escalated.ErrorMessage(err))
	}
	r.err = err
	if err != nil {
		db.stats.failures.Add(1)
	} else {
		db.stats.updates.Add(1)
	}
	close(r.done)
}

// Update runs fn in a read-write transaction and returns once the transaction holding fn's
// writes has committed durably, or with fn's error (its writes rolled back), or with the
// commit's error. Concurrent calls share transactions; see the package documentation.
func (db *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := db.syncErr(); err != nil {
		return err
	}
	r := &request{ctx: ctx, fn: fn, done: make(chan struct{})}
	if db.speculating && store.Speculative(ctx) {
		return db.updateAhead(ctx, r) // speculate.go
	}
	if err := db.send(ctx, r); err != nil {
		return err
	}
	return db.wait(ctx, r)
}

// send queues r for the writer.
func (db *DB) send(ctx context.Context, r *request) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return errClosed()
	}
	select {
	case db.queue <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wait returns r's outcome once the writer has answered it, or ctx's error if ctx ends before
// fn started.
func (db *DB) wait(ctx context.Context, r *request) error {
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		if r.state.CompareAndSwap(stateQueued, stateAbandoned) {
			// fn never ran and never will: the writer skips abandoned requests.
			return ctx.Err()
		}
		// fn is running or done: its writes may still commit, so only the commit can tell.
		<-r.done
		return r.err
	}
}

// run is the writer goroutine. It exits when Close has closed the queue and everything queued
// before that has been committed and answered.
//
// It keeps one transaction open and runs each request's fn in it as the request arrives. It
// commits as soon as the syncer is free to make the commit durable: a lone caller commits at
// once, and under load every fn that arrives while the previous commit is being synced runs
// during that sync and joins the next commit. The batch thus grows with the load, as it did
// when the writer itself waited for each sync, but the statements no longer wait for the disk.
func (db *DB) run() {
	defer close(db.stopped)
	defer func() {
		<-db.syncFree // the last batch handed over is answered
		close(db.toSync)
		<-db.syncDone
	}()
	var b batch
	queue := db.queue
	for {
		if !b.open() {
			if queue == nil {
				return // closed, and everything committed
			}
			r, ok := db.awaitWork(queue)
			if !ok {
				return
			}
			db.add(&b, r)
			continue
		}
		if queue == nil || b.size() >= db.maxBatch {
			db.awaitSyncer()
			db.commit(&b)
			continue
		}
		// A request already waiting runs first; otherwise the batch commits as soon as the
		// syncer is free, unless a request arrives before that.
		var r *request
		var ok bool
		select {
		case r, ok = <-queue:
		default:
			db.stats.waitSync.start()
			select {
			case <-db.syncFree:
				db.stats.waitSync.stop()
				db.commit(&b)
				continue
			case r, ok = <-queue:
				db.stats.waitSync.stop()
			}
		}
		if !ok {
			queue = nil // commit what is open, then exit
			continue
		}
		db.add(&b, r)
	}
}

// awaitWork takes the next request from queue, counting the time the writer waited for one
// with nothing to commit (Stats.WriterWaitWork); only a wait that blocks reads the clock.
func (db *DB) awaitWork(queue <-chan *request) (*request, bool) {
	select {
	case r, ok := <-queue:
		return r, ok
	default:
	}
	db.stats.waitWork.start()
	r, ok := <-queue
	db.stats.waitWork.stop()
	return r, ok
}

// awaitSyncer waits until the syncer is free to take the next commit, counting the time the
// writer waited with a batch ready (Stats.WriterWaitSync).
func (db *DB) awaitSyncer() {
	select {
	case <-db.syncFree:
		return
	default:
	}
	db.stats.waitSync.start()
	<-db.syncFree
	db.stats.waitSync.stop()
}

// waitClock adds up the time the writer spends in one kind of wait, the wait in progress
// included when read: a writer idle for an hour shows its idle hour as it passes, not in one
// step when the next write arrives (a rate of the metric would then go above one), and a read
// never returns less than an earlier one.
type waitClock struct {
	mu    sync.Mutex
	total time.Duration
	since time.Time // when the wait in progress began; zero when none is
}

func (w *waitClock) start() {
	w.mu.Lock()
	w.since = time.Now()
	w.mu.Unlock()
}

func (w *waitClock) stop() {
	w.mu.Lock()
	w.total += time.Since(w.since)
	w.since = time.Time{}
	w.mu.Unlock()
}

// read returns the time waited so far.
func (w *waitClock) read() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.since.IsZero() {
		return w.total
	}
	return w.total + time.Since(w.since)
}

// batch is the writer's open transaction and the requests whose fns ran in it.
type batch struct {
	tx      *sql.Tx
	guarded bool            // every fn runs in a savepoint (add)
	ran     []*request      // fns succeeded: answered once the commit is synced
	failed  []failedRequest // fns failed, their writes undone: answered with the batch
}

// open reports whether the batch holds anything to commit or answer.
func (b *batch) open() bool { return b.tx != nil || len(b.failed) > 0 }

// size is how many requests' fns ran in the batch, which MaxBatch bounds: failing ones count
// too, or a stream of them would keep the transaction, and the callers in it, waiting.
func (b *batch) size() int { return len(b.ran) + len(b.failed) }

// claim decides whether r's fn may run. A request whose caller gave up, or whose context ended
// before fn started, is answered (if needed) and skipped.
func (db *DB) claim(r *request) bool {
	if r.claimed {
		return !r.failed
	}
	if err := r.ctx.Err(); err != nil {
		if r.state.CompareAndSwap(stateQueued, stateAbandoned) {
			r.answer(db, err)
		}
		db.settleAhead(r, false)
		return false
	}
	if !r.state.CompareAndSwap(stateQueued, stateRunning) {
		db.settleAhead(r, false)
		return false // the caller abandoned it and has already returned
	}
	r.claimed = true
	return true
}

// add runs r's fn in b's transaction, beginning one if none is open. A fn runs bare (no
// savepoint of its own) unless the batch is guarded; see runBare for what happens when a bare
// fn fails. A failing fn's writes are undone; every caller is answered with the batch, once
// its commit is synced, because even an error may rest on what an earlier fn wrote.
func (db *DB) add(b *batch, r *request) {
	if err := db.syncErr(); err != nil {
		if db.claim(r) {
			r.failed = true
			r.answer(db, err)
		}
		return
	}
	if !db.claim(r) {
		return
	}
	if b.tx == nil {
		// The transaction belongs to no caller, so no caller's context may cancel it.
		tx, err := db.writer.BeginTx(context.Background(), nil)
		if err != nil {
			// b.ran is empty here: a batch whose transaction broke reruns with it emptied.
			r.failed = true
			r.answer(db, fmt.Errorf("begin write transaction: %w", err))
			return
		}
		b.tx = tx
		b.guarded = b.guarded || db.guarded > 0
		db.stats.batches.Add(1)
		db.checkCache(tx)
	}
	var fnErr, spErr error
	undo := false
	if b.guarded || store.RollbackExpected(r.ctx) {
		fnErr, spErr = db.runInSavepoint(b.tx, r)
	} else {
		fnErr, spErr, undo = db.runBare(b.tx, r)
	}
	// The speculations waiting for what r leaves hear of it once its outcome is settled (its
	// rows released to the cache, or rolled back).
	asDecided := r.appliedAhead && fnErr == nil && spErr == nil
	db.settleAhead(r, asDecided)
	if spErr == nil && errors.Is(fnErr, errStale) {
		// A prepared write did not apply as recorded: what it executed is undone (its savepoint,
		// or the batch run again without it) and fn runs in its turn. Either a statement failed
		// (the disk, say: the writer's run will meet it too) or the speculation missed a read,
		// a defect to report; the caller's write goes ahead as it would have without it.
		db.stats.specRestarted.Add(1)
		db.log.Error("a write decided ahead did not apply as recorded; deciding it in the writer", "err", fnErr)
		r.prepared = nil
		if undo {
			db.stats.undone.Add(1)
			db.rollback(b)
			b.guarded = true
			db.guarded = guardedBatches + 1
			db.runAgain(b)
		}
		db.add(b, r)
		return
	}
	if asDecided {
		db.stats.specApplied.Add(1)
	}
	switch {
	case spErr != nil:
		// The transaction is broken (SQLite rolled it back or the connection failed), so
		// nothing in it can commit. r is the one that broke it and gets the error; the fns
		// that had succeeded run again in a fresh transaction.
		db.rollback(b)
		if unwritable(spErr) == "" { // an unwritable file is logged once, by answer
			db.log.Error("write transaction broken; running the rest of the batch again",
				"err", spErr, "fn_err", fnErr, "retried", len(b.ran))
		}
		r.failed = true
		if fnErr == nil || errors.Is(fnErr, errStale) {
			fnErr = spErr // the transaction's failure, not the speculation's, is the caller's answer
		}
		r.answer(db, fnErr)
		db.runAgain(b)
	case undo:
		// A bare fn failed after writing, and there is no savepoint to roll it back to: the
		// whole transaction is rolled back and the fns before it run again without it, each in
		// a savepoint now, as do the next batches' (guardedBatches), so that a stream of such
		// failures costs a rerun now and then rather than one per failure. r's error is
		// answered with the batch, as any fn's.
		db.stats.undone.Add(1)
		r.failed = true
		b.failed = append(b.failed, failedRequest{r, fnErr})
		db.rollback(b)
		b.guarded = true
		db.guarded = guardedBatches + 1 // this batch's commit counts one
		db.runAgain(b)
	case fnErr != nil:
		r.failed = true
		b.failed = append(b.failed, failedRequest{r, fnErr})
	default:
		b.ran = append(b.ran, r)
	}
}

// guardedBatches is how many batches after an undone one run every fn in a savepoint. A fn
// that fails after writing costs a bare batch a rerun of everything before it, and a guarded
// one only its own ROLLBACK TO; bare fns save the two savepoint statements and the statement
// journal's page copies (about 5% of ingest's throughput, BENCHMARKS.md). The services' fns
// check what they can before they write, and the ones that fail after writing by design (dry
// runs, deadline claims) say so (store.ExpectRollback) and run in a savepoint; when a stream of
// other such failures comes (a bug, a constraint a client keeps hitting) this keeps the reruns
// to one in every guardedBatches+1 batches.
const guardedBatches = 16

// rollback rolls back b's transaction (SQLite may have done so already).
func (db *DB) rollback(b *batch) {
	b.tx.Rollback()
	b.tx = nil
	db.cache.resetIfOn() // it holds rows of the writes rolled back
}

// runAgain runs the fns that had succeeded in b's rolled-back transaction again, in order, in
// a fresh one. The fns that failed keep their answers (b.failed): what they read is written
// again, the same way.
func (db *DB) runAgain(b *batch) {
	again := b.ran
	b.ran = nil
	for _, o := range again {
		db.add(b, o)
	}
}

// commit commits b's transaction and hands its callers to the syncer, which answers them
// once the commit is on disk. The caller holds the syncer's token (db.syncFree); it passes
// to the syncer with the batch, or goes back when there is nothing to sync.
func (db *DB) commit(b *batch) {
	tx, ran, failed := b.tx, b.ran, b.failed
	*b = batch{}
	if db.guarded > 0 {
		db.guarded--
	}
	if n := int64(len(ran)); n > db.stats.maxBatch.Load() {
		db.stats.maxBatch.Store(n) // only the writer goroutine stores it
	}
	// Holding the token, every earlier commit is synced: answering now rests on nothing that a
	// power loss could undo, apart from this batch's own writes, which are not committed.
	done := func(err error) { db.finishBatch(ran, failed, err) }
	if err := db.syncErr(); err != nil {
		// A sync failed while this batch ran: it must not commit either.
		if tx != nil {
			tx.Rollback()
			db.cache.resetIfOn()
		}
		done(err)
		return
	}
	if len(ran) == 0 {
		// Every fn failed and rolled itself back: there is nothing to make durable.
		if tx != nil {
			tx.Rollback()
		}
		done(nil)
		return
	}
	start := time.Now()
	if err := tx.Commit(); err != nil {
		db.cache.resetIfOn() // it holds rows of the writes that were not committed
		err = fmt.Errorf("commit: %w", err)
		if unwritable(err) == "" { // an unwritable file is logged once, by answer
			db.log.Error("group commit failed", "err", err, "callers", len(ran))
		}
		done(err)
		return
	}
	db.commitTimes.add(start, time.Since(start)) // which counts the commit too (Stats)
	db.cache.decodeAhead()
	for _, r := range ran {
		if r.rec != nil && len(r.stmts) > 0 {
			r.rec.add(r.stmts)
		}
	}
	if db.unwritable.CompareAndSwap(true, false) {
		db.log.Info("database writable again", "path", db.path)
	}
	if !db.pipelined {
		done(nil)
		return
	}
	db.toSync <- &syncBatch{ran: ran, failed: failed} // the syncer gives the token back once it has answered
}

// Every fn runs between these statements (compiled once, like every statement: stmtcache.go).
// One name serves every fn, since each savepoint is released before the next one opens.
const (
	sqlSavepoint  = `SAVEPOINT fn`
	sqlRelease    = `RELEASE fn`
	sqlRollbackTo = `ROLLBACK TO fn`
)

// runFn runs r.fn and then the report cells it changed (flushCells), in the writer's
// transaction, on a tx of its own.
// It returns how many of the rows the write watch counted meanwhile belong to statements that
// failed and undid themselves (tx.exec).
func (db *DB) runFn(sqlTx *sql.Tx, r *request) (undoneRows uint64, err error) {
	t := &tx{q: sqlTx, write: true, cache: db.cache, resolvedSeen: &db.resolvedSeen,
		watch: db.watch, rollbacks: db.watch.rollbacks.Load()}
	r.rec, r.stmts = db.recorder.Load(), nil
	if r.rec != nil {
		t.rec = &r.stmts
	}
	r.appliedAhead = false
	switch p := r.prepared; {
	case p == nil:
		err = db.call(r, t)
	case db.cache.current(p):
		err = t.apply(context.Background(), p)
		r.appliedAhead = err == nil
	default:
		// A row it read moved since: decided again, in its turn.
		db.stats.specStale.Add(1)
		r.prepared = nil
		err = db.call(r, t)
	}
	if err == nil {
		err = t.flushCells(context.Background())
	}
	t.finish()
	r.changes = t.changes
	return t.undoneRows, err
}

// errRolledBack: SQLite rolled back the writer's transaction while a fn ran (after an I/O
// error, a full disk): its later statements are refused (tx.ctx), since they would run outside
// any transaction, each committing on its own.
var errRolledBack = escalated.Errorf(escalated.EUNAVAILABLE, "the write transaction was rolled back while the function ran; try again")

// runBare runs r.fn with no savepoint around it, which saves the two statements and the
// statement journal that SQLite keeps for a savepoint (a copy of every page the fn is first to
// change). The write watch says what a failure needs: a fn that failed having changed no row
// (most failures: a service checks before it writes) left nothing to undo; undo reports one
// that changed rows before it failed, whose batch must be rolled back and run again without it.
// spErr reports that the transaction itself went away meanwhile (a statement's error after
// which SQLite rolled it back, even if fn carried on), as a failed RELEASE would.
func (db *DB) runBare(sqlTx *sql.Tx, r *request) (fnErr, spErr error, undo bool) {
	rows, rollbacks := db.watch.rows.Load(), db.watch.rollbacks.Load()
	undoneRows, fnErr := db.runFn(sqlTx, r)
	if db.watch.rollbacks.Load() != rollbacks {
		return fnErr, errRolledBack, false
	}
	if fnErr != nil {
		if db.cache != nil {
			db.cache.rollback()
		}
		return fnErr, nil, db.watch.rows.Load()-rows > undoneRows
	}
	if db.cache != nil {
		db.cache.release()
	}
	return nil, nil, false
}

// runInSavepoint runs r.fn between SAVEPOINT and RELEASE, rolling back to the savepoint when fn
// fails or panics. fnErr is fn's outcome; spErr reports that the savepoint statements
// themselves failed, which means the whole transaction is unusable.
func (db *DB) runInSavepoint(sqlTx *sql.Tx, r *request) (fnErr, spErr error) {
	bg := context.Background()
	if _, err := sqlTx.ExecContext(bg, sqlSavepoint); err != nil {
		return nil, fmt.Errorf("savepoint: %w", err)
	}
	_, fnErr = db.runFn(sqlTx, r)
	if fnErr != nil {
		// ROLLBACK TO undoes fn's writes but keeps the savepoint open; RELEASE then removes it so
		// the next caller's savepoint nests at the same level.
		if db.cache != nil {
			db.cache.rollback()
		}
		if _, err := sqlTx.ExecContext(bg, sqlRollbackTo); err != nil {
			return fnErr, fmt.Errorf("rollback to savepoint: %w", err)
		}
	}
	if _, err := sqlTx.ExecContext(bg, sqlRelease); err != nil {
		return fnErr, fmt.Errorf("release savepoint: %w", err)
	}
	if fnErr == nil && db.cache != nil {
		db.cache.release()
	}
	return fnErr, nil
}

// call runs fn, turning a panic into an internal error so that one caller's bug cannot take
// down the writer that every other caller depends on.
func (db *DB) call(r *request, t *tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			db.log.Error("panic in store update", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = escalated.Errorf(escalated.EINTERNAL, "store update panicked: %v", p)
		}
	}()
	return r.fn(t)
}
