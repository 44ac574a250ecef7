package ticket_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/signals"
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

// factsPolicy is a small organisation on an always-open calendar (no SLA, so no breach gets in
// the way): two tier-2 teams that may hand tickets to each other, and a rule that sends a ticket
// back to billing when the customer writes while integrations holds it, which is ping-pong when
// billing let it go within the hour. Packages must carry four fields; tickets here have no
// customer record, so a first escalation's package has two of four (no prior escalations, no
// customer) and a later one three.
const factsPolicy = `version: 1
intake: frontline
calendars:
  - id: always
    timezone: UTC
    hours: {mon-sun: "00:00-24:00"}
tiers:
  - {id: t1, name: Frontline, level: 1}
  - {id: t2, name: Specialists, level: 2}
teams:
  - {id: frontline, tier: t1, calendar: always}
  - {id: billing, tier: t2, calendar: always}
  - {id: integrations, tier: t2, calendar: always}
agents:
  - {id: ana, name: Ana, teams: [frontline]}
  - {id: bea, name: Bea, teams: [billing]}
  - {id: ben, name: Ben, teams: [integrations]}
paths:
  - {from: frontline, to: [billing, integrations]}
  - {from: billing, to: integrations}
  - {from: integrations, to: billing}
escalation:
  note_min_length: 5
  max_per_ticket: 10
  required_package_fields: [note, prior_escalations, account, customer]
rules:
  - id: bounce-back
    on: [message.added]
    when: ticket.team == "integrations" && message.author == "customer"
    do:
      - escalate: {to: billing, reason: other, note: "Billing owns refunds."}
`

// say adds a message to ticket id at when and returns it.
func (f *clockFx) say(when time.Time, id string, kind escalated.AuthorKind, agent string, internal bool, body string) *escalated.Message {
	f.t.Helper()
	f.now = when
	in := ticket.MessageInput{Author: escalated.Author{Kind: kind, ID: agent, Name: "someone"}, Body: body, Internal: internal}
	m, err := f.svc.AddMessage(f.ctx, id, in)
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

// escalateAt is a manual escalation made at exactly when.
func (f *clockFx) escalateAt(when time.Time, id, to, by string) *escalated.Escalation {
	f.t.Helper()
	f.now = when
	e, err := f.svc.Escalate(f.ctx, id, ticket.EscalateInput{To: to, By: by, Reason: escalated.ReasonComplexity, Note: "Tried a card reset; needs " + to + "."})
	if err != nil {
		f.t.Fatal(err)
	}
	return e
}

func (f *clockFx) ackAt(when time.Time, escID, by string, sufficient *bool) {
	f.t.Helper()
	f.now = when
	if _, err := f.svc.AcknowledgeWith(f.ctx, escID, ticket.AckInput{By: by, ContextSufficient: sufficient}); err != nil {
		f.t.Fatal(err)
	}
}

// wantTicketFact and wantEscalationFact compare every field of a row with the one worked out
// by hand (times by value, pointers by what they point to).
func wantTicketFact(t *testing.T, what string, got, want *store.TicketFact) {
	t.Helper()
	if derefFact(got) != derefFact(want) {
		t.Errorf("%s:\n got  %s\n want %s", what, derefFact(got), derefFact(want))
	}
}

func wantEscalationFact(t *testing.T, what string, got, want *store.EscalationFact) {
	t.Helper()
	if derefEsc(got) != derefEsc(want) {
		t.Errorf("%s:\n got  %s\n want %s", what, derefEsc(got), derefEsc(want))
	}
}

// customerTrend is the sentiments of the ticket's customer messages, oldest first, as stored
// with each message.
func (f *clockFx) customerTrend(id string) []float64 {
	f.t.Helper()
	var out []float64
	if err := f.st.View(f.ctx, func(tx store.Tx) error {
		ms, err := tx.ListMessages(f.ctx, id)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if m.Author.Kind == escalated.AuthorCustomer {
				out = append(out, m.Signals.Sentiment)
			}
		}
		return nil
	}); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// TestFactsOfAFullEscalationStory derives every field of the rows from real service actions:
// frontline escalates to billing (acknowledged with context_sufficient=false), billing
// re-escalates to integrations (acknowledged with context_sufficient=true), the customer's
// next message makes the rule send the ticket back to billing ten minutes after billing let it
// go (ping-pong), and billing resolves it after an internal note. The customer's angry message
// sets the highest frustration; an agent's angry message does not count, and a calmer
// customer message later lowers the score but not the highest. A second ticket is returned as
// unnecessary.
func TestFactsOfAFullEscalationStory(t *testing.T) {
	f := newClockFx(t, factsPolicy)
	clock := func(h, m int) time.Time { return time.Date(2026, time.November, 27, h, m, 0, 0, time.UTC) }
	dur := func(d time.Duration) *time.Duration { return &d }
	no, yes := false, true
	create := func(when time.Time) string {
		f.now = when
		d, err := f.svc.CreateTicket(f.ctx, ticket.CreateInput{
			Subject: "Card declined", Channel: escalated.ChannelEmail, IssueType: "payment_issue",
			Account: &escalated.Account{ID: "acme", Name: "Acme", Tier: "pro"},
			Message: &ticket.MessageInput{Author: escalated.Author{Kind: escalated.AuthorCustomer, Name: "Kim"}, Body: "My card was declined twice."},
		})
		if err != nil {
			t.Fatal(err)
		}
		return d.Ticket.ID
	}
	frustration := func(id string) float64 { return f.detail(id).Ticket.Signals.Frustration }

	id := create(clock(10, 0))
	calm := frustration(id)
	if tf := f.ticketFact(id); tf.MaxFrustration != calm {
		t.Fatalf("new ticket: max frustration %v, want the first message's %v", tf.MaxFrustration, calm)
	}
	// An agent's angry words say nothing about the customer's mood.
	f.say(clock(10, 5), id, escalated.AuthorAgent, "ana", false, "This is terrible, awful, the worst mess I have ever seen. I hate it!")
	if got, tf := frustration(id), f.ticketFact(id); got != calm || tf.MaxFrustration != calm {
		t.Fatalf("after an agent's angry message: frustration %v, max %v; want both unchanged at %v", got, tf.MaxFrustration, calm)
	}
	// The customer's do: the score is the documented formula over the stored sentiments.
	f.say(clock(10, 10), id, escalated.AuthorCustomer, "", false, "This is absolutely terrible! I am furious, the worst service ever. Horrible!")
	angry := frustration(id)
	trend := f.customerTrend(id)
	if want := signals.Frustration(trend, 0, 2, false); angry != want || angry < 0.5 || angry <= calm {
		t.Fatalf("after the customer's angry message (sentiments %v): frustration %v, want %v, at least 0.5 and above %v", trend, angry, want, calm)
	}

	e1 := f.escalateAt(clock(10, 20), id, "billing", "ana")
	f.ackAt(clock(10, 30), e1.ID, "bea", &no)
	e2 := f.escalateAt(clock(10, 40), id, "integrations", "bea")
	f.ackAt(clock(10, 45), e2.ID, "ben", &yes)
	// A calmer customer message: the rule sends the ticket back to billing, which it left ten
	// minutes ago.
	f.say(clock(10, 50), id, escalated.AuthorCustomer, "", false, "Thanks, that is great, much appreciated!")
	dt := f.detail(id)
	if len(dt.Escalations) != 3 || dt.Ticket.Team != "billing" {
		t.Fatalf("the rule did not escalate back: team %s, %d escalations", dt.Ticket.Team, len(dt.Escalations))
	}
	var e3 *escalated.Escalation
	for _, e := range dt.Escalations {
		if e.ID != e1.ID && e.ID != e2.ID {
			e3 = e
		}
	}
	if later := dt.Ticket.Signals.Frustration; later >= angry {
		t.Fatalf("a calmer message left frustration at %v, not below the highest %v: the test cannot tell the highest from the last", later, angry)
	}
	f.ackAt(clock(11, 0), e3.ID, "bea", nil)
	f.say(clock(11, 5), id, escalated.AuthorAgent, "bea", true, "Issuer blocked the merchant; asked them to lift it.")
	f.now = clock(11, 15)
	if _, err := f.svc.Resolve(f.ctx, e3.ID, "bea", "The issuer lifted the block."); err != nil {
		t.Fatal(err)
	}

	solvedAt, firstEsc := clock(11, 15), clock(10, 20)
	wantTicketFact(t, "the story's ticket", f.ticketFact(id), &store.TicketFact{
		TicketID: id, CreatedAt: clock(10, 0), IssueType: "payment_issue", Channel: "email", CustomerTier: "pro", AccountID: "acme",
		IntakeTeam: "frontline", IntakeTier: "t1", FirstAgent: "ana", Solved: true, SolvedAt: &solvedAt,
		Escalations: 3, FirstEscalatedAt: &firstEsc, Reopens: 0, BreachesBeforeEscalation: 0, ReopenedAfterT1Solve: false,
		MaxFrustration: angry, PingPongs: 1,
	})
	ack1, ack2, ack3 := clock(10, 30), clock(10, 45), clock(11, 0)
	common := store.EscalationFact{TicketID: id, IssueType: "payment_issue", Channel: "email", CustomerTier: "pro", AccountID: "acme"}
	want1 := common
	want1.EscalationID, want1.CreatedAt, want1.FromTeam, want1.ToTeam, want1.FromTier, want1.ToTier = e1.ID, clock(10, 20), "frontline", "billing", "t1", "t2"
	want1.ByAgent, want1.Trigger, want1.Reason, want1.TimeToEscalate = "ana", "manual", "complexity", 20*time.Minute
	want1.AcknowledgedAt, want1.TimeToAck, want1.State, want1.ReEscalated = &ack1, dur(10*time.Minute), "escalated", true
	want1.Completeness, want1.ContextInsufficient = 0.5, true // note and account; no prior escalation, no customer
	wantEscalationFact(t, "frontline -> billing, acknowledged without enough context, re-escalated", f.escalationFact(e1.ID), &want1)

	want2 := common
	want2.EscalationID, want2.CreatedAt, want2.FromTeam, want2.ToTeam, want2.FromTier, want2.ToTier = e2.ID, clock(10, 40), "billing", "integrations", "t2", "t2"
	want2.ByAgent, want2.Trigger, want2.Reason, want2.TimeToEscalate = "bea", "manual", "complexity", 40*time.Minute
	want2.AcknowledgedAt, want2.TimeToAck, want2.State, want2.ReEscalated = &ack2, dur(5*time.Minute), "escalated", true
	want2.Completeness = 0.75 // the prior escalation is there now
	wantEscalationFact(t, "billing -> integrations, acknowledged with enough context, re-escalated by the rule", f.escalationFact(e2.ID), &want2)

	want3 := common
	want3.EscalationID, want3.CreatedAt, want3.FromTeam, want3.ToTeam, want3.FromTier, want3.ToTier = e3.ID, clock(10, 50), "integrations", "billing", "t2", "t2"
	want3.Trigger, want3.Reason, want3.RuleID, want3.TimeToEscalate = "rule", "other", "bounce-back", 50*time.Minute
	want3.AcknowledgedAt, want3.TimeToAck, want3.State, want3.ResolvedAtTarget = &ack3, dur(10*time.Minute), "resolved", true
	want3.ResolvedAfter, want3.InternalNotes, want3.Completeness, want3.PingPong = dur(25*time.Minute), 1, 0.75, true
	wantEscalationFact(t, "integrations -> billing by the rule (ping-pong), resolved at the target", f.escalationFact(e3.ID), &want3)

	// Ticket two: escalated, acknowledged, returned as unnecessary; back in frontline, open.
	two := create(clock(12, 0))
	r := f.escalateAt(clock(12, 10), two, "integrations", "ana")
	f.ackAt(clock(12, 20), r.ID, "ben", nil)
	f.now = clock(12, 30)
	if _, err := f.svc.Return(f.ctx, r.ID, ticket.ReturnInput{By: "ben", Reason: "Frontline can reset the card limit.", Necessary: &no}); err != nil {
		t.Fatal(err)
	}
	firstEsc2, ack := clock(12, 10), clock(12, 20)
	wantTicketFact(t, "the returned ticket", f.ticketFact(two), &store.TicketFact{
		TicketID: two, CreatedAt: clock(12, 0), IssueType: "payment_issue", Channel: "email", CustomerTier: "pro", AccountID: "acme",
		IntakeTeam: "frontline", IntakeTier: "t1", FirstAgent: "ana", Escalations: 1, FirstEscalatedAt: &firstEsc2,
		MaxFrustration: signals.Frustration(f.customerTrend(two), 0, 1, false),
	})
	wantR := common
	wantR.TicketID, wantR.EscalationID, wantR.CreatedAt, wantR.FromTeam, wantR.ToTeam, wantR.FromTier, wantR.ToTier = two, r.ID, clock(12, 10), "frontline", "integrations", "t1", "t2"
	wantR.ByAgent, wantR.Trigger, wantR.Reason, wantR.TimeToEscalate = "ana", "manual", "complexity", 10*time.Minute
	wantR.AcknowledgedAt, wantR.TimeToAck, wantR.State, wantR.Returned, wantR.Unnecessary = &ack, dur(10*time.Minute), "returned", true, true
	wantR.Completeness = 0.5
	wantEscalationFact(t, "returned as unnecessary", f.escalationFact(r.ID), &wantR)

	// The rebuild from history agrees with what the changes kept (the highest frustration
	// aside, which history does not keep).
	keep := map[string]string{id: derefFact(f.ticketFact(id)), two: derefFact(f.ticketFact(two))}
	keepEsc := map[string]string{}
	for _, e := range []string{e1.ID, e2.ID, e3.ID, r.ID} {
		keepEsc[e] = derefEsc(f.escalationFact(e))
	}
	if _, err := f.svc.RebuildFacts(f.ctx, nil); err != nil {
		t.Fatal(err)
	}
	for tid, want := range keep {
		got := f.ticketFact(tid)
		if tid == id {
			got.MaxFrustration = angry
		}
		if derefFact(got) != want {
			t.Errorf("ticket %s rebuilt:\n got  %s\n want %s", tid, derefFact(got), want)
		}
	}
	for eid, want := range keepEsc {
		if got := derefEsc(f.escalationFact(eid)); got != want {
			t.Errorf("escalation %s rebuilt:\n got  %s\n want %s", eid, got, want)
		}
	}
}

// TestFactsNoteThatMakesARuleEscalate: an internal note written while an escalation holds the
// ticket counts on it, also when a rule reacting to the note escalates further in the same
// change; the escalation the rule made has none. The rebuild counts it the same way.
func TestFactsNoteThatMakesARuleEscalate(t *testing.T) {
	src := strings.Replace(factsPolicy, `when: ticket.team == "integrations" && message.author == "customer"`,
		`when: ticket.team == "integrations" && message.internal`, 1)
	f := newClockFx(t, src)
	clock := func(h, m int) time.Time { return time.Date(2026, time.November, 27, h, m, 0, 0, time.UTC) }
	id := f.create(clock(10, 0), escalated.PriorityNormal)
	first := f.escalateAt(clock(10, 10), id, "integrations", "ana")
	f.ackAt(clock(10, 20), first.ID, "ben", nil)
	f.say(clock(10, 30), id, escalated.AuthorAgent, "ben", true, "Billing must refund this one.")
	d := f.detail(id)
	if len(d.Escalations) != 2 || d.Ticket.Team != "billing" {
		t.Fatalf("the note did not make the rule escalate: team %s, %d escalations", d.Ticket.Team, len(d.Escalations))
	}
	second := d.Ticket.ActiveEscalation
	check := func(when string) {
		t.Helper()
		if got := f.escalationFact(first.ID); got.InternalNotes != 1 || !got.ReEscalated {
			t.Errorf("%s: the escalation that held the ticket: %d notes, re-escalated %v; want 1, true", when, got.InternalNotes, got.ReEscalated)
		}
		if got := f.escalationFact(second); got.InternalNotes != 0 || got.RuleID != "bounce-back" {
			t.Errorf("%s: the rule's escalation: %d notes (rule %q), want 0", when, got.InternalNotes, got.RuleID)
		}
	}
	check("as kept")
	if _, err := f.svc.RebuildFacts(f.ctx, nil); err != nil {
		t.Fatal(err)
	}
	check("rebuilt")
}
