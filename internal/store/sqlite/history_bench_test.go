package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// BenchmarkEscalationReads reads what an escalation reads of a ticket with a long conversation
// (400 messages, every other one its agent's, each with its message.added event, and a status
// change every tenth), in the store's one writer: for routing, who last worked the ticket in a
// team, from the whole history (history/all-events: ListEvents, what routing read until
// 2026-11-29, the baseline) or from the work events alone (history/work-events:
// ListWorkEvents with the ticket service's workTypes); for the handoff package, the first
// public customer message and the last ten, from the whole conversation (package/all-messages:
// ListMessages, the baseline) or picked (package/picked: two PickMessages).
//
//	go test ./internal/store/sqlite -run '^$' -bench EscalationReads -benchtime 500x
func BenchmarkEscalationReads(b *testing.B) {
	ctx := context.Background()
	db := mustOpen(b)
	tk := benchTickets(b, db, 1)[0]
	body := strings.Repeat("I have tried every step from your help page and the invoice is still wrong. ", 4)
	err := db.Update(ctx, func(tx store.Tx) error {
		seq := int64(0)
		for i := range 400 {
			seq++
			m := benchMessage(tk.ID, seq)
			m.Body = body
			actor := "customer"
			if i%2 == 1 {
				m.Author = escalated.Author{Kind: escalated.AuthorAgent, ID: "ana", Name: "Ana"}
				actor = "agent:ana"
			}
			if err := tx.AddMessage(ctx, m); err != nil {
				return err
			}
			e := &escalated.Event{ID: escalated.NewID(escalated.PrefixEvent, time.Now()), TicketID: tk.ID, Seq: seq,
				Type: escalated.EventMessageAdded, Actor: actor, Data: map[string]any{"message_id": m.ID}, CreatedAt: time.Now()}
			if err := tx.AppendEvent(ctx, e); err != nil {
				return err
			}
			if i%10 == 9 {
				seq++
				u := &escalated.Event{ID: escalated.NewID(escalated.PrefixEvent, time.Now()), TicketID: tk.ID, Seq: seq,
					Type: escalated.EventTicketUpdated, Actor: "agent:ana", CreatedAt: time.Now(),
					Data: map[string]any{"changes": map[string]any{"status": map[string]any{"from": "open", "to": "pending"}}}}
				if err := tx.AppendEvent(ctx, u); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// internal/ticket's workTypes (routing.go), spelled out: this package cannot import it.
	workTypes := []string{escalated.EventTicketCreated, "ticket.routed", escalated.EventEscalationCreated,
		escalated.EventEscalationAcknowledged, escalated.EventTicketUpdated}
	for _, c := range []struct {
		name string
		read func(tx store.Tx) (int, error) // how many rows it returned
	}{
		{"history/all-events", func(tx store.Tx) (int, error) {
			evs, err := tx.ListEvents(ctx, tk.ID)
			return len(evs), err
		}},
		{"history/work-events", func(tx store.Tx) (int, error) {
			evs, err := tx.ListWorkEvents(ctx, tk.ID, workTypes)
			return len(evs), err
		}},
		{"package/all-messages", func(tx store.Tx) (int, error) {
			ms, err := tx.ListMessages(ctx, tk.ID)
			return len(ms), err
		}},
		{"package/picked", func(tx store.Tx) (int, error) {
			first, err := tx.PickMessages(ctx, tk.ID, store.MessagePick{Kind: escalated.AuthorCustomer, Public: true, Limit: 1})
			if err != nil {
				return 0, err
			}
			last, err := tx.PickMessages(ctx, tk.ID, store.MessagePick{Last: true, Limit: 10})
			return len(first) + len(last), err
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				err := db.View(ctx, func(tx store.Tx) error {
					var err error
					n, err = c.read(tx)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "rows")
			if n == 0 {
				b.Fatalf("%s read no events", c.name)
			}
		})
	}
}
