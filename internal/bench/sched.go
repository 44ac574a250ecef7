package bench

import (
	"fmt"
	"math"
	"runtime/metrics"
	"time"
)

// schedWatch reads the Go runtime's histograms of how long runnable goroutines waited for a
// core and of the collector's stop-the-world pauses, so that a phase can say afterwards whether
// its slow requests waited on the scheduler (every core busy) or on the collector.
type schedWatch struct {
	samples []metrics.Sample
}

const (
	schedLatencies = "/sched/latencies:seconds"
	gcPauses       = "/sched/pauses/total/gc:seconds"
)

func startSched() *schedWatch {
	w := &schedWatch{samples: []metrics.Sample{{Name: schedLatencies}, {Name: gcPauses}}}
	metrics.Read(w.samples)
	// The runtime reuses nothing it returned: the histograms read now stay as they are.
	return w
}

// note describes both histograms since startSched: the 99th percentile and the largest bucket
// that counted anything (the runtime's buckets, so "at most" the bucket's upper bound).
func (w *schedWatch) note() string {
	now := []metrics.Sample{{Name: schedLatencies}, {Name: gcPauses}}
	metrics.Read(now)
	var parts [2]string
	for i := range now {
		if now[i].Value.Kind() != metrics.KindFloat64Histogram || w.samples[i].Value.Kind() != metrics.KindFloat64Histogram {
			parts[i] = "not reported by this runtime"
			continue
		}
		parts[i] = histNote(w.samples[i].Value.Float64Histogram(), now[i].Value.Float64Histogram())
	}
	return fmt.Sprintf("goroutines waiting for a core meanwhile: %s; the collector's pauses: %s", parts[0], parts[1])
}

// histNote is the p99 and max of the counts b added to a (the same buckets).
func histNote(a, b *metrics.Float64Histogram) string {
	if len(a.Counts) != len(b.Counts) {
		return "not comparable"
	}
	d := make([]uint64, len(b.Counts))
	var total uint64
	for i := range d {
		d[i] = b.Counts[i] - a.Counts[i]
		total += d[i]
	}
	if total == 0 {
		return "none"
	}
	upper := func(i int) time.Duration { // bucket i is [Buckets[i], Buckets[i+1]); the last bound may be +Inf
		if ub := b.Buckets[i+1]; ub < float64(math.MaxInt64)/float64(time.Second) {
			return time.Duration(ub * float64(time.Second))
		}
		return math.MaxInt64
	}
	var p99, max time.Duration
	var seen uint64
	found := false
	for i, n := range d {
		if n == 0 {
			continue
		}
		seen += n
		if !found && seen*100 >= total*99 {
			p99, found = upper(i), true
		}
		max = upper(i)
	}
	return fmt.Sprintf("%s, p99 under %s, the longest under %s", count(float64(total)), roundDur(p99), roundDur(max))
}

func roundDur(d time.Duration) string {
	switch {
	case d <= 0 || d > time.Hour:
		return "an unbounded bucket"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	default:
		return d.Round(100 * time.Microsecond).String()
	}
}
