package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// Firer applies one claimed deadline inside the transaction that claimed it.
type Firer interface {
	// FireDeadline applies d at firedAt in tx (the same transaction that claimed it) and
	// reports whether it fired. A deadline that turned out stale (ticket gone, clock moved) is
	// not an error: FireDeadline returns false, nil and the claim just drops it.
	FireDeadline(ctx context.Context, tx store.Tx, d *store.Deadline, firedAt time.Time) (bool, error)
}

// DefaultBatch is how many deadlines one transaction claims and fires when Config.Batch is 0.
const DefaultBatch = 128

// Backoff after a failed loop: backoffMin doubling per consecutive failure up to backoffMax,
// each pause jittered by up to a fifth either way so that nodes that failed together do not
// retry in lockstep.
const (
	backoffMin = 100 * time.Millisecond
	backoffMax = 30 * time.Second
)

// catchUpLog is how many deadlines one FireDue must fire before it logs a summary at Info.
const catchUpLog = 100

// Config configures an Engine. Store and Firer are required.
type Config struct {
	Store store.Store
	Firer Firer
	// Clock is the engine's time: due times are compared with it and its timers wake the
	// engine. Nil means the real clock; tests and the simulator pass a fake one.
	Clock clockwork.Clock
	// Log receives failures at Error, catch-up summaries at Info. Nil discards.
	Log *slog.Logger
	// Batch is how many deadlines one transaction claims and fires (default DefaultBatch).
	// Larger batches fire a backlog faster; smaller ones hold row locks for less time.
	Batch int
	// Claimers is how many transactions claim and fire at once (default 1). On PostgreSQL,
	// whose claims skip rows another transaction holds, several claimers use several
	// connections and cores: a backlog of escalating breaches fires with one connection's
	// round trips at a time otherwise. On SQLite there is one writer: more claimers only queue
	// behind it.
	Claimers int
	// Registerer receives the engine's metrics. Nil means a private registry (the metrics are
	// then kept but not exported).
	Registerer prometheus.Registerer
	// OnFired, when set, is called after each commit for every deadline fired in it, in due
	// order, with its lateness. It runs on the goroutine of the claimer that fired them (with
	// several Claimers, calls can be concurrent) and must return quickly.
	OnFired func(d *store.Deadline, lateness time.Duration)
	// AfterClaim, when set, runs inside the claiming transaction right after a claim returned
	// deadlines, before any is fired. It is a test hook (a test kills the process there).
	AfterClaim func()
}

// Engine fires due deadlines. Run drives it; FireDue fires what is due once.
type Engine struct {
	store      store.Store
	firer      Firer
	clock      clockwork.Clock
	log        *slog.Logger
	batch      int
	claimers   int
	onFired    func(*store.Deadline, time.Duration)
	afterClaim func()
	metrics    *metrics

	fired, failed  atomic.Int64
	dropped        atomic.Int64
	latSum, latMax atomic.Int64 // nanoseconds

	// held are deadlines that failed to fire: FireDue passes over them until retryAt, so that
	// the others fire on time while they wait for their retry.
	mu      sync.Mutex
	held    map[string]bool
	retryAt time.Time

	// Test hooks: sleeping is told each time Run (re)arms its wake-up (zero: none); rand
	// draws the backoff jitter.
	sleeping func(wake time.Time)
	rand     func(n int64) int64
}

// New returns an engine for cfg, with its metrics registered.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil {
		return nil, escalated.Invalid("store", "the deadline engine needs a store")
	}
	if cfg.Firer == nil {
		return nil, escalated.Invalid("firer", "the deadline engine needs a Firer to apply deadlines")
	}
	if cfg.Batch < 0 {
		return nil, escalated.Invalid("batch", fmt.Sprintf("must be at least 1 (or 0 for %d), got %d", DefaultBatch, cfg.Batch))
	}
	if cfg.Claimers < 0 {
		return nil, escalated.Invalid("claimers", fmt.Sprintf("must be at least 1 (or 0 for 1), got %d", cfg.Claimers))
	}
	e := &Engine{
		store: cfg.Store, firer: cfg.Firer, clock: cfg.Clock, log: cfg.Log, batch: cfg.Batch,
		claimers: max(1, cfg.Claimers), onFired: cfg.OnFired, afterClaim: cfg.AfterClaim, rand: rand.Int64N,
	}
	if e.clock == nil {
		e.clock = clockwork.NewRealClock()
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.batch == 0 {
		e.batch = DefaultBatch
	}
	e.metrics = newMetrics(e.store, e.clock, e.log)
	reg := cfg.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if err := e.metrics.register(reg); err != nil {
		return nil, fmt.Errorf("register deadline engine metrics: %w", err)
	}
	return e, nil
}

// Stats are the engine's counts since New, for tests and logs. The lateness histogram's
// quantiles are estimates; these are exact.
type Stats struct {
	// Fired counts deadlines fired (their transaction committed).
	Fired int64
	// Failed counts firings that failed and rolled back; the deadline stayed pending, so one
	// deadline that keeps failing is counted once per attempt.
	Failed int64
	// Dropped counts claimed deadlines the Firer found stale and dropped without firing.
	Dropped int64
	// LatenessSum and LatenessMax are over every fired deadline (see the package doc).
	LatenessSum time.Duration
	LatenessMax time.Duration
}

// MeanLateness is LatenessSum / Fired, or 0 when nothing fired.
func (s Stats) MeanLateness() time.Duration {
	if s.Fired == 0 {
		return 0
	}
	return s.LatenessSum / time.Duration(s.Fired)
}

// Stats returns the counts so far.
func (e *Engine) Stats() Stats {
	return Stats{
		Fired: e.fired.Load(), Failed: e.failed.Load(), Dropped: e.dropped.Load(),
		LatenessSum: time.Duration(e.latSum.Load()), LatenessMax: time.Duration(e.latMax.Load()),
	}
}

// Run fires deadlines as they come due until ctx is done, then returns nil. It subscribes to
// the store's changes first, so that a deadline written while it reads or sleeps wakes it; it
// sleeps until the earliest pending deadline (not at all when none is pending) and never polls.
// After a failure it backs off exponentially and tries again: a deadline whose firing failed is
// retried after the pause while the others fire as they come due; a failing store pauses
// everything. Run returns an error only when the store ends its subscription (the store was
// closed) while ctx is still live.
func (e *Engine) Run(ctx context.Context) error {
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes, err := e.store.Subscribe(subCtx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("deadline engine: subscribe to store changes: %w", err)
	}
	var failures, busy int
	for {
		if ctx.Err() != nil {
			return nil
		}
		res, err := e.fireDue(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if len(res.failures) > 0 || err != nil {
			failures++
		}
		pause := e.backoff(max(failures, 1))
		if len(res.failedIDs) > 0 {
			e.hold(res.failedIDs, e.clock.Now().Add(pause))
			e.log.Error("deadline engine: deadlines failed to fire; they stay pending and are retried after a pause",
				"failed", len(res.failedIDs), "err", errors.Join(res.failures...), "retry_in", pause,
				"failures", failures)
		}
		var wake time.Time
		if err == nil {
			if wake, err = e.nextWake(ctx, res.lastNow, &busy); err != nil {
				failures++
				pause = e.backoff(failures)
			}
		}
		if err != nil {
			e.log.Error("deadline engine: cannot fire deadlines; pausing everything and retrying after a pause",
				"err", err, "failures", failures, "retry_in", pause)
			wake = e.clock.Now().Add(pause)
		} else if len(res.failures) == 0 && !e.holding() {
			failures = 0
		}
		if !wake.IsZero() && !wake.After(e.clock.Now()) {
			continue // came due while we fired: no need to sleep
		}
		if err := e.sleep(ctx, changes, wake); err != nil {
			return err
		}
	}
}

// nextWake returns when the engine should look again: the earliest pending deadline that is not
// held after a failure, or the time held ones are retried, whichever comes first (zero: nothing
// to wait for). busy counts consecutive calls that found a due deadline the last claim did not
// get.
func (e *Engine) nextWake(ctx context.Context, lastNow time.Time, busy *int) (time.Time, error) {
	held, retryAt := e.heldIDs()
	var next time.Time
	err := e.store.View(ctx, func(tx store.Tx) error {
		var err error
		next, err = tx.NextDue(ctx, held...)
		return err
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("read next due deadline: %w", err)
	}
	if !next.IsZero() && !next.After(lastNow) {
		// Due at the last claim yet not claimed: another node's transaction holds it
		// (PostgreSQL's SKIP LOCKED passed over it). That node fires it or rolls back, and a
		// claim announces nothing, so look again after a short, growing pause rather than spin.
		*busy++
		pause := e.backoff(*busy)
		e.log.Debug("deadline engine: due deadlines are held by another transaction; looking again shortly",
			"next_due", next, "retry_in", pause)
		return e.clock.Now().Add(pause), nil
	}
	*busy = 0
	if len(held) > 0 && (next.IsZero() || retryAt.Before(next)) {
		next = retryAt
	}
	return next, nil
}

// hold makes FireDue pass over the deadlines in ids (which failed to fire) until retryAt.
func (e *Engine) hold(ids []string, retryAt time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.held == nil {
		e.held = map[string]bool{}
	}
	for _, id := range ids {
		e.held[id] = true
	}
	e.retryAt = retryAt
}

// heldIDs returns the held deadlines and when they are retried.
func (e *Engine) heldIDs() ([]string, time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]string, 0, len(e.held))
	for id := range e.held {
		ids = append(ids, id)
	}
	return ids, e.retryAt
}

func (e *Engine) holding() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.held) > 0
}

// heldAt returns the deadlines to pass over at now: the held ones until their retry time, then
// none (the hold ends and they are tried again).
func (e *Engine) heldAt(now time.Time) map[string]bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.held) > 0 && !now.Before(e.retryAt) {
		e.held = nil
	}
	skip := make(map[string]bool, len(e.held))
	for id := range e.held {
		skip[id] = true
	}
	return skip
}

// backoff returns the pause after n consecutive failures.
func (e *Engine) backoff(n int) time.Duration {
	d := backoffMax
	if n < 20 {
		d = min(backoffMin<<(n-1), backoffMax)
	}
	// Jitter of up to a fifth either way.
	return d - d/5 + time.Duration(e.rand(int64(2*d/5)+1))
}

// sleep waits until wake (forever when it is zero), until a change announces a deadline due
// by now, or until a Lagged change, moving wake forward when a change announces one due before
// it; it returns nil then, and also when ctx is done (Run then returns). It returns an error
// when the subscription ended with ctx still live.
func (e *Engine) sleep(ctx context.Context, changes <-chan store.Change, wake time.Time) error {
	var timer clockwork.Timer
	var fire <-chan time.Time
	arm := func() {
		if timer != nil {
			timer.Stop()
		}
		timer, fire = nil, nil
		if !wake.IsZero() {
			timer = e.clock.NewTimer(wake.Sub(e.clock.Now()))
			fire = timer.Chan()
		}
		if e.sleeping != nil {
			e.sleeping(wake)
		}
	}
	arm()
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-fire:
			return nil
		case c, ok := <-changes:
			if !ok {
				return e.subscriptionEnded(ctx)
			}
			if c.Lagged {
				// Announcements were dropped: one of them may have been earlier than wake.
				return e.drain(ctx, changes)
			}
			if c.Type != store.ChangeDeadline || (!wake.IsZero() && !c.Due.Before(wake)) {
				continue
			}
			if !c.Due.After(e.clock.Now()) {
				return e.drain(ctx, changes)
			}
			wake = c.Due
			arm()
		}
	}
}

// drain discards the changes already waiting: the cycle about to run reads the store after
// all of them were committed, so it sees whatever they announce. Without it a burst of
// announcements (a thousand deadlines scheduled at once) would cost a thousand empty cycles.
func (e *Engine) drain(ctx context.Context, changes <-chan store.Change) error {
	for {
		select {
		case _, ok := <-changes:
			if !ok {
				return e.subscriptionEnded(ctx)
			}
		default:
			return nil
		}
	}
}

func (e *Engine) subscriptionEnded(ctx context.Context) error {
	if ctx.Err() != nil {
		return nil
	}
	return errors.New("deadline engine: the store ended the change subscription (store closed?)")
}

// errSkip rolls back a claim that returned a deadline which already failed in this FireDue, so
// that the rest of the claim can be fired by id without it.
var errSkip error = skipError{}

// skipError is a deliberate rollback (store.Rollback), not a store failure.
type skipError struct{}

func (skipError) Error() string { return "claim includes a deadline that failed to fire" }
func (skipError) Rollback()     {}

// fireError is a Firer's failure, naming the deadline it failed on.
type fireError struct {
	d   *store.Deadline
	err error
}

func (e *fireError) Error() string {
	return fmt.Sprintf("fire deadline %s (%s of %s on ticket %s, due %s): %v", e.d.ID, e.d.Kind, e.d.Target,
		e.d.TicketID, escalated.FormatTime(e.d.DueAt), e.err)
}

func (e *fireError) Unwrap() error { return e.err }

// result sums up one FireDue.
type result struct {
	fired   int
	maxLate time.Duration
	// lastNow is the time the last claim compared due times with.
	lastNow time.Time
	// failures are the Firer's errors, one per deadline in failedIDs.
	failures  []error
	failedIDs []string
}

// FireDue fires every deadline due at the engine clock's now and returns how many it fired.
// It claims and fires Batch deadlines per transaction, in due order, until a claim comes back
// short. A deadline whose firing fails stays pending and the rest of its batch is fired without
// it; FireDue then goes on with the next batches and returns the failures, joined, at the end.
// An error from the store itself (it cannot begin, claim or commit) ends FireDue at once.
func (e *Engine) FireDue(ctx context.Context) (int, error) {
	res, err := e.fireDue(ctx)
	return res.fired, errors.Join(append(res.failures, err)...)
}

// fireDue is FireDue with the Firer's failures (res.failures) apart from the store's (err).
func (e *Engine) fireDue(ctx context.Context) (res result, err error) {
	start := e.clock.Now()
	defer func() {
		if res.fired > catchUpLog {
			took := e.clock.Since(start)
			e.log.Info(fmt.Sprintf("fired %d overdue deadlines in %s, max lateness %s", res.fired, took, res.maxLate),
				"fired", res.fired, "took", took, "max_lateness", res.maxLate)
		}
	}()
	// failed holds the deadlines to pass over: those held after failing in an earlier call, and
	// those that fail in this one. Claims are made that much larger, so that a claim full of
	// them still has room for Batch others.
	f := &failedSet{ids: e.heldAt(start), max: maxFailed(e.batch)}
	if e.claimers == 1 {
		err = e.claimLoop(ctx, f, &res, nil)
		res.failures, res.failedIDs = f.failures, f.failedIDs
		return res, err
	}
	// Several claimers: each claims and fires batches until a claim comes back short; the
	// first store error stops the others after their current batch. A short claim does not
	// mean nothing is due any more when claimers contend: a claim skips the deadlines (and
	// tickets) another claimer's transaction holds, and that one may roll back. So rounds
	// repeat until one makes no progress (nothing fired, no new failure), at most maxRounds:
	// firings that keep scheduling deadlines already due would otherwise keep FireDue from
	// ever returning to Run (found in review; the ticket service's chains end after a few).
	for round := 0; round < maxRounds; round++ {
		fired, failed := res.fired, f.size()
		if err := e.claimRound(ctx, f, &res); err != nil {
			res.failures, res.failedIDs = f.failures, f.failedIDs
			return res, err
		}
		if res.fired == fired && f.size() == failed {
			break
		}
	}
	res.failures, res.failedIDs = f.failures, f.failedIDs
	return res, nil
}

// claimRound runs e.claimers claim loops at once and adds what they fired to res.
func (e *Engine) claimRound(ctx context.Context, f *failedSet, res *result) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		stop  atomic.Bool
		first error
	)
	results := make([]result, e.claimers)
	for w := range e.claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.claimLoop(ctx, f, &results[w], &stop); err != nil {
				stop.Store(true)
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, r := range results {
		res.fired += r.fired
		res.maxLate = max(res.maxLate, r.maxLate)
		if r.lastNow.After(res.lastNow) {
			res.lastNow = r.lastNow
		}
	}
	return first
}

// maxRounds bounds the claim rounds of one FireDue with several claimers; Run calls FireDue
// again shortly when something is still due.
const maxRounds = 8

// failedSet is the deadlines one FireDue passes over, shared by its claimers.
type failedSet struct {
	mu        sync.Mutex
	ids       map[string]bool
	max       int
	failures  []error
	failedIDs []string
}

func (f *failedSet) has(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ids[id]
}

func (f *failedSet) size() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ids)
}

func (f *failedSet) add(e *Engine, fe *fireError) {
	f.mu.Lock()
	f.ids[fe.d.ID] = true
	f.failures = append(f.failures, fe)
	f.failedIDs = append(f.failedIDs, fe.d.ID)
	f.mu.Unlock()
	e.noteFailure(fe)
}

// claimLoop claims and fires batches in due order until a claim comes back short, the store
// fails, too many deadlines failed, or stop is set (by another claimer's store error).
func (e *Engine) claimLoop(ctx context.Context, failed *failedSet, res *result, stop *atomic.Bool) error {
	fail := func(fe *fireError) { failed.add(e, fe) }
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if stop != nil && stop.Load() {
			return nil
		}
		n := e.batch + failed.size()
		now := e.clock.Now()
		res.lastNow = now
		var claimed, fired []*store.Deadline
		var dropped int
		// A firing that fails rolls back the whole claim, after the deadlines before it fired.
		err := e.store.Update(store.ExpectRollback(ctx), func(tx store.Tx) error {
			// Per attempt: the store may run this function again.
			claimed, fired, dropped = nil, nil, 0
			ds, err := tx.ClaimDue(ctx, now, n)
			if err != nil {
				return err
			}
			claimed = ds
			if len(ds) > 0 && e.afterClaim != nil {
				e.afterClaim()
			}
			for _, d := range ds {
				if failed.has(d.ID) {
					return errSkip
				}
			}
			for _, d := range ds {
				ok, err := e.fire(ctx, tx, d, now)
				if err != nil {
					return err
				}
				if ok {
					fired = append(fired, d)
				} else {
					dropped++
				}
			}
			return nil
		})
		var fe *fireError
		switch {
		case err == nil:
			e.committed(fired, dropped, res)
		case errors.Is(err, errSkip), errors.As(err, &fe):
			if fe != nil {
				fail(fe)
			}
			if err := e.fireRest(ctx, claimed, failed, fail, res); err != nil {
				return err
			}
		default:
			return fmt.Errorf("claim and fire due deadlines: %w", err)
		}
		if len(claimed) < n {
			return nil
		}
		if failed.size() >= failed.max {
			// So many failures point at something broken beyond a few deadlines: stop, and let
			// Run pause everything rather than make ever larger claims.
			return fmt.Errorf("%d deadlines failed to fire; pausing the engine", failed.size())
		}
	}
}

// maxFailed is how many failing deadlines FireDue passes over before it stops altogether.
func maxFailed(batch int) int { return max(batch, 16) }

// fireRest fires the deadlines of a claim that rolled back, except those that failed, in one
// transaction by id. Each time a firing fails, that deadline is passed to fail (which adds it
// to failed) and the rest is tried again, so one failing deadline costs the others one more
// transaction, not their firing.
func (e *Engine) fireRest(ctx context.Context, claimed []*store.Deadline, failed *failedSet,
	fail func(*fireError), res *result) error {
	rest := make([]*store.Deadline, 0, len(claimed))
	for _, d := range claimed {
		if !failed.has(d.ID) {
			rest = append(rest, d)
		}
	}
	for len(rest) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := e.clock.Now()
		var fired []*store.Deadline
		var dropped int
		err := e.store.Update(store.ExpectRollback(ctx), func(tx store.Tx) error {
			fired, dropped = nil, 0
			got := make([]*store.Deadline, 0, len(rest))
			for _, d := range rest {
				c, err := tx.ClaimDeadline(ctx, d.ID, now)
				if escalated.ErrorCode(err) == escalated.ENOTFOUND {
					continue // fired by another node, cancelled or replaced since the claim
				} else if err != nil {
					return err
				}
				got = append(got, c)
			}
			if len(got) > 0 && e.afterClaim != nil {
				e.afterClaim()
			}
			for _, d := range got {
				ok, err := e.fire(ctx, tx, d, now)
				if err != nil {
					return err
				}
				if ok {
					fired = append(fired, d)
				} else {
					dropped++
				}
			}
			return nil
		})
		var fe *fireError
		switch {
		case err == nil:
			e.committed(fired, dropped, res)
			return nil
		case errors.As(err, &fe):
			fail(fe)
			rest = removeID(rest, fe.d.ID)
		default:
			return fmt.Errorf("fire deadlines by id: %w", err)
		}
	}
	return nil
}

func removeID(ds []*store.Deadline, id string) []*store.Deadline {
	out := ds[:0:0]
	for _, d := range ds {
		if d.ID != id {
			out = append(out, d)
		}
	}
	return out
}

// noteFailure counts and logs a failed firing.
func (e *Engine) noteFailure(fe *fireError) {
	e.failed.Add(1)
	e.log.Error("deadline engine: a deadline failed to fire; it stays pending and the rest of its batch goes on",
		"deadline_id", fe.d.ID, "ticket_id", fe.d.TicketID, "kind", fe.d.Kind, "target", fe.d.Target,
		"due_at", fe.d.DueAt, "err", fe.err)
}

// fire calls the Firer, attributing its error, or its panic, to d: a panic that the store
// recovered instead would fail the whole batch without saying which deadline caused it.
func (e *Engine) fire(ctx context.Context, tx store.Tx, d *store.Deadline, firedAt time.Time) (ok bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			e.log.Error("deadline engine: panic while firing a deadline", "deadline_id", d.ID,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			ok, err = false, &fireError{d: d, err: escalated.Errorf(escalated.EINTERNAL, "panic: %v", p)}
		}
	}()
	ok, err = e.firer.FireDeadline(ctx, tx, d, firedAt)
	if err != nil {
		return false, &fireError{d: d, err: err}
	}
	return ok, nil
}

// committed accounts for deadlines whose transaction has committed: those that fired, and
// the number of stale ones the Firer dropped (they count apart, never as fired or in the
// lateness figures).
func (e *Engine) committed(fired []*store.Deadline, dropped int, res *result) {
	if dropped > 0 {
		e.dropped.Add(int64(dropped))
		e.metrics.dropped.Add(float64(dropped))
	}
	if len(fired) == 0 {
		return
	}
	after := e.clock.Now()
	for _, d := range fired {
		// A clock stepped back between claim and commit would give a negative lateness; the
		// deadline was not early, so it counts as on time.
		late := max(after.Sub(d.DueAt), 0)
		e.metrics.lateness.Observe(late.Seconds())
		e.metrics.fired.WithLabelValues(d.Kind).Inc()
		e.fired.Add(1)
		e.latSum.Add(int64(late))
		for {
			m := e.latMax.Load()
			if int64(late) <= m || e.latMax.CompareAndSwap(m, int64(late)) {
				break
			}
		}
		res.fired++
		res.maxLate = max(res.maxLate, late)
		if e.onFired != nil {
			e.onFired(d, late)
		}
	}
}
