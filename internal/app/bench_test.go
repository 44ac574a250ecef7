package app_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/app"
	"github.com/escalated/escalated/internal/bench"
)

// benchApp opens a node over a fresh SQLite file with testdata/policy.yaml (no rules) and n
// tickets to write to.
func benchApp(b *testing.B, tickets int) (*app.App, context.Context, []string) {
	b.Helper()
	a, ids := bench.NewNode(b, bench.SQLiteDB(b, "bench.db"), "testdata/policy.yaml", tickets)
	ctx := escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "bench", Role: escalated.RoleAdmin})
	return a, ctx, ids
}

// BenchmarkMessageIngest measures, in one run and on fresh SQLite files, how fast messages are
// stored durably: through the service (validation, ticket read-modify-write, message and history
// rows, group commit) with 1 and with 16 concurrent writers, and as the baseline, the same
// message and history rows written by plain batched INSERTs of 100 rows per transaction. b.N is
// the number of messages per phase; run it with -benchtime 20000x. The policy is
// testdata/policy.yaml (no rules; `escalated bench --only ingest` runs the demo policy's).
func BenchmarkMessageIngest(b *testing.B) {
	const pol = "testdata/policy.yaml"
	raw := bench.RawInsert(b, bench.SQLiteDB(b, "raw.db"), pol, b.N)
	one := bench.ServiceIngest(b, bench.SQLiteDB(b, "svc1.db"), pol, b.N, 1)
	sixteen := bench.ServiceIngest(b, bench.SQLiteDB(b, "svc16.db"), pol, b.N, 16)
	b.ReportMetric(raw, "raw_msgs/s")
	b.ReportMetric(one.Rate, "svc1_msgs/s")
	b.ReportMetric(sixteen.Rate, "svc16_msgs/s")
	b.ReportMetric(one.Rate/raw, "svc1/raw")
	b.ReportMetric(sixteen.Rate/raw, "svc16/raw")
	b.ReportMetric(sixteen.PerCommit, "svc16_msgs/commit")
}

// BenchmarkPostMessageLatency sends POST /v1/tickets/{id}/messages over loopback at a fixed
// rate (open loop: latency counts from each request's scheduled time, so a stall is not hidden
// by the client waiting) and reports p50/p99. b.N is the number of requests.
func BenchmarkPostMessageLatency(b *testing.B) {
	for _, rate := range []int{1000, 2500, 3500, 4000, 5000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			a, _, ids := benchApp(b, 64)
			s := bench.Serve(b, a)
			b.ResetTimer()
			l := bench.PostMessages(b, s, ids, rate, b.N)
			b.StopTimer()
			if l.Failed > 0 {
				b.Fatalf("%d of %d requests failed, first: %v", l.Failed, b.N, l.FirstErr)
			}
			b.ReportMetric(ms(l.Quantile(0.5)), "p50_ms")
			b.ReportMetric(ms(l.Quantile(0.99)), "p99_ms")
			b.ReportMetric(l.Achieved(), "req/s")
		})
	}
}
