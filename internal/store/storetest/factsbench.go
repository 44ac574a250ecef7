package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/escalated/escalated/internal/store"
)

// BenchReports runs the report benchmarks on a store loaded with GenerateFacts' history ending
// at end: every report over the last 30 and over all 90 days, the outcome measures, a team's
// view, a filtered report by account (computed from the window's rows), one transition's
// issue types (insights' concentration query), and the last 30 days ending mid-day, whose
// partial edge days are computed from the rows. ms/report is the figure to compare with the
// 100 ms target.
func BenchReports(b *testing.B, st store.Store, end time.Time) {
	ctx := context.Background()
	run := func(name string, q store.ReportQuery, outcomes bool) {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				err := st.View(ctx, func(tx store.Tx) error {
					if outcomes {
						_, err := tx.ReportOutcomes(ctx, q)
						return err
					}
					_, err := tx.ReportGroups(ctx, q)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/report")
		})
	}
	for _, days := range []int{30, 90} {
		q := store.ReportQuery{Since: end.Add(-time.Duration(days) * 24 * time.Hour), Until: end,
			QuickSolve: 10 * time.Minute, HighFrustration: 0.7}
		for _, g := range store.GroupBys {
			q.GroupBy = g
			run(fmt.Sprintf("%dd/%s", days, g), q, false)
		}
		run(fmt.Sprintf("%dd/outcomes", days), q, true)
		// A team's view: one intake team at t1 and the escalations from or to it.
		q.Team = "team_03"
		for _, g := range []string{store.GroupTeam, store.GroupIssueType, store.GroupAccount} {
			q.GroupBy = g
			run(fmt.Sprintf("%dd/team=%s/%s", days, q.Team, g), q, false)
		}
		run(fmt.Sprintf("%dd/team=%s/outcomes", days, q.Team), q, true)
		q.Team, q.Transition, q.GroupBy = "", "t1 -> t2", store.GroupIssueType
		run(fmt.Sprintf("%dd/transition=t1->t2/issue_type", days), q, false)
	}
	// "The last 30 days" asked at 13:37: two partial days at the edges.
	until := end.Add(-10*time.Hour - 23*time.Minute)
	q := store.ReportQuery{Since: until.Add(-30 * 24 * time.Hour), Until: until, QuickSolve: 10 * time.Minute, HighFrustration: 0.7}
	for _, g := range []string{store.GroupIssueType, store.GroupAgent, store.GroupDay} {
		q.GroupBy = g
		run("30d-mid-day/"+g, q, false)
	}
	run("30d-mid-day/outcomes", q, true)
}
