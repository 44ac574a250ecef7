package bench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/analytics"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/postgres"
	"github.com/escalated/escalated/internal/store/sqlite"
	"github.com/escalated/escalated/internal/store/storetest"
)

// Report history sizes of PRODUCT.md's analytics bar (and E7's figure).
const (
	reportTickets     = 1_000_000
	reportEscalations = 300_000
	reportDays        = 90
)

// reportsEnd is where the generated history ends; reports look back from it.
var reportsEnd = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

// timeReport runs fn reps times and returns the median.
func timeReport(t T, reps int, fn func() error) time.Duration {
	d := make([]time.Duration, reps)
	for i := range d {
		start := time.Now()
		if err := fn(); err != nil {
			t.Fatal(err)
		}
		d[i] = time.Since(start)
	}
	slices.Sort(d)
	return d[len(d)/2]
}

// reportStore is a store with the bulk load and the scan baseline of the report benchmark.
type reportStore interface {
	store.Store
	BulkLoadFacts(context.Context, []*store.TicketFact, []*store.EscalationFact) error
	ScanReport(ctx context.Context, since, until time.Time) (int, error)
}

// runReportsSQLite: every escalation report of the dimensions over the last 30 days of
// a history of 1,000,000 tickets and 300,000 escalations (the whole days, and the same window
// asked mid-day, whose edge days are counted from the rows); the slowest is the figure. The
// baseline is the denormalised scan of the window's rows for one report, in the same run on the
// same database.
func runReportsSQLite(t T, o Options) []Row {
	db, err := sqlite.Open(context.Background(), SQLiteDB(t, "reports.db")[len("sqlite:"):])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return reportRows(t, o, db, "SQLite", nil)
}

// runReportsPostgres: the same on PostgreSQL (COPY, then VACUUM ANALYZE as autovacuum would).
func runReportsPostgres(t T, o Options) []Row {
	pg, err := postgres.Open(context.Background(), PostgresSchema(t, o.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	return reportRows(t, o, pg, "PostgreSQL", pg.AnalyzeFacts)
}

// reportRows loads the history into db (then runs after, if any) and times the reports.
func reportRows(t T, o Options, db reportStore, name string, after func(context.Context) error) []Row {
	tickets, escs := o.scaled(reportTickets, 10_000), o.scaled(reportEscalations, 3_000)
	ctx := context.Background()
	start := time.Now()
	if err := storetest.GenerateFacts(reportsEnd, reportDays, tickets, escs, 100_000, func(ts []*store.TicketFact, es []*store.EscalationFact) error {
		return db.BulkLoadFacts(ctx, ts, es)
	}); err != nil {
		t.Fatalf("load facts: %v", err)
	}
	if after != nil {
		if err := after(ctx); err != nil {
			t.Fatal(err)
		}
	}
	loaded := time.Since(start)
	start = time.Now()
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.RebuildRollups(ctx) }); err != nil {
		t.Fatalf("rebuild rollups: %v", err)
	}
	t.Logf("%s: loaded %d ticket and %d escalation facts over %d days in %s, rollups in %s", name, tickets, escs, reportDays,
		loaded.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

	const reps = 5
	type result struct {
		name string
		took time.Duration
	}
	var worst result
	var account []result
	mid := reportsEnd.Add(-10*time.Hour - 23*time.Minute) // "the last 30 days" asked at 13:37
	for _, until := range []time.Time{reportsEnd, mid} {
		q := store.ReportQuery{Since: until.Add(-30 * 24 * time.Hour), Until: until, QuickSolve: 10 * time.Minute, HighFrustration: 0.7}
		edge := "whole days"
		if until.Equal(mid) {
			edge = "asked mid-day"
		}
		for _, g := range append(slices.Clone(store.GroupBys), "outcomes") {
			q.GroupBy = g
			took := timeReport(t, reps, func() error {
				return db.View(ctx, func(tx store.Tx) error {
					var err error
					if g == "outcomes" {
						_, err = tx.ReportOutcomes(ctx, store.ReportQuery{Since: q.Since, Until: q.Until, QuickSolve: q.QuickSolve, HighFrustration: q.HighFrustration})
					} else {
						_, err = tx.ReportGroups(ctx, q)
					}
					return err
				})
			})
			r := result{fmt.Sprintf("%s, %s", g, edge), took}
			// Accounts are not one of the dimensions the bar's reports are about (E7: tens
			// of thousands of groups); they get their own row.
			if g == store.GroupAccount {
				account = append(account, r)
				continue
			}
			if r.took > worst.took {
				worst = r
			}
		}
	}
	// Insights over the same 30 days: every report their findings need (transitions, the issue
	// types of each transition with enough escalations, agents, receiving teams, accounts,
	// outcomes), as GET /v1/insights runs them in one read.
	svc := analytics.New(db, func() time.Time { return reportsEnd }, nil, analytics.Options{})
	actx := escalated.WithPrincipal(ctx, escalated.Principal{Name: "bench", Role: escalated.RoleSupervisor})
	var findings int
	insights := timeReport(t, reps, func() error {
		ins, err := svc.Insights(actx, analytics.Query{})
		if err == nil {
			findings = len(ins.Items)
		}
		return err
	})
	base := timeReport(t, reps, func() error { _, err := db.ScanReport(ctx, reportsEnd.Add(-30*24*time.Hour), reportsEnd); return err })
	size := fmt.Sprintf("%s tickets, %s escalations", count(float64(tickets)), count(float64(escs)))
	baseText := fmt.Sprintf("scan of the window's rows %.1f ms", ms(base))
	rows := []Row{{
		Figure: "escalation report, slowest dimension, 30 days, " + name, Target: "< 100 ms",
		Value: ms(worst.took), Unit: "ms", Text: fmt.Sprintf("%.1f ms", ms(worst.took)),
		Baseline: baseText, BaselineValue: ms(base), Ratio: ms(worst.took) / ms(base), Met: o.sized(worst.took < 100*time.Millisecond),
		Note: fmt.Sprintf("%s over %d days; median of %d runs of each of %d reports; slowest: %s", size, reportDays, reps, 2*len(store.GroupBys), worst.name),
	}}
	rows = append(rows, Row{
		Figure: "insights, 30 days, " + name, Target: "(context)",
		Value: ms(insights), Unit: "ms", Text: fmt.Sprintf("%.1f ms", ms(insights)),
		Baseline: baseText, BaselineValue: ms(base), Ratio: ms(insights) / ms(base), Met: "n/a",
		Note: fmt.Sprintf("every report the findings need, in one read (the account report among them), %d findings in all; median of %d runs", findings, reps),
	})
	for _, a := range account {
		rows = append(rows, Row{
			Figure: "report by account (" + a.name + "), 30 days, " + name, Target: "< 100 ms",
			Value: ms(a.took), Unit: "ms", Text: fmt.Sprintf("%.1f ms", ms(a.took)),
			Baseline: baseText, BaselineValue: ms(base), Ratio: ms(a.took) / ms(base), Met: o.sized(a.took < 100*time.Millisecond),
		})
	}
	return rows
}
