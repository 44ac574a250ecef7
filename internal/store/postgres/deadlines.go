package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/escalated/escalated/internal/store"
)

const deadlineColumns = `id, ticket_id, kind, target, escalation_id, due_at, created_at`

func scanDeadline(s scanner) (*store.Deadline, error) {
	var (
		d            store.Deadline
		due, created time.Time
	)
	if err := s.Scan(&d.ID, &d.TicketID, &d.Kind, &d.Target, &d.EscalationID, &due, &created); err != nil {
		return nil, err
	}
	d.DueAt, d.CreatedAt = fromTS(due), fromTS(created)
	return &d, nil
}

// dialect: $n placeholders (SQLite: ?).
const sqlScheduleDeadline = `INSERT INTO deadlines (` + deadlineColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7)
	ON CONFLICT (ticket_id, kind, target) DO UPDATE SET id = excluded.id,
		escalation_id = excluded.escalation_id, due_at = excluded.due_at, created_at = excluded.created_at`

// ScheduleDeadline stores d, replacing the ticket's pending deadline of the same kind and
// target; not_found naming the ticket when it does not exist.
func (t *tx) ScheduleDeadline(ctx context.Context, d *store.Deadline) error {
	_, err := t.exec(ctx, sqlScheduleDeadline, d.ID, d.TicketID, d.Kind, d.Target, d.EscalationID,
		ts(d.DueAt), ts(d.CreatedAt))
	return writeErr(err, "schedule deadline "+d.ID, "deadline "+d.ID+" already exists",
		"ticket "+d.TicketID+" not found")
}

// CancelDeadlines removes the ticket's pending deadlines of target, or all of them when target
// is "". Cancelling what is not pending is not an error.
func (t *tx) CancelDeadlines(ctx context.Context, ticketID, target string) error {
	var err error
	if target == "" {
		// dialect: $1 placeholder (SQLite: ?).
		_, err = t.exec(ctx, `DELETE FROM deadlines WHERE ticket_id = $1`, ticketID)
	} else {
		// dialect: $n placeholders (SQLite: ?).
		_, err = t.exec(ctx, `DELETE FROM deadlines WHERE ticket_id = $1 AND target = $2`, ticketID, target)
	}
	if err != nil {
		return fmt.Errorf("cancel deadlines of %s: %w", ticketID, interpretError(err))
	}
	return nil
}

// dialect: FOR UPDATE SKIP LOCKED (SQLite: its single writer serialises claims). The subquery
// locks the earliest due rows no other transaction holds and passes over those that one does,
// so several nodes claim at once without waiting on each other and without two of them ever
// deleting (and firing) the same deadline; a claim rolled back releases its rows, which stay
// pending. RETURNING, also a dialect difference, hands back the deleted rows in one round trip.
const sqlClaimDue = `DELETE FROM deadlines WHERE id IN (
		SELECT id FROM deadlines WHERE due_at <= $1 ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
	RETURNING ` + deadlineColumns

// ClaimDue removes and returns at most n deadlines due at or before now, earliest first.
func (t *tx) ClaimDue(ctx context.Context, now time.Time, n int) ([]*store.Deadline, error) {
	if n <= 0 {
		return []*store.Deadline{}, nil
	}
	ds, err := list(ctx, t, sqlClaimDue, []any{ts(now), n}, scanDeadline)
	if err != nil {
		return nil, fmt.Errorf("claim due deadlines: %w", interpretError(err))
	}
	// RETURNING yields the deleted rows in no guaranteed order, whatever the subquery's ORDER
	// BY: they are put in (due_at, id) order here. ids are compared bytewise, as COLLATE "C"
	// orders them.
	slices.SortFunc(ds, func(a, b *store.Deadline) int {
		if c := a.DueAt.Compare(b.DueAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return ds, nil
}

// NextDue returns the earliest pending due time, or the zero time when none is pending.
func (t *tx) NextDue(ctx context.Context) (time.Time, error) {
	var due *time.Time
	if err := t.queryRow(ctx, `SELECT min(due_at) FROM deadlines`).Scan(&due); err != nil {
		return time.Time{}, fmt.Errorf("next due deadline: %w", interpretError(err))
	}
	if due == nil {
		return time.Time{}, nil
	}
	return fromTS(*due), nil
}
