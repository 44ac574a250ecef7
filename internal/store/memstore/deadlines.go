package memstore

import (
	"context"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// Deadlines live in three trees that always hold the same rows:
//
//	"deadlines"      id -> *store.Deadline (the rows)
//	"deadlines_due"  stampKey(due_at) + id -> *store.Deadline (ClaimDue, NextDue, CountDeadlines:
//	                 the SQLite store's deadlines_due index on (due_at, id))
//	"deadlines_line" ticket \x00 kind \x00 target -> id (the unique (ticket_id, kind, target):
//	                 replacing on schedule, and the ticket's rows for CancelDeadlines)
//
// Stored rows are never changed: a write puts a new row.

const (
	deadlinesTable = "deadlines"
	deadlinesDue   = "deadlines_due"
	deadlinesLine  = "deadlines_line"
)

// stampMS is t as the SQL stores keep it: unix milliseconds, read back in UTC.
func stampMS(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()).UTC() }

// stampKey renders t's unix milliseconds so that keys sort in time order, before 1970 too.
func stampKey(t time.Time) string { return orderedInt(t.UnixMilli()) }

// orderedInt renders n so that keys sort numerically, negative numbers too: the sign bit
// flipped, as zero-padded decimal of fixed width.
func orderedInt(n int64) string { return digits20(uint64(n) ^ (1 << 63)) }

func deadlineDueKey(d *store.Deadline) string { return stampKey(d.DueAt) + d.ID }

func deadlineLineKey(ticketID, kind, target string) string {
	return ticketID + "\x00" + kind + "\x00" + target
}

// putDeadline stores d (already a private copy) in every tree.
func (x *tx) putDeadline(d *store.Deadline) {
	put(x, deadlinesTable, d.ID, d)
	put(x, deadlinesDue, deadlineDueKey(d), d)
	put(x, deadlinesLine, deadlineLineKey(d.TicketID, d.Kind, d.Target), d.ID)
}

// delDeadline removes the stored row d from every tree.
func (x *tx) delDeadline(d *store.Deadline) {
	del[*store.Deadline](x, deadlinesTable, d.ID)
	del[*store.Deadline](x, deadlinesDue, deadlineDueKey(d))
	line := deadlineLineKey(d.TicketID, d.Kind, d.Target)
	if id, ok := get[string](x, deadlinesLine, line); ok && id == d.ID {
		del[string](x, deadlinesLine, line)
	}
}

// ScheduleDeadline stores d, replacing the ticket's pending deadline of the same kind and
// target; conflict when another pending deadline has d's id, not_found naming the ticket when
// it does not exist. The change is announced after the commit.
func (x *tx) ScheduleDeadline(ctx context.Context, d *store.Deadline) error {
	if err := x.writable("schedule deadline " + d.ID); err != nil {
		return err
	}
	line := deadlineLineKey(d.TicketID, d.Kind, d.Target)
	if old, ok := get[*store.Deadline](x, deadlinesTable, d.ID); ok &&
		deadlineLineKey(old.TicketID, old.Kind, old.Target) != line {
		return conflict("deadline %s already exists", d.ID)
	}
	if _, ok := get[*escalated.Ticket](x, "tickets", d.TicketID); !ok {
		return notFound("ticket", d.TicketID)
	}
	if id, ok := get[string](x, deadlinesLine, line); ok {
		if old, ok := get[*store.Deadline](x, deadlinesTable, id); ok {
			x.delDeadline(old)
		}
	}
	n := clone(d)
	n.DueAt, n.CreatedAt = stampMS(n.DueAt), stampMS(n.CreatedAt)
	x.putDeadline(n)
	x.announce(store.Change{TicketID: n.TicketID, Type: store.ChangeDeadline, Due: n.DueAt})
	return nil
}

// CancelDeadlines removes the ticket's pending deadlines of target, or all of them when target
// is "". Cancelling what is not pending is not an error.
func (x *tx) CancelDeadlines(ctx context.Context, ticketID, target string) error {
	if err := x.writable("cancel deadlines of " + ticketID); err != nil {
		return err
	}
	var gone []*store.Deadline
	scan(x, deadlinesLine, ticketID+"\x00", "", func(_ string, id string) bool {
		if d, ok := get[*store.Deadline](x, deadlinesTable, id); ok && (target == "" || d.Target == target) {
			gone = append(gone, d)
		}
		return true
	})
	for _, d := range gone {
		x.delDeadline(d)
	}
	return nil
}

// ClaimDue removes and returns at most n deadlines due at or before now, in (due_at, id) order.
func (x *tx) ClaimDue(ctx context.Context, now time.Time, n int) ([]*store.Deadline, error) {
	if err := x.writable("claim due deadlines"); err != nil {
		return nil, err
	}
	out := []*store.Deadline{}
	if n <= 0 {
		return out, nil
	}
	at := now.UnixMilli()
	scan(x, deadlinesDue, "", "", func(_ string, d *store.Deadline) bool {
		if d.DueAt.UnixMilli() > at {
			return false
		}
		out = append(out, d)
		return len(out) < n
	})
	for i, d := range out {
		x.delDeadline(d)
		out[i] = clone(d)
	}
	return out, nil
}

// ClaimDeadline removes and returns the pending deadline id if it is due at or before now;
// not_found otherwise.
func (x *tx) ClaimDeadline(ctx context.Context, id string, now time.Time) (*store.Deadline, error) {
	if err := x.writable("claim deadline " + id); err != nil {
		return nil, err
	}
	d, ok := get[*store.Deadline](x, deadlinesTable, id)
	if !ok || d.DueAt.UnixMilli() > now.UnixMilli() {
		return nil, escalated.Errorf(escalated.ENOTFOUND, "deadline %s is not pending or not due at %s",
			id, escalated.FormatTime(now))
	}
	x.delDeadline(d)
	return clone(d), nil
}

// NextDue returns the earliest pending due time, or the zero time when none is pending,
// leaving out the deadlines in except.
func (x *tx) NextDue(ctx context.Context, except ...string) (time.Time, error) {
	var skip map[string]bool
	if len(except) > 0 {
		skip = make(map[string]bool, len(except))
		for _, id := range except {
			skip[id] = true
		}
	}
	var next time.Time
	scan(x, deadlinesDue, "", "", func(_ string, d *store.Deadline) bool {
		if skip[d.ID] {
			return true
		}
		next = d.DueAt
		return false
	})
	return next, nil
}

// CountDeadlines returns how many deadlines are pending and how many of them are due at or
// before now. The pending count is the tree's size; the overdue one walks the due order up to
// now, so it costs what the backlog costs (as on SQLite).
func (x *tx) CountDeadlines(ctx context.Context, now time.Time) (pending, overdue int64, err error) {
	pending = int64(size[*store.Deadline](x, deadlinesTable))
	at := now.UnixMilli()
	scan(x, deadlinesDue, "", "", func(_ string, d *store.Deadline) bool {
		if d.DueAt.UnixMilli() > at {
			return false
		}
		overdue++
		return true
	})
	return pending, overdue, nil
}
