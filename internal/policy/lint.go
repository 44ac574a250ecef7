package policy

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/escalated/escalated"
)

// lint finds what is valid but almost certainly not meant: rules that can never fire,
// escalations that are always refused, keyword lists nobody reads, path cycles and teams
// without business hours. Only what is decidable from the document is reported, so that a
// warning is always worth reading. It runs on a policy without errors, after index.
func (p *parser) lint(pol *Policy) []*Error {
	var w ErrorList
	warn := func(n *yaml.Node, path, format string, args ...any) {
		line, col := 1, 1
		if n != nil {
			line, col = max(n.Line, 1), max(n.Column, 1)
		}
		w = append(w, &Error{File: p.file, Line: line, Column: col, Msg: at(path, fmt.Sprintf(format, args...))})
	}
	p.lintRules(pol, warn)
	p.lintKeywords(pol, warn)
	// The first plan whose condition holds applies, so plans after one without a condition never do.
	for i, pl := range pol.SLAPlans {
		if pl.When == nil {
			for j := i + 1; j < len(pol.SLAPlans); j++ {
				later := pol.SLAPlans[j]
				warn(&yaml.Node{Line: later.Line, Column: later.Column}, fmt.Sprintf("sla[%d]", j),
					"SLA plan %s never applies: plan %s (line %d) has no condition and applies to every ticket first", q(later.ID), q(pl.ID), pl.Line)
			}
			break
		}
	}
	p.lintPathCycles(warn)
	for _, t := range pol.Teams {
		if t.Calendar == "" {
			warn(p.teams.defs[t.ID], p.teams.paths[t.ID], "team %s has no calendar, so its SLA clocks run around the clock (add calendar: <id> if it keeps business hours)", q(t.ID))
		}
	}
	w.sort()
	return w
}

type warnFunc func(n *yaml.Node, path, format string, args ...any)

func (p *parser) lintRules(pol *Policy, warn warnFunc) {
	never := p.eventsThatNeverHappen(pol)
	pathTargets := map[string]bool{}
	for _, e := range p.pathEdges {
		pathTargets[e.to] = true
	}
	anyNextTier, anyAccountTeam := false, false
	for _, t := range pol.Teams {
		anyNextTier = anyNextTier || len(pol.NextTier(t.ID)) > 0
		anyAccountTeam = anyAccountTeam || t.Kind == KindAccountTeam
	}
	stops := map[string]*Rule{} // event -> first earlier rule that always matches it and stops
	for i := range pol.Rules {
		r, info := &pol.Rules[i], p.ruleInfo[i]

		if r.When != nil {
			if constant, value, err := r.When.Constant(); constant && err != "" {
				warn(info.when, info.path+".when", "the condition always fails (%s), so the rule never fires", err)
			} else if constant && !value {
				warn(info.when, info.path+".when", "the condition is always false, so the rule never fires")
			}
		}
		for j, ev := range r.On {
			if why := never[ev]; why != "" {
				warn(info.onNodes[j], fmt.Sprintf("%s.on[%d]", info.path, j), "%s never happens: %s", ev, why)
			}
		}

		if len(r.On) > 0 {
			shadow := stops[r.On[0]]
			for _, ev := range r.On {
				if stops[ev] == nil {
					shadow = nil
					break
				}
			}
			if shadow != nil {
				warn(info.idNode, info.path, "rule %s can never fire: rule %s (line %d) matches every event it listens to and says stop: true", q(r.ID), q(shadow.ID), shadow.Line)
			}
		}
		if r.Stop && alwaysTrue(r.When) {
			for _, ev := range r.On {
				if stops[ev] == nil {
					stops[ev] = r
				}
			}
		}

		escalates := 0
		for j, a := range r.Do {
			if a.Kind != ActionEscalate {
				continue
			}
			escalates++
			path := fmt.Sprintf("%s.do[%d].escalate", info.path, j)
			if escalates == 2 {
				warn(&yaml.Node{Line: a.Line, Column: a.Column}, path, "only the first escalate of a rule can apply (one event escalates a ticket at most once); remove this one or move it to its own rule")
			}
			toNode := valueOf(info.actions[j], "to")
			switch a.To {
			case escalated.TargetNextTier:
				if !anyNextTier {
					warn(toNode, path+".to", "no path leads from a team to a team of a higher tier, so next_tier is always refused (add paths)")
				}
			case escalated.TargetAccountTeam:
				if !anyAccountTeam {
					warn(toNode, path+".to", "no team is of kind account_team, so this escalation is always refused")
				}
			default:
				if t, ok := pol.Team(a.To); ok && t.Kind != KindAccountTeam && !pathTargets[a.To] {
					warn(toNode, path+".to", "no path leads to team %s, so this escalation is always refused (add a path to it)", q(a.To))
				}
			}
		}
	}
}

// alwaysTrue reports whether a rule with this condition matches every event it listens to.
func alwaysTrue(c *Condition) bool {
	if c == nil {
		return true
	}
	constant, value, err := c.Constant()
	return constant && value && err == ""
}

// eventsThatNeverHappen maps an event type to why the policy makes it impossible: SLA events
// need SLA plans, and an unacknowledged escalation needs an acknowledge target.
func (p *parser) eventsThatNeverHappen(pol *Policy) map[string]string {
	never := map[string]string{}
	plans, ack := 0, false
	if pol.SLA != nil {
		for _, plan := range pol.SLA.Content {
			plans++
			if t := valueOf(plan, "targets"); t != nil && valueOf(t, "acknowledge") != nil {
				ack = true
			}
		}
	}
	if plans == 0 {
		never[EventSLAWarning] = "the policy has no sla plans, so no SLA clock runs"
		never[EventSLABreached] = never[EventSLAWarning]
	}
	if !ack {
		never[EventEscalationUnacknowledged] = "no sla plan sets an acknowledge target"
	}
	return never
}

// lintKeywords reports keyword lists no rule condition reads: the extractor would compute a
// signal nothing uses. A list counts as read when a condition that reads message.keywords or
// signals.keywords names the list's id in a string.
func (p *parser) lintKeywords(pol *Policy, warn warnFunc) {
	read := map[string]bool{}
	for _, r := range pol.Rules {
		if r.When != nil && r.When.ReadsKeywords() {
			for _, s := range r.When.Strings() {
				read[s] = true
			}
		}
	}
	for i, k := range pol.Signals.Keywords {
		if !read[k.ID] {
			warn(p.keywordNodes[i], "signals.keywords."+k.ID, "keyword list %s is not read by any rule (a rule reads it with a condition like %s in message.keywords)", q(k.ID), q(k.ID))
		}
	}
}

// lintPathCycles reports each cycle of the paths, A -> B -> A, which lets a ticket bounce
// between teams for ever. Teams that can reach each other form one strongly connected
// component; each component is reported once, at the first move (file order) inside it, with
// the shortest cycle through that move. Linear in the number of moves, so that a policy with
// the most moves paths allow is still checked in milliseconds.
func (p *parser) lintPathCycles(warn warnFunc) {
	next := map[string][]string{}
	var teams []string
	for _, e := range p.pathEdges {
		for _, t := range []string{e.from, e.to} {
			if _, ok := next[t]; !ok {
				next[t] = nil
				teams = append(teams, t)
			}
		}
		if !slices.Contains(next[e.from], e.to) {
			next[e.from] = append(next[e.from], e.to)
		}
	}
	comp := components(teams, next)
	reported := map[int]bool{}
	for _, e := range p.pathEdges {
		c := comp[e.from]
		if c != comp[e.to] || reported[c] {
			continue
		}
		reported[c] = true
		// Breadth-first from e.to back to e.from, inside the component.
		prev := map[string]string{e.to: ""}
		queue := []string{e.to}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			for _, n := range next[cur] {
				if _, seen := prev[n]; seen || comp[n] != c {
					continue
				}
				prev[n] = cur
				queue = append(queue, n)
			}
		}
		cycle := []string{e.from}
		for n := e.from; n != e.to; {
			n = prev[n]
			cycle = append(cycle, n)
		}
		slices.Reverse(cycle) // e.to ... e.from
		cycle = append([]string{e.from}, cycle...)
		warn(e.node, e.path, "path cycle %s: a ticket can be escalated round in a circle (the ping-pong guard will refuse or flag it)", strings.Join(cycle, " -> "))
	}
}

// components numbers the strongly connected components of the graph (Tarjan's algorithm,
// iterative so that a long chain of teams cannot exhaust the stack).
func components(nodes []string, next map[string][]string) map[string]int {
	index := map[string]int{}
	low := map[string]int{}
	onStack := map[string]bool{}
	comp := map[string]int{}
	var stack []string
	counter, ncomp := 0, 0
	type frame struct {
		node string
		i    int // next successor to visit
	}
	for _, root := range nodes {
		if _, seen := index[root]; seen {
			continue
		}
		work := []frame{{node: root}}
		index[root], low[root] = counter, counter
		counter++
		stack = append(stack, root)
		onStack[root] = true
		for len(work) > 0 {
			f := &work[len(work)-1]
			if f.i < len(next[f.node]) {
				n := next[f.node][f.i]
				f.i++
				if _, seen := index[n]; !seen {
					index[n], low[n] = counter, counter
					counter++
					stack = append(stack, n)
					onStack[n] = true
					work = append(work, frame{node: n})
				} else if onStack[n] {
					low[f.node] = min(low[f.node], index[n])
				}
				continue
			}
			node := f.node
			work = work[:len(work)-1]
			if len(work) > 0 {
				parent := work[len(work)-1].node
				low[parent] = min(low[parent], low[node])
			}
			if low[node] == index[node] {
				for {
					n := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[n] = false
					comp[n] = ncomp
					if n == node {
						break
					}
				}
				ncomp++
			}
		}
	}
	return comp
}

// valueOf returns the value of key in mapping n, or nil.
func valueOf(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
