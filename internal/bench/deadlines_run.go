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

// runLatenessSQLite: breach lateness with a million running clocks while 1,000 messages a
// second are ingested, and the node's resident memory with those million open tickets.
func runLatenessSQLite(t T, o Options) []Row {
	return latenessRows(o, RunLateness(t, deadlineSizes(o, "sqlite", SQLiteDB(t, "deadlines.db"))), "SQLite")
}

func runLatenessPostgres(t T, o Options) []Row {
	return latenessRows(o, RunLateness(t, deadlineSizes(o, "postgres", PostgresSchema(t, o.Postgres))), "PostgreSQL")
}

func latenessRows(o Options, l Lateness, store string) []Row {
	rss := l.RSSPeak
	const limit = 500e6 / (1 << 20) // 500 MB in MiB
	return []Row{
		{Figure: fmt.Sprintf("breach lateness p99, %s clocks, %s", count(float64(l.Deadlines)), store), Target: "< 100 ms while ingest runs",
			Value: ms(l.P99), Unit: "ms", Text: fmt.Sprintf("%.1f ms", ms(l.P99)),
			Met: o.sized(l.P99 < 100*time.Millisecond),
			Note: fmt.Sprintf("%s breaches fired in the window, each once; p50 %.1f ms, max %.0f ms; ingest %s/s of %s/s offered, p99 %.1f ms; load %.0f s",
				count(float64(l.Fired)), ms(l.P50), ms(l.Max), count(l.Ingest.Achieved()), count(float64(l.IngestRate)), ms(l.Ingest.Quantile(0.99)), l.LoadTook.Seconds())},
		{Figure: fmt.Sprintf("resident memory, %s open tickets, %s", count(float64(l.Deadlines)), store), Target: "< 500 MB",
			Value: rss * (1 << 20) / 1e6, Unit: "MB", Text: fmt.Sprintf("%.0f MB", rss*(1<<20)/1e6),
			Met: o.sized(rss < limit),
			Note: fmt.Sprintf("peak of the whole process (node and load generator) from the node's start to the end of the window; %.0f MB once it answered, %.0f MB at the end",
				l.RSSStart*(1<<20)/1e6, l.RSSEnd*(1<<20)/1e6)},
	}
}

// runCatchUpSQLite: after a 10-minute outage, the time from start until every overdue breach
// has fired, each escalating its ticket; the baseline is the same catch-up with no rule (the
// engine and the clock bookkeeping alone).
func runCatchUpSQLite(t T, o Options) []Row {
	return catchUpRows(t, o, deadlineSizes(o, "sqlite", SQLiteDB(t, "catchup.db")), SQLiteDB(t, "catchup-norule.db"), "SQLite")
}

func runCatchUpPostgres(t T, o Options) []Row {
	return catchUpRows(t, o, deadlineSizes(o, "postgres", PostgresSchema(t, o.Postgres)), PostgresSchema(t, o.Postgres), "PostgreSQL")
}

func catchUpRows(t T, o Options, do DeadlineOptions, noRuleDB, store string) []Row {
	esc := RunCatchUp(t, do, true)
	rec := do
	do.DB = noRuleDB
	none := RunCatchUp(t, do, false)
	var raw []Row
	if store == "SQLite" {
		// A third run, recorded, for the cost of the rows alone (its own times include the
		// recording and are not reported).
		rec.DB, rec.Record = SQLiteDB(t, "catchup-recorded.db"), true
		r := RunCatchUp(t, rec, true)
		raw = append(raw, Row{
			Figure: fmt.Sprintf("catch-up of %s overdue breaches, the same rows raw, %s", count(float64(r.Overdue)), store),
			Target: "(context)", Value: r.Raw.Seconds(), Unit: "s", Text: fmt.Sprintf("%.1f s", r.Raw.Seconds()),
			Baseline: fmt.Sprintf("the escalating catch-up once serving %.1f s", esc.Took.Seconds()), BaselineValue: esc.Took.Seconds(),
			Ratio: r.Raw.Seconds() / esc.Took.Seconds(), Met: "n/a",
			Note: fmt.Sprintf("the %.1f statements per breach an escalating catch-up wrote (recorded in a run of its own), executed again on a copy of the loaded database "+
				"with nothing around them: 100 claims (of up to a batch of breaches each) to a transaction, prepared, no reads, decisions or packages; "+
				"where its time went, %s",
				float64(r.RawStatements)/float64(r.Overdue), r.RawProfile.Summary(r.Overdue, "breach", 8)),
		})
	}
	return append([]Row{{
		Figure: fmt.Sprintf("catch-up of %s overdue breaches, each escalating, %s", count(float64(esc.Overdue)), store),
		Target: "all fired once < 10 s of start", Value: esc.FromStart.Seconds(), Unit: "s", Text: fmt.Sprintf("%.1f s", esc.FromStart.Seconds()),
		Baseline: fmt.Sprintf("no rule (engine alone) %.1f s", none.FromStart.Seconds()), BaselineValue: none.FromStart.Seconds(),
		Ratio: esc.FromStart.Seconds() / none.FromStart.Seconds(), Met: o.sized(esc.FromStart < 10*time.Second),
		Note: fmt.Sprintf("from app.New (opening the store, loading the policy) to the last firing; %s breaches/s escalating, %s/s with no rule once serving; each fired exactly once (checked)",
			count(float64(esc.Overdue)/esc.Took.Seconds()), count(float64(none.Overdue)/none.Took.Seconds())),
	}}, raw...)
}
