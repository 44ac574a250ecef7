package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/app"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/sqlite"
)

// APIRate is the rate of PRODUCT.md's API bar.
const APIRate = 5000

// Serving is a node answering HTTP on loopback, with a supervisor token for the load.
type Serving struct {
	App    *app.App
	URL    string
	Secret string
	stop   func()
}

// Serve starts a's HTTP server (and engine) on loopback and makes a token; t's cleanup stops
// it.
func Serve(t T, a *app.App) *Serving {
	t.Helper()
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(adminCtx())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	s := &Serving{App: a, URL: "http://" + a.Addr(), stop: func() { cancel(); <-done }}
	t.Cleanup(s.stop)
	secret, _, err := a.Access.CreateToken(ctx, access.NewToken{Name: "bench", Role: escalated.RoleSupervisor}, "bench")
	if err != nil {
		t.Fatal(err)
	}
	s.Secret = secret
	return s
}

// PostMessages sends n POST /v1/tickets/{id}/messages to ids (round robin) at rate per second,
// open loop, after a warm-up of a second at a fifth of the rate (connections, caches).
func PostMessages(t T, s *Serving, ids []string, rate, n int) Load {
	return postMessages(t, s, ids, rate, n, nil)
}

// postMessages is PostMessages calling warmedUp, when not nil, between the warm-up and the
// measured requests.
func postMessages(t T, s *Serving, ids []string, rate, n int, warmedUp func()) Load {
	return postTo(t, s.URL, s.Secret, ids, rate, n, warmedUp)
}

// postTo is postMessages to any server at base, with secret as the bearer token.
func postTo(t T, base, secret string, ids []string, rate, n int, warmedUp func()) Load {
	p := newPoster(t, base, secret, ids, messageBody())
	// Its connections go with it: the runs after it need the descriptors (a slow run keeps
	// thousands of connections open, each two descriptors on loopback).
	defer p.close()
	do := p.post
	if w := OpenLoop(time.Now(), max(1, rate/5), max(1, rate/5), do); w.Failed > 0 {
		t.Fatalf("warm-up: %d of %d requests failed, first: %v", w.Failed, len(w.Lat), w.FirstErr)
	}
	if warmedUp != nil {
		warmedUp()
	}
	return OpenLoop(time.Now(), rate, n, do)
}

// EmptyHandler serves 201 with an empty JSON object after reading the body, on loopback: the
// baseline of API latency (what net/http and the load generator cost on this machine).
func EmptyHandler(t T) string {
	url, _ := serveLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		answerCreated(w)
	})
	return url
}

// answerCreated answers 201 with an empty JSON object, as the baselines answer.
func answerCreated(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write([]byte("{}"))
}

// serveLoopback serves handle on a loopback port until stop is called or t's cleanup, and
// returns its URL. stop waits (a few seconds at most) for the requests in progress.
func serveLoopback(t T, handle http.HandlerFunc) (url string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handle, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	stop = sync.OnceFunc(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
	})
	t.Cleanup(stop)
	return "http://" + ln.Addr().String(), stop
}

// quiesce lets the machine settle after a phase, before the next one is measured: the
// collector runs (the heap the phase left goes now, not in the next phase's marking) and the
// kernel writes the phase's dirty pages back (else its writeback lands seconds later, in the
// next phase). Measured the API row after the raw server's, without it: p99 8.1-118.9 ms in
// seven runs, against 6.5-10.8 ms with the two phases' order swapped.
func quiesce() {
	runtime.GC()
	flushDirtyPages()
}

// RawServer serves POST on loopback with the rows the service writes and nothing else of it:
// it records the statements of n messages added through the service (recordIngest, writers
// tickets), then opens a copy of the database the recording started from and answers each
// request, whatever its path and body (read to the end), by executing the next recorded
// message's statements as one write through the writer's group commit, its syncer and its
// checkpoints (sqlite.ExecRecorded), with 201 and an empty JSON object once the write is
// durable, as the service answers only then. The function takes its message inside the writer,
// so the messages commit in the recorded order whatever order the requests arrive in; a
// request past the n-th is refused with 503. This is the API row's raw baseline: what its
// latency would be with the service's answer, token, decoding, signals and deciding costing
// nothing, on the same disk, the same SQLite and the same durable path. t's cleanup stops it.
func RawServer(t T, policyPath string, n, writers int) (url string, db *sqlite.DB, stop func()) {
	t.Helper()
	rec, path := recordIngest(t, policyPath, n, writers)
	fns := rec.Functions()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() }) // after the server's, which cleanups run first
	var next atomic.Int64
	url, stopServer := serveLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		err := db.Update(r.Context(), func(tx store.Tx) error {
			i := next.Add(1) - 1
			if i >= int64(len(fns)) {
				return escalated.Errorf(escalated.EUNAVAILABLE, "the raw server recorded %d messages and has written them all", len(fns))
			}
			return sqlite.ExecRecorded(r.Context(), tx, fns[i])
		})
		if err != nil {
			code := http.StatusInternalServerError
			if escalated.ErrorCode(err) == escalated.EUNAVAILABLE {
				code = http.StatusServiceUnavailable
			}
			http.Error(w, err.Error(), code)
			return
		}
		answerCreated(w)
	})
	// Stopping lets go of the recording too (tens of megabytes of statements and arguments),
	// once no request is in progress.
	stop = func() {
		stopServer()
		db.Close()
		fns = nil
	}
	return url, db, stop
}

// runAPI: POST /v1/tickets/{id}/messages at 5,000 requests/s through the whole stack (HTTP,
// token, decoding, service with the demo policy, group commit, answer) against an empty
// net/http handler at the same rate, with the same load generator (poster), in the same run;
// and, before the service, the same load on RawServer: the rows the service writes through the
// same durable path with nothing of the service, which is where the machine's own floor shows.
func runAPI(t T, o Options) []Row {
	dur := o.scaledDur(10*time.Second, 2*time.Second)
	n := int(dur.Seconds()) * APIRate

	empty := newPoster(t, EmptyHandler(t), "x", []string{"t"}, messageBody())
	OpenLoop(time.Now(), APIRate/5, APIRate/5, empty.post)
	cpu := startCPU()
	base := OpenLoop(time.Now(), APIRate, n, empty.post)
	baseCPU := cpu.selfSeconds() / float64(n)
	empty.close()
	if base.Failed > 0 {
		t.Fatalf("empty handler: %d of %d requests failed, first: %v", base.Failed, n, base.FirstErr)
	}

	// The same rows with nothing of the service around them (RawServer), as many messages as
	// the service row sends with its warm-up, to as many tickets.
	pol := DemoPolicyFile(t, t.TempDir())
	const tickets = 64
	rawURL, rawDB, stopRaw := RawServer(t, pol, n+APIRate/5, tickets)
	var syncs0, commits0 int64
	var stats0 sqlite.Stats
	marker := func(db *sqlite.DB) func() { // the measured requests' syncs and commits, not the warm-up's
		return func() {
			stats0 = db.Stats()
			syncs0, commits0 = stats0.Syncs, stats0.Commits
		}
	}
	cpu = startCPU()
	raw := postTo(t, rawURL, "x", []string{"raw"}, APIRate, n, marker(rawDB))
	rawCPU := cpu.selfSeconds() / float64(n+APIRate/5)
	if raw.Failed > 0 {
		t.Errorf("the same rows raw: %d of %d requests failed, first: %v", raw.Failed, n, raw.FirstErr)
	}
	rawSyncs, rawCommits := syncNote(rawDB, syncs0), commitNote(rawDB, commits0)
	stopRaw()
	quiesce()

	a, ids := NewNode(t, SQLiteDB(t, "api.db"), pol, tickets)
	s := Serve(t, a)
	sq, ok := a.Store.(*sqlite.DB)
	if !ok {
		t.Fatalf("the API row runs on SQLite, not %T", a.Store)
	}
	var sched *schedWatch
	mark := marker(sq)
	cpu = startCPU()
	got := postMessages(t, s, ids, APIRate, n, func() { mark(); sched = startSched() })
	schedNote := sched.note()
	gotCPU := cpu.selfSeconds() / float64(n+APIRate/5) // with the warm-up's requests
	if got.Failed > 0 {
		t.Errorf("%d of %d requests failed, first: %v", got.Failed, n, got.FirstErr)
	}
	syncs, commits, spec := syncNote(sq, syncs0), commitNote(sq, commits0), specNote(sq, stats0)

	// At half the rate, for context: how the latency falls with the load, and how much of it is
	// the disk's syncs then.
	half := APIRate / 2
	nHalf := n / 4 // half the duration at half the rate
	low := postMessages(t, s, ids, half, nHalf, mark)
	if low.Failed > 0 {
		t.Errorf("at %d/s: %d of %d requests failed, first: %v", half, low.Failed, nHalf, low.FirstErr)
	}
	lowSyncs, lowCommits := syncNote(sq, syncs0), commitNote(sq, commits0)

	p99, bp99 := got.Quantile(0.99), base.Quantile(0.99)
	return []Row{{
		Figure: "POST messages p99 at 5,000 req/s, SQLite", Target: "< 10 ms",
		Value: ms(p99), Unit: "ms", Text: fmt.Sprintf("%.1f ms", ms(p99)),
		Baseline: fmt.Sprintf("empty handler p99 %.2f ms", ms(bp99)), BaselineValue: ms(bp99), Ratio: ms(p99) / ms(bp99),
		Met: verdict(p99 < 10*time.Millisecond && got.Failed == 0),
		Note: fmt.Sprintf("%s requests over %s, open loop; achieved %s/s (empty handler %s/s); p50 %.1f ms, max %.0f ms (empty handler p50 %.2f ms); "+
			"CPU per request, load generator included: %.0f µs (empty handler %.0f µs; 2 cores give 400 µs per request at 5,000/s); "+
			"the write-ahead log's syncs meanwhile (each answer waits for one after its commit): %s; %s; %s; %s",
			count(float64(n)), dur, count(got.Achieved()), count(base.Achieved()), ms(got.Quantile(0.5)), ms(got.Quantile(1)), ms(base.Quantile(0.5)),
			gotCPU*1e6, baseCPU*1e6, syncs, commits, spec, schedNote),
	}, {
		Figure: "POST messages p99 at 5,000 req/s, the same rows raw, SQLite", Target: "(context)",
		Value: ms(raw.Quantile(0.99)), Unit: "ms", Text: fmt.Sprintf("%.1f ms", ms(raw.Quantile(0.99))),
		Baseline: fmt.Sprintf("the service's p99 %.1f ms (first row)", ms(p99)), BaselineValue: ms(p99), Ratio: ms(raw.Quantile(0.99)) / ms(p99),
		Met: "n/a",
		Note: fmt.Sprintf("a server that answers each request, once durable, by writing the statements the service wrote for one message "+
			"(recorded beforehand), through the same group commit, syncer and checkpoints, with nothing of the service: %s requests "+
			"before the service's row, the same load; achieved %s/s; p50 %.1f ms, max %.0f ms; CPU per request, load generator included: %.0f µs; "+
			"the log's syncs meanwhile: %s; %s",
			count(float64(n)), count(raw.Achieved()), ms(raw.Quantile(0.5)), ms(raw.Quantile(1)), rawCPU*1e6, rawSyncs, rawCommits),
	}, {
		Figure: fmt.Sprintf("POST messages p99 at %s req/s, SQLite", count(float64(half))), Target: "(context)",
		Value: ms(low.Quantile(0.99)), Unit: "ms", Text: fmt.Sprintf("%.1f ms", ms(low.Quantile(0.99))),
		Baseline: fmt.Sprintf("empty handler p99 %.2f ms (at 5,000/s)", ms(bp99)), BaselineValue: ms(bp99), Ratio: ms(low.Quantile(0.99)) / ms(bp99),
		Met: "n/a",
		Note: fmt.Sprintf("%s requests right after the row above, on the same node; p50 %.1f ms, max %.0f ms; the log's syncs meanwhile: %s; %s",
			count(float64(nHalf)), ms(low.Quantile(0.5)), ms(low.Quantile(1)), lowSyncs, lowCommits),
	}}
}

// specNote says how the messages' writes since st went: decided ahead and applied by the
// writer as decided, decided again in the writer (a row they read moved meanwhile, or they did
// not apply as recorded), or not decided ahead (docs/adr/0005).
func specNote(db *sqlite.DB, st sqlite.Stats) string {
	now := db.Stats()
	return fmt.Sprintf("writes decided ahead of the writer: %s applied, %s decided again (%s stale, %s restarted), %s not decided ahead",
		count(float64(now.SpecApplied-st.SpecApplied)), count(float64(now.SpecStale-st.SpecStale+now.SpecRestarted-st.SpecRestarted)),
		count(float64(now.SpecStale-st.SpecStale)), count(float64(now.SpecRestarted-st.SpecRestarted)), count(float64(now.SpecDeclined-st.SpecDeclined)))
}

// commitNote describes the writer's commits after the first since: how many, and those over
// 5 ms, which are the checkpoints that copy the log into the database file (no write runs
// meanwhile, so each stalls every request arriving during it).
func commitNote(db *sqlite.DB, since int64) string {
	total := db.Stats().Commits - since
	cs := db.CommitTimes(since)
	long, longSum := longTimings(cs, time.Time{})
	var longest time.Duration
	for _, c := range long {
		longest = max(longest, c.Took)
	}
	over := ""
	if int64(len(cs)) < total {
		over = fmt.Sprintf(" of the last %s", count(float64(len(cs))))
	}
	return fmt.Sprintf("the writer's commits: %s, %d%s over 5 ms (the checkpoints fall here: %.0f ms in all, the longest %.1f ms)",
		count(float64(total)), len(long), over, ms(longSum), ms(longest))
}

// longTimings picks the timings over 5 ms that began at from or later, and their sum: the
// commits and syncs that stall the writes behind them.
func longTimings(ts []sqlite.Timing, from time.Time) (long []sqlite.Timing, sum time.Duration) {
	for _, c := range ts {
		if c.Took > 5*time.Millisecond && !c.At.Before(from) {
			long = append(long, c)
			sum += c.Took
		}
	}
	return long, sum
}

// syncNote describes the times of db's syncs after the first since: how many, their median,
// 99th percentile and longest (over the last ones kept, when there were more).
func syncNote(db *sqlite.DB, since int64) string {
	total := db.Stats().Syncs - since
	ts := db.SyncTimes(since)
	if len(ts) == 0 {
		return "none"
	}
	ds := make([]time.Duration, len(ts))
	for i, s := range ts {
		ds[i] = s.Took
	}
	slices.Sort(ds)
	q := func(f float64) time.Duration { return ds[int(f*float64(len(ds)-1))] }
	over := ""
	if int64(len(ds)) < total {
		over = fmt.Sprintf(" (of the last %s)", count(float64(len(ds))))
	}
	return fmt.Sprintf("%s syncs, p50 %.2f ms, p99 %.2f ms, max %.1f ms%s", count(float64(total)), ms(q(0.5)), ms(q(0.99)), ms(q(1)), over)
}
