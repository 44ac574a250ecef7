package analytics_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/analytics"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/sqlite"
)

const insightPolicy = `version: 1
intake: frontline
tiers:
  - {id: t1, name: Frontline, level: 1}
  - {id: t2, name: Specialists, level: 2}
teams:
  - {id: frontline, tier: t1}
  - {id: billing, tier: t2}
  - {id: integrations, tier: t2}
agents:
  - {id: ana, name: Ana, teams: [frontline]}
  - {id: tom, name: Tom, teams: [frontline]}
  - {id: kim, name: Kim, teams: [frontline]}
  - {id: bea, name: Bea, teams: [billing]}
paths:
  - {from: frontline, to: [billing, integrations]}
`

// seedScenario writes the seed text's situation as analytics facts on a real SQLite store:
// 400 tier-1 -> tier-2 escalations in the 30 days to until, 140 of them (35%) API integration
// questions; agents ana and tom escalate 10% of their tickets, kim 30%; billing returns 42% of
// what it gets as unnecessary; account acme's 20 tickets breached SLAs 9 times before
// escalation.
func seedScenario(t *testing.T, until time.Time) store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "insights.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	start := until.Add(-30 * 24 * time.Hour)
	n := 0
	ticket := func(agent, issue, account string, escalated bool, breaches int) string {
		n++
		id := fmt.Sprintf("tkt_%06d", n)
		at := start.Add(time.Duration(n) * time.Minute)
		f := &store.TicketFact{TicketID: id, CreatedAt: at, IssueType: issue, Channel: "email", AccountID: account,
			CustomerTier: "pro", IntakeTeam: "frontline", IntakeTier: "t1", FirstAgent: agent, BreachesBeforeEscalation: breaches}
		if escalated {
			first := at.Add(time.Hour)
			f.Escalations, f.FirstEscalatedAt = 1, &first
		}
		if err := st.Update(ctx, func(tx store.Tx) error { return tx.SaveTicketFact(ctx, f) }); err != nil {
			t.Fatal(err)
		}
		return id
	}
	escalate := func(ticketID, agent, issue, to string, unnecessary bool) {
		n++
		at := start.Add(time.Duration(n)*time.Minute + time.Hour)
		state := "resolved"
		if unnecessary {
			state = "returned"
		}
		f := &store.EscalationFact{EscalationID: fmt.Sprintf("esc_%06d", n), TicketID: ticketID, CreatedAt: at,
			FromTeam: "frontline", ToTeam: to, FromTier: "t1", ToTier: "t2", ByAgent: agent, Trigger: "manual",
			Reason: "complexity", IssueType: issue, Channel: "email", CustomerTier: "pro", TimeToEscalate: time.Hour,
			State: state, Returned: unnecessary, Unnecessary: unnecessary, ResolvedAtTarget: !unnecessary, Completeness: 1}
		if err := st.Update(ctx, func(tx store.Tx) error { return tx.SaveEscalationFact(ctx, f) }); err != nil {
			t.Fatal(err)
		}
	}
	// 400 escalations: 140 api_integration to integrations, 100 billing to billing (42 of them
	// returned as unnecessary), 160 other to integrations. Escalating agents: 100 by ana (of
	// 1000 tickets), 100 by tom (of 1000), 200 by kim (of 667 tickets: 30%).
	agents := []struct {
		id               string
		tickets, escalat int
	}{{"ana", 1000, 100}, {"tom", 1000, 100}, {"kim", 667, 200}}
	k := 0
	for _, a := range agents {
		for i := range a.tickets {
			esc := i < a.escalat
			account, breaches := "", 0
			if k < 20 && esc {
				account = "acme"
				if k < 9 {
					breaches = 1
				}
			}
			id := ticket(a.id, "general", account, esc, breaches)
			if esc {
				issue, to, unnecessary := "other", "integrations", false
				switch {
				case k < 140:
					issue = "api_integration"
				case k < 240:
					issue, to, unnecessary = "billing", "billing", k < 140+42
				}
				escalate(id, a.id, issue, to, unnecessary)
				k++
			}
		}
	}
	return st
}

// TestInsightsSeedScenario: the seed text's example, found and worded with the right numbers.
func TestInsightsSeedScenario(t *testing.T) {
	until := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	st := seedScenario(t, until)
	pol, err := policy.Parse("p.yaml", []byte(insightPolicy))
	if err != nil {
		t.Fatal(err)
	}
	svc := analytics.New(st, func() time.Time { return until }, func() *policy.Policy { return pol }, analytics.Options{})
	ctx := escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "test", Role: escalated.RoleSupervisor})
	ins, err := svc.Insights(ctx, analytics.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, it := range ins.Items {
		texts = append(texts, it.Text)
		if !strings.HasPrefix(it.Query, "/v1/reports/escalations?") {
			t.Errorf("insight without its query: %+v", it)
		}
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{
		"api_integration is 35% (140 of 400) of t1 (Frontline) -> t2 (Specialists) escalations in the 30 days to 2026-11-28",
		"tickets first handled by kim are escalated 3.0x as often as the frontline median (30% vs 10%, 200 of 667 tickets)",
		"42% of escalations to billing are returned as unnecessary (42 of 100)",
		"acme breached SLA targets 9 times before any escalation (20 tickets)",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no insight %q among:\n%s", want, all)
		}
	}
	// Nothing from too few: billing's 100 escalations are 25% of 400 (at the threshold), but
	// no agent outlier for ana or tom, and no concentration for "other" below... it is 40%.
	if strings.Contains(all, "handled by ana") || strings.Contains(all, "handled by tom") {
		t.Errorf("ana and tom are at the median, yet flagged:\n%s", all)
	}

	// With a minimum sample larger than any group, nothing is said.
	strict := analytics.New(st, func() time.Time { return until }, func() *policy.Policy { return pol },
		analytics.Options{Insights: analytics.InsightOptions{MinSample: 100000, AccountBreaches: 100000}})
	if ins, err := strict.Insights(ctx, analytics.Query{}); err != nil || len(ins.Items) != 0 {
		t.Errorf("insights from too few tickets: %v %+v", err, ins)
	}
}
