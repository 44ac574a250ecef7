package simulate

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Comparison sets a draft policy's replay beside the baseline's, over the same history.
type Comparison struct {
	Baseline *Result `json:"baseline"`
	Draft    *Result `json:"draft"`
	// Changed lists the tickets the two policies escalated differently, in history order.
	Changed []TicketChange `json:"changed_tickets"`
	// Measures are the figures that moved, with both values.
	Measures []Delta `json:"measures"`
}

// TicketChange is one ticket's escalations under each policy ("from -> to (rule)"), in order.
type TicketChange struct {
	Ticket   string   `json:"ticket"`
	Baseline []string `json:"baseline"`
	Draft    []string `json:"draft"`
}

// Delta is one measure under both policies.
type Delta struct {
	Measure  string `json:"measure"`
	Baseline int    `json:"baseline"`
	Draft    int    `json:"draft"`
	Change   int    `json:"change"`
}

// Compare compares two replays of the same history.
func Compare(base, draft *Result) *Comparison {
	c := &Comparison{Baseline: base, Draft: draft, Changed: []TicketChange{}, Measures: []Delta{}}
	// Tickets in history order; one that only one of the policies opened counts too.
	seen := map[string]bool{}
	order := []string{}
	for _, t := range append(slices.Clone(base.order), draft.order...) {
		if !seen[t] {
			seen[t] = true
			order = append(order, t)
		}
	}
	for _, t := range order {
		b, d := describe(base.PerTicket[t]), describe(draft.PerTicket[t])
		if !slices.Equal(b, d) {
			c.Changed = append(c.Changed, TicketChange{Ticket: t, Baseline: b, Draft: d})
		}
	}
	add := func(name string, b, d int) {
		if b != d {
			c.Measures = append(c.Measures, Delta{Measure: name, Baseline: b, Draft: d, Change: d - b})
		}
	}
	add("escalations", base.Escalations.Total, draft.Escalations.Total)
	for _, g := range []struct {
		name string
		b, d []Count
	}{
		{"escalations by rule", base.Escalations.ByRule, draft.Escalations.ByRule},
		{"escalations by reason", base.Escalations.ByReason, draft.Escalations.ByReason},
		{"escalations by transition", base.Escalations.ByTransition, draft.Escalations.ByTransition},
		{"escalations by tier", base.Escalations.ByTier, draft.Escalations.ByTier},
	} {
		bm, dm := countMap(g.b), countMap(g.d)
		for _, k := range unionKeys(bm, dm) {
			add(g.name+": "+k, bm[k], dm[k])
		}
	}
	bt, dt := teamMap(base.Teams), teamMap(draft.Teams)
	for _, k := range unionKeys(bt, dt) {
		b, d := bt[k], dt[k]
		add("team "+k+": arrivals", b.Arrivals, d.Arrivals)
		add("team "+k+": peak open", b.PeakOpen, d.PeakOpen)
		add("team "+k+": peak hourly arrivals", b.PeakHourArrivals, d.PeakHourArrivals)
		add("team "+k+": hours over capacity", b.HoursOverCapacity, d.HoursOverCapacity)
		add("team "+k+": capacity", b.Capacity, d.Capacity)
	}
	bs, ds := slaMap(base.SLA), slaMap(draft.SLA)
	for _, k := range unionKeys(bs, ds) {
		add("SLA "+k+": warnings", bs[k].Warnings, ds[k].Warnings)
		add("SLA "+k+": breaches", bs[k].Breaches, ds[k].Breaches)
	}
	return c
}

func describe(escs []Escalation) []string {
	out := make([]string, len(escs))
	for i, e := range escs {
		out[i] = e.String()
	}
	return out
}

func countMap(cs []Count) map[string]int {
	m := make(map[string]int, len(cs))
	for _, c := range cs {
		m[c.Key] = c.Count
	}
	return m
}

func teamMap(ts []TeamLoad) map[string]TeamLoad {
	m := make(map[string]TeamLoad, len(ts))
	for _, t := range ts {
		m[t.Team] = t
	}
	return m
}

func slaMap(fs []SLAFigure) map[string]SLAFigure {
	m := make(map[string]SLAFigure, len(fs))
	for _, f := range fs {
		m[f.Team+" "+f.Target] = f
	}
	return m
}

// unionKeys returns the keys of both maps, sorted.
func unionKeys[V any](a, b map[string]V) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Summary is a one-paragraph account of a comparison for people: what moved most.
func (c *Comparison) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d tickets escalate differently under %s than under %s.", len(c.Changed), c.Baseline.Tickets, c.Draft.Policy, c.Baseline.Policy)
	moves := slices.Clone(c.Measures)
	slices.SortStableFunc(moves, func(a, b Delta) int { return cmp.Compare(abs(b.Change), abs(a.Change)) })
	for i, m := range moves {
		if i == 5 {
			break
		}
		fmt.Fprintf(&b, " %s: %d -> %d (%+d).", m.Measure, m.Baseline, m.Draft, m.Change)
	}
	return b.String()
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
