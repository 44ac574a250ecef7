package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/app"
	"github.com/escalated/escalated/internal/config"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/ticket"
)

// TestChangesReachOtherNodes: a ticket created and escalated through node A's API is announced
// on node B's change stream (LISTEN/NOTIFY), in order, without polling.
func TestChangesReachOtherNodes(t *testing.T) {
	db := pgSchema(t)
	a := startServerOn(t, db)
	cfg := config.Default()
	cfg.DB, cfg.Addr, cfg.PolicyPath = db, "127.0.0.1:0", "testdata/policy.yaml"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := app.New(ctx, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Store.Close()
	changes, err := b.Store.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	id := a.do(agent, "POST", "/v1/tickets", newTicket(1)).must(t, 201).str("id")
	a.do(agent, "POST", "/v1/tickets/"+id+"/escalations", map[string]any{"to": "billing", "reason": "other", "note": longNote}).must(t, 201)

	want := []store.Change{
		{TicketID: id, Seq: 1, Type: escalated.EventTicketCreated},
		{TicketID: id, Seq: 2, Type: ticket.EventTicketRouted},
		{TicketID: id, Seq: 3, Type: escalated.EventMessageAdded},
		{TicketID: id, Seq: 4, Type: escalated.EventEscalationCreated},
		{TicketID: id, Seq: 5, Type: ticket.EventTicketRouted},
		{TicketID: id, Seq: 6, Type: escalated.EventTicketUpdated},
	}
	deadline := time.After(5 * time.Second)
	i := 0
	for i < len(want) {
		select {
		case c := <-changes:
			if c.TicketID != id || c.Type == store.ChangeDeadline {
				continue // deadline announcements are the engine's; this test follows history
			}
			if c != want[i] {
				t.Fatalf("change %d on node B = %+v, want %+v", i, c, want[i])
			}
			i++
		case <-deadline:
			t.Fatalf("node B heard %d of %d changes within 5s", i, len(want))
		}
	}
	t.Logf("node B heard all %d changes %v after the first request started", len(want), time.Since(start).Round(time.Millisecond))
}
