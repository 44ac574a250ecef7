package memstore

import (
	"context"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// Analytics rows (store.Facts). Tables:
//
//	"ticket_facts"             ticket id -> *store.TicketFact
//	"ticket_facts_created"     ord(created ms) \x00 ticket id -> ticket id
//	"ticket_facts_account"     account id \x00 ticket id -> ticket id
//	"escalation_facts"         escalation id -> *store.EscalationFact
//	"escalation_facts_created" ord(created ms) \x00 escalation id -> escalation id
//
// Rows are kept as the SQL stores keep them: times in UTC to the millisecond, durations in
// whole milliseconds (towards zero). Every save applies its difference to the report cells
// (rollups.go) at once, so a report in the same transaction sees it.

const (
	tblTicketFacts         = "ticket_facts"
	tblTicketFactsCreated  = "ticket_facts_created"
	tblTicketFactsAccount  = "ticket_facts_account"
	tblEscalationFacts     = "escalation_facts"
	tblEscalationFactsCrtd = "escalation_facts_created"
)

// factKeyTime is the sortable key part of a time: its milliseconds (factKeyInt).
func factKeyTime(t time.Time) string { return factKeyInt(t.UnixMilli()) }

// factKeyInt renders a signed number so that keys sort numerically: its sign ("0" negative,
// "1" not), then digits that sort as the number does within its sign.
func factKeyInt(n int64) string {
	if n < 0 {
		// n - MinInt64 is in [0, MaxInt64] for negative n, and sorts like n.
		return "0" + pad(n-(-1<<63))
	}
	return "1" + pad(n)
}

func factTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := escalated.Truncate(*t)
	return &v
}

func factDurPtr(d *time.Duration) *time.Duration {
	if d == nil {
		return nil
	}
	v := d.Truncate(time.Millisecond)
	return &v
}

// normTicketFact is a copy of f as the store keeps it.
func normTicketFact(f *store.TicketFact) *store.TicketFact {
	n := *f
	n.CreatedAt = escalated.Truncate(f.CreatedAt)
	n.SolvedAt, n.FirstEscalatedAt = factTimePtr(f.SolvedAt), factTimePtr(f.FirstEscalatedAt)
	return &n
}

// normEscalationFact is a copy of f as the store keeps it.
func normEscalationFact(f *store.EscalationFact) *store.EscalationFact {
	n := *f
	n.CreatedAt = escalated.Truncate(f.CreatedAt)
	n.AcknowledgedAt = factTimePtr(f.AcknowledgedAt)
	n.TimeToEscalate = f.TimeToEscalate.Truncate(time.Millisecond)
	n.TimeToAck, n.ResolvedAfter = factDurPtr(f.TimeToAck), factDurPtr(f.ResolvedAfter)
	return &n
}

// putTicketFact writes the row n (normalised) in place of old (nil: none), with its indexes
// and its difference in the cells.
func (x *tx) putTicketFact(old, n *store.TicketFact) {
	if old != nil {
		del[string](x, tblTicketFactsCreated, factKeyTime(old.CreatedAt)+"\x00"+old.TicketID)
		del[string](x, tblTicketFactsAccount, old.AccountID+"\x00"+old.TicketID)
	}
	put(x, tblTicketFacts, n.TicketID, n)
	put(x, tblTicketFactsCreated, factKeyTime(n.CreatedAt)+"\x00"+n.TicketID, n.TicketID)
	put(x, tblTicketFactsAccount, n.AccountID+"\x00"+n.TicketID, n.TicketID)
	x.applyCells(store.TicketDelta(old, n, cellShards))
}

// SaveTicketFact inserts or replaces the ticket's row and applies what the change means to the
// report rollups.
func (x *tx) SaveTicketFact(ctx context.Context, f *store.TicketFact) error {
	if err := x.writable("save ticket fact"); err != nil {
		return err
	}
	old, _ := get[*store.TicketFact](x, tblTicketFacts, f.TicketID)
	x.putTicketFact(old, clone(normTicketFact(f)))
	return nil
}

// SaveEscalationFact inserts or replaces the escalation's row and applies what the change
// means to the report rollups.
func (x *tx) SaveEscalationFact(ctx context.Context, f *store.EscalationFact) error {
	if err := x.writable("save escalation fact"); err != nil {
		return err
	}
	n := clone(normEscalationFact(f))
	old, _ := get[*store.EscalationFact](x, tblEscalationFacts, f.EscalationID)
	if old != nil {
		del[string](x, tblEscalationFactsCrtd, factKeyTime(old.CreatedAt)+"\x00"+old.EscalationID)
	}
	put(x, tblEscalationFacts, n.EscalationID, n)
	put(x, tblEscalationFactsCrtd, factKeyTime(n.CreatedAt)+"\x00"+n.EscalationID, n.EscalationID)
	x.applyCells(store.EscalationDelta(old, n, cellShards))
	return nil
}

// SetAccountTier sets the customer tier of the account's ticket rows (those not at it yet),
// moving their counts in the rollups from the old tier to the new.
func (x *tx) SetAccountTier(ctx context.Context, accountID, tier string) error {
	if err := x.writable("set account tier"); err != nil {
		return err
	}
	var rows []*store.TicketFact
	scan(x, tblTicketFactsAccount, accountID+"\x00", "", func(_ string, id string) bool {
		if f, ok := get[*store.TicketFact](x, tblTicketFacts, id); ok && f.CustomerTier != tier {
			rows = append(rows, f)
		}
		return true
	})
	for _, old := range rows {
		n := clone(old)
		n.CustomerTier = tier
		x.putTicketFact(old, n)
	}
	return nil
}

// GetTicketFact returns the ticket's row; not_found when there is none.
func (x *tx) GetTicketFact(ctx context.Context, ticketID string) (*store.TicketFact, error) {
	f, ok := get[*store.TicketFact](x, tblTicketFacts, ticketID)
	if !ok {
		return nil, notFound("ticket fact", ticketID)
	}
	return clone(f), nil
}

// GetEscalationFact returns the escalation's row; not_found when there is none.
func (x *tx) GetEscalationFact(ctx context.Context, escalationID string) (*store.EscalationFact, error) {
	f, ok := get[*store.EscalationFact](x, tblEscalationFacts, escalationID)
	if !ok {
		return nil, notFound("escalation fact", escalationID)
	}
	return clone(f), nil
}
