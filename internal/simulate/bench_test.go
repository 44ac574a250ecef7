package simulate_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/escalated/escalated/internal/bench"
)

// BenchmarkReplay replays a generated history (bench.GenerateHistory) through
// docs/examples/policy.yaml (rules on creation, messages, breaches and unacknowledged
// escalations; real SLA plans) in memory and reports replayed events per second and the
// memory. ESCALATED_SIM_EVENTS sets the history's size (default 100,000 events). `escalated
// bench --only simulate` runs the same replay (200,000 events) beside its baseline.
//
//	ESCALATED_SIM_EVENTS=200000 go test ./internal/simulate -run '^$' -bench 'Replay$' -benchtime 1x
func BenchmarkReplay(b *testing.B) { benchReplay(b, false, 100_000) }

// BenchmarkReplayOnDisk is the same replay on a scratch SQLite database (synchronous=OFF), the
// simulator's first store: the baseline the in-memory store is measured against. Its default
// history is 20,000 events (it replays a few hundred a second).
func BenchmarkReplayOnDisk(b *testing.B) { benchReplay(b, true, 20_000) }

func benchReplay(b *testing.B, onDisk bool, n int) {
	if v := os.Getenv("ESCALATED_SIM_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("ESCALATED_SIM_EVENTS=%q: want a positive whole number", v)
		}
	}
	events := bench.GenerateHistory(n, 1)
	b.ResetTimer()
	for b.Loop() {
		r := bench.RunReplay(b, events, onDisk)
		res := r.Result
		b.ReportMetric(r.Rate(), "events/s")
		b.ReportMetric(float64(res.EventsReplayed+res.DeadlinesFired+res.AgentActions)/r.Took.Seconds(), "actions/s")
		b.ReportMetric(float64(r.PeakHeap)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(r.PeakRSS)/(1<<20), "peak-RSS-MiB")
		b.Logf("%d events, %d tickets: %d replayed, %d deadlines fired, %d agent actions, %d escalations, %d kinds refused; %.1f s, peak heap %d MiB, peak RSS %d MiB",
			len(events), res.Tickets, res.EventsReplayed, res.DeadlinesFired, res.AgentActions, res.Escalations.Total, len(res.Skipped),
			r.Took.Seconds(), r.PeakHeap>>20, r.PeakRSS>>20)
	}
}
