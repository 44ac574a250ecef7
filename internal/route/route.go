// Package route decides who works a ticket when it enters a team: an agent of the team chosen
// by the team's method, or the team's fallback when nobody can take it. It is pure: the caller
// passes the team, its members with their status and load, and the ticket's facts, and gets a
// decision with the reason in words, for the ticket's history and for explain.
//
// # Rules
//
//   - A team whose calendar is closed at the routing instant sends the ticket to its fallback
//     team when it has one; otherwise the ticket waits in the queue unassigned.
//   - Method manual assigns nobody: a person picks from the queue.
//   - An agent qualifies when their status is online, their open tickets are under their
//     capacity, they speak the ticket's language (when both the ticket and the agent name
//     languages), and they have the skill the ticket needs: a team skill that the ticket's issue
//     type (or one of its words, or a tag) names, when there is one; else any of the team's
//     skills (a team without skills needs none).
//   - Sticky: the agent who last worked the ticket in this team gets it back when they qualify.
//   - least_loaded (the default) picks the qualifying agent with the fewest open tickets, then
//     the lowest share of capacity used, then the first in policy order.
//   - round_robin picks the first qualifying agent after the one the team assigned last, in
//     policy order, wrapping around.
//   - Nobody qualifies: the fallback team when there is one (overflow), else the queue.
package route

import (
	"fmt"
	"slices"
	"strings"
)

// Routing methods, as the policy names them.
const (
	LeastLoaded = "least_loaded"
	RoundRobin  = "round_robin"
	Manual      = "manual"
)

// Agent statuses.
const (
	Online  = "online"
	Away    = "away"
	Offline = "offline"
)

// Agent is a member of the team as routing sees them now.
type Agent struct {
	ID        string
	Skills    []string
	Languages []string
	Capacity  int // open tickets at most
	Status    string
	Open      int // open tickets assigned to them now
}

// Team is the team the ticket enters.
type Team struct {
	ID       string
	Method   string // LeastLoaded when empty
	Skills   []string
	Fallback string // "" when the team has none
	// Open reports whether the team's calendar is open at the routing instant.
	Open bool
}

// Request is one routing question.
type Request struct {
	Team    Team
	Members []Agent // the team's agents in policy order
	// The ticket's facts.
	IssueType string
	Tags      []string
	Language  string
	// Sticky is the agent who last worked the ticket in this team ("" when none).
	Sticky string
	// LastAssigned is the agent the team assigned last (round robin).
	LastAssigned string
}

// Outcome kinds.
const (
	Assigned = "assigned" // Agent is set
	Queued   = "queued"   // nobody: the ticket waits in the team's queue
	Overflow = "overflow" // Fallback is set: the ticket moves to that team
)

// Decision is where the ticket goes and why.
type Decision struct {
	Outcome  string
	Agent    string
	Fallback string
	// Reason says why in words, for the ticket's history.
	Reason string
	// Passed lists the members that did not qualify, each with why.
	Passed []Passed
}

// Passed is an agent routing did not choose, and why.
type Passed struct {
	Agent  string
	Reason string
}

// Pick routes one ticket. See the package rules.
func Pick(r Request) Decision {
	t := r.Team
	if !t.Open {
		return nobody(r, nil, fmt.Sprintf("team %s is outside its business hours", t.ID))
	}
	method := t.Method
	if method == "" {
		method = LeastLoaded
	}
	if method == Manual {
		return Decision{Outcome: Queued, Reason: fmt.Sprintf("team %s routes manually: an agent picks the ticket from the queue", t.ID)}
	}
	need := neededSkill(t, r)
	var ok []int
	var passed []Passed
	for i, a := range r.Members {
		if why := disqualified(a, t, need, r.Language); why != "" {
			passed = append(passed, Passed{Agent: a.ID, Reason: why})
			continue
		}
		ok = append(ok, i)
	}
	if len(ok) == 0 {
		return nobody(r, passed, fmt.Sprintf("nobody in team %s can take it now", t.ID))
	}
	if r.Sticky != "" {
		for _, i := range ok {
			if r.Members[i].ID == r.Sticky {
				return Decision{Outcome: Assigned, Agent: r.Sticky, Passed: passed,
					Reason: fmt.Sprintf("back to %s, who last worked the ticket in team %s", r.Sticky, t.ID)}
			}
		}
	}
	var pick int
	switch method {
	case RoundRobin:
		pick = nextAfter(r.Members, ok, r.LastAssigned)
		return Decision{Outcome: Assigned, Agent: r.Members[pick].ID, Passed: passed,
			Reason: fmt.Sprintf("round robin in team %s: next after %s", t.ID, orNone(r.LastAssigned))}
	default:
		pick = ok[0]
		for _, i := range ok[1:] {
			if lighter(r.Members[i], r.Members[pick]) {
				pick = i
			}
		}
		a := r.Members[pick]
		return Decision{Outcome: Assigned, Agent: a.ID, Passed: passed,
			Reason: fmt.Sprintf("least loaded in team %s: %d of %d open", t.ID, a.Open, a.Capacity)}
	}
}

// nobody is the decision when no agent of the team can take the ticket.
func nobody(r Request, passed []Passed, why string) Decision {
	if f := r.Team.Fallback; f != "" && f != r.Team.ID {
		return Decision{Outcome: Overflow, Fallback: f, Passed: passed, Reason: why + "; overflow to " + f}
	}
	return Decision{Outcome: Queued, Passed: passed, Reason: why + "; it waits in the queue"}
}

// neededSkill is the team skill the ticket names (issue type, a word of it, or a tag), or "".
func neededSkill(t Team, r Request) string {
	words := strings.FieldsFunc(r.IssueType, func(c rune) bool { return c == '_' || c == '-' || c == '.' })
	for _, sk := range t.Skills {
		if sk == r.IssueType || slices.Contains(words, sk) || slices.Contains(r.Tags, sk) {
			return sk
		}
	}
	return ""
}

// disqualified says why a cannot take the ticket, or "" when they can.
func disqualified(a Agent, t Team, need, lang string) string {
	switch {
	case a.Status != Online:
		return "status " + orNone(a.Status)
	case a.Open >= a.Capacity:
		return fmt.Sprintf("at capacity (%d of %d open)", a.Open, a.Capacity)
	case lang != "" && len(a.Languages) > 0 && !slices.Contains(a.Languages, lang):
		return fmt.Sprintf("does not speak %s (speaks %s)", lang, strings.Join(a.Languages, ", "))
	case need != "" && !slices.Contains(a.Skills, need):
		return "lacks skill " + need
	case need == "" && len(t.Skills) > 0 && !slices.ContainsFunc(a.Skills, func(s string) bool { return slices.Contains(t.Skills, s) }):
		return "has none of the team's skills (" + strings.Join(t.Skills, ", ") + ")"
	}
	return ""
}

// lighter reports whether a is less loaded than b: fewer open tickets, then a lower share of
// capacity used.
func lighter(a, b Agent) bool {
	if a.Open != b.Open {
		return a.Open < b.Open
	}
	// a.Open/a.Capacity < b.Open/b.Capacity without division.
	return a.Open*b.Capacity < b.Open*a.Capacity
}

// nextAfter returns the index (into members) of the first qualifying member after last in
// policy order, wrapping around; the first qualifying one when last is unknown.
func nextAfter(members []Agent, ok []int, last string) int {
	at := slices.IndexFunc(members, func(a Agent) bool { return a.ID == last })
	for _, i := range ok {
		if i > at {
			return i
		}
	}
	return ok[0]
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
