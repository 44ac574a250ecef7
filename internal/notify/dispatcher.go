package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// Defaults of Config.
const (
	DefaultWorkers = 16
	DefaultLease   = time.Minute
	// DefaultMaxAttempts is high enough that MaxAge decides when a delivery to a receiver
	// that is down gives up: at the 10-minute cap with full jitter, attempts come about 5
	// minutes apart on average, about 300 in 24 hours. At 12 (the first default) a delivery
	// was dead after 20-40 minutes, so a receiver down for an hour lost deliveries.
	DefaultMaxAttempts = 500
	DefaultMaxAge      = 24 * time.Hour
	DefaultMinDelay    = time.Second
	DefaultMaxDelay    = 10 * time.Minute
)

// Backoff after the store itself failed (not a delivery): it pauses the whole dispatcher.
const (
	storeBackoffMin = 100 * time.Millisecond
	storeBackoffMax = 30 * time.Second
)

// RetryPolicy says how often and how long a failing delivery is tried.
type RetryPolicy struct {
	// MaxAttempts is how many attempts a delivery gets before it is dead (default
	// DefaultMaxAttempts; in practice MaxAge ends a delivery first).
	MaxAttempts int
	// MaxAge is how long after it was queued a delivery may still be tried (default 24h).
	MaxAge time.Duration
	// MinDelay and MaxDelay bound the backoff: attempt n waits a random time in
	// [0, min(MaxDelay, MinDelay*2^(n-1))] ("full jitter"), defaults 1s and 10m.
	MinDelay, MaxDelay time.Duration
}

func (r RetryPolicy) withDefaults() RetryPolicy {
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = DefaultMaxAttempts
	}
	if r.MaxAge <= 0 {
		r.MaxAge = DefaultMaxAge
	}
	if r.MinDelay <= 0 {
		r.MinDelay = DefaultMinDelay
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = DefaultMaxDelay
	}
	return r
}

// Config configures a Dispatcher. Store, Channels and Senders are required.
type Config struct {
	Store store.Store
	// Channels returns the live policy's channels; a delivery whose channel is no longer in it
	// fails.
	Channels func() []Channel
	// Senders send by channel type (TypeWebhook, TypeSlack, TypeEmail).
	Senders map[string]Sender
	// Clock is the dispatcher's time; nil means the real clock.
	Clock clockwork.Clock
	Log   *slog.Logger
	// Workers is how many deliveries are sent at once (default 16).
	Workers int
	// Lease is how long a claimed delivery is kept from other claimers while it is sent
	// (default 1m): longer than any sender's timeout, and the delay after which a delivery
	// whose sender died is sent again.
	Lease time.Duration
	Retry RetryPolicy
	// OnAttempt, when set, is called after each attempt's outcome is stored (tests, benchmarks).
	OnAttempt func(d *store.Delivery)
}

// Dispatcher sends pending deliveries. Run drives it; every node runs one.
type Dispatcher struct {
	store    store.Store
	channels func() []Channel
	// announced says the store has announced a queued delivery (store.ChangeDelivery), which
	// shows it announces every one: from then on only those wake the dispatcher, not every
	// history event. A store that never does leaves it false. Touched only by Run's goroutine.
	announced bool
	senders   map[string]Sender
	clock     clockwork.Clock
	log       *slog.Logger
	workers   int
	lease     time.Duration
	retry     RetryPolicy
	onAttempt func(*store.Delivery)
	kick      chan struct{}
	rand      func(n int64) int64

	delivered, failed, dead, retried atomic.Int64
	// repeats keeps one reason from flooding the log (see warnLevel).
	repeatsMu sync.Mutex
	repeats   map[string]time.Time
}

// warnLevel is the level for a failure of channel with reason errText: Warn the first time in a
// minute, Debug for the same reason on the same channel again within it. A misconfigured channel
// (an unset secret, no SMTP server) fails every delivery the same way; one line says so.
func (d *Dispatcher) warnLevel(channel, errText string, now time.Time) slog.Level {
	d.repeatsMu.Lock()
	defer d.repeatsMu.Unlock()
	key := channel + "\x00" + errText
	if last, ok := d.repeats[key]; ok && now.Sub(last) < time.Minute {
		return slog.LevelDebug
	}
	if d.repeats == nil || len(d.repeats) > 1000 {
		d.repeats = map[string]time.Time{}
	}
	d.repeats[key] = now
	return slog.LevelWarn
}

// New returns a dispatcher for cfg.
func New(cfg Config) (*Dispatcher, error) {
	if cfg.Store == nil {
		return nil, escalated.Invalid("store", "the dispatcher needs a store")
	}
	if cfg.Channels == nil {
		return nil, escalated.Invalid("channels", "the dispatcher needs the live channels")
	}
	d := &Dispatcher{
		store: cfg.Store, channels: cfg.Channels, senders: cfg.Senders, clock: cfg.Clock, log: cfg.Log,
		workers: cfg.Workers, lease: cfg.Lease, retry: cfg.Retry.withDefaults(), onAttempt: cfg.OnAttempt,
		kick: make(chan struct{}, 1), rand: rand.Int64N,
	}
	if d.clock == nil {
		d.clock = clockwork.NewRealClock()
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.workers <= 0 {
		d.workers = DefaultWorkers
	}
	if d.lease <= 0 {
		d.lease = DefaultLease
	}
	return d, nil
}

// Stats counts attempt outcomes since New.
type Stats struct {
	Delivered, Failed, Dead, Retried int64
}

// Stats returns the counts so far.
func (d *Dispatcher) Stats() Stats {
	return Stats{Delivered: d.delivered.Load(), Failed: d.failed.Load(), Dead: d.dead.Load(), Retried: d.retried.Load()}
}

// Kick wakes the dispatcher to look for due deliveries now (a retry was requested on this node;
// such a retry announces nothing through the store).
func (d *Dispatcher) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Run sends deliveries as they come due until ctx is done, then waits for the sends in flight
// and returns nil. It returns an error only when the store ends its change subscription while
// ctx is still live.
func (d *Dispatcher) Run(ctx context.Context) error {
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes, err := d.store.Subscribe(subCtx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("dispatcher: subscribe to store changes: %w", err)
	}
	var (
		wg       sync.WaitGroup
		inflight int
		finished = make(chan struct{}, d.workers)
		failures int
		busy     int
	)
	defer wg.Wait()
	for {
		if ctx.Err() != nil {
			return nil
		}
		var wake time.Time
		var storeErr error
		// Fill the free workers, claiming no more than they can take.
		var lastNow time.Time
		for inflight < d.workers {
			now := d.clock.Now()
			lastNow = now
			want := d.workers - inflight
			var claimed []*store.Delivery
			storeErr = d.store.Update(ctx, func(tx store.Tx) error {
				var err error
				claimed, err = tx.ClaimDeliveries(ctx, now, now.Add(d.lease), want)
				return err
			})
			if storeErr != nil {
				break
			}
			for _, dl := range claimed {
				inflight++
				wg.Add(1)
				go func() {
					defer wg.Done()
					d.attempt(ctx, dl)
					finished <- struct{}{}
				}()
			}
			if len(claimed) < want {
				break
			}
		}
		if storeErr == nil && inflight < d.workers {
			storeErr = d.store.View(ctx, func(tx store.Tx) error {
				var err error
				wake, err = tx.NextDeliveryAt(ctx)
				return err
			})
			if storeErr == nil && !wake.IsZero() && !wake.After(lastNow) {
				// Due at the claim, yet not claimed: another node's transaction holds it
				// (PostgreSQL's SKIP LOCKED passed over it). Look again shortly rather than spin.
				busy++
				wake = d.clock.Now().Add(d.storeBackoff(busy))
			} else {
				busy = 0
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if storeErr != nil {
			failures++
			pause := d.storeBackoff(failures)
			d.log.Error("dispatcher: cannot read or claim deliveries; retrying after a pause",
				"err", storeErr, "failures", failures, "retry_in", pause)
			wake = d.clock.Now().Add(pause)
		} else {
			failures = 0
		}
		if inflight >= d.workers {
			wake = time.Time{} // every worker is busy: the next one to finish wakes the loop
		}
		if !wake.IsZero() && !wake.After(d.clock.Now()) && inflight < d.workers {
			continue
		}
		n, err := d.sleep(ctx, changes, finished, wake)
		inflight -= n
		if err != nil {
			return err
		}
	}
}

// sleep waits until wake (forever when zero), a committed history event, a Kick, or a send
// finishing; it returns how many sends finished while it waited.
func (d *Dispatcher) sleep(ctx context.Context, changes <-chan store.Change, finished <-chan struct{}, wake time.Time) (n int, err error) {
	var fire <-chan time.Time
	if !wake.IsZero() {
		t := d.clock.NewTimer(wake.Sub(d.clock.Now()))
		defer t.Stop()
		fire = t.Chan()
	}
	defer func() {
		for {
			select {
			case <-finished:
				n++
			default:
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return n, nil
		case <-fire:
			return n, nil
		case <-d.kick:
			return n, nil
		case <-finished:
			n++
			return n, nil
		case c, ok := <-changes:
			if !ok {
				if ctx.Err() != nil {
					return n, nil
				}
				return n, errors.New("dispatcher: the store ended the change subscription (store closed?)")
			}
			if !c.Lagged {
				switch {
				case c.Type == store.ChangeDelivery:
					d.announced = true
				case c.Type == store.ChangeDeadline:
					continue // a scheduled deadline enqueues nothing
				case d.announced:
					// The store announces every delivery it queues (it just announced one),
					// so a history event without one queued nothing: no claim for it.
					continue
				}
			}
			// Announcements come in bursts (one per event of a change): the next claim reads
			// the store after all the waiting ones committed, so they need no cycle of their own.
			for {
				select {
				case c, ok := <-changes:
					if ok {
						d.announced = d.announced || c.Type == store.ChangeDelivery
						continue
					}
				default:
				}
				break
			}
			return n, nil
		}
	}
}

// storeBackoff is the pause after n consecutive store failures (or busy looks), jittered by up
// to a fifth either way.
func (d *Dispatcher) storeBackoff(n int) time.Duration {
	p := storeBackoffMax
	if n < 20 {
		p = min(storeBackoffMin<<(n-1), storeBackoffMax)
	}
	return p - p/5 + time.Duration(d.rand(int64(2*p/5)+1))
}

// Backoff returns the delay before attempt n+1 after n failed ones: full jitter over an
// exponential ceiling, min(MaxDelay, MinDelay*2^(n-1)).
func (d *Dispatcher) Backoff(n int) time.Duration {
	ceiling := d.retry.MaxDelay
	if n < 40 {
		ceiling = min(d.retry.MinDelay<<(max(n, 1)-1), d.retry.MaxDelay)
	}
	return time.Duration(d.rand(int64(ceiling) + 1))
}

// attempt sends one claimed delivery and stores the outcome. When ctx ends mid-send (the node is
// shutting down) nothing is recorded and the lease is released, so the delivery is due again at
// once: a node that starts claims it first thing; another node already running picks it up at
// its next claim (the release announces nothing), at the latest when its timer for the next due
// delivery fires.
func (d *Dispatcher) attempt(ctx context.Context, dl *store.Delivery) {
	out := d.send(ctx, dl)
	if ctx.Err() != nil && out.Err != nil {
		rel := context.WithoutCancel(ctx)
		err := d.store.Update(rel, func(tx store.Tx) error {
			cur, err := tx.GetDelivery(rel, dl.ID)
			if err != nil || cur.State != store.DeliveryPending {
				return err
			}
			cur.NextAttemptAt = escalated.Truncate(d.clock.Now())
			return tx.UpdateDelivery(rel, cur)
		})
		if err != nil {
			d.log.Warn("dispatcher: release an interrupted delivery; it is sent again when its lease ends",
				"delivery_id", dl.ID, "err", err)
		}
		return
	}
	d.record(context.WithoutCancel(ctx), dl, out)
}

// send runs the channel's sender, turning a panic into a retryable failure.
func (d *Dispatcher) send(ctx context.Context, dl *store.Delivery) (out Outcome) {
	defer func() {
		if p := recover(); p != nil {
			d.log.Error("dispatcher: panic while sending", "delivery_id", dl.ID, "panic", fmt.Sprint(p),
				"stack", string(debug.Stack()))
			out = Retry(0, fmt.Errorf("sender panicked: %v", p))
		}
	}()
	var c *Channel
	for _, ch := range d.channels() {
		if ch.ID == dl.Channel {
			c = &ch
			break
		}
	}
	if c == nil {
		return Fail(0, fmt.Errorf("channel %q is not in the live policy", dl.Channel))
	}
	s := d.senders[c.Type]
	if s == nil {
		return Fail(0, fmt.Errorf("no sender for %s channels on this node", c.Type))
	}
	return s.Send(ctx, c, dl)
}

// record stores the outcome of one attempt and decides what comes next.
func (d *Dispatcher) record(ctx context.Context, dl *store.Delivery, out Outcome) {
	at := escalated.Truncate(d.clock.Now())
	dl.Attempts++
	a := store.Attempt{At: at, Status: out.Status}
	if out.Err != nil {
		a.Error = out.Err.Error()
	}
	dl.Log = append(dl.Log, a)
	dl.LastStatus, dl.LastError = a.Status, a.Error
	dl.NextAttemptAt = at
	switch {
	case out.Err == nil:
		dl.State, dl.DeliveredAt = store.DeliveryDelivered, &at
		d.delivered.Add(1)
	case out.Permanent:
		dl.State = store.DeliveryFailed
		d.failed.Add(1)
		d.log.Log(ctx, d.warnLevel(dl.Channel, a.Error, at), "delivery failed; it will not be retried unless asked to (POST /v1/deliveries/{id}/retry); the same failure on this channel is logged at debug for a minute",
			"delivery_id", dl.ID, "channel", dl.Channel, "ticket_id", dl.TicketID, "status", out.Status, "err", a.Error)
	default:
		delay := d.Backoff(dl.Attempts)
		if ra, ok := parseRetryAfter(out.RetryAfter, at); ok {
			delay = ra
		}
		next := at.Add(delay)
		if dl.Attempts >= d.retry.MaxAttempts || next.Sub(dl.QueuedAt) > d.retry.MaxAge {
			dl.State = store.DeliveryDead
			d.dead.Add(1)
			d.log.Log(ctx, d.warnLevel(dl.Channel, a.Error, at), "delivery dead after its last attempt; it stays listed for a retry (POST /v1/deliveries/{id}/retry)",
				"delivery_id", dl.ID, "channel", dl.Channel, "ticket_id", dl.TicketID, "attempts", dl.Attempts,
				"status", out.Status, "err", a.Error)
		} else {
			dl.NextAttemptAt = escalated.Truncate(next)
			d.retried.Add(1)
			d.log.Debug("delivery attempt failed; retrying", "delivery_id", dl.ID, "channel", dl.Channel,
				"attempt", dl.Attempts, "status", out.Status, "err", a.Error, "retry_at", dl.NextAttemptAt)
		}
	}
	if err := d.store.Update(ctx, func(tx store.Tx) error { return tx.UpdateDelivery(ctx, dl) }); err != nil {
		// The lease runs out and the delivery is sent again: at least once, never lost.
		d.log.Error("dispatcher: store the outcome of a delivery attempt; it is sent again when its lease ends",
			"delivery_id", dl.ID, "err", err)
		return
	}
	if d.onAttempt != nil {
		d.onAttempt(dl)
	}
}

// parseRetryAfter reads a Retry-After header, seconds or an HTTP date, as a delay from now.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs >= 0 {
		return time.Duration(min(secs, int64(365*24*time.Hour/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
