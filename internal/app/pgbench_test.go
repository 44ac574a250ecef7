package app_test

import (
	"os"
	"testing"

	"github.com/escalated/escalated/internal/bench"
)

// pgSchema creates a fresh schema on ESCALATED_TEST_POSTGRES and returns a URL using it; the
// schema is dropped afterwards. It skips when the variable is not set.
func pgSchema(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("ESCALATED_TEST_POSTGRES")
	if base == "" {
		tb.Skip("ESCALATED_TEST_POSTGRES is not set: set it to a PostgreSQL URL to run the PostgreSQL tests and benchmarks")
	}
	return bench.PostgresSchema(tb, base)
}

// BenchmarkPostgresIngest measures in one run, on fresh schemas: a raw batched insert of
// message and history rows with pgx (the baseline), and messages added through the service by
// 16 concurrent clients on 1 node and on 2 nodes sharing the database. b.N messages per phase;
// run it with -benchtime 20000x.
func BenchmarkPostgresIngest(b *testing.B) {
	raw := pgRaw(b, b.N)
	one := pgIngest(b, b.N, 1)
	two := pgIngest(b, b.N, 2)
	b.ReportMetric(raw, "raw_msgs/s")
	b.ReportMetric(one, "node1_msgs/s")
	b.ReportMetric(two, "nodes2_msgs/s")
	b.ReportMetric(one/raw, "node1/raw")
	b.ReportMetric(two/raw, "nodes2/raw")
}

func pgIngest(b *testing.B, n, nodes int) float64 {
	db := pgSchema(b)
	dbs := make([]string, nodes)
	for i := range dbs {
		dbs[i] = db
	}
	return bench.ServiceIngestNodes(b, dbs, "testdata/policy.yaml", n, 16).Rate
}

func pgRaw(b *testing.B, n int) float64 {
	return bench.RawInsert(b, pgSchema(b), "testdata/policy.yaml", n)
}
