package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/analytics"
)

// BenchmarkInsights times GET /v1/insights' work over the report benchmark's history
// (1,000,000 ticket and 300,000 escalation facts over 90 days): every report the findings need
// (transitions, issue types per large transition, agents, receiving teams, accounts, outcomes)
// over the last 30 days. Without a policy there are no tier-1 teams to compare agents in, so
// the agent finding's arithmetic (not its query) is skipped.
func BenchmarkInsights(b *testing.B) {
	db, err := Open(context.Background(), filepath.Join(b.TempDir(), "insights.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	loadBenchFacts(b, db)
	svc := analytics.New(db, func() time.Time { return benchFactsEnd }, nil, analytics.Options{})
	ctx := escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "bench", Role: escalated.RoleSupervisor})
	b.ResetTimer()
	var n int
	for range b.N {
		ins, err := svc.Insights(ctx, analytics.Query{})
		if err != nil {
			b.Fatal(err)
		}
		n = len(ins.Items)
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/insights")
	b.ReportMetric(float64(n), "findings")
}
