package ticket_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/ticket"
)

func (f *clockFx) ticketFact(id string) *store.TicketFact {
	f.t.Helper()
	var tf *store.TicketFact
	if err := f.st.View(f.ctx, func(tx store.Tx) error {
		var err error
		tf, err = tx.GetTicketFact(f.ctx, id)
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	return tf
}

func (f *clockFx) escalationFact(id string) *store.EscalationFact {
	f.t.Helper()
	var ef *store.EscalationFact
	if err := f.st.View(f.ctx, func(tx store.Tx) error {
		var err error
		ef, err = tx.GetEscalationFact(f.ctx, id)
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	return ef
}

// TestFactsFollowTheTicket: the analytics rows follow a ticket through a first-response breach
// (before any escalation), the rule's escalation, an acknowledgement saying the package was not
// enough, an internal note while the escalation holds the ticket, and the resolution.
func TestFactsFollowTheTicket(t *testing.T) {
	f := newClockFx(t, clockPolicy)
	id := f.create(at(27, 9, 0), escalated.PriorityNormal)
	tf := f.ticketFact(id)
	if tf.IntakeTeam != "frontline" || tf.IntakeTier != "t1" || tf.FirstAgent != "ana" || tf.CustomerTier != "pro" ||
		tf.Channel != "email" || tf.Escalations != 0 || tf.Solved {
		t.Fatalf("new ticket's fact: %+v", tf)
	}
	// First response is due at 11:00 (2 h of office hours); the breach escalates by rule.
	f.fire(at(27, 10, 0)) // the warning
	if got := f.fire(at(27, 11, 0)); len(got) == 0 {
		t.Fatal("nothing fired at the breach")
	}
	d := f.detail(id)
	if len(d.Escalations) != 1 {
		t.Fatalf("the breach did not escalate: %d escalations", len(d.Escalations))
	}
	esc := d.Escalations[0]
	tf = f.ticketFact(id)
	if tf.BreachesBeforeEscalation != 1 || tf.Escalations != 1 || tf.FirstEscalatedAt == nil || !tf.FirstEscalatedAt.Equal(at(27, 11, 0)) {
		t.Errorf("after the breach and escalation: %+v", tf)
	}
	ef := f.escalationFact(esc.ID)
	if ef.FromTeam != "frontline" || ef.ToTeam != "billing" || ef.FromTier != "t1" || ef.ToTier != "t2" ||
		ef.Trigger != "sla" || ef.Reason != "sla" || ef.RuleID != "first-response-breach" || ef.ByAgent != "" ||
		ef.TimeToEscalate != 2*time.Hour || ef.State != "pending" || ef.TimeToAck != nil || ef.CustomerTier != "pro" {
		t.Errorf("escalation fact: %+v", ef)
	}

	f.now = at(27, 11, 30)
	no := false
	if _, err := f.svc.AcknowledgeWith(f.ctx, esc.ID, ticket.AckInput{By: "bea", ContextSufficient: &no}); err != nil {
		t.Fatal(err)
	}
	f.message(at(27, 11, 40), id, escalated.AuthorAgent, true)
	f.now = at(27, 11, 50)
	if _, err := f.svc.Resolve(f.ctx, esc.ID, "bea", "Card issuer blocked the merchant; unblocked."); err != nil {
		t.Fatal(err)
	}
	ef = f.escalationFact(esc.ID)
	if ef.State != "resolved" || !ef.ResolvedAtTarget || ef.TimeToAck == nil || *ef.TimeToAck != 30*time.Minute ||
		!ef.ContextInsufficient || ef.InternalNotes != 1 || ef.ResolvedAfter == nil || *ef.ResolvedAfter != 50*time.Minute {
		t.Errorf("resolved escalation fact: %+v (ack %v, resolved after %v)", ef, ef.TimeToAck, ef.ResolvedAfter)
	}
	tf = f.ticketFact(id)
	if !tf.Solved || tf.SolvedAt == nil || !tf.SolvedAt.Equal(at(27, 11, 50)) || tf.ReopenedAfterT1Solve {
		t.Errorf("solved ticket's fact: %+v", tf)
	}
}

// TestFactsReopenedAfterTier1Solve: solved in frontline, reopened by the customer, then
// escalated: an under-escalation signal. A return marked unnecessary is an over-escalation one.
func TestFactsReopenedAfterTier1Solve(t *testing.T) {
	f := newClockFx(t, clockPolicy)
	id := f.create(at(27, 9, 0), escalated.PriorityNormal)
	f.message(at(27, 9, 10), id, escalated.AuthorAgent, false)
	solved := escalated.StatusSolved
	f.patch(at(27, 9, 20), id, ticket.Patch{Status: &solved})
	if tf := f.ticketFact(id); !tf.Solved || tf.ReopenedAfterT1Solve {
		t.Fatalf("solved at tier 1: %+v", tf)
	}
	f.message(at(27, 9, 30), id, escalated.AuthorCustomer, false)
	if tf := f.ticketFact(id); tf.Solved || tf.Reopens != 1 || tf.ReopenedAfterT1Solve {
		t.Fatalf("reopened: %+v", tf)
	}
	f.now = at(27, 9, 40).Add(-time.Second) // escalate steps the clock by a second
	e, err := f.escalate(id, ticket.EscalateInput{To: "billing", Reason: escalated.ReasonComplexity, Note: "Still declined after the fix.", By: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if tf := f.ticketFact(id); !tf.ReopenedAfterT1Solve || tf.Escalations != 1 {
		t.Errorf("escalated after a tier-1 solve and reopen: %+v", tf)
	}
	if ef := f.escalationFact(e.ID); ef.ByAgent != "ana" || ef.Trigger != "manual" || ef.TimeToEscalate != 40*time.Minute {
		t.Errorf("manual escalation fact: %+v", ef)
	}
	f.now = at(27, 9, 45)
	if _, err := f.svc.Acknowledge(f.ctx, e.ID, "bea"); err != nil {
		t.Fatal(err)
	}
	no := false
	f.now = at(27, 9, 50)
	if _, err := f.svc.Return(f.ctx, e.ID, ticket.ReturnInput{By: "bea", Reason: "Frontline can reset the card limit.", Necessary: &no}); err != nil {
		t.Fatal(err)
	}
	if ef := f.escalationFact(e.ID); !ef.Returned || !ef.Unnecessary || ef.ResolvedAtTarget || ef.State != "returned" {
		t.Errorf("returned escalation fact: %+v", ef)
	}
}

// TestFactsIntakeWhenEscalatedAtCreation: a rule escalating a ticket as it is created leaves
// the ticket's intake team where it was opened, not where the rule sent it.
func TestFactsIntakeWhenEscalatedAtCreation(t *testing.T) {
	src := strings.Replace(clockPolicy, "rules:\n", `rules:
  - id: urgent-goes-up
    on: [ticket.created]
    when: ticket.priority == "urgent"
    do:
      - escalate: {to: next_tier, reason: priority}
`, 1)
	f := newClockFx(t, src)
	id := f.create(at(27, 9, 0), escalated.PriorityUrgent)
	if d := f.detail(id); d.Ticket.Team != "billing" {
		t.Fatalf("the rule did not escalate at creation: team %s", d.Ticket.Team)
	}
	if tf := f.ticketFact(id); tf.IntakeTeam != "frontline" || tf.IntakeTier != "t1" || tf.FirstAgent != "ana" || tf.Escalations != 1 {
		t.Errorf("fact of a ticket escalated at creation: %+v, want intake frontline/t1, first agent ana", tf)
	}
}

// TestFactsForTicketsFromBeforeAnalytics: a ticket written before analytics existed (no
// tallies) takes the team it is in when first changed as its intake team.
func TestFactsForTicketsFromBeforeAnalytics(t *testing.T) {
	f := newClockFx(t, clockPolicy)
	id := f.create(at(27, 9, 0), escalated.PriorityNormal)
	if err := f.st.Update(f.ctx, func(tx store.Tx) error {
		tk, err := tx.GetTicket(f.ctx, id)
		if err != nil {
			return err
		}
		tk.Analytics = escalated.TicketAnalytics{}
		return tx.UpdateTicket(f.ctx, tk, tk.Version)
	}); err != nil {
		t.Fatal(err)
	}
	f.message(at(27, 9, 30), id, escalated.AuthorCustomer, false)
	var tk *escalated.Ticket
	if err := f.st.View(f.ctx, func(tx store.Tx) error {
		var err error
		tk, err = tx.GetTicket(f.ctx, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if tk.Analytics.IntakeTeam != "frontline" || tk.Analytics.IntakeTier != "t1" {
		t.Errorf("tallies of a ticket from before analytics after a change: %+v", tk.Analytics)
	}
	if tf := f.ticketFact(id); tf.IntakeTeam != "frontline" {
		t.Errorf("its fact: %+v", tf)
	}
}

// TestFactsLateBreachCountsBeforeEscalation: first response was due at 11:00; an agent escalated
// at 11:30 before the engine had fired it (a backlog), which re-planned the overdue clock as due
// at that instant; the engine fired the breach at 11:40. The breach was due by the time of the
// escalation and counts as before it.
func TestFactsLateBreachCountsBeforeEscalation(t *testing.T) {
	f := newClockFx(t, strings.Replace(clockPolicy, "when: sla.target == \"first_response\"", "when: false", 1))
	id := f.create(at(27, 9, 0), escalated.PriorityNormal)
	f.fire(at(27, 10, 0)) // the warning
	f.now = at(27, 11, 30).Add(-time.Second)
	if _, err := f.escalate(id, ticket.EscalateInput{To: "billing", By: "ana"}); err != nil {
		t.Fatal(err)
	}
	if got := f.fire(at(27, 11, 40)); len(got) == 0 {
		t.Fatal("the breach did not fire")
	}
	if tf := f.ticketFact(id); tf.BreachesBeforeEscalation != 1 {
		t.Errorf("a breach due before the escalation but fired after it: %d breaches before escalation, want 1", tf.BreachesBeforeEscalation)
	}
}

// TestRebuildFactsMatchesWhatChangesKept: the rebuild from history gives the rows the changes
// kept as they went (the breach before escalation, the acknowledgement without enough context,
// the internal note, the resolution; the tier-1 solve, reopen and escalation; the unnecessary
// return), also for a ticket whose tallies were lost.
func TestRebuildFactsMatchesWhatChangesKept(t *testing.T) {
	f := newClockFx(t, clockPolicy)
	// Ticket one: breach, rule escalation, acknowledgement, note, resolution.
	one := f.create(at(27, 9, 0), escalated.PriorityNormal)
	f.fire(at(27, 10, 0))
	f.fire(at(27, 11, 0))
	escOne := f.detail(one).Escalations[0].ID
	f.now = at(27, 11, 30)
	no := false
	if _, err := f.svc.AcknowledgeWith(f.ctx, escOne, ticket.AckInput{By: "bea", ContextSufficient: &no}); err != nil {
		t.Fatal(err)
	}
	f.message(at(27, 11, 40), one, escalated.AuthorAgent, true)
	f.now = at(27, 11, 50)
	if _, err := f.svc.Resolve(f.ctx, escOne, "bea", "Unblocked the merchant."); err != nil {
		t.Fatal(err)
	}
	// Ticket two: solved at tier 1, reopened, escalated, returned as unnecessary.
	two := f.create(at(27, 12, 0), escalated.PriorityNormal)
	f.message(at(27, 12, 10), two, escalated.AuthorAgent, false)
	solved := escalated.StatusSolved
	f.patch(at(27, 12, 20), two, ticket.Patch{Status: &solved})
	f.message(at(27, 12, 30), two, escalated.AuthorCustomer, false)
	f.now = at(27, 12, 40)
	escTwo, err := f.escalate(two, ticket.EscalateInput{To: "billing", By: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	f.now = at(27, 12, 50)
	if _, err := f.svc.Acknowledge(f.ctx, escTwo.ID, "bea"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Return(f.ctx, escTwo.ID, ticket.ReturnInput{By: "bea", Reason: "Frontline can do this.", Necessary: &no}); err != nil {
		t.Fatal(err)
	}

	kept := map[string]*store.TicketFact{one: f.ticketFact(one), two: f.ticketFact(two)}
	keptEsc := map[string]*store.EscalationFact{escOne: f.escalationFact(escOne), escTwo.ID: f.escalationFact(escTwo.ID)}
	// Lose ticket two's tallies, as a ticket from before analytics would have none.
	if err := f.st.Update(f.ctx, func(tx store.Tx) error {
		tk, err := tx.GetTicket(f.ctx, two)
		if err != nil {
			return err
		}
		tk.Analytics = escalated.TicketAnalytics{}
		return tx.UpdateTicket(f.ctx, tk, tk.Version)
	}); err != nil {
		t.Fatal(err)
	}
	n, err := f.svc.RebuildFacts(f.ctx, nil)
	if err != nil || n != 2 {
		t.Fatalf("RebuildFacts = %d, %v", n, err)
	}
	for id, want := range kept {
		got := f.ticketFact(id)
		got.MaxFrustration, want.MaxFrustration = 0, 0 // replayed from the current score
		if fmt.Sprintf("%+v", derefFact(got)) != fmt.Sprintf("%+v", derefFact(want)) {
			t.Errorf("ticket %s rebuilt:\n got  %+v\n want %+v", id, derefFact(got), derefFact(want))
		}
	}
	for id, want := range keptEsc {
		if got := f.escalationFact(id); fmt.Sprintf("%+v", derefEsc(got)) != fmt.Sprintf("%+v", derefEsc(want)) {
			t.Errorf("escalation %s rebuilt:\n got  %+v\n want %+v", id, derefEsc(got), derefEsc(want))
		}
	}
}

// derefFact renders a ticket fact's pointer times as values, for comparing two of them.
func derefFact(f *store.TicketFact) string {
	return fmt.Sprintf("%+v solved_at=%v first_escalated=%v", *f, deref(f.SolvedAt), deref(f.FirstEscalatedAt))
}

func derefEsc(f *store.EscalationFact) string {
	return fmt.Sprintf("%+v ack=%v tta=%v after=%v", *f, deref(f.AcknowledgedAt), derefD(f.TimeToAck), derefD(f.ResolvedAfter))
}

func deref(t *time.Time) string {
	if t == nil {
		return "nil"
	}
	return t.UTC().String()
}

func derefD(d *time.Duration) string {
	if d == nil {
		return "nil"
	}
	return d.String()
}

// TestFactsFollowAccountTier: a second ticket that says the account is now enterprise moves the
// first ticket's row to enterprise too.
func TestFactsFollowAccountTier(t *testing.T) {
	f := newClockFx(t, clockPolicy)
	first := f.create(at(27, 9, 0), escalated.PriorityNormal) // acme, pro
	f.now = at(27, 9, 5)
	if _, err := f.svc.CreateTicket(f.ctx, ticket.CreateInput{
		Subject: "Invoices", Account: &escalated.Account{ID: "acme", Tier: "enterprise"},
		Message: &ticket.MessageInput{Author: escalated.Author{Kind: escalated.AuthorCustomer}, Body: "We upgraded."},
	}); err != nil {
		t.Fatal(err)
	}
	if tf := f.ticketFact(first); tf.CustomerTier != "enterprise" {
		t.Errorf("the first ticket's row has tier %q after the account became enterprise", tf.CustomerTier)
	}
}
