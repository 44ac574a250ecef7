package simulate

import (
	"context"
	"reflect"
	"testing"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/docs/examples"
	"github.com/escalated/escalated/internal/history"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/ticket"
)

// TestAheadSignals: the signals computed ahead are those of the message of the event asked
// for, equal to what the service computes; events without a message (or of other types) get
// none, and events the replay passes over without asking do not shift the rest.
func TestAheadSignals(t *testing.T) {
	pol, err := policy.Parse("policy.yaml", examples.Policy)
	if err != nil {
		t.Fatal(err)
	}
	x, err := ticket.NewExtractor(pol)
	if err != nil {
		t.Fatal(err)
	}
	live := &ticket.Live{Policy: pol, Signals: x}
	msg := func(typ, body string) history.Event {
		return history.Event{Type: typ, Message: &history.Message{Author: escalated.Author{Kind: escalated.AuthorCustomer}, Body: body}}
	}
	events := []history.Event{
		msg(history.TicketCreated, "I was charged twice and nobody answers, this is ridiculous"),
		msg(history.MessageAdded, "Thanks, that fixed it!"),
		{Type: history.TicketUpdated},
		msg(history.MessageAdded, "I want to talk to a human, my lawyer is waiting"),
		msg(history.HandoffReceived, "not a message the replay hands over"),
		msg(history.MessageAdded, "Still broken after the update. Cancel my account."),
		msg(history.MessageAdded, "never asked for"),
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := startAhead(ctx, live, events)
	for _, i := range []int{0, 2, 3, 4, 5} { // 1 passed over
		got := a.signals(i)
		if !carriesMessage(&events[i]) {
			if got != nil {
				t.Errorf("event %d (%s): signals %+v, want none", i, events[i].Type, *got)
			}
			continue
		}
		want := live.MessageSignals(events[i].Message.Body)
		if got == nil || !reflect.DeepEqual(*got, want) {
			t.Errorf("event %d: signals %+v, want %+v", i, got, want)
		}
	}
	// Cancelling ends the goroutine even when the replay stops asking.
	cancel()
	for range a.out {
	}
}
