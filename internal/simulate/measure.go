package simulate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
)

// Result is what one replay did. Every list is sorted, so that it prints the same every time.
type Result struct {
	Policy     string `json:"policy"`
	PolicyHash string `json:"policy_hash"`
	From       string `json:"from"`
	Until      string `json:"until"`

	Tickets        int `json:"tickets"`
	EventsReplayed int `json:"events_replayed"`
	DeadlinesFired int `json:"deadlines_fired"`
	AgentActions   int `json:"agent_actions"`
	// Skipped are the history's events the policy refused (a manual escalation along a path the
	// policy does not have, a message to a ticket it had closed), by type and reason.
	Skipped []Skip `json:"skipped"`

	Escalations Escalations `json:"escalations"`
	Teams       []TeamLoad  `json:"teams"`
	SLA         []SLAFigure `json:"sla"`

	// PerTicket holds, per history ticket, the escalations the replay made, in order: what a
	// comparison of two policies reads. Not printed (a month of tickets is large).
	PerTicket map[string][]Escalation `json:"-"`

	from, until time.Time
	skips       map[[2]string]int
	// order is the history's tickets in the order they were opened.
	order []string
}

// Skip counts history events of one type refused for one reason.
type Skip struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// Escalations counts the escalations a replay made.
type Escalations struct {
	Total        int     `json:"total"`
	ByRule       []Count `json:"by_rule"`
	ByReason     []Count `json:"by_reason"`
	ByTransition []Count `json:"by_transition"` // "frontline -> engineering"
	ByTier       []Count `json:"by_tier"`       // "t1 -> t3"
}

// Count is one group and how many it holds.
type Count struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
}

// Escalation is one escalation a replay made, as a comparison sees it.
type Escalation struct {
	From, To string
	// Cause is the rule that made it, or how it was made without one (manual, bot_handoff).
	Cause  string
	Reason string
}

func (e Escalation) String() string { return fmt.Sprintf("%s -> %s (%s)", e.From, e.To, e.Cause) }

// TeamLoad is a team's load over the replay, hour by hour (UTC hours from From).
type TeamLoad struct {
	Team string `json:"team"`
	// Capacity is how many open tickets the team's agents hold at most together.
	Capacity int `json:"capacity"`
	// Arrivals are the tickets that came to the team: opened there, escalated or returned to
	// it, moved there.
	Arrivals         int `json:"arrivals"`
	PeakHourArrivals int `json:"peak_hour_arrivals"`
	// PeakOpen is the most open tickets the team held at once; HoursOverCapacity the hours in
	// which it held more than Capacity.
	PeakOpen          int        `json:"peak_open"`
	HoursOverCapacity int        `json:"hours_over_capacity"`
	Hours             []HourLoad `json:"hours"`
}

// HourLoad is one hour of a team's load.
type HourLoad struct {
	Arrivals int `json:"arrivals"`
	// Open is the most open tickets the team held during the hour.
	Open int `json:"open"`
}

// SLAFigure is one SLA target of one team: warnings and breaches the replay raised there, and
// how long breached clocks stayed unmet past their due time (to the end of the replay for
// those still unmet).
type SLAFigure struct {
	Team     string `json:"team"`
	Target   string `json:"target"`
	Warnings int    `json:"warnings"`
	Breaches int    `json:"breaches"`
	// Lateness percentiles, in seconds, over the tickets whose clock ended breached.
	LatenessP50 int64 `json:"lateness_p50_s"`
	LatenessP90 int64 `json:"lateness_p90_s"`
	LatenessMax int64 `json:"lateness_max_s"`
}

func newResult(name string, pol *policy.Policy, from, until time.Time) *Result {
	return &Result{
		Policy: name, PolicyHash: pol.Hash, From: escalated.FormatTime(from), Until: escalated.FormatTime(until),
		PerTicket: map[string][]Escalation{}, from: from, until: until, skips: map[[2]string]int{},
	}
}

// skip counts a refused history event. The reason is the error's message with ids taken out,
// so that one cause is one line however many tickets it hit.
func (res *Result) skip(typ string, err error) {
	msg := err.Error()
	var e *escalated.Error
	if errors.As(err, &e) {
		msg = e.Message
	}
	res.skips[[2]string{typ, anonymise(msg)}]++
}

// anonymise replaces escalated's ids (tkt_..., esc_...) in a message with their prefix.
func anonymise(msg string) string {
	words := strings.Fields(msg)
	for i, w := range words {
		for _, p := range []string{escalated.PrefixTicket, escalated.PrefixEscalation, escalated.PrefixMessage, escalated.PrefixEvent} {
			if strings.HasPrefix(w, p) && len(w) >= len(p)+26 {
				words[i] = p + "…" + w[len(p)+26:]
			}
		}
	}
	return strings.Join(words, " ")
}

// measure reads the replay's store: every event in commit order for escalations, team load
// and SLA events, then every ticket's clocks for lateness.
func (r *replay) measure() error {
	res, pol := r.res, r.pol
	hours := int(res.until.Sub(res.from)/time.Hour) + 1
	type teamState struct {
		load TeamLoad
		open int
	}
	teams := map[string]*teamState{}
	for _, t := range pol.Teams {
		ts := &teamState{load: TeamLoad{Team: t.ID, Hours: make([]HourLoad, hours)}}
		for _, a := range pol.Agents {
			if slices.Contains(a.Teams, t.ID) {
				ts.load.Capacity += a.Capacity
			}
		}
		teams[t.ID] = ts
	}
	hourOf := func(at time.Time) int { return min(max(int(at.Sub(res.from)/time.Hour), 0), hours-1) }
	// lastHour is the hour up to which each team's peaks are filled in.
	lastHour := 0
	fill := func(upTo int) {
		for ; lastHour < upTo; lastHour++ {
			for _, ts := range teams {
				h := &ts.load.Hours[lastHour+1]
				h.Open = max(h.Open, ts.open)
			}
		}
	}
	open := map[string]bool{} // ticket -> open
	team := map[string]string{}
	arrive := func(t string, at time.Time) {
		if ts := teams[t]; ts != nil {
			ts.load.Arrivals++
			ts.load.Hours[hourOf(at)].Arrivals++
		}
	}
	shift := func(t string, by int, at time.Time) {
		if ts := teams[t]; ts != nil {
			ts.open += by
			h := &ts.load.Hours[hourOf(at)]
			h.Open = max(h.Open, ts.open)
		}
	}
	var (
		warn   = map[[2]string]int{}
		breach = map[[2]string]int{}
		byRule = map[string]int{}
		byWhy  = map[string]int{}
		byMove = map[string]int{}
		byTier = map[string]int{}
		// breachTeam is the team that held each ticket when its clock breached: lateness goes
		// to the same row as the breach.
		breachTeam = map[[2]string]string{}
	)
	visit := func(e *escalated.Event) {
		if e.CreatedAt.After(res.until) {
			return
		}
		fill(hourOf(e.CreatedAt))
		id := e.TicketID
		switch {
		case e.Type == escalated.EventTicketCreated:
			team[id], open[id] = e.Team, true
			arrive(e.Team, e.CreatedAt)
			shift(e.Team, 1, e.CreatedAt)
		case e.Team != "" && team[id] != e.Team:
			// Every event of the change that moved the ticket names both teams: the
			// first one moves it.
			if open[id] {
				shift(team[id], -1, e.CreatedAt)
				shift(e.Team, 1, e.CreatedAt)
			}
			team[id] = e.Team
			arrive(e.Team, e.CreatedAt)
		}
		switch e.Type {
		case escalated.EventTicketUpdated:
			if v, ok := changedTo(e.Data, "status"); ok {
				done := escalated.Status(v).Done()
				if done == open[id] {
					open[id] = !done
					shift(team[id], map[bool]int{true: -1, false: 1}[done], e.CreatedAt)
				}
			}
		case escalated.EventSLAWarning:
			warn[[2]string{e.Team, str(e.Data["target"])}]++
		case escalated.EventSLABreached, escalated.EventEscalationUnacknowledged:
			breach[[2]string{e.Team, str(e.Data["target"])}]++
			breachTeam[[2]string{id, str(e.Data["target"])}] = e.Team
		case escalated.EventEscalationCreated:
			esc := Escalation{From: str(e.Data["from_team"]), To: str(e.Data["to_team"]), Reason: str(e.Data["reason"]),
				Cause: cmp.Or(str(e.Data["rule_id"]), str(e.Data["trigger"]))}
			res.Escalations.Total++
			byRule[esc.Cause]++
			byWhy[esc.Reason]++
			byMove[esc.From+" -> "+esc.To]++
			byTier[str(e.Data["from_tier"])+" -> "+str(e.Data["to_tier"])]++
			h := r.hist[id]
			res.PerTicket[h] = append(res.PerTicket[h], esc)
		}
	}
	if err := r.readEvents(visit); err != nil {
		return err
	}
	fill(hours - 1)
	res.Escalations.ByRule, res.Escalations.ByReason = counts(byRule), counts(byWhy)
	res.Escalations.ByTransition, res.Escalations.ByTier = counts(byMove), counts(byTier)
	for _, t := range pol.Teams {
		l := teams[t.ID].load
		for _, h := range l.Hours {
			l.PeakHourArrivals = max(l.PeakHourArrivals, h.Arrivals)
			l.PeakOpen = max(l.PeakOpen, h.Open)
			if h.Open > l.Capacity {
				l.HoursOverCapacity++
			}
		}
		res.Teams = append(res.Teams, l)
	}
	late, err := r.lateness(breachTeam)
	if err != nil {
		return err
	}
	keys := map[[2]string]bool{}
	for _, m := range []map[[2]string]int{warn, breach} {
		for k := range m {
			keys[k] = true
		}
	}
	for k := range late {
		keys[k] = true
	}
	for _, k := range slices.SortedFunc(maps.Keys(keys), func(a, b [2]string) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	}) {
		fig := SLAFigure{Team: k[0], Target: k[1], Warnings: warn[k], Breaches: breach[k]}
		if ls := late[k]; len(ls) > 0 {
			slices.Sort(ls)
			fig.LatenessP50, fig.LatenessP90, fig.LatenessMax = pct(ls, 50), pct(ls, 90), ls[len(ls)-1]
		}
		res.SLA = append(res.SLA, fig)
	}
	for k, n := range res.skips {
		res.Skipped = append(res.Skipped, Skip{Type: k[0], Reason: k[1], Count: n})
	}
	slices.SortFunc(res.Skipped, func(a, b Skip) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Reason, b.Reason))
	})
	return nil
}

// feedScanner is a store that lets a reader walk its whole feed without copies (memstore).
type feedScanner interface {
	ScanFeed(ctx context.Context, fn func(e *escalated.Event) bool) error
}

// readEvents passes every event of the replay to visit, in feed order; visit only reads them.
func (r *replay) readEvents(visit func(e *escalated.Event)) error {
	if sc, ok := r.st.(feedScanner); ok {
		if err := sc.ScanFeed(r.ctx, func(e *escalated.Event) bool { visit(e); return true }); err != nil {
			return fmt.Errorf("read the replay's events: %w", err)
		}
		return nil
	}
	// A feed cursor (SQLite's and memstore's) is an event's position; "0" is before the first
	// (an empty cursor would mean "from now on").
	f := store.FeedFilter{After: "0", Limit: store.MaxLimit}
	for {
		page, err := r.svc.ReadFeed(r.ctx, f)
		if err != nil {
			return fmt.Errorf("read the replay's events: %w", err)
		}
		for _, fe := range page.Events {
			visit(fe.Event)
		}
		if len(page.Events) < f.Limit {
			return nil
		}
		f.After = page.Next
	}
}

// lateness returns, per (team, target), how many seconds each clock that ended breached stayed
// unmet past its due time: until it stopped, or until the end of the replay.
func (r *replay) lateness(breachTeam map[[2]string]string) (map[[2]string][]int64, error) {
	out := map[[2]string][]int64{}
	f := store.TicketFilter{Limit: store.MaxLimit}
	for {
		page, next, err := r.svc.ListTickets(r.ctx, f)
		if err != nil {
			return nil, fmt.Errorf("read the replay's tickets: %w", err)
		}
		for _, t := range page {
			for _, c := range t.SLA.Clocks {
				if c.State != "breached" || c.DueAt.IsZero() || c.DueAt.After(r.res.until) {
					continue
				}
				end := r.res.until
				if !c.StoppedAt.IsZero() && c.StoppedAt.Before(end) {
					end = c.StoppedAt
				}
				team := breachTeam[[2]string{t.ID, c.Target}]
				if team == "" {
					team = t.Team
				}
				k := [2]string{team, c.Target}
				out[k] = append(out[k], int64(end.Sub(c.DueAt)/time.Second))
			}
		}
		if next == "" {
			return out, nil
		}
		f.Cursor = next
	}
}

// counts turns a tally into Counts, largest first, then by key.
func counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, n := range m {
		out = append(out, Count{Key: k, Count: n})
	}
	slices.SortFunc(out, func(a, b Count) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Key, b.Key)) })
	return out
}

// pct is the p-th percentile (nearest rank) of sorted values.
func pct(sorted []int64, p int) int64 {
	i := (p*len(sorted)+99)/100 - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// changedTo reads the new value of key in a ticket.updated event's changes.
func changedTo(data map[string]any, key string) (string, bool) {
	switch cs := data["changes"].(type) {
	case map[string]escalated.Change:
		c, ok := cs[key]
		s, _ := c.To.(string)
		return s, ok
	case map[string]any:
		c, ok := cs[key].(map[string]any)
		if !ok {
			return "", false
		}
		s, _ := c["to"].(string)
		return s, true
	}
	return "", false
}
