package store

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// TestDeltasMergeLikeMergeCells: accumulating fact saves in one Deltas gives the cells that
// merging each save's own delta list gives, whatever the saves (tickets and escalations,
// created, changed, moved between teams, saved twice, undone).
func TestDeltasMergeLikeMergeCells(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	day := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	ticket := func(id string) *TicketFact {
		if r.IntN(4) == 0 {
			return nil
		}
		f := &TicketFact{TicketID: id, CreatedAt: day.Add(time.Duration(r.IntN(72)) * time.Hour),
			IssueType: pick("billing", "bug"), Channel: pick("email", "chat"), CustomerTier: pick("", "pro"),
			AccountID: pick("", "acme"), IntakeTeam: pick("", "support", "billing"), FirstAgent: pick("", "ana"),
			Solved: r.IntN(2) == 0, Escalations: r.IntN(3), Reopens: r.IntN(2), BreachesBeforeEscalation: r.IntN(2),
			MaxFrustration: float64(r.IntN(100)) / 100}
		return f
	}
	escalation := func(id string) *EscalationFact {
		if r.IntN(4) == 0 {
			return nil
		}
		ack := time.Duration(r.IntN(3600)) * time.Second
		after := time.Duration(r.IntN(7200)) * time.Second
		f := &EscalationFact{EscalationID: id, TicketID: "t" + id, CreatedAt: day.Add(time.Duration(r.IntN(72)) * time.Hour),
			FromTeam: pick("support", "billing"), ToTeam: pick("", "billing", "t2"), FromTier: pick("t1", "t2"), ToTier: pick("t2", "t3"),
			ByAgent: pick("", "ana"), Trigger: pick("rule", "agent"), Reason: "other", RuleID: pick("", "angry"),
			IssueType: pick("billing", "bug"), Channel: "email", TimeToEscalate: time.Duration(r.IntN(5000)) * time.Second,
			State: pick("pending", "resolved"), Returned: r.IntN(2) == 0, ResolvedAtTarget: r.IntN(2) == 0,
			Completeness: float64(r.IntN(10)) / 10, PingPong: r.IntN(3) == 0}
		if r.IntN(2) == 0 {
			f.TimeToAck = &ack
		}
		if r.IntN(2) == 0 {
			f.ResolvedAfter = &after
		}
		return f
	}
	for round := range 200 {
		var d Deltas
		var lists [][]Cell
		for i := range 1 + r.IntN(6) {
			id := string(rune('a' + i%3)) // the same row saved more than once in a round
			if r.IntN(2) == 0 {
				old, new := ticket(id), ticket(id)
				lists = append(lists, TicketDelta(old, new, 4))
				d.Ticket(old, new, 4)
			} else {
				old, new := escalation(id), escalation(id)
				lists = append(lists, EscalationDelta(old, new, 4))
				d.Escalation(old, new, 4)
			}
		}
		want, got := MergeCells(lists...), d.Cells()
		if len(want) == 0 && len(got) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: Deltas gave\n%+v\nMergeCells gives\n%+v", round, got, want)
		}
		if again := d.Cells(); again != nil {
			t.Fatalf("round %d: Cells did not empty the deltas: %+v", round, again)
		}
	}
}
