package notify

import (
	"context"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/store"
)

// AuditDeliveryRetried is the audit action of a re-queued delivery.
const AuditDeliveryRetried = "delivery.retried"

// Service is the outbox as the API sees it: listing deliveries and re-queueing dead letters,
// for admins and supervisors.
type Service struct {
	store store.Store
	now   func() time.Time
	kick  func()
}

// NewService returns the outbox service. kick, when set, wakes this node's dispatcher after a
// retry (a retry announces nothing through the store).
func NewService(st store.Store, now func() time.Time, kick func()) *Service {
	if kick == nil {
		kick = func() {}
	}
	return &Service{store: st, now: now, kick: kick}
}

// ListDeliveries returns a page of deliveries, newest first.
func (s *Service) ListDeliveries(ctx context.Context, f store.DeliveryFilter) ([]*store.Delivery, string, error) {
	if _, err := access.Authorize(ctx, access.ManageDeliveries); err != nil {
		return nil, "", err
	}
	if f.State != "" && !f.State.Valid() {
		return nil, "", escalated.Invalid("state", "must be one of pending, delivered, failed, dead")
	}
	f.Limit = store.ClampLimit(f.Limit)
	var items []*store.Delivery
	var next string
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		items, next, err = tx.ListDeliveries(ctx, f)
		return err
	})
	return items, next, err
}

// RetryDelivery re-queues a failed or dead delivery, due now, and audits who asked.
func (s *Service) RetryDelivery(ctx context.Context, id string) (*store.Delivery, error) {
	p, err := access.Authorize(ctx, access.ManageDeliveries)
	if err != nil {
		return nil, err
	}
	now := escalated.Truncate(s.now())
	var d *store.Delivery
	err = s.store.Update(ctx, func(tx store.Tx) error {
		var err error
		if d, err = tx.RetryDelivery(ctx, id, now); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &escalated.AuditRecord{
			ID: escalated.NewID(escalated.PrefixAudit, now), Actor: p.Actor(), Action: AuditDeliveryRetried,
			ObjectKind: "delivery", ObjectID: id,
			Details:   map[string]any{"ticket_id": d.TicketID, "channel": d.Channel, "event_type": d.EventType},
			CreatedAt: now,
		})
	})
	if err != nil {
		return nil, err
	}
	s.kick()
	return d, nil
}
