package bench

import (
	"context"
	"fmt"
	"os"
	"runtime/metrics"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated/internal/store/sqlite"
)

// TestAPITimeline is a diagnostic, not a check: it runs the API row's load (POST messages to 64
// tickets, demo policy, SQLite) at ESCALATED_BENCH_TIMELINE_RATE requests/s for
// ESCALATED_BENCH_TIMELINE_SECONDS (default 8) and prints when the slow requests were: each
// 50 ms of schedule with requests over 10 ms, the garbage collections, and per request the CPU,
// the commits and the bytes and write calls the process made to disk. The start of the measured
// requests is logged in an execution trace ("timeline", "start") to line a trace up with it.
// With ESCALATED_BENCH_TIMELINE_RAW=1 the load goes to RawServer instead: the same rows through
// the same durable path, with nothing of the service.
//
//	ESCALATED_BENCH_TIMELINE_RATE=2500 GOGC=400 go test ./internal/bench -run APITimeline -v -trace trace.out
func TestAPITimeline(t *testing.T) {
	rate, _ := strconv.Atoi(os.Getenv("ESCALATED_BENCH_TIMELINE_RATE"))
	if rate <= 0 {
		t.Skip("a diagnostic: set ESCALATED_BENCH_TIMELINE_RATE to a rate in requests/s to run it")
	}
	secs := 8
	if v := os.Getenv("ESCALATED_BENCH_TIMELINE_SECONDS"); v != "" {
		if secs, _ = strconv.Atoi(v); secs <= 0 {
			t.Fatalf("ESCALATED_BENCH_TIMELINE_SECONDS=%q: want a positive whole number", v)
		}
	}
	if _, err := os.Stat("/proc/self/io"); err != nil {
		t.Skipf("no /proc/self/io here to count disk writes: %v", err)
	}
	n := rate * secs
	var db *sqlite.DB
	var post func(int) error
	if os.Getenv("ESCALATED_BENCH_TIMELINE_RAW") == "1" {
		var url string
		url, db, _ = RawServer(t, DemoPolicyFile(t, t.TempDir()), n+max(1, rate/5), 64)
		post = newPoster(t, url, "x", []string{"raw"}, messageBody()).post
	} else {
		a, ids := NewNode(t, SQLiteDB(t, "api.db"), DemoPolicyFile(t, t.TempDir()), 64)
		s := Serve(t, a)
		db = a.Store.(*sqlite.DB)
		post = newPoster(t, s.URL, s.Secret, ids, messageBody()).post
	}
	OpenLoop(time.Now(), max(1, rate/5), max(1, rate/5), post) // warm-up, as PostMessages

	gcs := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	var ends []time.Duration // when a collection was first seen finished, from start
	stop := make(chan struct{})
	watched := make(chan struct{})
	bytes0, calls0 := diskWrites()
	st0, cpu := db.Stats(), startCPU()
	start := time.Now()
	trace.Log(context.Background(), "timeline", "start")
	go func() {
		defer close(watched)
		metrics.Read(gcs)
		last := gcs[0].Value.Uint64()
		tick := time.NewTicker(5 * time.Millisecond) // enough to place one in a 50 ms window
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if metrics.Read(gcs); gcs[0].Value.Uint64() != last {
				last = gcs[0].Value.Uint64()
				ends = append(ends, time.Since(start))
			}
		}
	}()
	load := OpenLoop(start, rate, n, post)
	close(stop)
	<-watched
	cpuPer := cpu.selfSeconds() / float64(n) * 1e6
	bytes1, calls1 := diskWrites()
	st1 := db.Stats()
	if load.Failed > 0 {
		t.Errorf("%d of %d requests failed, first: %v", load.Failed, n, load.FirstErr)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "%d requests at %d/s: p50 %s, p99 %s, max %s; %.0f µs of CPU a request (load generator included); "+
		"%.1f messages a commit; disk writes %.1f KiB and %.1f write calls a request\n",
		n, rate, load.Quantile(0.5).Round(10*time.Microsecond), load.Quantile(0.99).Round(10*time.Microsecond), load.Quantile(1).Round(10*time.Microsecond),
		cpuPer, float64(st1.Updates-st0.Updates)/float64(max(1, st1.Commits-st0.Commits)),
		float64(bytes1-bytes0)/1024/float64(n), float64(calls1-calls0)/float64(n))
	fmt.Fprintf(&b, "%s\n", specNote(db, st0))
	// The writer's long commits (the checkpoints among them) and the log's long syncs (the
	// disk), from start, to line up with the windows: one that began in a window or up to 20 ms
	// before it is named on its line.
	longOf := func(what string, ts []sqlite.Timing) []sqlite.Timing {
		long, sum := longTimings(ts, start)
		fmt.Fprintf(&b, "%s: %d, %d of them over 5 ms (%s in all)\n", what, len(ts), len(long), sum.Round(time.Millisecond))
		return long
	}
	longCommits := longOf("the writer's commits", db.CommitTimes(st0.Commits))
	longSyncs := longOf("the log's syncs", db.SyncTimes(st0.Syncs))
	win := max(1, rate/20)
	slow, explained := 0, 0
	for w := 0; w*win < n; w++ {
		seg := load.InOrder[w*win : min(n, (w+1)*win)]
		over := 0
		for _, l := range seg {
			if l > 10*time.Millisecond {
				over++
			}
		}
		if over == 0 {
			continue
		}
		from, to := time.Duration(w)*50*time.Millisecond, time.Duration(w+1)*50*time.Millisecond
		var near []string
		for _, l := range []struct {
			what string
			ts   []sqlite.Timing
		}{{"a commit", longCommits}, {"a sync", longSyncs}} {
			for _, c := range l.ts {
				if at := c.At.Sub(start); at >= from-20*time.Millisecond && at < to {
					near = append(near, fmt.Sprintf("%s of %s at %d ms", l.what, c.Took.Round(100*time.Microsecond), at.Milliseconds()))
				}
			}
		}
		for _, e := range ends {
			if e >= from-20*time.Millisecond && e < to+20*time.Millisecond {
				near = append(near, fmt.Sprintf("a collection seen ended at %d ms", e.Milliseconds()))
			}
		}
		slow++
		line := fmt.Sprintf("  %5d ms: %4d of %d over 10 ms, the slowest %s", w*50, over, len(seg), slices.Max(seg).Round(100*time.Microsecond))
		if len(near) > 0 {
			explained++
			line += "; " + strings.Join(near, ", ")
		}
		fmt.Fprintln(&b, line)
	}
	fmt.Fprintf(&b, "%d windows of 50 ms had requests over 10 ms; %d of them had a commit or a sync over 5 ms in or just before them, or a garbage collection end near them\n", slow, explained)
	fmt.Fprintf(&b, "garbage collections finished by (ms):")
	for _, e := range ends {
		fmt.Fprintf(&b, " %d", e.Milliseconds())
	}
	t.Log("\n" + b.String())
}

// diskWrites is what this process wrote to disk so far (/proc/self/io): bytes and write calls.
func diskWrites() (bytes, calls uint64) {
	return procField("/proc/self/io", "write_bytes"), procField("/proc/self/io", "syscw")
}
