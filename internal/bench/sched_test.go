package bench

import (
	"math"
	"runtime/metrics"
	"strings"
	"testing"
)

// TestHistNote: the note counts what was added between the two reads, and names the bucket of
// the 99th percentile and the highest one that counted anything.
func TestHistNote(t *testing.T) {
	buckets := []float64{0, 0.001, 0.002, 0.004, 0.008}
	a := &metrics.Float64Histogram{Counts: []uint64{5, 0, 0, 7}, Buckets: buckets}
	b := &metrics.Float64Histogram{Counts: []uint64{5 + 98, 1, 0, 7 + 1}, Buckets: buckets}
	got := histNote(a, b)
	for _, want := range []string{"100,", "p99 under 2ms", "the longest under 8ms"} {
		if !strings.Contains(got, want) {
			t.Errorf("histNote = %q, want it to contain %q", got, want)
		}
	}
	if got := histNote(a, a); got != "none" {
		t.Errorf("nothing added: %q, want none", got)
	}
	if got := histNote(a, &metrics.Float64Histogram{Counts: []uint64{1}, Buckets: buckets[:2]}); got != "not comparable" {
		t.Errorf("other buckets: %q", got)
	}
	// The runtime's last bucket is unbounded: it reads as such, never as a negative time.
	inf := &metrics.Float64Histogram{Counts: []uint64{0, 0}, Buckets: []float64{0, 0.001, math.Inf(1)}}
	if got := histNote(inf, &metrics.Float64Histogram{Counts: []uint64{0, 3}, Buckets: inf.Buckets}); !strings.Contains(got, "the longest under an unbounded bucket") {
		t.Errorf("an unbounded bucket: %q", got)
	}
	if note := startSched().note(); !strings.Contains(note, "goroutines waiting for a core") {
		t.Errorf("note = %q", note)
	}
}
