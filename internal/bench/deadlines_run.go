package bench

import (
	"fmt"
	"time"
)

// deadlineSizes are the deadline benchmarks' sizes at o's scale: the bar's million clocks due
// over an hour (about 280 a second) and a three-minute window; scaled down, the clocks keep
// their rate (the spread shrinks with them) and the window lasts at least 20 s.
func deadlineSizes(o Options, store, db string) DeadlineOptions {
	window := o.scaledDur(3*time.Minute, 20*time.Second)
	return DeadlineOptions{
		Store: store, DB: db,
		Deadlines: o.scaled(1_000_000, 10_000),
		Spread:    max(window, o.scaledDur(time.Hour, 20*time.Second)),
		Window:    window,
		Overdue:   o.scaled(100_000, 1_000),
	}
}

// runLateness: breach lateness with a million running clocks while 1,000 messages a second
// are ingested, and the node's resident memory with those million open tickets.
func runLateness(t T, o Options) []Row {
	do := deadlineSizes(o, "sqlite", SQLiteDB(t, "deadlines.db"))
	rows := latenessRows(RunLateness(t, do), "SQLite")
	if o.Postgres != "" {
		do = deadlineSizes(o, "postgres", PostgresSchema(t, o.Postgres))
		rows = append(rows, latenessRows(RunLateness(t, do), "PostgreSQL")...)
	}
	return rows
}

func latenessRows(l Lateness, store string) []Row {
	rss := max(l.RSSStart, l.RSSEnd)
	const limit = 500e6 / (1 << 20) // 500 MB in MiB
	return []Row{
		{Figure: fmt.Sprintf("breach lateness p99, %s clocks, %s", count(float64(l.Deadlines)), store), Target: "< 100 ms while ingest runs",
			Value: ms(l.P99), Unit: "ms", Text: fmt.Sprintf("%.1f ms", ms(l.P99)),
			Met: verdict(l.P99 < 100*time.Millisecond),
			Note: fmt.Sprintf("%s breaches fired in the window, each once; p50 %.1f ms, max %.0f ms; ingest %s/s of %s/s offered, p99 %.1f ms; load %.0f s",
				count(float64(l.Fired)), ms(l.P50), ms(l.Max), count(l.Ingest.Achieved()), count(float64(l.IngestRate)), ms(l.Ingest.Quantile(0.99)), l.LoadTook.Seconds())},
		{Figure: fmt.Sprintf("resident memory, %s open tickets, %s", count(float64(l.Deadlines)), store), Target: "< 500 MB",
			Value: rss * (1 << 20) / 1e6, Unit: "MB", Text: fmt.Sprintf("%.0f MB", rss*(1<<20)/1e6),
			Met:  verdict(rss < limit),
			Note: fmt.Sprintf("the whole process (node and load generator), at start %.0f MB and after the window %.0f MB", l.RSSStart*(1<<20)/1e6, l.RSSEnd*(1<<20)/1e6)},
	}
}

// runCatchUp: after a 10-minute outage, the time from start until every overdue breach has
// fired, each escalating its ticket; the baseline is the same catch-up with no rule (the
// engine and the clock bookkeeping alone).
func runCatchUp(t T, o Options) []Row {
	rows := catchUpRows(t, deadlineSizes(o, "sqlite", SQLiteDB(t, "catchup.db")), SQLiteDB(t, "catchup-norule.db"), "SQLite")
	if o.Postgres != "" {
		rows = append(rows, catchUpRows(t, deadlineSizes(o, "postgres", PostgresSchema(t, o.Postgres)), PostgresSchema(t, o.Postgres), "PostgreSQL")...)
	}
	return rows
}

func catchUpRows(t T, do DeadlineOptions, noRuleDB, store string) []Row {
	esc := RunCatchUp(t, do, true)
	do.DB = noRuleDB
	none := RunCatchUp(t, do, false)
	return []Row{{
		Figure: fmt.Sprintf("catch-up of %s overdue breaches, each escalating, %s", count(float64(esc.Overdue)), store),
		Target: "all fired once < 10 s", Value: esc.Took.Seconds(), Unit: "s", Text: fmt.Sprintf("%.1f s", esc.Took.Seconds()),
		Baseline: fmt.Sprintf("no rule (engine alone) %.1f s", none.Took.Seconds()), BaselineValue: none.Took.Seconds(),
		Ratio: esc.Took.Seconds() / none.Took.Seconds(), Met: verdict(esc.Took < 10*time.Second),
		Note: fmt.Sprintf("%s breaches/s escalating, %s/s with no rule; each fired exactly once (checked)",
			count(float64(esc.Overdue)/esc.Took.Seconds()), count(float64(none.Overdue)/none.Took.Seconds())),
	}}
}
