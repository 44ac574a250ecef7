package bench

import (
	"os"
	"strconv"
	"testing"
)

// BenchmarkIngestDemo is the ingest row of `escalated bench` as a Go benchmark, for profiles:
// b.N messages through the service with the demo policy, 16 writers (ESCALATED_BENCH_WRITERS),
// on a fresh SQLite file.
//
//	go test ./internal/bench -run '^$' -bench IngestDemo -benchtime 20000x -cpuprofile cpu.out
//	ESCALATED_BENCH_WRITERS=64 go test ./internal/bench -run '^$' -bench IngestDemo -benchtime 20000x
func BenchmarkIngestDemo(b *testing.B) {
	in := ServiceIngest(b, SQLiteDB(b, "ingest.db"), DemoPolicyFile(b, b.TempDir()), b.N, envCount(b, "ESCALATED_BENCH_WRITERS", 16))
	b.ReportMetric(in.Rate, "msgs/s")
	b.ReportMetric(float64(in.CPU.Microseconds()), "cpu_µs/msg")
	b.ReportMetric(in.PerCommit, "msgs/commit")
	b.ReportMetric(in.Ahead, "ahead/msg")
	b.ReportMetric(in.Written/1024, "written_KiB/msg")
	b.ReportMetric(in.Writes, "writes/msg")
	b.ReportMetric(100*in.WaitWork, "writer_idle_%")
	b.ReportMetric(100*in.WaitSync, "writer_sync_wait_%")
}

// BenchmarkRawReplay is the baseline of the ingest row: the statements b.N messages through
// the service (16 writers, each on a ticket of its own; ESCALATED_BENCH_WRITERS) wrote,
// executed again raw (RawReplay), 100 messages to a transaction (ESCALATED_BENCH_RAW_TX).
//
//	go test ./internal/bench -run '^$' -bench RawReplay -benchtime 20000x
//	ESCALATED_BENCH_WRITERS=64 go test ./internal/bench -run '^$' -bench 'IngestDemo|RawReplay' -benchtime 20000x
//	ESCALATED_BENCH_RAW_TX=8 go test ./internal/bench -run '^$' -bench RawReplay -benchtime 20000x
func BenchmarkRawReplay(b *testing.B) {
	r := RawReplay(b, DemoPolicyFile(b, b.TempDir()), b.N, envCount(b, "ESCALATED_BENCH_WRITERS", 16), envCount(b, "ESCALATED_BENCH_RAW_TX", 100))
	b.ReportMetric(r.Rate, "msgs/s")
	b.ReportMetric(r.PerMessage, "stmts/msg")
	b.Log(r.Profile.Summary(b.N, "message", 10))
}

// envCount is a positive whole number from the environment variable name, def when unset.
func envCount(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive whole number", name, v)
	}
	return n
}
