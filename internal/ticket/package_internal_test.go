package ticket

import (
	"fmt"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/handoff"
	"github.com/escalated/escalated/internal/store"
)

// TestPackageMessagesShortAndLong: packageMessages finds the first public customer message
// of a conversation short enough to be read whole by its last-messages pick, and of one too
// long for that (then by a pick of its own), and none in a conversation without one.
func TestPackageMessagesShortAndLong(t *testing.T) {
	ctx, st, svc := newInternalService(t, time.Now)
	d, err := svc.CreateTicket(ctx, CreateInput{Subject: "Refund",
		Message: &MessageInput{Author: escalated.Author{Kind: escalated.AuthorBot, ID: "bot"}, Body: "Hello, I am the assistant."}})
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
		if _, err := svc.AddMessage(ctx, id, MessageInput{Author: a, Body: body, Internal: internal}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string, want string, recent int) {
		t.Helper()
		err := st.View(ctx, func(tx store.Tx) error {
			original, msgs, err := packageMessages(ctx, tx, id)
			if err != nil {
				return err
			}
			got := ""
			if original != nil {
				got = original.Body
			}
			if got != want || len(msgs) != recent {
				t.Errorf("%s: original %q and %d recent messages, want %q and %d", when, got, len(msgs), want, recent)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	add(escalated.AuthorAgent, true, "Looks like the provider's retry.")
	check("no customer message yet", "", 2)
	add(escalated.AuthorCustomer, false, "I was charged twice.")
	add(escalated.AuthorAgent, false, "Looking into it.")
	check("a short conversation", "I was charged twice.", 4)
	for i := range handoff.ConversationLength {
		add(escalated.AuthorCustomer, false, fmt.Sprintf("Any news? (%d)", i))
	}
	check("a long conversation", "I was charged twice.", handoff.ConversationLength)
}
