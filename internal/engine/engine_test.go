package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// TestFiresWhenDueOnVirtualClock drives the engine with a fake clock: each deadline fires when
// the clock reaches its due time and not a millisecond before, a deadline written while the
// engine sleeps wakes it through the store's announcement, and lateness is exactly how far the
// clock was moved past the due time.
func TestFiresWhenDueOnVirtualClock(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		s := open(t)
		clk := clockwork.NewFakeClockAt(T0)
		tk := createTickets(t, s, 1)[0].ID
		d1 := deadline("dl_1", tk, "first_response", T0.Add(time.Minute))
		d2 := deadline("dl_2", tk, "next_reply", T0.Add(2*time.Minute))
		d5 := deadline("dl_5", tk, "resolution", T0.Add(5*time.Minute))
		schedule(t, s, d5, d1, d2)

		onFired, firedCh := observe(clk)
		e := newEngine(t, Config{Store: s, Firer: &auditFirer{}, Clock: clk, OnFired: onFired})
		sleeps := sleepWatcher(e)
		startRun(t, e)

		expectSleep(t, sleeps, d1.DueAt)
		blockUntilSleeping(t, clk)
		clk.Advance(time.Minute - time.Millisecond)
		blockUntilSleeping(t, clk)
		expectNothingFired(t, firedCh, "a millisecond before the first due time")
		clk.Advance(time.Millisecond)
		expectFired(t, firedCh, d1.ID, 0)

		// Moved 7s past the second due time at once: it fires 7s late.
		expectSleep(t, sleeps, d2.DueAt)
		blockUntilSleeping(t, clk)
		clk.Advance(time.Minute + 7*time.Second)
		expectFired(t, firedCh, d2.ID, 7*time.Second)
		expectSleep(t, sleeps, d5.DueAt)

		// Written while the engine sleeps until T+5m, due at T+3m: the announcement wakes it.
		d3 := deadline("dl_3", tk, "acknowledge", T0.Add(3*time.Minute))
		schedule(t, s, d3)
		expectSleep(t, sleeps, d3.DueAt)
		blockUntilSleeping(t, clk)
		clk.Advance(d3.DueAt.Sub(clk.Now()) - time.Millisecond)
		blockUntilSleeping(t, clk)
		expectNothingFired(t, firedCh, "a millisecond before the announced due time")
		clk.Advance(time.Millisecond)
		expectFired(t, firedCh, d3.ID, 0)

		expectSleep(t, sleeps, d5.DueAt)
		blockUntilSleeping(t, clk)
		clk.Advance(2 * time.Minute)
		expectFired(t, firedCh, d5.ID, 0)
		expectSleep(t, sleeps, time.Time{}) // nothing pending: no timer at all

		// Written already overdue: it fires at once, as late as it already is.
		d4 := deadline("dl_4", tk, "custom", T0.Add(4*time.Minute))
		schedule(t, s, d4)
		expectFired(t, firedCh, d4.ID, time.Minute)
		expectSleep(t, sleeps, time.Time{})

		wantFiredOnce(t, s, []string{d1.ID, d2.ID, d3.ID, d4.ID, d5.ID})
		st := e.Stats()
		if st.Fired != 5 || st.LatenessSum != time.Minute+7*time.Second || st.LatenessMax != time.Minute || st.Failed != 0 {
			t.Errorf("Stats = %+v, want 5 fired, lateness sum 1m7s, max 1m, none failed", st)
		}
	})
}

// TestCatchUpFiresInDueOrder starts the engine with 1,000 deadlines that came due while it was
// down: they fire at once, in (due, id) order, each exactly once, and the catch-up is logged.
func TestCatchUpFiresInDueOrder(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		s := open(t)
		const n, perTicket = 1000, 20
		tks := createTickets(t, s, n/perTicket)
		r := rand.New(rand.NewPCG(1, 2))
		ids := r.Perm(n) // ids are not in due order
		ds := make([]*store.Deadline, n)
		for i := range ds {
			// 700 distinct due times for 1,000 deadlines, so that ids break ties.
			due := T0.Add(-time.Duration(1+r.IntN(700)) * time.Second)
			ds[i] = deadline(dlID(ids[i]), tks[i/perTicket].ID, fmt.Sprint("target_", i%perTicket), due)
		}
		r.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
		for chunk := range slices.Chunk(ds, 250) {
			schedule(t, s, chunk...)
		}
		want := make([]*store.Deadline, n)
		copy(want, ds)
		slices.SortFunc(want, func(a, b *store.Deadline) int {
			return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.ID, b.ID))
		})
		wantIDs := make([]string, n)
		for i, d := range want {
			wantIDs[i] = d.ID
		}

		clk := clockwork.NewFakeClockAt(T0)
		firer := &auditFirer{}
		var logs syncBuffer
		onFired, firedCh := observe(clk)
		e := newEngine(t, Config{Store: s, Firer: firer, Clock: clk, Batch: 100, Log: testLogger(&logs), OnFired: onFired})
		sleeps := sleepWatcher(e)
		startRun(t, e)
		expectSleep(t, sleeps, time.Time{})

		if got := firer.calls(); !slices.Equal(got, wantIDs) {
			i := 0
			for i < min(len(got), len(wantIDs)) && got[i] == wantIDs[i] {
				i++
			}
			t.Fatalf("the Firer saw %d deadlines, first out of due order at position %d (want %d in (due, id) order)",
				len(got), i, n)
		}
		for i := range n {
			f := <-firedCh
			if f.id != wantIDs[i] || f.lateness != T0.Sub(want[i].DueAt) {
				t.Fatalf("OnFired call %d: %s late %s, want %s late %s", i, f.id, f.lateness, wantIDs[i], T0.Sub(want[i].DueAt))
			}
		}
		wantFiredOnce(t, s, wantIDs)
		if st := e.Stats(); st.Fired != n || st.LatenessMax != T0.Sub(want[0].DueAt) {
			t.Errorf("Stats = %+v, want %d fired, max lateness %s", st, n, T0.Sub(want[0].DueAt))
		}
		if msg := fmt.Sprintf("fired %d overdue deadlines in 0s, max lateness %s", n, T0.Sub(want[0].DueAt)); !strings.Contains(logs.String(), msg) {
			t.Errorf("the log does not say %q:\n%s", msg, logs.String())
		}
	})
}

var errPoison = errors.New("this deadline cannot be applied")

// TestFailingDeadlineDoesNotBlockOthers: one deadline whose Firer fails and one whose Firer
// panics, in the first two batches of eleven: the other nine fire, the two stay pending with
// nothing of theirs written, and fire once the Firer works again.
func TestFailingDeadlineDoesNotBlockOthers(t *testing.T) {
	for _, claimers := range []int{1, 3} {
		t.Run(fmt.Sprintf("claimers=%d", claimers), func(t *testing.T) { failingDoesNotBlock(t, claimers) })
	}
}

func failingDoesNotBlock(t *testing.T, claimers int) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		s := open(t)
		tk := createTickets(t, s, 1)[0].ID
		var ds []*store.Deadline
		var all []string
		for i := range 11 {
			ds = append(ds, deadline(dlID(i), tk, fmt.Sprint("target_", i), T0.Add(-time.Duration(11-i)*time.Second)))
			all = append(all, dlID(i))
		}
		schedule(t, s, ds...)
		failing, panicking := ds[1], ds[6]
		firer := &auditFirer{}
		firer.setFail(func(d *store.Deadline) error {
			switch d.ID {
			case failing.ID:
				return errPoison
			case panicking.ID:
				panic("firer bug")
			}
			return nil
		})
		clk := clockwork.NewFakeClockAt(T0)
		e := newEngine(t, Config{Store: s, Firer: firer, Clock: clk, Batch: 4, Claimers: claimers})

		n, err := e.FireDue(t.Context())
		if n != 9 {
			t.Errorf("FireDue fired %d deadlines, want the 9 that do not fail", n)
		}
		if !errors.Is(err, errPoison) || !strings.Contains(fmt.Sprint(err), failing.ID) || !strings.Contains(fmt.Sprint(err), panicking.ID) {
			t.Errorf("FireDue error = %v, want one naming %s (%v) and %s (panic)", err, failing.ID, errPoison, panicking.ID)
		}
		if got := nextDue(t, s); !got.Equal(failing.DueAt) {
			t.Errorf("NextDue after the failures = %s, want %s: the failing deadline must stay pending", got, failing.DueAt)
		}
		counts := firedCounts(t, s)
		if counts[failing.ID] != 0 || counts[panicking.ID] != 0 || len(counts) != 9 {
			t.Errorf("fired %v, want the nine others once each and nothing of %s or %s", counts, failing.ID, panicking.ID)
		}
		// With several claimers a failing deadline can be claimed again by another claimer
		// before the first one's failure is known (its rollback freed it): each claimer tries
		// it at most once per FireDue.
		if st := e.Stats(); st.Fired != 9 || st.Failed < 2 || st.Failed > int64(2*claimers) {
			t.Errorf("Stats = %+v, want 9 fired, 2 failed (up to %d with %d claimers)", st, 2*claimers, claimers)
		}

		firer.setFail(nil)
		if n, err := e.FireDue(t.Context()); n != 2 || err != nil {
			t.Errorf("FireDue once the Firer works = %d, %v; want 2, nil", n, err)
		}
		wantFiredOnce(t, s, all)
	})
}

// TestClaimersFireEachDeadlineOnce: several claimers in one engine (Config.Claimers) fire a
// backlog of 1,000 overdue deadlines, each exactly once, and leave none pending; on
// PostgreSQL they claim concurrently on their own connections.
func TestClaimersFireEachDeadlineOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		s := open(t)
		const n, perTicket = 1000, 20
		tks := createTickets(t, s, n/perTicket)
		ds := make([]*store.Deadline, n)
		ids := make([]string, n)
		for i := range ds {
			ids[i] = dlID(i)
			ds[i] = deadline(ids[i], tks[i/perTicket].ID, fmt.Sprint("target_", i%perTicket), T0.Add(-time.Duration(n-i)*time.Millisecond))
		}
		schedule(t, s, ds...)
		var mu sync.Mutex
		seen := map[string]int{}
		e := newEngine(t, Config{Store: s, Firer: &auditFirer{}, Clock: clockwork.NewFakeClockAt(T0), Batch: 16, Claimers: 4,
			OnFired: func(d *store.Deadline, _ time.Duration) { mu.Lock(); seen[d.ID]++; mu.Unlock() }})
		got, err := e.FireDue(t.Context())
		if got != n || err != nil {
			t.Fatalf("FireDue = %d, %v; want %d, nil", got, err, n)
		}
		wantFiredOnce(t, s, ids)
		if len(seen) != n {
			t.Errorf("OnFired saw %d deadlines, want %d", len(seen), n)
		}
		for id, c := range seen {
			if c != 1 {
				t.Errorf("OnFired saw %s %d times", id, c)
			}
		}
		if next := nextDue(t, s); !next.IsZero() {
			t.Errorf("NextDue = %s after FireDue, want none pending", next)
		}
		if _, err := New(Config{Store: s, Firer: &auditFirer{}, Claimers: -1}); escalated.ErrorCode(err) != escalated.EINVALID {
			t.Errorf("Claimers -1: %v, want an invalid error", err)
		}
	})
}

// TestFailingDeadlineIsRetriedWhileOthersFireOnTime runs the engine with a deadline that fails:
// it is retried after the backoff, and a deadline that comes due meanwhile still fires on time.
func TestFailingDeadlineIsRetriedWhileOthersFireOnTime(t *testing.T) {
	s := openSQLite(t, t.TempDir()+"/escalated.db")
	tk := createTickets(t, s, 1)[0].ID
	poison := deadline("dl_poison", tk, "first_response", T0.Add(-time.Minute))
	due := deadline("dl_due", tk, "next_reply", T0.Add(-30*time.Second))
	soon := deadline("dl_soon", tk, "acknowledge", T0.Add(50*time.Millisecond))
	later := deadline("dl_later", tk, "resolution", T0.Add(time.Hour))
	schedule(t, s, poison, due, soon, later)

	firer := &auditFirer{}
	firer.setFail(func(d *store.Deadline) error {
		if d.ID == poison.ID {
			return errPoison
		}
		return nil
	})
	clk := clockwork.NewFakeClockAt(T0)
	onFired, firedCh := observe(clk)
	var logs syncBuffer
	e := newEngine(t, Config{Store: s, Firer: firer, Clock: clk, OnFired: onFired, Log: testLogger(&logs)})
	e.rand = func(n int64) int64 { return n / 2 } // no jitter: the first pause is exactly 100ms
	sleeps := sleepWatcher(e)
	startRun(t, e)

	expectFired(t, firedCh, due.ID, 30*time.Second)
	// The poison waits for its retry at T+100ms; the engine still wakes at T+50ms for soon.
	expectSleep(t, sleeps, soon.DueAt)
	blockUntilSleeping(t, clk)
	clk.Advance(50 * time.Millisecond)
	expectFired(t, firedCh, soon.ID, 0)
	expectSleep(t, sleeps, T0.Add(backoffMin))
	if got := firer.calls(); !slices.Equal(got, []string{poison.ID, due.ID, soon.ID}) {
		t.Errorf("Firer calls = %v, want the poison tried once before its retry time", got)
	}

	firer.setFail(nil)
	blockUntilSleeping(t, clk)
	clk.Advance(50 * time.Millisecond)
	expectFired(t, firedCh, poison.ID, time.Minute+backoffMin)
	expectSleep(t, sleeps, later.DueAt)
	wantFiredOnce(t, s, []string{poison.ID, due.ID, soon.ID})
	if st := e.Stats(); st.Failed != 1 || st.Fired != 3 {
		t.Errorf("Stats = %+v, want 1 failure and 3 fired", st)
	}
	if !strings.Contains(logs.String(), "dl_poison") || !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("the failure is not logged at Error naming the deadline:\n%s", logs.String())
	}
}

// TestRunEnds: Run returns nil when its context ends and an error when the store closes under
// it.
func TestRunEnds(t *testing.T) {
	s := openSQLite(t, t.TempDir()+"/escalated.db")
	e := newEngine(t, Config{Store: s, Firer: &auditFirer{}, Clock: clockwork.NewFakeClockAt(T0)})
	sleeps := sleepWatcher(e)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	expectSleep(t, sleeps, time.Time{})
	cancel()
	if err := waitErr(t, done); err != nil {
		t.Errorf("Run after its context ended = %v, want nil", err)
	}

	go func() { done <- e.Run(t.Context()) }()
	expectSleep(t, sleeps, time.Time{})
	s.Close()
	if err := waitErr(t, done); err == nil || !strings.Contains(err.Error(), "store") {
		t.Errorf("Run after the store closed = %v, want an error saying the store ended the subscription", err)
	}
}

func waitErr(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(waitFor):
		t.Fatal("Run did not return")
		return nil
	}
}

func TestNewValidates(t *testing.T) {
	s := openSQLite(t, t.TempDir()+"/escalated.db")
	for _, tc := range []struct {
		name  string
		cfg   Config
		field string
	}{
		{"no store", Config{Firer: &auditFirer{}}, "store"},
		{"no firer", Config{Store: s}, "firer"},
		{"negative batch", Config{Store: s, Firer: &auditFirer{}, Batch: -1}, "batch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			var ae *escalated.Error
			if !errors.As(err, &ae) || ae.Code != escalated.EINVALID || ae.Fields[tc.field] == "" {
				t.Errorf("New = %v, want invalid naming %s", err, tc.field)
			}
		})
	}
	reg := prometheus.NewRegistry()
	newEngine(t, Config{Store: s, Firer: &auditFirer{}, Registerer: reg})
	if _, err := New(Config{Store: s, Firer: &auditFirer{}, Registerer: reg}); err == nil {
		t.Error("a second engine registering the same metrics succeeded, want an error")
	}
}

// TestMetrics checks what a scrape shows: fired deadlines by kind, the lateness histogram, and
// the pending and overdue gauges counted at scrape time.
func TestMetrics(t *testing.T) {
	s := openSQLite(t, t.TempDir()+"/escalated.db")
	tk := createTickets(t, s, 1)[0].ID
	warn := func(d *store.Deadline) *store.Deadline { d.Kind = "sla.warning"; return d }
	schedule(t, s,
		warn(deadline("dl_1", tk, "first_response", T0.Add(-time.Second))),
		warn(deadline("dl_2", tk, "next_reply", T0.Add(-2*time.Second))),
		deadline("dl_3", tk, "resolution", T0.Add(-3*time.Second)),
		deadline("dl_4", tk, "first_response", T0.Add(time.Minute)),
		deadline("dl_5", tk, "next_reply", T0.Add(time.Hour)),
	)
	clk := clockwork.NewFakeClockAt(T0)
	reg := prometheus.NewRegistry()
	e := newEngine(t, Config{Store: s, Firer: &auditFirer{}, Clock: clk, Registerer: reg})

	if got := gauges(t, reg); got["escalated_deadlines_pending"] != 5 || got["escalated_deadlines_overdue"] != 3 {
		t.Errorf("gauges before firing = %v, want 5 pending, 3 overdue", got)
	}
	if _, err := e.FireDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute)
	if got := gauges(t, reg); got["escalated_deadlines_pending"] != 2 || got["escalated_deadlines_overdue"] != 1 {
		t.Errorf("gauges after firing, 2 minutes later = %v, want 2 pending, 1 overdue", got)
	}

	families := gather(t, reg)
	byKind := map[string]float64{}
	for _, m := range families["escalated_deadlines_fired_total"].GetMetric() {
		byKind[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
	}
	if byKind["sla.warning"] != 2 || byKind["sla.breached"] != 1 || len(byKind) != 2 {
		t.Errorf("escalated_deadlines_fired_total = %v, want sla.warning 2, sla.breached 1", byKind)
	}
	h := families["escalated_deadline_lateness_seconds"].GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 3 || h.GetSampleSum() != 6 {
		t.Errorf("lateness histogram: %d samples summing to %gs, want 3 summing to 6s", h.GetSampleCount(), h.GetSampleSum())
	}
	if n := len(h.GetBucket()); n != len(latenessBuckets) {
		t.Errorf("lateness histogram has %d buckets, want %d", n, len(latenessBuckets))
	}

	// A store that cannot count leaves the gauges out but does not fail the scrape.
	s.Close()
	if got := gauges(t, reg); len(got) != 0 {
		t.Errorf("gauges with the store closed = %v, want none", got)
	}
}

func gather(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

func gauges(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for name, mf := range gather(t, reg) {
		if mf.GetType() == dto.MetricType_GAUGE {
			out[name] = mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return out
}

func TestBackoff(t *testing.T) {
	e := &Engine{rand: func(n int64) int64 { return n - 1 }} // the largest jitter
	for _, tc := range []struct {
		failures int
		base     time.Duration
	}{{1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {5, 1600 * time.Millisecond}, {9, 25600 * time.Millisecond},
		{10, 30 * time.Second}, {60, 30 * time.Second}} {
		hi := e.backoff(tc.failures)
		e.rand = func(int64) int64 { return 0 }
		lo := e.backoff(tc.failures)
		e.rand = func(n int64) int64 { return n - 1 }
		if lo != tc.base-tc.base/5 || hi < tc.base+tc.base/5-time.Nanosecond || hi > tc.base+tc.base/5 {
			t.Errorf("backoff after %d failures spans [%s, %s], want about %s ± 20%%", tc.failures, lo, hi, tc.base)
		}
	}
}

// TestStaleDeadlinesAreDroppedNotFired: a deadline the Firer finds stale leaves the store like
// a fired one but counts apart: not fired, not in the lateness figures, not passed to OnFired.
func TestStaleDeadlinesAreDroppedNotFired(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "escalated.db"))
	tks := createTickets(t, s, 1)
	stale := deadline(dlID(1), tks[0].ID, "first_response", T0.Add(-time.Minute))
	live := deadline(dlID(2), tks[0].ID, "resolution", T0.Add(-time.Second))
	schedule(t, s, stale, live)
	clk := clockwork.NewFakeClockAt(T0)
	firer := &auditFirer{drop: func(d *store.Deadline) bool { return d.ID == stale.ID }}
	onFired, firedCh := observe(clk)
	e := newEngine(t, Config{Store: s, Firer: firer, Clock: clk, OnFired: onFired})
	if n, err := e.FireDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("FireDue = %d, %v; want 1 fired", n, err)
	}
	expectFired(t, firedCh, live.ID, time.Second)
	expectNothingFired(t, firedCh, "after the stale deadline")
	if st := e.Stats(); st.Fired != 1 || st.Dropped != 1 || st.LatenessMax != time.Second {
		t.Fatalf("Stats = %+v, want 1 fired, 1 dropped, max lateness 1s", st)
	}
	wantFiredOnce(t, s, []string{live.ID})
	var pending int64
	if err := s.View(context.Background(), func(tx store.Tx) error {
		var err error
		pending, _, err = tx.CountDeadlines(context.Background(), T0)
		return err
	}); err != nil || pending != 0 {
		t.Fatalf("pending after FireDue = %d, %v; want 0", pending, err)
	}
}
