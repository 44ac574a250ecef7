package store

import (
	"context"
	"time"

	"github.com/escalated/escalated"
)

// DeliveryState is where one outbox row is in its life:
//
//	pending --2xx--> delivered
//	pending --other 4xx, or a channel that cannot work (no SMTP settings)--> failed
//	pending --5xx/429/timeout, attempts or age used up--> dead
//	failed, dead --RetryDelivery--> pending
type DeliveryState string

// Delivery states.
const (
	DeliveryPending   DeliveryState = "pending"
	DeliveryDelivered DeliveryState = "delivered"
	DeliveryFailed    DeliveryState = "failed"
	DeliveryDead      DeliveryState = "dead"
)

// DeliveryStates lists every state, for validating filters.
var DeliveryStates = []DeliveryState{DeliveryPending, DeliveryDelivered, DeliveryFailed, DeliveryDead}

// Valid reports whether s is a known state.
func (s DeliveryState) Valid() bool {
	for _, v := range DeliveryStates {
		if s == v {
			return true
		}
	}
	return false
}

// Attempt is one try at sending a delivery: when, the receiver's HTTP status (0 when there was
// no answer, or for email) and what went wrong ("" when it was delivered).
type Attempt struct {
	At     time.Time `json:"at"`
	Status int       `json:"status,omitempty"`
	Error  string    `json:"error,omitempty"`
}

// Delivery is one outbox row: one event (or one notify action) for one channel. It is written
// in the same transaction as the change that causes it, so it exists exactly when the change
// does, and the dispatcher sends it only after that transaction committed.
type Delivery struct {
	// ID is also the idempotency key receivers see (Escalated-Delivery).
	ID       string
	TicketID string
	// Seq is the ticket history seq of the event that caused the delivery; deliveries of one
	// ticket to one channel go out in (Seq, ID) order.
	Seq       int64
	Channel   string
	EventType string
	EventID   string
	// Payload is the JSON body {"id","type","occurred_at","data"} as it is sent.
	Payload []byte
	State   DeliveryState
	// Attempts counts the tries since the delivery was (re)queued; Log keeps every try ever.
	Attempts int
	// NextAttemptAt is when a pending delivery is due. A dispatcher that claims it moves it to
	// the end of its lease, so that a process killed mid-send leaves it to be sent again.
	NextAttemptAt time.Time
	LastStatus    int
	LastError     string
	CreatedAt     time.Time
	// QueuedAt is when the delivery last became pending (CreatedAt, or a RetryDelivery): the
	// retry policy's maximum age counts from it.
	QueuedAt    time.Time
	DeliveredAt *time.Time
	Log         []Attempt
}

// DeliveryFilter selects deliveries. Empty fields do not filter.
type DeliveryFilter struct {
	State    DeliveryState
	TicketID string
	Channel  string
	// Cursor is the last id of the previous page; the page starts after it.
	Cursor string
	Limit  int
}

// Outbox stores deliveries.
type Outbox interface {
	// EnqueueDelivery inserts d (pending, due at d.NextAttemptAt); conflict if the id exists,
	// not_found when the ticket does not.
	EnqueueDelivery(ctx context.Context, d *Delivery) error
	// ClaimDeliveries returns at most n pending deliveries due at or before now, earliest due
	// first, and leases them until leaseUntil (their NextAttemptAt becomes leaseUntil). Only the
	// first pending delivery, in (Seq, ID) order, of each ticket and channel is ever returned,
	// so a ticket's deliveries to one channel go out one at a time and in order. Concurrent
	// transactions never claim the same delivery (PostgreSQL: FOR UPDATE SKIP LOCKED).
	ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, n int) ([]*Delivery, error)
	// NextDeliveryAt returns when the earliest claimable delivery (the first pending one of its
	// ticket and channel) is due, or the zero time when none is pending.
	NextDeliveryAt(ctx context.Context) (time.Time, error)
	// UpdateDelivery writes the outcome of an attempt: State, Attempts, NextAttemptAt,
	// LastStatus, LastError, DeliveredAt and Log. not_found when the delivery does not exist.
	UpdateDelivery(ctx context.Context, d *Delivery) error
	// GetDelivery returns one delivery; not_found when none has that id.
	GetDelivery(ctx context.Context, id string) (*Delivery, error)
	// ListDeliveries returns deliveries newest first (by id descending) with the same cursor
	// rules as tickets.
	ListDeliveries(ctx context.Context, f DeliveryFilter) ([]*Delivery, string, error)
	// RetryDelivery puts a failed or dead delivery back to pending, due at now, with its
	// attempt count (not its log) reset and QueuedAt = now; conflict when it is pending or
	// delivered, not_found when it does not exist.
	RetryDelivery(ctx context.Context, id string, now time.Time) (*Delivery, error)
	// CountDeliveries counts the pending, failed and dead deliveries (for metrics). Delivered
	// ones are left out: they pile up without bound, and the dispatcher counts them as it sends.
	CountDeliveries(ctx context.Context) (map[DeliveryState]int64, error)
}

// Requeue puts a failed or dead delivery back to pending, due at now, with its attempts reset;
// conflict for a delivery in any other state. Every store's RetryDelivery applies it to the row
// it read (and then writes it back).
func Requeue(d *Delivery, now time.Time) error {
	if d.State != DeliveryFailed && d.State != DeliveryDead {
		return escalated.Errorf(escalated.ECONFLICT, "delivery %s is %s; only failed or dead deliveries can be retried", d.ID, d.State)
	}
	d.State, d.Attempts = DeliveryPending, 0
	d.NextAttemptAt, d.QueuedAt = escalated.Truncate(now), escalated.Truncate(now)
	return nil
}
