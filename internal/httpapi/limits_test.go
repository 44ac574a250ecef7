package httpapi

import (
	"fmt"
	"testing"
	"time"
)

// TestTokenLimitsBuckets: each key has its own bucket; a refused request spends nothing and is
// told how long to wait; the bucket refills at the rate.
func TestTokenLimitsBuckets(t *testing.T) {
	l := newTokenLimits(10, 2)
	now := time.Unix(1_800_000_000, 0)
	for i := range 2 {
		if ok, _ := l.take("a", now); !ok {
			t.Fatalf("request %d within the burst refused", i)
		}
	}
	ok, wait := l.take("a", now)
	if ok || wait != 100*time.Millisecond {
		t.Fatalf("third request: ok %v wait %s, want refused with 100ms", ok, wait)
	}
	// Refused again at once: the refusal spent nothing, the wait is the same.
	if ok, wait2 := l.take("a", now); ok || wait2 != wait {
		t.Fatalf("refusal spent budget: ok %v wait %s", ok, wait2)
	}
	if ok, _ := l.take("b", now); !ok {
		t.Fatal("another key shares the bucket")
	}
	if ok, _ := l.take("a", now.Add(100*time.Millisecond)); !ok {
		t.Fatal("not refilled after 1/rate")
	}
	if newTokenLimits(0, 100) != nil {
		t.Fatal("a rate of 0 must mean no limiter")
	}
}

// TestTokenLimitsEvictIdle: buckets that have refilled are forgotten after limiterSweep, and
// the table never grows past maxTokenLimiters.
func TestTokenLimitsEvictIdle(t *testing.T) {
	l := newTokenLimits(1, 5)
	now := time.Unix(1_800_000_000, 0)
	l.take("idle", now)
	for range 5 {
		l.take("busy", now)
	}
	// After the sweep interval "idle" has refilled (1 of 5 spent, 60 s at 1/s) and "busy" has
	// too; a burst spent just before the sweep keeps its bucket.
	later := now.Add(limiterSweep)
	for range 5 {
		l.take("recent", later.Add(-time.Second))
	}
	l.take("new", later)
	if n := l.size(); n != 2 {
		t.Fatalf("%d buckets after the sweep, want 2 (recent, new)", n)
	}
	// "recent" has refilled one request in that second, not five.
	l.take("recent", later)
	if ok, _ := l.take("recent", later); ok {
		t.Fatal("the sweep forgot a bucket that was still spent")
	}

	full := newTokenLimits(1, 1)
	for i := range maxTokenLimiters + 10 {
		full.take(fmt.Sprint("k", i), now)
	}
	if n := full.size(); n > maxTokenLimiters {
		t.Fatalf("%d buckets kept, bound is %d", n, maxTokenLimiters)
	}
}
