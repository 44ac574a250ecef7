package bench

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/app"
	"github.com/escalated/escalated/internal/config"
	"github.com/escalated/escalated/internal/engine"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/sla"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/sqlite"
)

// The deadline benchmarks (E4) measure the deadline engine on a real node: an HTTP server over
// a store holding a million pending SLA breaches.
//
// Tickets are loaded directly through Store.Update (5,000 per transaction): each is a new
// frontline ticket whose first_response clock started one target (24h in bench-sla.yaml)
// before its breach is due, with the one breach deadline row the ticket service would have
// written. The clock is already warned (the policy warns at 80% and a loaded ticket is always
// past it), so only breaches are pending. The tickets carry no messages or history, so the
// escalation's handoff package lists none. Due times are at whole milliseconds.

//go:embed bench-sla.yaml
var benchSLAPolicy []byte

const loadChunk = 5000

// DeadlineOptions sizes the deadline benchmarks; zero fields take the defaults of
// PRODUCT.md's bars.
type DeadlineOptions struct {
	// Store is "sqlite" or "postgres"; DB a fresh database of that store.
	Store, DB string
	// Deadlines is how many pending breaches Lateness loads (1,000,000), due over Spread (1h).
	Deadlines int
	Spread    time.Duration
	// Window is how long Lateness measures (3m), while Rate customer messages a second are
	// POSTed (1,000).
	Window time.Duration
	Rate   int
	// Lead is from the start of the load to the first due time (the expected load time x1.5
	// plus a minute).
	Lead time.Duration
	// Overdue is how many breaches CatchUp loads (100,000), due over the 10 minutes before it
	// starts.
	Overdue int
	// Order is "sorted" (ticket ids follow due times) or "shuffled" (see dueTimes).
	Order string
	// Timeline prints per-second figures of the window to stderr; LogLevel ("debug", "info")
	// writes the node's log there.
	Timeline bool
	LogLevel string
	// Record (SQLite) records the writer's statements during the catch-up and executes them
	// again raw on a copy of the database as loaded (CatchUp.Raw): the cost of the rows the
	// catch-up writes, with nothing around them. The recorded run's own times include the copy
	// and the recording, so a benchmark reports the times of a run without it.
	Record bool
}

func (o DeadlineOptions) withDefaults() DeadlineOptions {
	if o.Deadlines == 0 {
		o.Deadlines = 1_000_000
	}
	if o.Spread == 0 {
		o.Spread = time.Hour
	}
	if o.Window == 0 {
		o.Window = 3 * time.Minute
	}
	if o.Rate == 0 {
		o.Rate = 1000
	}
	if o.Overdue == 0 {
		o.Overdue = 100_000
	}
	if o.Order == "" {
		o.Order = "sorted"
	}
	return o
}

// ingestTicketsFor is how many tickets the window's messages go to: a second's worth, between
// 10 and 1,000.
func ingestTicketsFor(rate int) int { return min(1000, max(10, rate)) }

// storeLoad is how a store is loaded: loaders chunks at a time, at a cautious loadRate in
// tickets (with their deadline) per second, from which the default lead is derived. Measured
// on the 2-core machine with 1,000,000 tickets: SQLite 17,000-21,000/s in due order, 8,800/s
// shuffled (5,300/s with other work running); PostgreSQL 5,200-5,700/s.
func storeLoad(store string) (loaders int, loadRate float64) {
	if store == "postgres" {
		return 4, 4000
	}
	return 2, 10000
}

// Lateness is what the lateness benchmark measured.
type Lateness struct {
	Deadlines          int
	P50, P99, Max      time.Duration
	Fired              int
	LoadTook, Start    time.Duration
	RSSStart, RSSEnd   float64 // MiB
	RSSPeak            float64 // MiB, from the node's start to the end of the window
	Ingest             Load
	IngestRate         int
	Drain              time.Duration
	SelfCores, PGCores float64
	OtherCores         float64
}

// CatchUp is what the catch-up benchmark measured.
type CatchUp struct {
	Overdue int
	// Took is from Serve to the last firing; FromStart from app.New (the node's start:
	// opening the store, migrations, loading the policy) to the last firing.
	Took, FromStart    time.Duration
	Ready              time.Duration
	LoadTook, Start    time.Duration
	RSSStart, RSSEnd   float64
	SelfCores, PGCores float64
	OtherCores         float64
	// Raw is how long the recorded statements took executed again raw, 100 write functions
	// (each claims and fires up to a batch of breaches) to a transaction, and RawStatements how
	// many there were (DeadlineOptions.Record; zero otherwise).
	Raw           time.Duration
	RawStatements int
	// RawProfile is where the raw replay's time went (nil without one).
	RawProfile *sqlite.ReplayProfile
}

// RunLateness loads o.Deadlines pending breaches due over the next o.Spread, starts a node on
// them and, for o.Window, POSTs customer messages at o.Rate while the engine fires the breaches
// falling due (each escalates the ticket, as the policy says). It measures the lateness of
// every breach due in the window (commit time minus due time, exact quantiles of all samples),
// checks that each of them fired exactly once, and measures the load, the start, the memory
// and the ingest latency.
func RunLateness(t T, o DeadlineOptions) Lateness {
	o = o.withDefaults()
	n, spread, window, rate := o.Deadlines, o.Spread, o.Window, o.Rate
	loaders, loadRate := storeLoad(o.Store)
	lead := o.Lead
	if lead == 0 {
		// The expected load time with half again as slack, plus time to start the node (up
		// to a minute for a million clocks) and to open the ingest tickets one by one over
		// HTTP (about 10 ms each on PostgreSQL here).
		slack := min(time.Minute, 10*time.Second+time.Duration(n/20)*time.Millisecond) +
			time.Duration(ingestTicketsFor(rate))*10*time.Millisecond
		lead = (time.Duration(float64(n)/loadRate*1.5*float64(time.Second)) + slack).Round(time.Second)
	}
	if window > spread {
		t.Fatalf("the window (%s) must not exceed the spread of due times (%s)", window, spread)
	}
	db := o.DB
	pol, polPath := benchPolicyFile(t, true)
	plan := benchPlan(t, pol)
	if max := time.Duration(float64(plan.budget) * (1 - plan.warnAt)); lead+spread > max {
		t.Fatalf("lead + spread (%s) must stay under %s, the part of the "+
			"first-response target after the warning point (loaded clocks are already warned)", lead+spread, max)
	}

	// Load: due times over [base, base+spread] (see dueTimes), base = loadStart + lead.
	loadStart := time.Now()
	base := escalated.Truncate(loadStart.Add(lead))
	windowEnd := base.Add(window)
	loadTook, dueInWindow := loadBreaches(t, db, plan, n, loaders, dueTimes(t, o.Order, base, spread, n), windowEnd)
	t.Logf("loaded %d tickets with pending breaches in %s (%.0f tickets/s)%s; %d fall due in the window",
		n, loadTook.Round(time.Millisecond), float64(n)/loadTook.Seconds(), fileSize(db), dueInWindow)
	if time.Now().After(base) {
		t.Fatalf("loading took %s, past the first due deadline: the lead before the first due time (%s) was too short: go test reads ESCALATED_BENCH_LEAD, escalated bench derives it from the expected load time", loadTook, lead)
	}

	// Start the node on the loaded database; the engine records lateness of the breaches due in
	// the window.
	var (
		mu    sync.Mutex
		late  []time.Duration
		dues  []time.Time
		seen  = map[string]int{}
		other atomic.Int64
	)
	onFired := func(d *store.Deadline, l time.Duration) {
		if d.Kind != escalated.EventSLABreached || d.DueAt.Before(base) || d.DueAt.After(windowEnd) {
			other.Add(1)
			return
		}
		mu.Lock()
		late = append(late, l)
		dues = append(dues, d.DueAt)
		seen[d.ID]++
		mu.Unlock()
	}
	nd := startBenchNode(t, db, polPath, o.LogLevel, onFired)
	defer nd.stop()
	t.Logf("node ready %s after app.New with %d pending deadlines; RSS %.0f MiB", nd.start.Round(time.Millisecond), n, nd.rssStart)

	// Ingest tickets: created through the API before the window.
	client := loadClient()
	secret, _, err := nd.a.Access.CreateToken(nd.ctx, access.NewToken{Name: "bench", Role: escalated.RoleSupervisor}, "bench")
	if err != nil {
		t.Fatal(err)
	}
	ingestTickets := ingestTicketsFor(rate)
	ids := make([]string, ingestTickets)
	created := time.Now()
	for i := range ids {
		ids[i] = createTicketHTTP(t, client, nd.url, secret)
	}
	t.Logf("created %d ingest tickets through the API in %s", ingestTickets, time.Since(created).Round(time.Millisecond))
	if wait := time.Until(base); wait < 0 {
		t.Fatalf("loading (%s), starting (%s) and creating the ingest tickets took past the first due deadline: "+
			"the lead before the first due time (%s) was too short: go test reads ESCALATED_BENCH_LEAD, escalated bench derives it from the expected load time", loadTook.Round(time.Second), nd.start.Round(time.Millisecond), lead)
	} else {
		t.Logf("waiting %s for the window to start", wait.Round(time.Second))
		select {
		case <-time.After(wait):
		case <-t.Context().Done():
			t.Fatalf("cancelled")
		}
	}

	// The window: messages at rate, open loop, from base to windowEnd.
	uptimeStart := loadavg()
	cpu := startCPU()
	reqs := int(int64(rate) * int64(window) / int64(time.Second))
	ingest := OpenLoop(base, rate, reqs, newPoster(t, nd.url, secret, ids, messageBody()).post)
	selfCores, pgCores, otherCores := cpu.cores()
	// Every breach due by windowEnd must fire: wait for the overdue ones to go (so that the
	// lateness of a backlog is measured, not left out), then compare.
	var pending, overdue int64
	windowDone := time.Now()
	deadline := windowDone.Add(10 * time.Minute)
	for {
		if err := nd.a.Store.View(nd.ctx, func(tx store.Tx) error {
			var err error
			pending, overdue, err = tx.CountDeadlines(nd.ctx, windowEnd)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if overdue == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	drain := time.Since(windowDone)
	// The engine calls OnFired after the commit that CountDeadlines already sees: give the last
	// batch's calls a moment.
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		got := int64(len(seen))
		mu.Unlock()
		if got >= dueInWindow {
			break
		}
	}
	uptimeEnd := loadavg()
	rssEnd := rssMiB()
	stats := nd.a.Engine.Stats()

	mu.Lock()
	if o.Timeline {
		timeline(base, window, dues, late, ingest.Lat, rate)
	}
	samples := slices.Clone(late)
	var dups int
	for _, c := range seen {
		if c > 1 {
			dups++
		}
	}
	firedInWindow := len(seen)
	mu.Unlock()
	if overdue > 0 {
		t.Errorf("%d breaches due by the end of the window are still pending %s later", overdue, drain.Round(time.Second))
	}
	if int64(firedInWindow) != dueInWindow {
		t.Errorf("fired %d distinct breaches due in the window; %d were loaded due in it (%d still pending)",
			firedInWindow, dueInWindow, overdue)
	}
	if dups > 0 {
		t.Errorf("%d breaches fired more than once", dups)
	}
	if stats.Failed > 0 || stats.Dropped > 0 {
		t.Errorf("the engine failed %d firings and dropped %d deadlines as stale", stats.Failed, stats.Dropped)
	}
	nd.log.check(t)
	if ingest.Failed > 0 {
		t.Errorf("%d of %d ingest requests failed, first: %v", ingest.Failed, reqs, ingest.FirstErr)
	}
	if len(samples) == 0 {
		t.Fatal("no breach fired in the window")
	}
	slices.Sort(samples)
	res := Lateness{
		Deadlines: n, P50: samples[len(samples)/2], P99: samples[len(samples)*99/100], Max: samples[len(samples)-1],
		Fired: len(samples), LoadTook: loadTook, Start: nd.start, RSSStart: nd.rssStart, RSSEnd: rssEnd, RSSPeak: float64(peakRSS()) / (1 << 20),
		Ingest: ingest, IngestRate: rate, Drain: drain, SelfCores: selfCores, PGCores: pgCores, OtherCores: otherCores,
	}
	t.Logf("%s: %d deadlines (spread %s): load %.1fs (%.0f rows/s), start %.0fms, RSS %.0f -> %.0f MiB; "+
		"window %s: %d breaches fired, lateness p50 %.1fms p99 %.1fms max %.1fms; ingest %.0f/%d req/s "+
		"p50 %.1fms p99 %.1fms; breaches due in the window all fired %.1fs after its end; %d pending after; "+
		"engine fired %d in all (%d outside the window); "+
		"CPU in the window: this process %.2f cores, PostgreSQL %.2f, the rest of the machine %.2f; load average %s -> %s",
		o.Store, n, spread, loadTook.Seconds(), float64(n)/loadTook.Seconds(), ms(nd.start), nd.rssStart, rssEnd,
		window, len(samples), ms(res.P50), ms(res.P99), ms(res.Max), ingest.Achieved(), rate, ms(ingest.Quantile(0.5)), ms(ingest.Quantile(0.99)),
		drain.Seconds(), pending, stats.Fired, other.Load(), selfCores, pgCores, otherCores, uptimeStart, uptimeEnd)
	return res
}

// RunCatchUp loads o.Overdue breaches that fell due over the last 10 minutes (an outage),
// starts a node and measures the time from Serve until every one has fired, with the breach
// rule (escalate: each breach escalates) or without any rule (the engine and the clock
// bookkeeping alone). It checks that each fired exactly once and that no breach row is left.
func RunCatchUp(t T, o DeadlineOptions, escalate bool) CatchUp {
	o = o.withDefaults()
	n := o.Overdue
	loaders, _ := storeLoad(o.Store)
	rule := "none"
	if escalate {
		rule = "escalate"
	}
	const outage = 10 * time.Minute
	db := o.DB
	pol, polPath := benchPolicyFile(t, escalate)
	plan := benchPlan(t, pol)

	loadStart := escalated.Truncate(time.Now())
	loadTook, _ := loadBreaches(t, db, plan, n, loaders, dueTimes(t, o.Order, loadStart.Add(-outage), outage, n), loadStart)
	t.Logf("loaded %d tickets with breaches due over the %s before %s in %s (%.0f tickets/s)",
		n, outage, loadStart.Format(time.TimeOnly), loadTook.Round(time.Millisecond), float64(n)/loadTook.Seconds())

	var (
		mu      sync.Mutex
		seen    = make(map[string]int, n)
		dups    int
		maxLate time.Duration
		doneAt  time.Time
		done    = make(chan struct{})
	)
	onFired := func(d *store.Deadline, l time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if seen[d.ID]++; seen[d.ID] > 1 {
			dups++
		}
		maxLate = max(maxLate, l)
		if len(seen) == n && doneAt.IsZero() {
			doneAt = time.Now()
			close(done)
		}
	}
	nd := prepareBenchNode(t, db, polPath, o.LogLevel, onFired)
	defer nd.stop()
	var (
		sq         *sqlite.DB
		rec        *sqlite.Recorder
		start0     string
		rawTook    time.Duration
		rawN       int
		rawProfile *sqlite.ReplayProfile
	)
	if o.Record {
		var ok bool
		if sq, ok = nd.a.Store.(*sqlite.DB); !ok {
			t.Fatalf("recording a catch-up needs SQLite, not %T", nd.a.Store)
		}
		start0 = filepath.Join(t.TempDir(), "catchup-start.db")
		if err := sq.Backup(nd.ctx, start0); err != nil {
			t.Fatal(err)
		}
		rec = sq.Record()
	}
	uptimeStart := loadavg()
	cpu := startCPU()
	served := time.Now()
	nd.serve(t)
	ready := time.Since(served)
	select {
	case <-done:
	case <-time.After(time.Hour):
		mu.Lock()
		got := len(seen)
		mu.Unlock()
		t.Fatalf("after an hour %d of %d overdue breaches fired", got, n)
	case <-t.Context().Done():
		t.Fatalf("cancelled")
	}
	if rec != nil {
		sq.StopRecording()
	}
	took := doneAt.Sub(served)
	selfCores, pgCores, otherCores := cpu.cores()
	uptimeEnd := loadavg()
	// Anything fired twice would fire right after; give it a moment, then check the rows.
	time.Sleep(time.Second)
	var pending, overdue int64
	if err := nd.a.Store.View(nd.ctx, func(tx store.Tx) error {
		var err error
		pending, overdue, err = tx.CountDeadlines(nd.ctx, time.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	rssEnd := rssMiB()
	stats := nd.a.Engine.Stats()
	mu.Lock()
	fired, dupsNow := len(seen), dups
	mu.Unlock()
	// Each escalation starts an acknowledge clock, whose warning and breach are due hours later.
	wantPending := int64(0)
	if rule == "escalate" {
		wantPending = int64(n)
		if plan.warnAt > 0 && plan.warnAt < 1 {
			wantPending *= 2
		}
	}
	if fired != n || dupsNow > 0 || stats.Fired != int64(n) {
		t.Errorf("fired %d distinct deadlines (%d twice, engine count %d); want each of %d once", fired, dupsNow, stats.Fired, n)
	}
	if overdue != 0 || pending != wantPending {
		t.Errorf("after the catch-up %d deadlines are pending, %d overdue; want %d pending (acknowledge clocks' warnings and breaches), none overdue",
			pending, overdue, wantPending)
	}
	if stats.Failed > 0 || stats.Dropped > 0 {
		t.Errorf("the engine failed %d firings and dropped %d deadlines as stale", stats.Failed, stats.Dropped)
	}
	nd.log.check(t)
	if rec != nil {
		rawProfile, rawN = replayRaw(t, rec, start0, 100)
		rawTook = rawProfile.Took
		t.Logf("the catch-up's %d statements executed again raw in %.1fs; %s", rawN, rawTook.Seconds(), rawProfile.Summary(n, "breach", 8))
	}

	t.Logf("%s rule=%s: %d overdue breaches fired in %.1fs from Serve (%.0f/s), max lateness %s; /readyz 200 after %.0fms; "+
		"load %.1fs; start %.0fms; RSS %.0f -> %.0f MiB; %d deadlines pending after; "+
		"CPU during the catch-up: this process %.2f cores, PostgreSQL %.2f, the rest of the machine %.2f; load average %s -> %s",
		o.Store, rule, n, took.Seconds(), float64(n)/took.Seconds(), maxLate.Round(time.Millisecond), ms(ready),
		loadTook.Seconds(), ms(nd.start), nd.rssStart, rssEnd, pending, selfCores, pgCores, otherCores, uptimeStart, uptimeEnd)
	return CatchUp{Overdue: n, Took: took, FromStart: doneAt.Sub(nd.t0), Ready: ready, LoadTook: loadTook, Start: nd.start, RSSStart: nd.rssStart,
		RSSEnd: rssEnd, SelfCores: selfCores, PGCores: pgCores, OtherCores: otherCores, Raw: rawTook, RawStatements: rawN, RawProfile: rawProfile}
}

// replayRaw executes what rec recorded again on the database file at start (a copy taken when
// the recording began), perTx write functions to a transaction, and returns where its time went
// (the whole in Took) and how many statements it ran.
func replayRaw(t T, rec *sqlite.Recorder, start string, perTx int) (*sqlite.ReplayProfile, int) {
	t.Helper()
	fns := rec.Functions()
	n := 0
	for _, fn := range fns {
		n += len(fn)
	}
	db, err := sqlite.Open(context.Background(), start)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := db.ReplayStatements(context.Background(), fns, perTx)
	if err != nil {
		t.Fatal(err)
	}
	return p, n
}

// timeline logs, per second of the window, the breaches due in it and their lateness, and the
// ingest requests scheduled in it and their latency (ESCALATED_BENCH_TIMELINE=1).
func timeline(base time.Time, window time.Duration, dues []time.Time, late, lat []time.Duration, rate int) {
	secs := int(window / time.Second)
	fired := make([][]time.Duration, secs+1)
	for i, d := range dues {
		s := min(int(d.Sub(base)/time.Second), secs)
		fired[s] = append(fired[s], late[i])
	}
	var sb strings.Builder
	sb.WriteString("second: breaches fired, lateness p50/max ms | requests, latency p50/max ms\n")
	for s := 0; s < secs; s++ {
		f := slices.Clone(fired[s])
		slices.Sort(f)
		r := slices.Clone(lat[min(s*rate, len(lat)):min((s+1)*rate, len(lat))])
		slices.Sort(r)
		q := func(xs []time.Duration, p int) float64 {
			if len(xs) == 0 {
				return 0
			}
			return ms(xs[min(len(xs)*p/100, len(xs)-1)])
		}
		fmt.Fprintf(&sb, "%3d: %4d %8.1f %8.1f | %4d %8.1f %8.1f\n", s, len(f), q(f, 50), q(f, 100), len(r), q(r, 50), q(r, 100))
	}
	// On stderr: a benchmark's log is cut after a few lines.
	fmt.Fprint(os.Stderr, sb.String())
}

// breachPlan is what a loaded ticket's first_response clock needs from the policy.
type breachPlan struct {
	id, team, tier string
	budget         time.Duration
	warnAt         float64
}

func benchPlan(t T, pol *policy.Policy) breachPlan {
	if len(pol.SLAPlans) != 1 || pol.SLAPlans[0].When != nil {
		t.Fatal("the bench policy must have one SLA plan without a condition")
	}
	p := pol.SLAPlans[0]
	budget, ok := p.Targets[sla.FirstResponse]
	if !ok {
		t.Fatal("the bench policy's plan has no first_response target")
	}
	team := pol.IntakeTeam()
	tier, ok := pol.TierOfTeam(team)
	if !ok {
		t.Fatalf("intake team %q has no tier", team)
	}
	return breachPlan{id: p.ID, team: team, tier: tier.ID, budget: budget, warnAt: p.WarnAt}
}

// benchPolicyFile parses the embedded bench policy, with its rules or without them, writes it
// to a temporary file and returns it and the file's path.
func benchPolicyFile(t T, rules bool) (*policy.Policy, string) {
	src := bytes.Clone(benchSLAPolicy)
	name := "bench-sla.yaml"
	if !rules {
		i := bytes.Index(src, []byte("\nrules:"))
		if i < 0 {
			t.Fatal("bench-sla.yaml has no rules section")
		}
		src = append(src[:i+1:i+1], "rules: []\n"...)
		name = "bench-sla-norules.yaml"
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse(path, src)
	if err != nil {
		t.Fatal(err)
	}
	return pol, path
}

// dueTimes returns a generator of n due times over [from, from+span): with order "sorted" (the
// default) a Poisson process in increasing order, so that ticket ids, which follow creation
// times, follow due times too, as they do for one plan's first-response clocks; with "shuffled"
// independent uniform draws, so that the ticket fired next lies anywhere in the ticket table
// and its indexes (as for next_reply clocks restarted at random or a mix of plans). Due times
// are whole milliseconds, never at or after from+span.
func dueTimes(t T, order string, from time.Time, span time.Duration, n int) func() time.Time {
	r := rand.New(rand.NewPCG(uint64(n), 0xE4))
	last := from.Add(span - time.Millisecond)
	switch order {
	case "", "sorted":
		mean := float64(span) / float64(n)
		var at float64
		return func() time.Time {
			at += r.ExpFloat64() * mean
			if t := from.Add(time.Duration(at)).Truncate(time.Millisecond); t.Before(last) {
				return t
			}
			return last
		}
	case "shuffled":
		return func() time.Time { return from.Add(time.Duration(r.Int64N(span.Milliseconds())) * time.Millisecond) }
	default:
		t.Fatalf("order %q: want sorted or shuffled", order)
		return nil
	}
}

// loadBreaches opens db and writes n tickets, each with a first_response clock and its breach
// deadline due at next(), in chunks of loadChunk tickets per Update, loaders chunks at a time.
// The tickets are built in order (so their ids follow the order of next) by one goroutine
// while the loaders write. It returns how long that took and how many deadlines are due at or
// before by.
func loadBreaches(t T, db string, p breachPlan, n, loaders int, next func() time.Time, by time.Time) (time.Duration, int64) {
	t.Helper()
	ctx := context.Background()
	st, err := app.OpenStore(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	type chunk struct {
		tickets   []*escalated.Ticket
		deadlines []*store.Deadline
	}
	chunks := make(chan chunk, loaders)
	stop := make(chan struct{})
	var (
		before   int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	start := time.Now()
	go func() {
		defer close(chunks)
		for c := 0; c*loadChunk < n; c++ {
			size := min(loadChunk, n-c*loadChunk)
			ch := chunk{make([]*escalated.Ticket, size), make([]*store.Deadline, size)}
			for i := range size {
				at := next()
				created := at.Add(-p.budget)
				if !at.After(by) {
					before++
				}
				t := &escalated.Ticket{
					ID: escalated.NewID(escalated.PrefixTicket, created), Subject: "Where is my refund?",
					Status: escalated.StatusNew, Priority: escalated.PriorityNormal, Channel: escalated.ChannelAPI,
					Tags: []string{}, Language: "en", Team: p.team, Tier: p.tier, CustomFields: map[string]any{},
					SLA: escalated.SLA{Plan: p.id, Clocks: []escalated.Clock{{
						Target: sla.FirstResponse, Plan: p.id, Budget: p.budget, WarnAt: p.warnAt,
						Since: created, State: sla.Warned, WarnFired: true, DueAt: at,
					}}},
					CreatedAt: created, UpdatedAt: created,
				}
				ch.tickets[i] = t
				ch.deadlines[i] = &store.Deadline{
					ID: escalated.NewID(escalated.PrefixDeadline, created), TicketID: t.ID,
					Kind: escalated.EventSLABreached, Target: sla.FirstResponse, DueAt: at, CreatedAt: created,
				}
			}
			select {
			case chunks <- ch:
			case <-stop:
				return
			}
		}
	}()
	for w := 0; w < loaders; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ch := range chunks {
				err := st.Update(ctx, func(tx store.Tx) error {
					for i := range ch.tickets {
						if err := tx.CreateTicket(ctx, ch.tickets[i]); err != nil {
							return err
						}
						if err := tx.ScheduleDeadline(ctx, ch.deadlines[i]); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("load: %w", err); close(stop) })
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	return took, before
}

// benchNode is a node on a loaded database, with its own engine.
type benchNode struct {
	a     *app.App
	ctx   context.Context
	url   string
	log   *warnLog
	start time.Duration // app.New to the first 200 from /readyz (prepare + serve)
	// rssStart is VmRSS once the node answers.
	rssStart float64

	t0       time.Time
	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
}

// startBenchNode prepares a node and serves; t's cleanup stops it.
func startBenchNode(t T, db, policyPath, logLevel string, onFired func(*store.Deadline, time.Duration)) *benchNode {
	nd := prepareBenchNode(t, db, policyPath, logLevel, onFired)
	nd.serve(t)
	return nd
}

// prepareBenchNode runs app.New and LoadPolicy, replaces the engine with one that reports to
// onFired, and listens. The memory the load left behind is returned to the OS first, so that
// RSS is the node's (and the load generator's: they share the process).
func prepareBenchNode(t T, db, policyPath, logLevel string, onFired func(*store.Deadline, time.Duration)) *benchNode {
	debug.FreeOSMemory()
	resetPeakRSS()
	cfg := config.Default()
	cfg.DB, cfg.Addr, cfg.PolicyPath = db, "127.0.0.1:0", policyPath
	// One token posts the whole ingest load; its rate limit would cap it.
	cfg.RateLimit = 0
	ctx, cancel := context.WithCancel(escalated.WithPrincipal(context.Background(),
		escalated.Principal{Name: "bench", Role: escalated.RoleAdmin}))
	nd := &benchNode{ctx: ctx, cancel: cancel, log: newWarnLog(logLevel), t0: time.Now()}
	a, err := app.New(ctx, cfg, slog.New(nd.log), nil)
	if err != nil {
		t.Fatal(err)
	}
	nd.a = a
	// Stopped at t's cleanup whatever fails after this point (stop is idempotent).
	t.Cleanup(nd.stop)
	if err := a.LoadPolicy(ctx); err != nil {
		t.Fatal(err)
	}
	if a.Engine, err = engine.New(engine.Config{Store: a.Store, Firer: a.Tickets, Log: a.Log, OnFired: onFired, Claimers: app.EngineClaimers(db)}); err != nil {
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	nd.url = "http://" + a.Addr()
	return nd
}

// serve runs Serve (which starts the engine) and waits for the first 200 from /readyz.
func (nd *benchNode) serve(t T) {
	nd.done = make(chan error, 1)
	go func() { nd.done <- nd.a.Serve(nd.ctx) }()
	client := &http.Client{Timeout: 5 * time.Second}
	for end := time.Now().Add(5 * time.Minute); ; {
		resp, err := client.Get(nd.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(end) {
			t.Fatalf("the node was not ready after 5 minutes (last: %v)", err)
		}
		if t.Context().Err() != nil {
			t.Fatalf("cancelled")
		}
		time.Sleep(time.Millisecond)
	}
	nd.start = time.Since(nd.t0)
	nd.rssStart = rssMiB()
}

func (nd *benchNode) stop() {
	nd.stopOnce.Do(func() {
		nd.cancel()
		if nd.done != nil {
			<-nd.done
		} else {
			nd.a.Store.Close()
		}
	})
}

// warnLog is a slog handler that counts warnings and errors and keeps the first few: a stale
// deadline dropped or a failed firing means the benchmark's tickets are not what the engine
// expects, and its figures would not mean much.
// With level debug (or info) it also writes the node's log at that level to
// stderr.
type warnLog struct {
	mu    sync.Mutex
	count int
	first []string
	also  slog.Handler
}

func newWarnLog(level string) *warnLog {
	l := &warnLog{}
	switch level {
	case "debug":
		l.also = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})
	case "info":
		l.also = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})
	}
	return l
}

func (l *warnLog) Enabled(ctx context.Context, lv slog.Level) bool {
	return lv >= slog.LevelWarn || l.also != nil && l.also.Enabled(ctx, lv)
}

func (l *warnLog) Handle(ctx context.Context, r slog.Record) error {
	if l.also != nil && l.also.Enabled(ctx, r.Level) {
		l.also.Handle(ctx, r)
	}
	if r.Level < slog.LevelWarn {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count++
	if len(l.first) < 5 {
		var sb strings.Builder
		sb.WriteString(r.Level.String() + " " + r.Message)
		r.Attrs(func(a slog.Attr) bool {
			sb.WriteString(" " + a.String())
			return true
		})
		l.first = append(l.first, sb.String())
	}
	return nil
}

func (l *warnLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *warnLog) WithGroup(string) slog.Handler      { return l }

// check fails b when the node logged warnings or errors.
func (l *warnLog) check(t T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count > 0 {
		t.Errorf("the node logged %d warnings or errors, first: %s", l.count, strings.Join(l.first, "; "))
	}
}

// fileSize describes the size of a SQLite database and its WAL ("" for other stores).
func fileSize(db string) string {
	path, ok := strings.CutPrefix(db, "sqlite:")
	if !ok {
		return ""
	}
	size := func(p string) float64 {
		fi, err := os.Stat(p)
		if err != nil {
			return 0
		}
		return float64(fi.Size()) / (1 << 20)
	}
	return fmt.Sprintf(", database file %.0f MiB + WAL %.0f MiB", size(path), size(path+"-wal"))
}

// rssMiB is the process's resident set (VmRSS) in MiB, 0 when /proc is not there.
func rssMiB() float64 { return float64(statusKB("VmRSS")) / 1024 }

// statusKB is a kB field of /proc/self/status (VmRSS, VmHWM), 0 where /proc has none.
func statusKB(field string) uint64 { return procField("/proc/self/status", field) }

// procField is the number of a "name: value" line of a /proc file such as /proc/self/status
// (a trailing unit, kB, dropped) or /proc/self/io; 0 where the file or the line is missing.
func procField(path, field string) uint64 {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// cpuTimes returns the CPU time used so far by the whole machine (busy, not idle or iowait) and
// by this process, in seconds, from /proc (zeros when it is not there).
func cpuTimes() (machine, self float64) {
	const hz = 100 // USER_HZ, the unit of /proc/stat and /proc/self/stat
	if raw, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(raw), "\n")
		f := strings.Fields(line)
		for i := 1; i < len(f) && i <= 8; i++ {
			if i == 4 || i == 5 { // idle, iowait
				continue
			}
			v, _ := strconv.ParseFloat(f[i], 64)
			machine += v / hz
		}
	}
	if raw, err := os.ReadFile("/proc/self/stat"); err == nil {
		// Fields after the command (which may hold spaces) start at state; utime and stime are
		// the 14th and 15th fields of the line.
		if i := strings.LastIndexByte(string(raw), ')'); i >= 0 {
			f := strings.Fields(string(raw)[i+1:])
			if len(f) > 12 {
				u, _ := strconv.ParseFloat(f[11], 64)
				st, _ := strconv.ParseFloat(f[12], 64)
				self = (u + st) / hz
			}
		}
	}
	return machine, self
}

// postgresCPU returns the CPU time, in seconds, used so far by the processes named postgres
// that are still running (the server's backends; one that exited in between is not counted).
func postgresCPU() float64 {
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	var total float64
	for _, p := range dirs {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		st := string(raw)
		open, end := strings.IndexByte(st, '('), strings.LastIndexByte(st, ')')
		if open < 0 || end < open || st[open+1:end] != "postgres" {
			continue
		}
		if f := strings.Fields(st[end+1:]); len(f) > 12 {
			u, _ := strconv.ParseFloat(f[11], 64)
			sy, _ := strconv.ParseFloat(f[12], 64)
			total += (u + sy) / 100
		}
	}
	return total
}

// cpuMeter measures the cores used over an interval by this process, by PostgreSQL's
// processes, and by everything else on the machine (other work running meanwhile).
type cpuMeter struct {
	at                time.Time
	machine, self, pg float64
}

func startCPU() cpuMeter {
	m, s := cpuTimes()
	return cpuMeter{at: time.Now(), machine: m, self: s, pg: postgresCPU()}
}

// cores returns the cores this process, PostgreSQL and the rest of the machine used since
// start.
func (c cpuMeter) cores() (self, pg, others float64) {
	m, s := cpuTimes()
	p := postgresCPU()
	el := time.Since(c.at).Seconds()
	self, pg = (s-c.self)/el, max(p-c.pg, 0)/el
	return self, pg, max((m-c.machine)/el-self-pg, 0)
}

// selfSeconds is the CPU time this process used since start (all its threads: the node and,
// when in the same process, the load generator).
func (c cpuMeter) selfSeconds() float64 {
	_, s := cpuTimes()
	return s - c.self
}

// loadavg is the first three fields of /proc/loadavg, for the record.
func loadavg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// peakRSS is the process's peak resident memory (VmHWM) in bytes, 0 where /proc has none.
func peakRSS() uint64 { return statusKB("VmHWM") << 10 }

// resetPeakRSS resets the kernel's record of the peak resident memory (VmHWM), so that
// peakRSS measures from here on and not an earlier benchmark's peak (Linux; elsewhere a no-op).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }
