package route

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func agent(id string, open int, mods ...func(*Agent)) Agent {
	a := Agent{ID: id, Skills: []string{"billing"}, Languages: []string{"en"}, Capacity: 5, Status: Online, Open: open}
	for _, m := range mods {
		m(&a)
	}
	return a
}

func TestPick(t *testing.T) {
	billing := Team{ID: "billing", Skills: []string{"billing", "refund"}, Open: true}
	withFallback := billing
	withFallback.Fallback = "overflow-desk"
	rr := billing
	rr.Method = RoundRobin
	manual := billing
	manual.Method = Manual
	closed := withFallback
	closed.Open = false

	cases := []struct {
		name        string
		req         Request
		outcome     string
		agent       string
		fallback    string
		reasonHas   string
		passedCount int
	}{
		{"least loaded picks fewest open",
			Request{Team: billing, Members: []Agent{agent("a", 3), agent("b", 1), agent("c", 2)}},
			Assigned, "b", "", "least loaded in team billing: 1 of 5 open", 0},
		{"least loaded breaks a tie by share of capacity",
			Request{Team: billing, Members: []Agent{agent("a", 2), agent("b", 2, func(a *Agent) { a.Capacity = 10 })}},
			Assigned, "b", "", "2 of 10", 0},
		{"least loaded breaks a full tie by policy order",
			Request{Team: billing, Members: []Agent{agent("a", 2), agent("b", 2)}},
			Assigned, "a", "", "", 0},
		{"offline and away agents are passed over",
			Request{Team: billing, Members: []Agent{agent("a", 0, func(a *Agent) { a.Status = Away }), agent("b", 0, func(a *Agent) { a.Status = Offline }), agent("c", 4)}},
			Assigned, "c", "", "", 2},
		{"an agent at capacity is passed over",
			Request{Team: billing, Members: []Agent{agent("a", 5), agent("b", 4)}},
			Assigned, "b", "", "", 1},
		{"language must match when both name one",
			Request{Team: billing, Language: "de", Members: []Agent{agent("a", 0), agent("b", 3, func(a *Agent) { a.Languages = []string{"en", "de"} })}},
			Assigned, "b", "", "", 1},
		{"an agent without languages takes any",
			Request{Team: billing, Language: "de", Members: []Agent{agent("a", 0, func(a *Agent) { a.Languages = nil })}},
			Assigned, "a", "", "", 0},
		{"the skill the issue type names is required",
			Request{Team: billing, IssueType: "refund_request", Members: []Agent{agent("a", 0), agent("b", 3, func(a *Agent) { a.Skills = []string{"refund"} })}},
			Assigned, "b", "", "", 1},
		{"a tag can name the skill",
			Request{Team: billing, Tags: []string{"refund"}, Members: []Agent{agent("a", 0), agent("b", 3, func(a *Agent) { a.Skills = []string{"refund"} })}},
			Assigned, "b", "", "", 1},
		{"without a named skill any team skill will do",
			Request{Team: billing, IssueType: "other", Members: []Agent{agent("a", 0, func(a *Agent) { a.Skills = []string{"sales"} }), agent("b", 3)}},
			Assigned, "b", "", "", 1},
		{"sticky agent gets the ticket back when they qualify",
			Request{Team: billing, Sticky: "c", Members: []Agent{agent("a", 0), agent("c", 4)}},
			Assigned, "c", "", "back to c", 0},
		{"sticky agent at capacity does not",
			Request{Team: billing, Sticky: "c", Members: []Agent{agent("a", 0), agent("c", 5)}},
			Assigned, "a", "", "", 1},
		{"round robin takes the next after the last assigned",
			Request{Team: rr, LastAssigned: "a", Members: []Agent{agent("a", 0), agent("b", 4), agent("c", 0)}},
			Assigned, "b", "", "next after a", 0},
		{"round robin wraps around and skips who cannot take it",
			Request{Team: rr, LastAssigned: "b", Members: []Agent{agent("a", 1), agent("b", 0), agent("c", 5)}},
			Assigned, "a", "", "", 1},
		{"round robin starts at the first without a last",
			Request{Team: rr, Members: []Agent{agent("a", 3), agent("b", 0)}},
			Assigned, "a", "", "", 0},
		{"manual assigns nobody",
			Request{Team: manual, Members: []Agent{agent("a", 0)}},
			Queued, "", "", "routes manually", 0},
		{"nobody qualifies: overflow to the fallback",
			Request{Team: withFallback, Members: []Agent{agent("a", 5), agent("b", 0, func(a *Agent) { a.Status = Offline })}},
			Overflow, "", "overflow-desk", "nobody in team billing can take it now; overflow to overflow-desk", 2},
		{"nobody qualifies and no fallback: the queue",
			Request{Team: billing, Members: []Agent{agent("a", 5)}},
			Queued, "", "", "waits in the queue", 1},
		{"a team without members queues",
			Request{Team: billing},
			Queued, "", "", "", 0},
		{"closed calendar: overflow even with agents online",
			Request{Team: closed, Members: []Agent{agent("a", 0)}},
			Overflow, "", "overflow-desk", "outside its business hours", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Pick(c.req)
			if d.Outcome != c.outcome || d.Agent != c.agent || d.Fallback != c.fallback || len(d.Passed) != c.passedCount {
				t.Fatalf("Pick = %+v, want %s agent %q fallback %q with %d passed over", d, c.outcome, c.agent, c.fallback, c.passedCount)
			}
			if !strings.Contains(d.Reason, c.reasonHas) || d.Reason == "" {
				t.Fatalf("reason %q does not contain %q", d.Reason, c.reasonHas)
			}
			for _, p := range d.Passed {
				if p.Reason == "" {
					t.Fatalf("agent %s passed over without a reason", p.Agent)
				}
			}
		})
	}
}

// TestNoAgentExceedsCapacity routes many tickets one after another, in random teams of random
// agents, applying each assignment: no agent ever holds more than their capacity, and a ticket
// is queued or overflows only when every member is unable to take it.
func TestNoAgentExceedsCapacity(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for round := range 200 {
		n := 1 + r.IntN(6)
		members := make([]Agent, n)
		for i := range members {
			members[i] = Agent{ID: string(rune('a' + i)), Skills: []string{"billing"}, Capacity: 1 + r.IntN(4),
				Status: []string{Online, Online, Online, Away, Offline}[r.IntN(5)]}
			if r.IntN(3) == 0 {
				members[i].Languages = []string{"en"}
			}
		}
		team := Team{ID: "t", Skills: []string{"billing"}, Open: true, Method: []string{LeastLoaded, RoundRobin}[r.IntN(2)]}
		last := ""
		for range 40 {
			req := Request{Team: team, Members: members, LastAssigned: last, Language: []string{"", "en", "de"}[r.IntN(3)]}
			if r.IntN(4) == 0 {
				req.Sticky = members[r.IntN(n)].ID
			}
			d := Pick(req)
			switch d.Outcome {
			case Assigned:
				i := slicesIndex(members, d.Agent)
				members[i].Open++
				if members[i].Open > members[i].Capacity {
					t.Fatalf("round %d: %s holds %d of capacity %d", round, d.Agent, members[i].Open, members[i].Capacity)
				}
				last = d.Agent
			default:
				if len(d.Passed) != n {
					t.Fatalf("round %d: %s with %d of %d members passed over: %+v", round, d.Outcome, len(d.Passed), n, d)
				}
			}
			if r.IntN(5) == 0 { // someone closes a ticket
				i := r.IntN(n)
				members[i].Open = max(members[i].Open-1, 0)
			}
		}
	}
}

func slicesIndex(as []Agent, id string) int {
	for i, a := range as {
		if a.ID == id {
			return i
		}
	}
	return -1
}

func TestPingPong(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	moves := []Move{
		{From: "frontline", To: "billing", At: t0},
		{From: "billing", To: "engineering", At: t0.Add(20 * time.Minute)},
	}
	cases := []struct {
		name     string
		to       string
		at       time.Time
		isReturn bool
		want     bool
	}{
		{"back to a team left 30 minutes ago", "billing", t0.Add(50 * time.Minute), false, true},
		{"back to a team left over an hour ago", "frontline", t0.Add(61 * time.Minute), false, false},
		{"back to a team left 59 minutes ago", "frontline", t0.Add(59 * time.Minute), false, true},
		{"a return is the legitimate way back", "billing", t0.Add(50 * time.Minute), true, false},
		{"a team never left", "integrations", t0.Add(30 * time.Minute), false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, why := PingPong(moves, c.to, c.at, c.isReturn)
			if got != c.want || (got && !strings.Contains(why, "ping-pong")) {
				t.Fatalf("PingPong = %v %q, want %v", got, why, c.want)
			}
		})
	}
}
