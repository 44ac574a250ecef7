package app_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated/internal/bench"
)

// The deadline benchmarks (E4) measure the deadline engine on a real node: an HTTP server over
// a store holding a million pending SLA breaches (internal/bench/deadlines.go; `escalated
// bench --only deadlines,catchup` runs the same bodies). Each runs its body once, whatever b.N
// is:
//
//	go test -run xxx -bench DeadlineLateness -benchtime 1x -timeout 0 ./internal/app/
//	go test -run xxx -bench DeadlineCatchUp -benchtime 1x -timeout 0 ./internal/app/
//
// The PostgreSQL sub-benchmarks run when ESCALATED_TEST_POSTGRES is set. Sizes come from the
// environment:
//
//	ESCALATED_BENCH_DEADLINES  pending breaches loaded for DeadlineLateness (1000000)
//	ESCALATED_BENCH_SPREAD     their due times fall over this span (1h)
//	ESCALATED_BENCH_WINDOW     how long DeadlineLateness measures (3m)
//	ESCALATED_BENCH_RATE       customer messages per second POSTed during the window (1000)
//	ESCALATED_BENCH_LEAD       from the start of the load to the first due time (per store: the
//	                           expected load time x1.5 plus up to a minute)
//	ESCALATED_BENCH_OVERDUE    overdue breaches loaded for DeadlineCatchUp (100000)
//	ESCALATED_BENCH_ORDER      sorted (default): ticket ids follow due times; shuffled: they do
//	                           not
//	ESCALATED_BENCH_TIMELINE   when set, DeadlineLateness prints per-second figures to stderr
//	ESCALATED_BENCH_LOG        debug or info: the node's log on stderr
//	ESCALATED_BENCH_RAW        when set, DeadlineCatchUp on SQLite records the writer's
//	                           statements and executes them again raw (raw_s: the cost of the
//	                           rows alone; the run's own times then include the recording)

// BenchmarkDeadlineLateness: see bench.RunLateness.
func BenchmarkDeadlineLateness(b *testing.B) {
	for _, store := range []string{"sqlite", "postgres"} {
		b.Run("store="+store, func(b *testing.B) {
			l := bench.RunLateness(b, deadlineOptions(b, store))
			for _, m := range []struct {
				v    float64
				unit string
			}{
				{ms(l.P50), "p50_ms"}, {ms(l.P99), "p99_ms"}, {ms(l.Max), "max_ms"}, {float64(l.Fired), "fired"},
				{float64(l.Deadlines), "deadlines"}, {l.LoadTook.Seconds(), "load_s"}, {ms(l.Start), "start_ms"},
				{l.RSSStart, "rss_start_MiB"}, {l.RSSEnd, "rss_end_MiB"}, {l.Ingest.Achieved(), "ingest_req/s"},
				{ms(l.Ingest.Quantile(0.5)), "ingest_p50_ms"}, {ms(l.Ingest.Quantile(0.99)), "ingest_p99_ms"},
				{l.SelfCores, "cpu_self_cores"}, {l.PGCores, "cpu_pg_cores"}, {l.OtherCores, "cpu_other_cores"}, {l.Drain.Seconds(), "drain_s"},
			} {
				b.ReportMetric(m.v, m.unit)
			}
		})
	}
}

// BenchmarkDeadlineCatchUp: see bench.RunCatchUp, with the breach rule (rule=escalate) and
// without any rule (rule=none).
func BenchmarkDeadlineCatchUp(b *testing.B) {
	for _, store := range []string{"sqlite", "postgres"} {
		for _, rule := range []string{"escalate", "none"} {
			b.Run("store="+store+"/rule="+rule, func(b *testing.B) {
				c := bench.RunCatchUp(b, deadlineOptions(b, store), rule == "escalate")
				b.ReportMetric(c.Took.Seconds(), "catchup_s")
				b.ReportMetric(float64(c.Overdue)/c.Took.Seconds(), "deadlines/s")
				b.ReportMetric(float64(c.Overdue), "overdue")
				b.ReportMetric(ms(c.Ready), "ready_ms")
				b.ReportMetric(ms(c.Start), "start_ms")
				b.ReportMetric(c.LoadTook.Seconds(), "load_s")
				b.ReportMetric(c.RSSStart, "rss_start_MiB")
				b.ReportMetric(c.RSSEnd, "rss_end_MiB")
				b.ReportMetric(c.SelfCores, "cpu_self_cores")
				b.ReportMetric(c.PGCores, "cpu_pg_cores")
				b.ReportMetric(c.OtherCores, "cpu_other_cores")
				if c.RawStatements > 0 {
					b.ReportMetric(c.Raw.Seconds(), "raw_s")
					b.ReportMetric(float64(c.RawStatements)/float64(c.Overdue), "stmts/breach")
				}
			})
		}
	}
}

// deadlineOptions reads the sizes from the environment, on a fresh database of store.
func deadlineOptions(b *testing.B, store string) bench.DeadlineOptions {
	o := bench.DeadlineOptions{
		Store:     store,
		Deadlines: envInt(b, "ESCALATED_BENCH_DEADLINES"),
		Spread:    envDuration(b, "ESCALATED_BENCH_SPREAD"),
		Window:    envDuration(b, "ESCALATED_BENCH_WINDOW"),
		Rate:      envInt(b, "ESCALATED_BENCH_RATE"),
		Lead:      envDuration(b, "ESCALATED_BENCH_LEAD"),
		Overdue:   envInt(b, "ESCALATED_BENCH_OVERDUE"),
		Order:     os.Getenv("ESCALATED_BENCH_ORDER"),
		Timeline:  os.Getenv("ESCALATED_BENCH_TIMELINE") != "",
		LogLevel:  os.Getenv("ESCALATED_BENCH_LOG"),
		Record:    store == "sqlite" && os.Getenv("ESCALATED_BENCH_RAW") != "",
	}
	if store == "postgres" {
		o.DB = pgSchema(b)
	} else {
		o.DB = bench.SQLiteDB(b, "deadlines.db")
	}
	return o
}

// envInt is a positive whole number from the environment, 0 when unset (the default).
func envInt(b *testing.B, name string) int {
	v := os.Getenv(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive whole number", name, v)
	}
	return n
}

// envDuration is a positive duration from the environment, 0 when unset (the default).
func envDuration(b *testing.B, name string) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		b.Fatalf("%s=%q: want a positive duration such as 90s or 1h", name, v)
	}
	return d
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
