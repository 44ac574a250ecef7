package bench

import "testing"

// BenchmarkIngestDemo is the ingest row of `escalated bench` as a Go benchmark, for profiles:
// b.N messages through the service with the demo policy, 16 writers, on a fresh SQLite file.
//
//	go test ./internal/bench -run '^$' -bench IngestDemo -benchtime 20000x -cpuprofile cpu.out
func BenchmarkIngestDemo(b *testing.B) {
	in := ServiceIngest(b, SQLiteDB(b, "ingest.db"), DemoPolicyFile(b, b.TempDir()), b.N, 16)
	b.ReportMetric(in.Rate, "msgs/s")
	b.ReportMetric(float64(in.CPU.Microseconds()), "cpu_µs/msg")
	b.ReportMetric(in.PerCommit, "msgs/commit")
}

// BenchmarkRawReplay is the baseline of the ingest row: the statements b.N messages through
// the service wrote, executed again raw (RawReplay).
//
//	go test ./internal/bench -run '^$' -bench RawReplay -benchtime 20000x
func BenchmarkRawReplay(b *testing.B) {
	rate, per := RawReplay(b, DemoPolicyFile(b, b.TempDir()), b.N, 16)
	b.ReportMetric(rate, "msgs/s")
	b.ReportMetric(per, "stmts/msg")
}
