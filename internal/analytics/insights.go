package analytics

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
)

// InsightOptions are the thresholds of the insights. No finding is made from fewer than
// MinSample tickets or escalations: a 100% rate over three tickets says nothing.
type InsightOptions struct {
	MinSample int `json:"min_sample"`
	// Concentration: one issue type makes up at least this share of a transition's escalations.
	Concentration float64 `json:"concentration"`
	// AgentRatio: an agent's escalation rate is at least this multiple of their team's median.
	AgentRatio float64 `json:"agent_ratio"`
	// Unnecessary: at least this share of a team's incoming escalations is returned unnecessary.
	Unnecessary float64 `json:"unnecessary"`
	// ContextInsufficient: at least this share of a team's acknowledgements said the package
	// lacked context.
	ContextInsufficient float64 `json:"context_insufficient"`
	// AccountBreaches: an account breached SLAs at least this often before escalation.
	AccountBreaches int `json:"account_breaches"`
	// Frustrated: at least this many highly frustrated tickets were never escalated.
	Frustrated int `json:"frustrated"`
}

// DefaultInsightOptions are the thresholds used unless configured.
var DefaultInsightOptions = InsightOptions{
	MinSample: 20, Concentration: 0.25, AgentRatio: 2, Unnecessary: 0.25, ContextInsufficient: 0.25,
	AccountBreaches: 5, Frustrated: 5,
}

func (o InsightOptions) withDefaults() InsightOptions { return o.over(DefaultInsightOptions) }

// over returns d with the fields o sets.
func (o InsightOptions) over(d InsightOptions) InsightOptions {
	if o.MinSample > 0 {
		d.MinSample = o.MinSample
	}
	if o.Concentration > 0 {
		d.Concentration = o.Concentration
	}
	if o.AgentRatio > 0 {
		d.AgentRatio = o.AgentRatio
	}
	if o.Unnecessary > 0 {
		d.Unnecessary = o.Unnecessary
	}
	if o.ContextInsufficient > 0 {
		d.ContextInsufficient = o.ContextInsufficient
	}
	if o.AccountBreaches > 0 {
		d.AccountBreaches = o.AccountBreaches
	}
	if o.Frustrated > 0 {
		d.Frustrated = o.Frustrated
	}
	return d
}

// Insight is one finding: a sentence with its numbers, and the report query that shows them.
type Insight struct {
	Kind string `json:"kind"`
	Text string `json:"text"`
	// Score ranks findings (higher first): how far past its threshold, weighted by sample size.
	Score   float64        `json:"score"`
	Numbers map[string]any `json:"numbers"`
	Query   string         `json:"query"`
}

// Insights is the answer of GET /v1/insights and `escalated report insights`.
type Insights struct {
	Since   string         `json:"since"`
	Until   string         `json:"until"`
	Team    string         `json:"team,omitempty"`
	Options InsightOptions `json:"thresholds"`
	Items   []Insight      `json:"items"`
}

// Insight kinds.
const (
	KindConcentration       = "concentration"
	KindAgentOutlier        = "agent_outlier"
	KindUnnecessary         = "unnecessary_escalations"
	KindContextInsufficient = "context_insufficient"
	KindAccountBreaches     = "breaches_before_escalation"
	KindFrustrated          = "frustrated_not_escalated"
)

// Insights finds what the window's escalations say, ranked.
func (s *Service) Insights(ctx context.Context, q Query) (*Insights, error) {
	if _, err := access.Authorize(ctx, access.ReadReports); err != nil {
		return nil, err
	}
	q.GroupBy = store.GroupIssueType
	base, err := s.storeQuery(q)
	if err != nil {
		return nil, err
	}
	var pol *policy.Policy
	if s.policy != nil {
		pol = s.policy()
	}
	in := insightInput{q: base, opts: s.options(q).Insights, policy: pol, byTransition: map[string][]store.ReportGroup{}}
	err = s.store.View(ctx, func(tx store.Tx) error {
		get := func(groupBy string, mod func(*store.ReportQuery)) ([]store.ReportGroup, error) {
			sq := base
			sq.GroupBy = groupBy
			if mod != nil {
				mod(&sq)
			}
			return tx.ReportGroups(ctx, sq)
		}
		var err error
		if in.transitions, err = get(store.GroupTransition, nil); err != nil {
			return err
		}
		for _, g := range in.transitions {
			if g.Escalations < in.opts.MinSample {
				continue
			}
			key := g.Key
			if in.byTransition[key], err = get(store.GroupIssueType, func(sq *store.ReportQuery) { sq.Transition = key }); err != nil {
				return err
			}
		}
		if in.agents, err = get(store.GroupAgent, nil); err != nil {
			return err
		}
		if in.targets, err = get(store.GroupTarget, nil); err != nil {
			return err
		}
		if in.accounts, err = get(store.GroupAccount, nil); err != nil {
			return err
		}
		in.outcomes, err = tx.ReportOutcomes(ctx, base)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Insights{Since: fmtTime(base.Since), Until: fmtTime(base.Until), Team: base.Team, Options: in.opts, Items: Find(in)}, nil
}

// insightInput is everything Find reads.
type insightInput struct {
	q            store.ReportQuery
	opts         InsightOptions
	policy       *policy.Policy
	transitions  []store.ReportGroup
	byTransition map[string][]store.ReportGroup
	agents       []store.ReportGroup
	targets      []store.ReportGroup
	accounts     []store.ReportGroup
	outcomes     *store.Outcomes
}

// Find makes the ranked findings from the window's groups. Pure.
func Find(in insightInput) []Insight {
	o := in.opts
	window := windowText(in.q.Since, in.q.Until)
	var out []Insight
	add := func(kind string, score float64, numbers map[string]any, query url.Values, format string, args ...any) {
		out = append(out, Insight{Kind: kind, Text: fmt.Sprintf(format, args...), Score: math.Round(score*1000) / 1000,
			Numbers: numbers, Query: in.query(query)})
	}
	for _, tr := range in.transitions {
		if tr.Escalations < o.MinSample {
			continue
		}
		for _, g := range in.byTransition[tr.Key] {
			share := float64(g.Escalations) / float64(tr.Escalations)
			if share < o.Concentration || g.Key == "" {
				continue
			}
			add(KindConcentration, share/o.Concentration*math.Log10(float64(tr.Escalations)),
				map[string]any{"issue_type": g.Key, "transition": tr.Key, "escalations": g.Escalations, "of": tr.Escalations, "share": share},
				url.Values{"group_by": {store.GroupIssueType}, "transition": {tr.Key}},
				"%s is %s (%d of %d) of %s escalations %s", g.Key, percent(share), g.Escalations, tr.Escalations, in.transitionName(tr.Key), window)
		}
	}
	for _, team := range in.agentTeams() {
		var rates []float64
		var members []store.ReportGroup
		for _, g := range in.agents {
			if g.Key != "" && g.Tickets >= o.MinSample && slices.Contains(team.agents, g.Key) {
				rates = append(rates, float64(g.EscalatedTickets)/float64(g.Tickets))
				members = append(members, g)
			}
		}
		if len(rates) < 2 {
			continue
		}
		med := medianFloat(rates)
		if med <= 0 {
			continue
		}
		for _, g := range members {
			rate := float64(g.EscalatedTickets) / float64(g.Tickets)
			// With a tolerance: 30% against a 10% median is 3x, yet 0.3 < 3 * 0.1 in floating
			// point, and agent_ratio 3 would leave out an agent the sentence calls 3.0x.
			if rate/med < o.AgentRatio*(1-1e-9) {
				continue
			}
			add(KindAgentOutlier, rate/med/o.AgentRatio*math.Log10(float64(g.Tickets)),
				map[string]any{"agent": g.Key, "team": team.id, "rate": rate, "team_median": med, "escalated": g.EscalatedTickets, "tickets": g.Tickets},
				url.Values{"group_by": {store.GroupAgent}},
				"tickets first handled by %s are escalated %.1fx as often as the %s median (%s vs %s, %d of %d tickets) %s", g.Key, rate/med, team.id, percent(rate), percent(med), g.EscalatedTickets, g.Tickets, window)
		}
	}
	for _, g := range in.targets {
		if g.Escalations >= o.MinSample {
			if share := float64(g.Unnecessary) / float64(g.Escalations); share >= o.Unnecessary {
				add(KindUnnecessary, share/o.Unnecessary*math.Log10(float64(g.Escalations)),
					map[string]any{"team": g.Key, "unnecessary": g.Unnecessary, "escalations": g.Escalations, "share": share},
					url.Values{"group_by": {store.GroupTarget}},
					"%s of escalations to %s are returned as unnecessary (%d of %d) %s", percent(share), g.Key, g.Unnecessary, g.Escalations, window)
			}
		}
		if g.Acknowledged >= o.MinSample {
			if share := float64(g.ContextInsufficient) / float64(g.Acknowledged); share >= o.ContextInsufficient {
				add(KindContextInsufficient, share/o.ContextInsufficient*math.Log10(float64(g.Acknowledged)),
					map[string]any{"team": g.Key, "insufficient": g.ContextInsufficient, "acknowledged": g.Acknowledged, "share": share},
					url.Values{"group_by": {store.GroupTarget}},
					"%s of the escalations %s acknowledged lacked context (%d of %d) %s", percent(share), g.Key, g.ContextInsufficient, g.Acknowledged, window)
			}
		}
	}
	for _, g := range in.accounts {
		if g.Key != "" && g.Tickets >= o.MinSample && g.BreachesBeforeEscalation >= o.AccountBreaches {
			add(KindAccountBreaches, float64(g.BreachesBeforeEscalation)/float64(o.AccountBreaches)*math.Log10(float64(g.Tickets)),
				map[string]any{"account": g.Key, "breaches": g.BreachesBeforeEscalation, "tickets": g.Tickets},
				url.Values{"group_by": {store.GroupAccount}},
				"%s breached SLA targets %d times before any escalation (%d tickets) %s", g.Key, g.BreachesBeforeEscalation, g.Tickets, window)
		}
	}
	if oc := in.outcomes; oc != nil && oc.HighFrustrationUnescalated >= o.Frustrated && oc.Tickets >= o.MinSample {
		add(KindFrustrated, float64(oc.HighFrustrationUnescalated)/float64(o.Frustrated)*math.Log10(float64(oc.Tickets)),
			map[string]any{"tickets": oc.HighFrustrationUnescalated, "of": oc.Tickets, "threshold": in.q.HighFrustration},
			url.Values{"group_by": {store.GroupIssueType}},
			"%d tickets reached high frustration (%.2f or more) and were never escalated (of %d) %s", oc.HighFrustrationUnescalated, in.q.HighFrustration, oc.Tickets, window)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Text < out[j].Text
	})
	if out == nil {
		out = []Insight{}
	}
	return out
}

type agentTeam struct {
	id     string
	agents []string
}

// agentTeams are the policy's teams of tier level 1 with their agents: escalation rates compare
// agents who take the same first contacts.
func (in insightInput) agentTeams() []agentTeam {
	if in.policy == nil {
		return nil
	}
	var out []agentTeam
	for _, t := range in.policy.Teams {
		if tier, ok := in.policy.TierOfTeam(t.ID); !ok || tier.Level != 1 {
			continue
		}
		at := agentTeam{id: t.ID}
		for _, a := range in.policy.Agents {
			if slices.Contains(a.Teams, t.ID) {
				at.agents = append(at.agents, a.ID)
			}
		}
		out = append(out, at)
	}
	return out
}

// transitionName says a transition with the tiers' names when the policy has them.
func (in insightInput) transitionName(key string) string {
	from, to, ok := strings.Cut(key, " -> ")
	if !ok || in.policy == nil {
		return key
	}
	name := func(id string) string {
		for _, t := range in.policy.Tiers {
			if t.ID == id && t.Name != "" {
				return fmt.Sprintf("%s (%s)", id, t.Name)
			}
		}
		return id
	}
	return name(from) + " -> " + name(to)
}

// query is the report route that shows a finding's numbers.
func (in insightInput) query(v url.Values) string {
	v.Set("since", fmtTime(in.q.Since))
	v.Set("until", fmtTime(in.q.Until))
	if in.q.Team != "" {
		v.Set("team", in.q.Team)
	}
	return "/v1/reports/escalations?" + v.Encode()
}

// windowText says the window in words: "in the last 30 days" when it ends now-ish, else the
// dates.
func windowText(since, until time.Time) string {
	d := until.Sub(since)
	if days := d.Hours() / 24; days == math.Trunc(days) && days >= 1 {
		return fmt.Sprintf("in the %d days to %s", int(days), until.UTC().Format(time.DateOnly))
	}
	return fmt.Sprintf("from %s to %s", fmtTime(since), fmtTime(until))
}

func percent(v float64) string {
	return fmt.Sprintf("%.0f%%", v*100)
}

func medianFloat(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
