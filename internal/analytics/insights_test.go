package analytics_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/analytics"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/pgtest"
	"github.com/escalated/escalated/internal/store/postgres"
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

// onStores runs body on a fresh SQLite store and, when ESCALATED_TEST_POSTGRES is set, on a
// PostgreSQL store in a schema of its own: the insights divide what the stores count, so the
// same facts must give the same sentences on both.
func onStores(t *testing.T, body func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "insights.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		body(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		schema := pgtest.FreshSchema(t, "the insight tests", "escalated_analytics_test")
		st, err := postgres.Open(context.Background(), pgtest.URL(t, "the insight tests"), postgres.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		body(t, st)
	})
}

// seedScenario writes the seed text's situation as analytics facts into st: 400 tier-1 ->
// tier-2 escalations in the 30 days to until, 140 of them (35%) API integration questions;
// agents ana and tom escalate 10% of their tickets, kim 30%; billing returns 42% of what it
// gets as unnecessary; account acme's 20 tickets breached SLAs 9 times before escalation.
// One transaction rather than a commit per fact keeps the PostgreSQL run short.
func seedScenario(t *testing.T, st store.Store, until time.Time) {
	t.Helper()
	ctx := context.Background()
	err := st.Update(ctx, func(tx store.Tx) error { return writeScenario(ctx, tx, until) })
	if err != nil {
		t.Fatal(err)
	}
}

func writeScenario(ctx context.Context, tx store.Tx, until time.Time) error {
	start := until.Add(-30 * 24 * time.Hour)
	n := 0
	var err error
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
		if err == nil {
			err = tx.SaveTicketFact(ctx, f)
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
		if err == nil {
			err = tx.SaveEscalationFact(ctx, f)
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
	return err
}

// TestInsightsSeedScenario: the seed text's example, found and worded with the right numbers,
// on both stores; the node's default thresholds change what is found, and a request's own
// thresholds override them one by one.
func TestInsightsSeedScenario(t *testing.T) {
	until := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	pol, err := policy.Parse("p.yaml", []byte(insightPolicy))
	if err != nil {
		t.Fatal(err)
	}
	const (
		apiShare = "api_integration is 35% (140 of 400) of t1 (Frontline) -> t2 (Specialists) escalations in the 30 days to 2026-11-28"
		kim      = "tickets first handled by kim are escalated 3.0x as often as the frontline median (30% vs 10%, 200 of 667 tickets)"
		billing  = "42% of escalations to billing are returned as unnecessary (42 of 100)"
		acme     = "acme breached SLA targets 9 times before any escalation (20 tickets)"
	)
	ctx := escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "test", Role: escalated.RoleSupervisor})
	onStores(t, func(t *testing.T, st store.Store) {
		seedScenario(t, st, until)
		service := func(opts analytics.Options) *analytics.Service {
			return analytics.New(st, func() time.Time { return until }, func() *policy.Policy { return pol }, opts)
		}
		// insights returns the findings' sentences, one a line, and the thresholds they used.
		insights := func(svc *analytics.Service, q analytics.Query) (string, analytics.InsightOptions) {
			t.Helper()
			ins, err := svc.Insights(ctx, q)
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
			return strings.Join(texts, "\n"), ins.Options
		}
		all, _ := insights(service(analytics.Options{}), analytics.Query{})
		for _, want := range []string{apiShare, kim, billing, acme} {
			if !strings.Contains(all, want) {
				t.Errorf("no insight %q among:\n%s", want, all)
			}
		}
		// ana and tom escalate at the team median: no outlier.
		if strings.Contains(all, "handled by ana") || strings.Contains(all, "handled by tom") {
			t.Errorf("ana and tom are at the median, yet flagged:\n%s", all)
		}

		// With a minimum sample larger than any group, nothing is said.
		strict := service(analytics.Options{Insights: analytics.InsightOptions{MinSample: 100000, AccountBreaches: 100000}})
		if all, _ := insights(strict, analytics.Query{}); all != "" {
			t.Errorf("insights from too few tickets:\n%s", all)
		}

		// A node whose operator raised the concentration threshold above api_integration's 35%
		// and the minimum sample above acme's 20 tickets says neither.
		node := service(analytics.Options{Insights: analytics.InsightOptions{Concentration: 0.36, MinSample: 21}})
		all, used := insights(node, analytics.Query{})
		if strings.Contains(all, "api_integration is") || strings.Contains(all, "acme breached") || !strings.Contains(all, billing) {
			t.Errorf("node thresholds concentration 0.36, min_sample 21: want billing's finding without api_integration's or acme's, got:\n%s", all)
		}
		if used.Concentration != 0.36 || used.MinSample != 21 || used.AgentRatio != 2 {
			t.Errorf("thresholds used %+v, want the node's concentration and min_sample and the built-in agent_ratio", used)
		}
		// A request's concentration of 0.35 overrides the node's; its min_sample stays the node's.
		all, used = insights(node, analytics.Query{Options: &analytics.Options{Insights: analytics.InsightOptions{Concentration: 0.35}}})
		if !strings.Contains(all, apiShare) || strings.Contains(all, "acme breached") {
			t.Errorf("request concentration 0.35 over the node's min_sample 21: want api_integration's finding without acme's, got:\n%s", all)
		}
		if used.Concentration != 0.35 || used.MinSample != 21 {
			t.Errorf("thresholds used %+v, want the request's concentration and the node's min_sample", used)
		}
	})
}

// TestFindThresholds: each kind of finding at the edge of its threshold and of the minimum
// sample, with the sentence and numbers it says. Defaults: min_sample 20, concentration,
// unnecessary and context_insufficient 0.25, agent_ratio 2, account_breaches and frustrated 5.
func TestFindThresholds(t *testing.T) {
	until := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	pol, err := policy.Parse("p.yaml", []byte(insightPolicy))
	if err != nil {
		t.Fatal(err)
	}
	const (
		window = "in the 30 days to 2026-11-28"
		route  = "/v1/reports/escalations?group_by="
		bounds = "since=2026-10-29T00%3A00%3A00.000Z&until=2026-11-28T00%3A00%3A00.000Z"
	)
	tr := func(n int, issues ...store.ReportGroup) func(*analytics.FindInput) {
		return func(in *analytics.FindInput) {
			in.Transitions = []store.ReportGroup{{Key: "t1 -> t2", Escalations: n}}
			in.ByTransition = map[string][]store.ReportGroup{"t1 -> t2": issues}
		}
	}
	agents := func(groups ...store.ReportGroup) func(*analytics.FindInput) {
		return func(in *analytics.FindInput) { in.Agents = groups }
	}
	targets := func(groups ...store.ReportGroup) func(*analytics.FindInput) {
		return func(in *analytics.FindInput) { in.Targets = groups }
	}
	accounts := func(groups ...store.ReportGroup) func(*analytics.FindInput) {
		return func(in *analytics.FindInput) { in.Accounts = groups }
	}
	outcomes := func(tickets, frustrated int) func(*analytics.FindInput) {
		return func(in *analytics.FindInput) {
			in.Outcomes = &store.Outcomes{Tickets: tickets, HighFrustrationUnescalated: frustrated}
		}
	}
	agent := func(id string, tickets, escalated int) store.ReportGroup {
		return store.ReportGroup{Key: id, Tickets: tickets, EscalatedTickets: escalated}
	}
	// ana and tom escalate 2 of their 20 tickets each: a team median of 10% when kim has 20.
	peers := []store.ReportGroup{agent("ana", 20, 2), agent("tom", 20, 2)}

	for _, c := range []struct {
		name  string
		opts  analytics.InsightOptions // zero fields: the defaults
		input func(*analytics.FindInput)
		want  *analytics.Insight // nil: no finding
	}{
		{name: "concentration below", input: tr(20, store.ReportGroup{Key: "login", Escalations: 4}, store.ReportGroup{Key: "", Escalations: 16})},
		{name: "concentration at", input: tr(20, store.ReportGroup{Key: "login", Escalations: 5}, store.ReportGroup{Key: "", Escalations: 15}),
			want: &analytics.Insight{Kind: analytics.KindConcentration, Score: 1.301,
				Text:    "login is 25% (5 of 20) of t1 (Frontline) -> t2 (Specialists) escalations " + window,
				Numbers: map[string]any{"issue_type": "login", "transition": "t1 -> t2", "escalations": 5, "of": 20, "share": 0.25},
				Query:   route + "issue_type&since=2026-10-29T00%3A00%3A00.000Z&transition=t1+-%3E+t2&until=2026-11-28T00%3A00%3A00.000Z"}},
		{name: "concentration one escalation short of min_sample", input: tr(19, store.ReportGroup{Key: "login", Escalations: 5})},
		{name: "concentration at a configured threshold and min_sample", opts: analytics.InsightOptions{Concentration: 0.3, MinSample: 10},
			input: tr(10, store.ReportGroup{Key: "login", Escalations: 3}),
			want: &analytics.Insight{Kind: analytics.KindConcentration, Score: 1,
				Text:    "login is 30% (3 of 10) of t1 (Frontline) -> t2 (Specialists) escalations " + window,
				Numbers: map[string]any{"issue_type": "login", "transition": "t1 -> t2", "escalations": 3, "of": 10, "share": 0.3},
				Query:   route + "issue_type&since=2026-10-29T00%3A00%3A00.000Z&transition=t1+-%3E+t2&until=2026-11-28T00%3A00%3A00.000Z"}},
		{name: "concentration below a configured threshold", opts: analytics.InsightOptions{Concentration: 0.3, MinSample: 10},
			input: tr(11, store.ReportGroup{Key: "login", Escalations: 3})},

		{name: "agent ratio below", input: agents(append(peers, agent("kim", 20, 3))...)},
		// bea is 100% but not in a tier-1 team: agents are compared within one.
		{name: "agent ratio at", input: agents(append(peers, agent("kim", 20, 4), agent("bea", 20, 20))...),
			want: &analytics.Insight{Kind: analytics.KindAgentOutlier, Score: 1.301,
				Text:    "tickets first handled by kim are escalated 2.0x as often as the frontline median (20% vs 10%, 4 of 20 tickets) " + window,
				Numbers: map[string]any{"agent": "kim", "team": "frontline", "rate": 0.2, "team_median": 0.1, "escalated": 4, "tickets": 20},
				Query:   route + "agent&" + bounds}},
		{name: "agent ratio one ticket short of min_sample", input: agents(append(peers, agent("kim", 19, 4))...)},
		// 30% is 3x 10%, though 0.3 < 3 * 0.1 in floating point.
		{name: "agent ratio below a configured threshold", opts: analytics.InsightOptions{AgentRatio: 3},
			input: agents(append(peers, agent("kim", 20, 5))...)},
		{name: "agent ratio at a configured threshold", opts: analytics.InsightOptions{AgentRatio: 3},
			input: agents(append(peers, agent("kim", 20, 6))...),
			want: &analytics.Insight{Kind: analytics.KindAgentOutlier, Score: 1.301,
				Text:    "tickets first handled by kim are escalated 3.0x as often as the frontline median (30% vs 10%, 6 of 20 tickets) " + window,
				Numbers: map[string]any{"agent": "kim", "team": "frontline", "rate": 0.3, "team_median": 0.1, "escalated": 6, "tickets": 20},
				Query:   route + "agent&" + bounds}},

		{name: "unnecessary below", input: targets(store.ReportGroup{Key: "billing", Escalations: 20, Unnecessary: 4})},
		{name: "unnecessary at", input: targets(store.ReportGroup{Key: "billing", Escalations: 20, Unnecessary: 5}),
			want: &analytics.Insight{Kind: analytics.KindUnnecessary, Score: 1.301,
				Text:    "25% of escalations to billing are returned as unnecessary (5 of 20) " + window,
				Numbers: map[string]any{"team": "billing", "unnecessary": 5, "escalations": 20, "share": 0.25},
				Query:   route + "target&" + bounds}},
		{name: "unnecessary one escalation short of min_sample", input: targets(store.ReportGroup{Key: "billing", Escalations: 19, Unnecessary: 5})},

		{name: "context insufficient below", input: targets(store.ReportGroup{Key: "billing", Escalations: 20, Acknowledged: 20, ContextInsufficient: 4})},
		{name: "context insufficient at", input: targets(store.ReportGroup{Key: "billing", Escalations: 20, Acknowledged: 20, ContextInsufficient: 5}),
			want: &analytics.Insight{Kind: analytics.KindContextInsufficient, Score: 1.301,
				Text:    "25% of the escalations billing acknowledged lacked context (5 of 20) " + window,
				Numbers: map[string]any{"team": "billing", "insufficient": 5, "acknowledged": 20, "share": 0.25},
				Query:   route + "target&" + bounds}},
		// The sample is the acknowledgements, however many escalations arrived.
		{name: "context insufficient one acknowledgement short of min_sample",
			input: targets(store.ReportGroup{Key: "billing", Escalations: 40, Acknowledged: 19, ContextInsufficient: 5})},

		{name: "account breaches below", input: accounts(store.ReportGroup{Key: "acme", Tickets: 20, BreachesBeforeEscalation: 4})},
		{name: "account breaches at", input: accounts(store.ReportGroup{Key: "acme", Tickets: 20, BreachesBeforeEscalation: 5},
			store.ReportGroup{Key: "", Tickets: 500, BreachesBeforeEscalation: 50}),
			want: &analytics.Insight{Kind: analytics.KindAccountBreaches, Score: 1.301,
				Text:    "acme breached SLA targets 5 times before any escalation (20 tickets) " + window,
				Numbers: map[string]any{"account": "acme", "breaches": 5, "tickets": 20},
				Query:   route + "account&" + bounds}},
		{name: "account breaches one ticket short of min_sample", input: accounts(store.ReportGroup{Key: "acme", Tickets: 19, BreachesBeforeEscalation: 5})},

		{name: "frustrated below", input: outcomes(20, 4)},
		{name: "frustrated at", input: outcomes(20, 5),
			want: &analytics.Insight{Kind: analytics.KindFrustrated, Score: 1.301,
				Text:    "5 tickets reached high frustration (0.70 or more) and were never escalated (of 20) " + window,
				Numbers: map[string]any{"tickets": 5, "of": 20, "threshold": 0.7},
				Query:   route + "issue_type&" + bounds}},
		{name: "frustrated one ticket short of min_sample", input: outcomes(19, 5)},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := analytics.FindInput{
				Query:   store.ReportQuery{Since: until.Add(-30 * 24 * time.Hour), Until: until, HighFrustration: 0.7},
				Options: c.opts,
				Policy:  pol,
			}
			c.input(&in)
			got := analytics.FindFrom(in)
			switch {
			case c.want == nil && len(got) != 0:
				t.Errorf("want no finding, got %+v", got)
			case c.want != nil && (len(got) != 1 || !reflect.DeepEqual(got[0], *c.want)):
				t.Errorf("findings:\n %+v\nwant\n %+v", got, *c.want)
			}
		})
	}
}
