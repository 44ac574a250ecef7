package ticket

import (
	"context"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/notify"
	"github.com/escalated/escalated/internal/store"
)

// enqueueDeliveries writes the change's notifications to the outbox, in the change's own
// transaction, so that they exist exactly when the change does and leave the process (through
// the dispatcher) only after it committed. Every event goes to every channel whose events list
// names its type (all types when the list is absent); a notification.requested event, written
// by a rule's notify action, goes to the channel it names and nowhere else. commit calls it
// last, when the ticket and the change's events are final.
func (s *Service) enqueueDeliveries(ctx context.Context, tx store.Tx, ch *change, live *Live) error {
	if live == nil || len(live.Channels) == 0 {
		return nil
	}
	for _, ev := range ch.events {
		var targets []*notify.Channel
		if ev.Type == escalated.EventNotificationRequested {
			name, _ := ev.Data["channel"].(string)
			for i := range live.Channels {
				if live.Channels[i].ID == name {
					targets = append(targets, &live.Channels[i])
				}
			}
		} else {
			for i := range live.Channels {
				if live.Channels[i].Wants(ev.Type) {
					targets = append(targets, &live.Channels[i])
				}
			}
		}
		if len(targets) == 0 {
			continue
		}
		var esc *escalated.Escalation
		if id, ok := ev.Data["escalation_id"].(string); ok {
			esc = ch.escs[id]
		}
		payload, err := notify.BuildPayload(ev, ch.t, esc)
		if err != nil {
			return err
		}
		for _, c := range targets {
			d := &store.Delivery{
				ID: escalated.NewID(escalated.PrefixDelivery, ch.now), TicketID: ch.t.ID, Seq: ev.Seq,
				Channel: c.ID, EventType: ev.Type, EventID: ev.ID, Payload: payload,
				State: store.DeliveryPending, NextAttemptAt: ch.now, CreatedAt: ch.now, QueuedAt: ch.now,
			}
			if err := tx.EnqueueDelivery(ctx, d); err != nil {
				return err
			}
		}
	}
	return nil
}
