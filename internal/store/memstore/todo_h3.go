package memstore

import (
	"context"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// Stubs of Deadlines, Outbox, Feed: replaced by the real methods.

var _ = escalated.Truncate
var _ time.Time

func (x *tx) ScheduleDeadline(ctx context.Context, d *store.Deadline) error      { return errTodo() }
func (x *tx) CancelDeadlines(ctx context.Context, ticketID, target string) error { return errTodo() }
func (x *tx) ClaimDue(ctx context.Context, now time.Time, n int) ([]*store.Deadline, error) {
	return nil, errTodo()
}
func (x *tx) ClaimDeadline(ctx context.Context, id string, now time.Time) (*store.Deadline, error) {
	return nil, errTodo()
}
func (x *tx) NextDue(ctx context.Context, except ...string) (time.Time, error) {
	return time.Time{}, errTodo()
}
func (x *tx) CountDeadlines(ctx context.Context, now time.Time) (pending, overdue int64, err error) {
	return 0, 0, errTodo()
}
func (x *tx) EnqueueDelivery(ctx context.Context, d *store.Delivery) error { return errTodo() }
func (x *tx) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, n int) ([]*store.Delivery, error) {
	return nil, errTodo()
}
func (x *tx) NextDeliveryAt(ctx context.Context) (time.Time, error)       { return time.Time{}, errTodo() }
func (x *tx) UpdateDelivery(ctx context.Context, d *store.Delivery) error { return errTodo() }
func (x *tx) GetDelivery(ctx context.Context, id string) (*store.Delivery, error) {
	return nil, errTodo()
}
func (x *tx) ListDeliveries(ctx context.Context, f store.DeliveryFilter) ([]*store.Delivery, string, error) {
	return nil, "", errTodo()
}
func (x *tx) RetryDelivery(ctx context.Context, id string, now time.Time) (*store.Delivery, error) {
	return nil, errTodo()
}
func (x *tx) CountDeliveries(ctx context.Context) (map[store.DeliveryState]int64, error) {
	return nil, errTodo()
}
func (x *tx) ReadFeed(ctx context.Context, f store.FeedFilter) (store.FeedPage, error) {
	return store.FeedPage{}, errTodo()
}
