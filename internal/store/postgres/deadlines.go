package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/escalated/escalated"
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

// sqlScheduleDeadlineNotify upserts the deadline and queues its announcement in the same
// statement, as sqlAppendEvent does for events.
// dialect: pg_notify on the schema's channel ($8) through a data-modifying CTE (SQLite: the
// store publishes to its hub after the commit). NOTIFY is transactional: every listening node
// hears it once the transaction commits, and nobody does if it rolls back. due is formatted in
// UTC with exactly three fractional digits and a Z, which time.Time's JSON decoding reads back
// as the stored instant, to the millisecond, in UTC, whatever the session's TimeZone is
// (to_json would render the session's offset). PostgreSQL folds identical notifications of one
// transaction into one, which is harmless here: they announce the same due time.
const sqlScheduleDeadlineNotify = `WITH d AS (` + sqlScheduleDeadline + ` RETURNING ticket_id, due_at)
	SELECT pg_notify($8, json_build_object('ticket_id', d.ticket_id, 'type', '` + store.ChangeDeadline + `',
		'due', to_char(d.due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text) FROM d`

// ScheduleDeadline stores d, replacing the ticket's pending deadline of the same kind and
// target; not_found naming the ticket when it does not exist. Every node subscribed to the
// schema hears of it once the transaction commits.
func (t *tx) ScheduleDeadline(ctx context.Context, d *store.Deadline) error {
	_, err := t.exec(ctx, sqlScheduleDeadlineNotify, d.ID, d.TicketID, d.Kind, d.Target, d.EscalationID,
		ts(d.DueAt), ts(d.CreatedAt), t.channel)
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
//
// The deadlines' tickets are locked in the same step, and a deadline whose ticket another
// transaction holds is passed over too: firing changes the ticket and rewrites its other
// deadlines, so two nodes holding different deadlines of one ticket each waited for the other
// (one on the ticket, the other on a deadline row the first had claimed) and deadlocked,
// batch after batch, when they caught up on a backlog together (the PostgreSQL restart test
// found it). A passed-over deadline is claimed as soon as the ticket is free.
const sqlClaimDue = `DELETE FROM deadlines WHERE id IN (
		SELECT d.id FROM deadlines AS d JOIN tickets AS t ON t.id = d.ticket_id
		WHERE d.due_at <= $1 ORDER BY d.due_at, d.id LIMIT $2
		FOR UPDATE OF d SKIP LOCKED FOR NO KEY UPDATE OF t SKIP LOCKED)
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

// dialect: FOR UPDATE SKIP LOCKED and RETURNING, as in sqlClaimDue (SQLite: SELECT then
// DELETE on its single writer). A row another transaction holds (a concurrent claim, or the
// ticket service replacing or cancelling it) is passed over rather than waited for: the caller
// gets not_found, and the row, if it is still pending and due afterwards, comes back in the next
// ClaimDue.
//
// Like sqlClaimDue it also locks the deadline's ticket, skipping it when another transaction
// holds it: firing locks the ticket and rewrites its other deadlines, so a claim by id that took
// a deadline of a ticket another claimer is firing would deadlock with it (two claimers of one
// node retrying a held deadline's batch by id did).
const sqlClaimDeadline = `DELETE FROM deadlines WHERE id = (
		SELECT d.id FROM deadlines AS d JOIN tickets AS t ON t.id = d.ticket_id
		WHERE d.id = $1 AND d.due_at <= $2
		FOR UPDATE OF d SKIP LOCKED FOR NO KEY UPDATE OF t SKIP LOCKED)
	RETURNING ` + deadlineColumns

// ClaimDeadline removes and returns the pending deadline id if it is due at or before now;
// not_found otherwise.
func (t *tx) ClaimDeadline(ctx context.Context, id string, now time.Time) (*store.Deadline, error) {
	d, err := scanDeadline(t.queryRow(ctx, sqlClaimDeadline, id, ts(now)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, escalated.Errorf(escalated.ENOTFOUND, "deadline %s is not pending or not due at %s",
			id, escalated.FormatTime(now))
	} else if err != nil {
		return nil, fmt.Errorf("claim deadline %s: %w", id, interpretError(err))
	}
	return d, nil
}

// sqlCountDeadlines counts every pending deadline and those due at or before $1 in one pass.
//
// Cost: PostgreSQL keeps no row count, so this visits every row (an index-only scan of
// deadlines_due once the visibility map is current, else the table). Measured here with
// 1,000,000 pending deadlines: about 80 ms of one connection after a vacuum, up to about 150 ms
// before; it locks nothing and blocks no writer. Two subqueries (a bare count plus an index
// range for the overdue ones) measured the same, as the bare count dominates. Fine for a metrics
// scrape every few seconds; do not call it per event.
const sqlCountDeadlines = `SELECT count(*), count(*) FILTER (WHERE due_at <= $1) FROM deadlines`

// CountDeadlines returns how many deadlines are pending and how many of them are overdue at now.
func (t *tx) CountDeadlines(ctx context.Context, now time.Time) (pending, overdue int64, err error) {
	if err := t.queryRow(ctx, sqlCountDeadlines, ts(now)).Scan(&pending, &overdue); err != nil {
		return 0, 0, fmt.Errorf("count deadlines: %w", interpretError(err))
	}
	return pending, overdue, nil
}

// NextDue returns the earliest pending due time, or the zero time when none is pending,
// leaving out the deadlines in except.
func (t *tx) NextDue(ctx context.Context, except ...string) (time.Time, error) {
	var due *time.Time
	var err error
	if len(except) == 0 {
		err = t.queryRow(ctx, `SELECT min(due_at) FROM deadlines`).Scan(&due)
	} else {
		// dialect: one text[] parameter with <> ALL (SQLite: NOT IN with a placeholder per id).
		// ORDER BY ... LIMIT 1 walks deadlines_due in order and stops at the first row not
		// excluded.
		err = t.queryRow(ctx, `SELECT due_at FROM deadlines WHERE id <> ALL($1::text[])
			ORDER BY due_at, id LIMIT 1`, except).Scan(&due)
		if errors.Is(err, pgx.ErrNoRows) {
			err = nil
		}
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("next due deadline: %w", interpretError(err))
	}
	if due == nil {
		return time.Time{}, nil
	}
	return fromTS(*due), nil
}
