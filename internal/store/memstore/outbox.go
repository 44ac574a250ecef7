package memstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// Deliveries live in these trees, which always hold the same rows:
//
//	"deliveries"        id -> *store.Delivery (the rows)
//	"deliveries_state"  state \x00 id -> id (ListDeliveries by state, CountDeliveries)
//	"deliveries_ticket" ticket \x00 id -> id (ListDeliveries of a ticket)
//	"deliveries_due"    stampKey(next_attempt_at) + id -> *store.Delivery, pending rows only
//	                    (ClaimDeliveries, NextDeliveryAt: the SQLite store's deliveries_due)
//	"deliveries_line"   ticket \x00 channel \x00 seqKey(seq) + id -> id, pending rows only (the
//	                    head of each ticket and channel's line: deliveries_line)
//
// Stored rows are never changed: a write puts a new row and moves its index entries.

const (
	deliveriesTable  = "deliveries"
	deliveriesState  = "deliveries_state"
	deliveriesTicket = "deliveries_ticket"
	deliveriesDue    = "deliveries_due"
	deliveriesLine   = "deliveries_line"
)

// seqKey renders a seq so that keys sort numerically, negative ones too.
func seqKey(n int64) string { return orderedInt(n) }

func deliveryLinePrefix(d *store.Delivery) string { return d.TicketID + "\x00" + d.Channel + "\x00" }

// putDelivery stores d (a private copy) in place of old (nil for a new row), moving the index
// entries that changed.
func (x *tx) putDelivery(old, d *store.Delivery) {
	if old != nil {
		del[string](x, deliveriesState, string(old.State)+"\x00"+old.ID)
		if old.State == store.DeliveryPending {
			del[*store.Delivery](x, deliveriesDue, stampKey(old.NextAttemptAt)+old.ID)
			del[string](x, deliveriesLine, deliveryLinePrefix(old)+lineSeq(old))
		}
	}
	put(x, deliveriesTable, d.ID, d)
	put(x, deliveriesState, string(d.State)+"\x00"+d.ID, d.ID)
	put(x, deliveriesTicket, d.TicketID+"\x00"+d.ID, d.ID)
	if d.State == store.DeliveryPending {
		put(x, deliveriesDue, stampKey(d.NextAttemptAt)+d.ID, d)
		put(x, deliveriesLine, deliveryLinePrefix(d)+lineSeq(d), d.ID)
	}
}

func lineSeq(d *store.Delivery) string { return seqKey(d.Seq) + "\x00" + d.ID }

// headOfLine reports whether the pending delivery d is the first pending one, in (seq, id)
// order, of its ticket and channel.
func (x *tx) headOfLine(d *store.Delivery) bool {
	head := ""
	scan(x, deliveriesLine, deliveryLinePrefix(d), "", func(_ string, id string) bool {
		head = id
		return false
	})
	return head == d.ID
}

// storedDelivery is d as the store keeps it: times in UTC milliseconds, an empty log rather
// than none, the attempt times truncated.
func storedDelivery(d *store.Delivery) *store.Delivery {
	n := clone(d)
	n.NextAttemptAt, n.CreatedAt, n.QueuedAt = stampMS(n.NextAttemptAt), stampMS(n.CreatedAt), stampMS(n.QueuedAt)
	if n.DeliveredAt != nil {
		t := stampMS(*n.DeliveredAt)
		n.DeliveredAt = &t
	}
	if n.Payload == nil {
		n.Payload = []byte{}
	}
	if n.Log == nil {
		n.Log = []store.Attempt{}
	}
	for i := range n.Log {
		n.Log[i].At = escalated.Truncate(n.Log[i].At)
	}
	return n
}

// EnqueueDelivery inserts d; conflict when the id is taken, not_found when its ticket does not
// exist.
func (x *tx) EnqueueDelivery(ctx context.Context, d *store.Delivery) error {
	if err := x.writable("enqueue delivery " + d.ID); err != nil {
		return err
	}
	if !json.Valid(d.Payload) {
		return escalated.Errorf(escalated.EINVALID, "delivery %s: payload is not JSON", d.ID)
	}
	if _, ok := get[*store.Delivery](x, deliveriesTable, d.ID); ok {
		return conflict("delivery %s already exists", d.ID)
	}
	if _, ok := get[*escalated.Ticket](x, "tickets", d.TicketID); !ok {
		return notFound("ticket", d.TicketID)
	}
	x.putDelivery(nil, storedDelivery(d))
	return nil
}

// ClaimDeliveries leases and returns at most n due deliveries, in (next_attempt_at, id) order,
// the first of each ticket and channel only.
func (x *tx) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, n int) ([]*store.Delivery, error) {
	if err := x.writable("claim deliveries"); err != nil {
		return nil, err
	}
	out := []*store.Delivery{}
	if n <= 0 {
		return out, nil
	}
	at := now.UnixMilli()
	scan(x, deliveriesDue, "", "", func(_ string, d *store.Delivery) bool {
		if d.NextAttemptAt.UnixMilli() > at {
			return false
		}
		if x.headOfLine(d) {
			out = append(out, d)
		}
		return len(out) < n
	})
	lease := stampMS(leaseUntil)
	for i, old := range out {
		d := clone(old)
		d.NextAttemptAt = lease
		x.putDelivery(old, d)
		out[i] = clone(d)
	}
	return out, nil
}

// NextDeliveryAt returns the earliest due time of a claimable delivery, or the zero time.
func (x *tx) NextDeliveryAt(ctx context.Context) (time.Time, error) {
	var next time.Time
	scan(x, deliveriesDue, "", "", func(_ string, d *store.Delivery) bool {
		if x.headOfLine(d) {
			next = d.NextAttemptAt
			return false
		}
		return true
	})
	return next, nil
}

// UpdateDelivery writes the outcome of an attempt: State, Attempts, NextAttemptAt, LastStatus,
// LastError, QueuedAt, DeliveredAt and Log.
func (x *tx) UpdateDelivery(ctx context.Context, d *store.Delivery) error {
	if err := x.writable("update delivery " + d.ID); err != nil {
		return err
	}
	old, ok := get[*store.Delivery](x, deliveriesTable, d.ID)
	if !ok {
		return notFound("delivery", d.ID)
	}
	in := storedDelivery(d)
	n := clone(old)
	n.State, n.Attempts, n.NextAttemptAt = in.State, in.Attempts, in.NextAttemptAt
	n.LastStatus, n.LastError, n.QueuedAt = in.LastStatus, in.LastError, in.QueuedAt
	n.DeliveredAt, n.Log = in.DeliveredAt, in.Log
	x.putDelivery(old, n)
	return nil
}

// GetDelivery returns one delivery.
func (x *tx) GetDelivery(ctx context.Context, id string) (*store.Delivery, error) {
	d, ok := get[*store.Delivery](x, deliveriesTable, id)
	if !ok {
		return nil, notFound("delivery", id)
	}
	return clone(d), nil
}

// ListDeliveries returns a page of deliveries, newest (largest id) first, through the index of
// the ticket or the state when the filter names one.
func (x *tx) ListDeliveries(ctx context.Context, f store.DeliveryFilter) ([]*store.Delivery, string, error) {
	limit := store.ClampLimit(f.Limit)
	table, prefix := deliveriesTable, ""
	switch {
	case f.TicketID != "":
		table, prefix = deliveriesTicket, f.TicketID+"\x00"
	case f.State != "":
		table, prefix = deliveriesState, string(f.State)+"\x00"
	}
	from := ""
	if f.Cursor != "" {
		from = prefix + f.Cursor
	}
	items := []*store.Delivery{}
	more := false
	visit := func(key string, d *store.Delivery) bool {
		if f.Cursor != "" && key == from {
			return true
		}
		if (f.State != "" && d.State != f.State) || (f.TicketID != "" && d.TicketID != f.TicketID) ||
			(f.Channel != "" && d.Channel != f.Channel) {
			return true
		}
		if len(items) == limit {
			more = true
			return false
		}
		items = append(items, clone(d))
		return true
	}
	if table == deliveriesTable {
		scanDesc(x, table, prefix, from, visit)
	} else {
		scanDesc(x, table, prefix, from, func(key string, id string) bool {
			d, ok := get[*store.Delivery](x, deliveriesTable, id)
			if !ok {
				return true
			}
			return visit(key, d)
		})
	}
	cursor := ""
	if more {
		cursor = items[len(items)-1].ID
	}
	return items, cursor, nil
}

// RetryDelivery puts a failed or dead delivery back to pending, due at now.
func (x *tx) RetryDelivery(ctx context.Context, id string, now time.Time) (*store.Delivery, error) {
	d, err := x.GetDelivery(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := store.Requeue(d, now); err != nil {
		return nil, err
	}
	if err := x.UpdateDelivery(ctx, d); err != nil {
		return nil, err
	}
	return d, nil
}

// CountDeliveries counts the deliveries in each state but delivered, walking each state's
// range of the state index (as SQLite counts an index range).
func (x *tx) CountDeliveries(ctx context.Context) (map[store.DeliveryState]int64, error) {
	out := map[store.DeliveryState]int64{}
	for _, st := range []store.DeliveryState{store.DeliveryPending, store.DeliveryFailed, store.DeliveryDead} {
		var n int64
		scan(x, deliveriesState, string(st)+"\x00", "", func(string, string) bool {
			n++
			return true
		})
		out[st] = n
	}
	return out, nil
}
