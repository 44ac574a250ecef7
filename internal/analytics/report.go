// Package analytics turns the analytics facts the stores keep (store.Facts) into escalation
// reports, outcome measures and insights (E7). The stores count; this package divides, ranks
// and words, purely, so that the same counts give the same report on either store and the
// arithmetic is tested without a database.
package analytics

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
)

// DefaultWindow is the report window when no since is given.
const DefaultWindow = 30 * 24 * time.Hour

// Default outcome thresholds (Options).
const (
	DefaultQuickSolve      = 10 * time.Minute
	DefaultHighFrustration = 0.7
)

// Query is a report request as a person gives it: group_by, since, until, team.
type Query struct {
	GroupBy string
	// Since and Until bound the window; zero Since means Until - DefaultWindow, zero Until now.
	Since, Until time.Time
	Team         string
	// Transition ("t1 -> t2") keeps only the escalations of that transition.
	Transition string
	// Options, when set, override the service's thresholds for this request (zero fields keep
	// the service's).
	Options *Options
}

// Item is one group of a report. Shares and rates are fractions 0..1; nil where the group has
// nothing to divide by (a rate without tickets, a time without values).
type Item struct {
	Key              string   `json:"key"`
	Tickets          int      `json:"tickets"`
	EscalatedTickets int      `json:"escalated_tickets"`
	Escalations      int      `json:"escalations"`
	Rate             *float64 `json:"rate"`  // escalated tickets / tickets
	Share            *float64 `json:"share"` // escalations / all escalations in the report
	// Times in seconds (nearest-rank percentiles).
	TimeToEscalateP50 *float64 `json:"time_to_escalate_p50_seconds"`
	TimeToEscalateP90 *float64 `json:"time_to_escalate_p90_seconds"`
	TimeToAckP50      *float64 `json:"time_to_acknowledge_p50_seconds"`
	TimeToAckP90      *float64 `json:"time_to_acknowledge_p90_seconds"`
	// Shares of the group's escalations.
	Returned         *float64 `json:"returned_share"`
	Unnecessary      *float64 `json:"returned_unnecessary_share"`
	ResolvedAtTarget *float64 `json:"resolved_at_target_share"`
	ReEscalated      *float64 `json:"re_escalated_share"`
	MeanCompleteness *float64 `json:"mean_completeness"`
	// ContextInsufficient is the share of the group's acknowledged escalations acknowledged
	// with context_sufficient=false.
	ContextInsufficient *float64 `json:"context_insufficient_share"`
}

// OutcomeMeasures are the window's outcome measures, counts with their shares.
type OutcomeMeasures struct {
	Tickets                    int      `json:"tickets"`
	FirstContactResolved       int      `json:"first_contact_resolved"`
	FirstContactResolution     *float64 `json:"first_contact_resolution"`
	BreachedBeforeEscalation   int      `json:"breached_before_escalation"`
	ReopenedAfterT1Solve       int      `json:"reopened_after_tier1_solve_then_escalated"`
	HighFrustrationUnescalated int      `json:"high_frustration_never_escalated"`
	Escalations                int      `json:"escalations"`
	ReturnedUnnecessary        int      `json:"returned_unnecessary"`
	QuickSolveNoNote           int      `json:"solved_quickly_without_note"`
	PingPongs                  int      `json:"ping_pongs"`
	// The thresholds the counts used.
	QuickSolveSeconds float64 `json:"quick_solve_seconds"`
	HighFrustration   float64 `json:"high_frustration"`
}

// Report is the answer of GET /v1/reports/escalations and `escalated report`.
type Report struct {
	GroupBy    string          `json:"group_by"`
	Since      string          `json:"since"`
	Until      string          `json:"until"`
	Team       string          `json:"team,omitempty"`
	Transition string          `json:"transition,omitempty"`
	Items      []Item          `json:"items"`
	Outcomes   OutcomeMeasures `json:"outcomes"`
}

// Options are the thresholds of the outcome measures and insights.
type Options struct {
	QuickSolve      time.Duration
	HighFrustration float64
	Insights        InsightOptions
}

// Service answers report and insight requests.
type Service struct {
	store store.Store
	now   func() time.Time
	opts  Options
	// policy returns the live policy (teams to check a team filter against); may return nil.
	policy func() *policy.Policy
}

// New returns a service over st; zero options take the defaults.
func New(st store.Store, now func() time.Time, pol func() *policy.Policy, opts Options) *Service {
	if opts.QuickSolve == 0 {
		opts.QuickSolve = DefaultQuickSolve
	}
	if opts.HighFrustration == 0 {
		opts.HighFrustration = DefaultHighFrustration
	}
	opts.Insights = opts.Insights.withDefaults()
	return &Service{store: st, now: now, opts: opts, policy: pol}
}

// Report aggregates the window by q.GroupBy.
func (s *Service) Report(ctx context.Context, q Query) (*Report, error) {
	if _, err := access.Authorize(ctx, access.ReadReports); err != nil {
		return nil, err
	}
	sq, err := s.storeQuery(q)
	if err != nil {
		return nil, err
	}
	var groups []store.ReportGroup
	var out *store.Outcomes
	err = s.store.View(ctx, func(tx store.Tx) error {
		var err error
		if groups, err = tx.ReportGroups(ctx, sq); err != nil {
			return err
		}
		out, err = tx.ReportOutcomes(ctx, sq)
		return err
	})
	if err != nil {
		return nil, err
	}
	return Build(sq, groups, out), nil
}

// storeQuery checks a query and fills in its defaults.
func (s *Service) storeQuery(q Query) (store.ReportQuery, error) {
	fe := escalated.FieldErrors{}
	if !slices.Contains(store.GroupBys, q.GroupBy) {
		fe.Add("group_by", "must be one of "+strings.Join(store.GroupBys, ", "))
	}
	until := q.Until
	if until.IsZero() {
		until = s.now()
	}
	since := q.Since
	if since.IsZero() {
		since = until.Add(-DefaultWindow)
	}
	if q.Transition != "" {
		from, to, ok := strings.Cut(q.Transition, " -> ")
		if !ok || strings.TrimSpace(from) == "" || strings.TrimSpace(to) == "" || strings.Contains(to, " -> ") {
			fe.Add("transition", fmt.Sprintf("%.60q is not a transition: give the tiers as \"t1 -> t2\"", q.Transition))
		}
	}
	since, until = escalated.Truncate(since), escalated.Truncate(until)
	if !since.Before(until) {
		fe.Add("since", fmt.Sprintf("must be before until (%s)", escalated.FormatTime(until)))
	}
	if q.Team != "" && s.policy != nil {
		if pol := s.policy(); pol != nil {
			if _, ok := pol.Team(q.Team); !ok {
				fe.Add("team", fmt.Sprintf("no team %q in the policy", q.Team))
			}
		}
	}
	if err := fe.Err(); err != nil {
		return store.ReportQuery{}, err
	}
	o := s.options(q)
	return store.ReportQuery{GroupBy: q.GroupBy, Since: escalated.Truncate(since), Until: escalated.Truncate(until), Team: q.Team, Transition: q.Transition,
		QuickSolve: o.QuickSolve, HighFrustration: o.HighFrustration}, nil
}

// options are the service's thresholds with the request's overrides.
func (s *Service) options(q Query) Options {
	if q.Options == nil {
		return s.opts
	}
	return q.Options.Over(s.opts)
}

// Over returns d with the thresholds o sets (its non-zero fields): a request's over the node's,
// a flag over the environment.
func (o Options) Over(d Options) Options {
	if o.QuickSolve > 0 {
		d.QuickSolve = o.QuickSolve
	}
	if o.HighFrustration > 0 {
		d.HighFrustration = o.HighFrustration
	}
	d.Insights = o.Insights.over(d.Insights)
	return d
}

// Build turns a store's counts into the report: rates, shares, seconds. Pure.
func Build(q store.ReportQuery, groups []store.ReportGroup, out *store.Outcomes) *Report {
	r := &Report{GroupBy: q.GroupBy, Since: escalated.FormatTime(q.Since), Until: escalated.FormatTime(q.Until),
		Team: q.Team, Transition: q.Transition, Items: make([]Item, 0, len(groups))}
	total := 0
	for _, g := range groups {
		total += g.Escalations
	}
	for _, g := range groups {
		n := g.Escalations
		it := Item{
			Key: g.Key, Tickets: g.Tickets, EscalatedTickets: g.EscalatedTickets, Escalations: n,
			Rate: ratio(g.EscalatedTickets, g.Tickets), Share: ratio(n, total),
			TimeToEscalateP50: seconds(g.TimeToEscalateP50), TimeToEscalateP90: seconds(g.TimeToEscalateP90),
			TimeToAckP50: seconds(g.TimeToAckP50), TimeToAckP90: seconds(g.TimeToAckP90),
			Returned: ratio(g.Returned, n), Unnecessary: ratio(g.Unnecessary, n),
			ResolvedAtTarget: ratio(g.ResolvedAtTarget, n), ReEscalated: ratio(g.ReEscalated, n),
			ContextInsufficient: ratio(g.ContextInsufficient, g.Acknowledged),
		}
		if n > 0 {
			it.MeanCompleteness = round(g.CompletenessSum / float64(n))
		}
		r.Items = append(r.Items, it)
	}
	if out != nil {
		r.Outcomes = OutcomeMeasures{
			Tickets: out.Tickets, FirstContactResolved: out.FirstContactResolved,
			FirstContactResolution:   ratio(out.FirstContactResolved, out.Tickets),
			BreachedBeforeEscalation: out.BreachedBeforeEscalation, ReopenedAfterT1Solve: out.ReopenedAfterT1Solve,
			HighFrustrationUnescalated: out.HighFrustrationUnescalated, Escalations: out.Escalations,
			ReturnedUnnecessary: out.Unnecessary, QuickSolveNoNote: out.QuickSolveNoNote, PingPongs: out.PingPongs,
			QuickSolveSeconds: q.QuickSolve.Seconds(), HighFrustration: q.HighFrustration,
		}
	}
	return r
}

// ratio is a/b rounded to 4 places, nil when b is 0.
func ratio(a, b int) *float64 {
	if b == 0 {
		return nil
	}
	return round(float64(a) / float64(b))
}

func round(v float64) *float64 {
	r := math.Round(v*10000) / 10000
	return &r
}

func seconds(d *time.Duration) *float64 {
	if d == nil {
		return nil
	}
	v := d.Seconds()
	return &v
}

// ParseTime reads a report bound: an RFC 3339 time, a date (2026-11-01, midnight UTC), or a
// duration back from ref ("30d", "12h", "1d12h"). "" is the zero time.
func ParseTime(s string, ref time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = time.Parse(time.DateOnly, s)
	}
	if err == nil {
		if t.Year() < 2000 || t.Year() > 9999 {
			return time.Time{}, fmt.Errorf("%q is outside the years 2000 to 9999", s)
		}
		return t, nil
	}
	if d, err := policy.ParseDuration(s); err == nil && d > 0 {
		return ref.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: give RFC 3339 (2026-11-01T00:00:00Z), a date (2026-11-01) or a duration back from now (30d, 12h)", s)
}

// OptionParams are the threshold parameters a report or insights request may set.
var OptionParams = []string{"quick_solve", "high_frustration", "min_sample", "concentration", "agent_ratio",
	"unnecessary", "context_insufficient", "account_breaches", "frustrated"}

// What each kind of threshold allows, said in one place for a request's parameters
// (ParseOptions) and a node's settings (Options.Validate).
const (
	ruleDuration = "must be a duration such as 10m or 1h"
	ruleFraction = "must be a number above 0 and at most 1"
	ruleCount    = "must be a whole number from 1 to 1000000"
	ruleRatio    = "must be a number above 1 (a multiple of the team median) and at most 100"
)

func fractionOK(f float64) bool { return f > 0 && f <= 1 } // false for NaN
func countOK(n int) bool        { return n >= 1 && n <= 1_000_000 }
func ratioOK(f float64) bool    { return f > 1 && f <= 100 }

// ParseOptions reads threshold overrides from get (a query string or flags); nil when none is
// given. Each bad value is a field error naming its parameter and what is allowed.
func ParseOptions(get func(string) string) (*Options, error) {
	fe := escalated.FieldErrors{}
	var o Options
	set := false
	float := func(name string, dst *float64, ok func(float64) bool, rule string) {
		if v := get(name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || !ok(f) {
				fe.Add(name, rule)
				return
			}
			*dst, set = f, true
		}
	}
	count := func(name string, dst *int) {
		if v := get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || !countOK(n) {
				fe.Add(name, ruleCount)
				return
			}
			*dst, set = n, true
		}
	}
	if v := get("quick_solve"); v != "" {
		d, err := policy.ParseDuration(v)
		if err != nil || d <= 0 {
			fe.Add("quick_solve", ruleDuration)
		} else {
			o.QuickSolve, set = d, true
		}
	}
	float("high_frustration", &o.HighFrustration, fractionOK, ruleFraction)
	count("min_sample", &o.Insights.MinSample)
	float("concentration", &o.Insights.Concentration, fractionOK, ruleFraction)
	float("agent_ratio", &o.Insights.AgentRatio, ratioOK, ruleRatio)
	float("unnecessary", &o.Insights.Unnecessary, fractionOK, ruleFraction)
	float("context_insufficient", &o.Insights.ContextInsufficient, fractionOK, ruleFraction)
	count("account_breaches", &o.Insights.AccountBreaches)
	count("frustrated", &o.Insights.Frustrated)
	if err := fe.Err(); err != nil {
		return nil, err
	}
	if !set {
		return nil, nil
	}
	return &o, nil
}

// Validate checks thresholds given in code or configuration (a node's defaults) against what a
// request may give; zero fields are unset and take the defaults. Each field error names the
// parameter (OptionParams) it would be in a request.
func (o Options) Validate() error {
	fe := escalated.FieldErrors{}
	if o.QuickSolve < 0 {
		fe.Add("quick_solve", ruleDuration)
	}
	float := func(name string, v float64, ok func(float64) bool, rule string) {
		if v != 0 && !ok(v) {
			fe.Add(name, rule)
		}
	}
	count := func(name string, n int) {
		if n != 0 && !countOK(n) {
			fe.Add(name, ruleCount)
		}
	}
	in := o.Insights
	float("high_frustration", o.HighFrustration, fractionOK, ruleFraction)
	count("min_sample", in.MinSample)
	float("concentration", in.Concentration, fractionOK, ruleFraction)
	float("agent_ratio", in.AgentRatio, ratioOK, ruleRatio)
	float("unnecessary", in.Unnecessary, fractionOK, ruleFraction)
	float("context_insufficient", in.ContextInsufficient, fractionOK, ruleFraction)
	count("account_breaches", in.AccountBreaches)
	count("frustrated", in.Frustrated)
	return fe.Err()
}
