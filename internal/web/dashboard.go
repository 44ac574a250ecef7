package web

import (
	"cmp"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/analytics"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
)

// The supervisor's dashboard: for a window of 7, 30 or 90 days (and one team or all), the
// escalation rate by issue type, agent, transition and day, SLA lateness (tickets that breached
// a target before anyone escalated them, time to acknowledge by receiving team), the returned
// and unnecessary shares by receiving team, the other outcome measures and the insights. The
// numbers are the analytics service's, the same as GET /v1/reports/escalations and
// GET /v1/insights give for the window; the charts are drawn in dashchart.go.

// dashWindows are the windows the page offers; dashDefaultWindow is the one it opens with.
var dashWindows = []dashOption{{Value: "7d", Label: "Last 7 days"}, {Value: "30d", Label: "Last 30 days"}, {Value: "90d", Label: "Last 90 days"}}

const dashDefaultWindow = "30d"

// dashData is the dashboard's.
type dashData struct {
	Since, Team string
	Windows     []dashOption
	Teams       []dashOption
	// Window says the window in words; From and To are its bounds, to the minute (UTC).
	Window, From, To string

	Tickets, EscalatedTickets, Escalations int
	Rate                                   string
	// Empty says no escalation was made in the window: the page says so instead of drawing
	// empty charts.
	Empty bool

	IssueTypes, Agents, Transitions dashBreakdown
	Days                            dashDays
	Ack, Returns                    dashBreakdown

	// Breached is the headline of SLA lateness: tickets that breached a target before any
	// escalation. Outcomes are the other outcome measures.
	Breached int
	Outcomes []dashStat

	Insights  []string
	MinSample int
}

type dashOption struct {
	Value, Label string
	Selected     bool
}

// dashStat is one outcome measure: what it counts, the number, and a note.
type dashStat struct {
	Label, Value, Note string
}

// dashBreakdown is a bar chart of one dimension with the rows of its table.
type dashBreakdown struct {
	Chart barChart
	// Kind picks the table's columns (rate, agent, transition, ack, returns); Dim heads its
	// first column; Caption names it.
	Kind, Dim, Caption string
	Rows               []dashRow
	// Shown is how many rows the chart draws; Left how many it leaves out for space (the table
	// has them all).
	Shown, Left int
}

// finish counts what the chart shows of the rows.
func (bd *dashBreakdown) finish(kind, dim, caption string) {
	bd.Kind, bd.Dim, bd.Caption = kind, dim, caption
	bd.Shown = min(len(bd.Rows), chartMaxRows)
	bd.Left = len(bd.Rows) - bd.Shown
}

// dashRow is one group of a report as the tables show it.
type dashRow struct {
	Label                                  string
	Tickets, EscalatedTickets, Escalations int
	Rate, Share                            string
	AckP50, AckP90                         string
	Returned, Unnecessary                  string
}

// dashDays is the escalation rate by day: the chart and the days with tickets or escalations.
type dashDays struct {
	Chart columnChart
	Rows  []dashDayRow
}

type dashDayRow struct {
	Day                                    string
	Tickets, EscalatedTickets, Escalations int
	Rate                                   string
}

// dashboard is the supervisor's page (charts of escalation by issue type, agent, transition and
// over time, SLA lateness, returned and unnecessary shares, insights).
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	p := personFrom(r.Context())
	if !p.Supervisor() {
		s.fail(w, r, escalated.Errorf(escalated.EFORBIDDEN, "the dashboard is for supervisors"))
		return
	}
	fields := map[string]string{}
	since := r.URL.Query().Get("since")
	if since == "" {
		since = dashDefaultWindow
	} else if !slices.ContainsFunc(dashWindows, func(o dashOption) bool { return o.Value == since }) {
		fields["since"] = fmt.Sprintf("%q is not a window the dashboard offers: choose the last 7, 30 or 90 days.", since)
		since = dashDefaultWindow
	}
	team := r.URL.Query().Get("team")
	if team != "" && !mayOpenTeam(p, team) {
		fields["team"] = fmt.Sprintf("%q is not one of the teams you look after.", team)
		team = ""
	}
	d, err := s.dashData(r, p, since, team)
	if err != nil {
		if escalated.ErrorCode(err) != escalated.EINVALID {
			s.fail(w, r, err)
			return
		}
		// The service refused the window or the team: say so by the field it names.
		fe := escalated.ErrorFields(err)
		if len(fe) == 0 {
			s.fail(w, r, err)
			return
		}
		for f, msg := range fe {
			fields[f] = msg
		}
		d, err = s.dashData(r, p, dashDefaultWindow, "")
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	status := http.StatusOK
	if len(fields) > 0 {
		status = http.StatusBadRequest
	}
	s.render(w, r, status, "dashboard", page{Title: "Dashboard", Person: p, Data: d, Fields: fields})
}

// dashData loads the window's reports and insights and shapes them for the page.
func (s *Server) dashData(r *http.Request, p *Person, since, team string) (*dashData, error) {
	ctx := r.Context()
	now := escalated.Truncate(s.cfg.Now())
	from, err := analytics.ParseTime(since, now)
	if err != nil {
		return nil, escalated.Invalid("since", err.Error())
	}
	// Every query of the page reads the same window, however long the page takes.
	q := analytics.Query{Since: from, Until: now, Team: team}
	reports := map[string]*analytics.Report{}
	for _, g := range []string{store.GroupIssueType, store.GroupAgent, store.GroupTransition, store.GroupTarget, store.GroupDay} {
		q.GroupBy = g
		rep, err := s.cfg.Analytics.Report(ctx, q)
		if err != nil {
			return nil, err
		}
		reports[g] = rep
	}
	q.GroupBy = ""
	ins, err := s.cfg.Analytics.Insights(ctx, q)
	if err != nil {
		return nil, err
	}
	pol := s.cfg.Tickets.Policy().Policy

	d := &dashData{Since: since, Team: team, From: from.UTC().Format("2 Jan 2006 15:04"), To: now.UTC().Format("2 Jan 2006 15:04 MST"),
		MinSample: ins.Options.MinSample}
	for _, o := range dashWindows {
		o.Selected = o.Value == since
		d.Windows = append(d.Windows, o)
		if o.Selected {
			d.Window = strings.ToLower(o.Label[:1]) + o.Label[1:]
		}
	}
	d.Teams = append(d.Teams, dashOption{Value: "", Label: "All teams", Selected: team == ""})
	for _, t := range s.nav(p) {
		d.Teams = append(d.Teams, dashOption{Value: t.ID, Label: t.Name, Selected: t.ID == team})
	}
	if team != "" {
		d.Window += ", " + teamName(pol, team)
	}

	// Every ticket is in one issue type's group, so their sums are the window's tickets (for a
	// team: those it took on, opened in it or escalated into it) and the escalated ones.
	out := reports[store.GroupIssueType].Outcomes
	d.Escalations = out.Escalations
	for _, it := range reports[store.GroupIssueType].Items {
		d.Tickets += it.Tickets
		d.EscalatedTickets += it.EscalatedTickets
	}
	d.Rate = countShare(d.EscalatedTickets, d.Tickets)
	d.Empty = d.Escalations == 0
	for _, it := range ins.Items {
		d.Insights = append(d.Insights, it.Text)
	}
	d.Breached = out.BreachedBeforeEscalation
	d.Outcomes = outcomeStats(out)
	if d.Empty {
		return d, nil
	}

	d.IssueTypes = rateBreakdown("chart-issue-type", "Escalation rate by issue type", reports[store.GroupIssueType].Items,
		func(key string) string { return cmpOr(key, "(no issue type)") }, "tickets of this type")
	d.IssueTypes.finish("rate", "Issue type", "escalation rate by issue type")
	d.Agents = rateBreakdown("chart-agent", "Escalation rate by agent", reports[store.GroupAgent].Items,
		func(key string) string { return agentName(pol, key) }, "tickets the agent handled first")
	d.Agents.finish("agent", "Agent", "escalation rate by agent")
	d.Transitions = transitionBreakdown(reports[store.GroupTransition].Items, pol)
	d.Transitions.finish("transition", "Transition", "escalations by tier transition")
	d.Ack = ackBreakdown(reports[store.GroupTarget].Items, pol)
	d.Ack.finish("ack", "Receiving team", "time to acknowledge by receiving team")
	d.Returns = returnBreakdown(reports[store.GroupTarget].Items, pol)
	d.Returns.finish("returns", "Receiving team", "returned and unnecessary escalations by receiving team")
	d.Days = dayColumns(reports[store.GroupDay].Items, from, now)
	return d, nil
}

// rateBreakdown charts the escalation rate (escalated tickets of the group's tickets) of each
// group, highest first; a group with escalations but no tickets of its own in the window (the
// rules' escalations, a ticket opened before the window) has no rate and comes last.
func rateBreakdown(id, title string, items []analytics.Item, label func(string) string, what string) dashBreakdown {
	items = slices.Clone(items)
	slices.SortStableFunc(items, func(a, b analytics.Item) int {
		if c := cmpRate(b.Rate, a.Rate); c != 0 {
			return c
		}
		return cmp.Compare(b.Escalations, a.Escalations)
	})
	var bd dashBreakdown
	for _, it := range items {
		name := label(it.Key)
		row := dashRow{Label: name, Tickets: it.Tickets, EscalatedTickets: it.EscalatedTickets, Escalations: it.Escalations,
			Rate: pct(it.Rate), Share: pct(it.Share)}
		bd.Rows = append(bd.Rows, row)
		br := barRow{Label: name, Values: []float64{val(it.Rate)}}
		if it.Rate != nil {
			br.Text = pct(it.Rate)
			br.Hover = fmt.Sprintf("%s: %s escalated (%d of %d %s); %s", name, pct(it.Rate), it.EscalatedTickets, it.Tickets, what, plural(it.Escalations, "escalation"))
		} else {
			br.Text = "no tickets"
			br.Hover = fmt.Sprintf("%s: no %s in this window; %s", name, what, plural(it.Escalations, "escalation"))
		}
		bd.Chart.Rows = append(bd.Chart.Rows, br)
	}
	bd.Chart = barChart{ID: id, Title: title, Percent: true, Rows: bd.Chart.Rows,
		Desc: fmt.Sprintf("Share of %s that were escalated, one bar per group on a scale of 0 to 100%%, highest first. %s", what, topDesc(bd.Chart.Rows))}
	return bd
}

// transitionBreakdown charts the escalations of each tier transition ("t1 -> t2").
func transitionBreakdown(items []analytics.Item, pol *policy.Policy) dashBreakdown {
	var bd dashBreakdown
	var bars []barRow
	for _, it := range items {
		name := transitionName(pol, it.Key)
		bd.Rows = append(bd.Rows, dashRow{Label: name, Escalations: it.Escalations, Share: pct(it.Share),
			AckP50: secs(it.TimeToAckP50), Returned: pct(it.Returned), Unnecessary: pct(it.Unnecessary)})
		bars = append(bars, barRow{Label: name, Values: []float64{float64(it.Escalations)},
			Text:  fmt.Sprintf("%d (%s)", it.Escalations, pct(it.Share)),
			Hover: fmt.Sprintf("%s: %s, %s of all escalations in the window", name, plural(it.Escalations, "escalation"), pct(it.Share))})
	}
	bd.Chart = barChart{ID: "chart-transition", Title: "Escalations by tier transition", Rows: bars,
		Desc: "Number of escalations from one tier to another, most first, with their share of all escalations. " + topDesc(bars)}
	return bd
}

// ackBreakdown charts the time to acknowledge by receiving team: the median and the 90th
// percentile.
func ackBreakdown(items []analytics.Item, pol *policy.Policy) dashBreakdown {
	items = slices.Clone(items)
	slices.SortStableFunc(items, func(a, b analytics.Item) int { return cmpRate(b.TimeToAckP90, a.TimeToAckP90) })
	var bd dashBreakdown
	var bars []barRow
	for _, it := range items {
		name := teamName(pol, it.Key)
		bd.Rows = append(bd.Rows, dashRow{Label: name, Escalations: it.Escalations, AckP50: secs(it.TimeToAckP50), AckP90: secs(it.TimeToAckP90)})
		br := barRow{Label: name, Values: []float64{val(it.TimeToAckP50), val(it.TimeToAckP90)}}
		if it.TimeToAckP50 == nil {
			br.Text = "none acknowledged"
			br.Hover = fmt.Sprintf("%s: none of its %s was acknowledged yet", name, plural(it.Escalations, "escalation"))
		} else {
			br.Text = "p50 " + secs(it.TimeToAckP50) + " · p90 " + secs(it.TimeToAckP90)
			br.Hover = fmt.Sprintf("%s acknowledged half of its escalations within %s and 90%% within %s (%s)",
				name, secs(it.TimeToAckP50), secs(it.TimeToAckP90), plural(it.Escalations, "escalation"))
			br.BarHovers = []string{fmt.Sprintf("%s: half acknowledged within %s", name, secs(it.TimeToAckP50)),
				fmt.Sprintf("%s: 90%% acknowledged within %s", name, secs(it.TimeToAckP90))}
		}
		bars = append(bars, br)
	}
	bd.Chart = barChart{ID: "chart-ack", Title: "Time to acknowledge by receiving team", Rows: bars,
		Series: []chartSeries{{Name: "median (p50)"}, {Name: "90th percentile (p90)"}},
		Desc:   "How long each receiving team took to acknowledge an escalation: the median and the 90th percentile, slowest first."}
	return bd
}

// returnBreakdown charts, by receiving team, the shares of its escalations it returned and
// returned as unnecessary.
func returnBreakdown(items []analytics.Item, pol *policy.Policy) dashBreakdown {
	items = slices.Clone(items)
	slices.SortStableFunc(items, func(a, b analytics.Item) int {
		if c := cmpRate(b.Unnecessary, a.Unnecessary); c != 0 {
			return c
		}
		return cmpRate(b.Returned, a.Returned)
	})
	var bd dashBreakdown
	var bars []barRow
	for _, it := range items {
		name := teamName(pol, it.Key)
		bd.Rows = append(bd.Rows, dashRow{Label: name, Escalations: it.Escalations, Returned: pct(it.Returned), Unnecessary: pct(it.Unnecessary)})
		returned, unnecessary := share(it.Returned, it.Escalations), share(it.Unnecessary, it.Escalations)
		bars = append(bars, barRow{Label: name, Values: []float64{val(it.Returned), val(it.Unnecessary)},
			Text: pct(it.Returned) + " · " + pct(it.Unnecessary),
			Hover: fmt.Sprintf("%s returned %s (%d of %d) of the escalations it received, %s (%d) as unnecessary",
				name, pct(it.Returned), returned, it.Escalations, pct(it.Unnecessary), unnecessary),
			BarHovers: []string{fmt.Sprintf("%s: %s returned (%d of %d)", name, pct(it.Returned), returned, it.Escalations),
				fmt.Sprintf("%s: %s returned as unnecessary (%d of %d)", name, pct(it.Unnecessary), unnecessary, it.Escalations)}})
	}
	bd.Chart = barChart{ID: "chart-returns", Title: "Returned and unnecessary escalations by receiving team", Percent: true, Rows: bars,
		Series: []chartSeries{{Name: "returned"}, {Name: "returned as unnecessary"}},
		Desc:   "For each receiving team, the share of the escalations it received that it sent back, and the share it sent back saying the escalation was not necessary, on a scale of 0 to 100%."}
	return bd
}

// dayColumns charts the escalation rate of each day of the window (UTC), from the first day to
// the last; a day without tickets is a gap.
func dayColumns(items []analytics.Item, from, until time.Time) dashDays {
	byDay := map[string]analytics.Item{}
	for _, it := range items {
		byDay[it.Key] = it
	}
	var d dashDays
	first := time.Date(from.UTC().Year(), from.UTC().Month(), from.UTC().Day(), 0, 0, 0, 0, time.UTC)
	peakDay, peak := "", -1.0
	for day := first; day.Before(until); day = day.AddDate(0, 0, 1) {
		key := day.Format(time.DateOnly)
		it, ok := byDay[key]
		col := column{Label: day.Format("Jan 2"), Has: ok && it.Rate != nil}
		switch {
		case col.Has:
			col.Value = *it.Rate
			col.Hover = fmt.Sprintf("%s: %s escalated (%d of %d tickets); %s", key, pct(it.Rate), it.EscalatedTickets, it.Tickets, plural(it.Escalations, "escalation"))
			if col.Value > peak {
				peakDay, peak = key, col.Value
			}
		case ok:
			col.Hover = fmt.Sprintf("%s: no tickets created; %s", key, plural(it.Escalations, "escalation"))
		default:
			col.Hover = key + ": no tickets and no escalations"
		}
		d.Chart.Cols = append(d.Chart.Cols, col)
		if ok {
			d.Rows = append(d.Rows, dashDayRow{Day: key, Tickets: it.Tickets, EscalatedTickets: it.EscalatedTickets, Escalations: it.Escalations, Rate: pct(it.Rate)})
		}
	}
	desc := fmt.Sprintf("Share of each day's new tickets that were escalated, %d days from %s (UTC); a gap is a day without tickets.", len(d.Chart.Cols), first.Format(time.DateOnly))
	if peakDay != "" {
		desc += fmt.Sprintf(" Highest: %s on %s.", pct(&peak), peakDay)
	}
	d.Chart.ID, d.Chart.Title, d.Chart.Desc, d.Chart.Percent = "chart-day", "Escalation rate by day", desc, true
	return d
}

// outcomeStats are the window's other outcome measures, under- and over-escalation.
func outcomeStats(o analytics.OutcomeMeasures) []dashStat {
	return []dashStat{
		{Label: "First contact resolution", Value: pct(o.FirstContactResolution), Note: fmt.Sprintf("%d of %d tickets solved, never escalated, never reopened", o.FirstContactResolved, o.Tickets)},
		{Label: "Reopened after a tier-1 solve, then escalated", Value: fmt.Sprint(o.ReopenedAfterT1Solve), Note: "tickets"},
		{Label: "High frustration, never escalated", Value: fmt.Sprint(o.HighFrustrationUnescalated), Note: fmt.Sprintf("tickets at frustration %.2f or more", o.HighFrustration)},
		{Label: "Returned as unnecessary", Value: fmt.Sprint(o.ReturnedUnnecessary), Note: fmt.Sprintf("of %s", plural(o.Escalations, "escalation"))},
		{Label: "Solved quickly at the target without a note", Value: fmt.Sprint(o.QuickSolveNoNote),
			Note: "escalations solved within " + humanDuration(time.Duration(o.QuickSolveSeconds)*time.Second)},
		{Label: "Ping-pong escalations", Value: fmt.Sprint(o.PingPongs), Note: "sent back to the team they came from"},
	}
}

// topDesc names the first bars of a chart for its description.
func topDesc(rows []barRow) string {
	var parts []string
	for _, r := range rows[:min(len(rows), 3)] {
		parts = append(parts, r.Label+" "+r.Text)
	}
	if len(parts) == 0 {
		return ""
	}
	return "First: " + strings.Join(parts, "; ") + "."
}

func agentName(pol *policy.Policy, id string) string {
	if id == "" {
		return "Rules (no agent)"
	}
	if a, ok := pol.Agent(id); ok && a.Name != "" {
		return a.Name
	}
	return id
}

func teamName(pol *policy.Policy, id string) string {
	if t, ok := pol.Team(id); ok && t.Name != "" {
		return t.Name
	}
	return id
}

// transitionName writes "t1 -> t2" with the tiers' names: "Frontline → Specialists".
func transitionName(pol *policy.Policy, key string) string {
	from, to, ok := strings.Cut(key, " -> ")
	if !ok {
		return key
	}
	name := func(id string) string {
		if t, ok := pol.Tier(id); ok && t.Name != "" {
			return t.Name
		}
		return id
	}
	return name(from) + " → " + name(to)
}

// pct writes a fraction as a whole percentage, "–" for none; a share that rounds to 0 but is
// not is "<1%".
func pct(v *float64) string {
	switch {
	case v == nil:
		return "–"
	case *v > 0 && *v < 0.005:
		return "<1%"
	}
	return fmt.Sprintf("%.0f%%", *v*100)
}

// countShare writes a/b as pct does.
func countShare(a, b int) string {
	if b == 0 {
		return "–"
	}
	v := float64(a) / float64(b)
	return pct(&v)
}

// secs writes seconds as a duration, "–" for none.
func secs(v *float64) string {
	if v == nil {
		return "–"
	}
	return humanDuration(time.Duration(*v * float64(time.Second)))
}

// val is a chart value: NaN for none.
func val(v *float64) float64 {
	if v == nil {
		return math.NaN()
	}
	return *v
}

// share recovers a count from its share of n (the report gives shares rounded to 4 places).
func share(v *float64, n int) int {
	if v == nil {
		return 0
	}
	return int(math.Round(*v * float64(n)))
}

// cmpRate orders optional values with none below any.
func cmpRate(a, b *float64) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return cmp.Compare(*a, *b)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
