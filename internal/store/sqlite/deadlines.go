package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/escalated/escalated/internal/store"
)

const deadlineColumns = `id, ticket_id, kind, target, escalation_id, due_at, created_at`

func scanDeadline(s scanner) (*store.Deadline, error) {
	var (
		d            store.Deadline
		due, created int64
	)
	if err := s.Scan(&d.ID, &d.TicketID, &d.Kind, &d.Target, &d.EscalationID, &due, &created); err != nil {
		return nil, err
	}
	d.DueAt, d.CreatedAt = fromMS(due), fromMS(created)
	return &d, nil
}

const sqlScheduleDeadline = `INSERT INTO deadlines (` + deadlineColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (ticket_id, kind, target) DO UPDATE SET id = excluded.id,
		escalation_id = excluded.escalation_id, due_at = excluded.due_at, created_at = excluded.created_at`

// ScheduleDeadline stores d, replacing the ticket's pending deadline of the same kind and
// target; not_found naming the ticket when it does not exist.
func (t *tx) ScheduleDeadline(ctx context.Context, d *store.Deadline) error {
	_, err := t.exec(ctx, sqlScheduleDeadline, d.ID, d.TicketID, d.Kind, d.Target, d.EscalationID,
		ms(d.DueAt), ms(d.CreatedAt))
	return writeErr(err, "schedule deadline "+d.ID, "deadline "+d.ID+" already exists",
		"ticket "+d.TicketID+" not found")
}

// CancelDeadlines removes the ticket's pending deadlines of target, or all of them when target
// is "". Cancelling what is not pending is not an error.
func (t *tx) CancelDeadlines(ctx context.Context, ticketID, target string) error {
	var err error
	if target == "" {
		_, err = t.exec(ctx, `DELETE FROM deadlines WHERE ticket_id = ?`, ticketID)
	} else {
		_, err = t.exec(ctx, `DELETE FROM deadlines WHERE ticket_id = ? AND target = ?`, ticketID, target)
	}
	if err != nil {
		return fmt.Errorf("cancel deadlines of %s: %w", ticketID, interpretError(err))
	}
	return nil
}

// dialect: no locking clause (PostgreSQL: FOR UPDATE SKIP LOCKED). SQLite has one writer and
// every Update runs on it, so the SELECT and the DELETE below see no other claimer in between;
// a claim rolled back with its transaction leaves the rows pending.
const sqlSelectDue = `SELECT ` + deadlineColumns + ` FROM deadlines
	WHERE due_at <= ? ORDER BY due_at, id LIMIT ?`

// ClaimDue removes and returns at most n deadlines due at or before now, earliest first.
func (t *tx) ClaimDue(ctx context.Context, now time.Time, n int) ([]*store.Deadline, error) {
	if n <= 0 {
		return []*store.Deadline{}, nil
	}
	ds, err := list(ctx, t, sqlSelectDue, []any{ms(now), n}, scanDeadline)
	if err != nil {
		return nil, fmt.Errorf("claim due deadlines: %w", err)
	}
	if len(ds) == 0 {
		return ds, nil
	}
	args := make([]any, len(ds))
	for i, d := range ds {
		args[i] = d.ID
	}
	placeholders := strings.TrimSuffix(strings.Repeat("?, ", len(ds)), ", ")
	if _, err := t.exec(ctx, `DELETE FROM deadlines WHERE id IN (`+placeholders+`)`, args...); err != nil {
		return nil, fmt.Errorf("claim due deadlines: %w", interpretError(err))
	}
	return ds, nil
}

// NextDue returns the earliest pending due time, or the zero time when none is pending.
func (t *tx) NextDue(ctx context.Context) (time.Time, error) {
	var due sql.NullInt64
	if err := t.queryRow(ctx, `SELECT MIN(due_at) FROM deadlines`).Scan(&due); err != nil {
		return time.Time{}, fmt.Errorf("next due deadline: %w", err)
	}
	if !due.Valid {
		return time.Time{}, nil
	}
	return fromMS(due.Int64), nil
}
