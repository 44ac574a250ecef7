package ticket_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/handoff"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/ticket"
)

// TestPackageAndIndexReadTheConversationsEnds: an escalation's package quotes the ticket's
// first public customer message and its last handoff.ConversationLength messages, and a solved
// ticket is indexed with its first public customer message and its last public agent reply,
// when the conversation is longer than what either reads (store.History.PickMessages): a bot's
// greeting and an agent's internal note come before the customer's question, an agent's
// internal note after the last public reply.
func TestPackageAndIndexReadTheConversationsEnds(t *testing.T) {
	f := newClockFx(t, routeBenchPolicy)
	d, err := f.svc.CreateTicket(f.ctx, ticket.CreateInput{Subject: "Refund for a double charge",
		Message: &ticket.MessageInput{Author: escalated.Author{Kind: escalated.AuthorBot, ID: "bot"}, Body: "Hello, I am the assistant."}})
	if err != nil {
		t.Fatal(err)
	}
	id := d.Ticket.ID
	add := func(kind escalated.AuthorKind, internal bool, body string) {
		t.Helper()
		a := escalated.Author{Kind: kind}
		if kind == escalated.AuthorAgent {
			a.ID = "ana"
		}
		if _, err := f.svc.AddMessage(f.ctx, id, ticket.MessageInput{Author: a, Body: body, Internal: internal}); err != nil {
			t.Fatal(err)
		}
	}
	add(escalated.AuthorAgent, true, "Looks like the payment provider's retry.")
	add(escalated.AuthorCustomer, false, "I was charged twice for order 1182; please refund one payment.")
	var bodies []string
	for i := range 14 {
		kind := escalated.AuthorCustomer
		if i%2 == 0 {
			kind = escalated.AuthorAgent
		}
		body := fmt.Sprintf("Message %d of the back and forth.", i+1)
		add(kind, false, body)
		bodies = append(bodies, body)
	}
	add(escalated.AuthorAgent, false, "The second payment is refunded; it shows within five days.")
	add(escalated.AuthorAgent, true, "Closed the loop with finance.")
	bodies = append(bodies, "The second payment is refunded; it shows within five days.", "Closed the loop with finance.")

	e, err := f.svc.Escalate(f.ctx, id, ticket.EscalateInput{To: "billing", Reason: escalated.Reason("complexity"),
		Note: "Finance has to confirm the refund went out.", By: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	p := e.Package
	if p == nil || p.OriginalMessage == nil {
		t.Fatalf("package %+v: want the original message", p)
	}
	if got, want := p.OriginalMessage.Body, "I was charged twice for order 1182; please refund one payment."; got != want {
		t.Errorf("original message %q, want the first public customer message %q", got, want)
	}
	var conv []string
	for _, m := range p.Conversation {
		conv = append(conv, m.Body)
	}
	if want := bodies[len(bodies)-handoff.ConversationLength:]; !slices.Equal(conv, want) {
		t.Errorf("conversation\n%q\nwant the last %d messages\n%q", conv, handoff.ConversationLength, want)
	}

	// Returned, then solved by frontline: with no resolving escalation's note the index takes
	// the last public agent reply.
	if _, err := f.svc.Acknowledge(f.ctx, e.ID, "bea"); err != nil {
		t.Fatal(err)
	}
	necessary := true
	if _, err := f.svc.Return(f.ctx, e.ID, ticket.ReturnInput{By: "bea", Reason: "Finance confirmed the refund.", Necessary: &necessary}); err != nil {
		t.Fatal(err)
	}
	solved := escalated.StatusSolved
	if err := f.svc.ApplyPatch(f.ctx, id, ticket.Patch{Status: &solved, By: "ana"}); err != nil {
		t.Fatal(err)
	}
	var found []store.SimilarTicket
	err = f.st.View(f.ctx, func(tx store.Tx) error {
		var err error
		found, err = tx.SimilarResolved(f.ctx, "charged twice refund payment order", "", 5)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].TicketID != id {
		t.Fatalf("similar resolved tickets %+v: want the solved ticket, found by its first customer message", found)
	}
	if got, want := found[0].Resolution, "The second payment is refunded; it shows within five days."; got != want {
		t.Errorf("indexed resolution %q, want the last public agent reply %q", got, want)
	}
}
