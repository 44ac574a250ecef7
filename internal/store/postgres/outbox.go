package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

const deliveryColumns = `id, ticket_id, seq, channel, event_type, event_id, payload, state, attempts,
	next_attempt_at, last_status, last_error, created_at, queued_at, delivered_at, log`

func scanDelivery(s scanner) (*store.Delivery, error) {
	var (
		d                     store.Delivery
		state                 string
		log                   []byte
		next, created, queued time.Time
		delivered             *time.Time
	)
	if err := s.Scan(&d.ID, &d.TicketID, &d.Seq, &d.Channel, &d.EventType, &d.EventID, &d.Payload, &state,
		&d.Attempts, &next, &d.LastStatus, &d.LastError, &created, &queued, &delivered, &log); err != nil {
		return nil, err
	}
	d.State = store.DeliveryState(state)
	d.NextAttemptAt, d.CreatedAt, d.QueuedAt = fromTS(next), fromTS(created), fromTS(queued)
	d.DeliveredAt = fromTSPtr(delivered)
	d.Log = []store.Attempt{}
	if err := json.Unmarshal(log, &d.Log); err != nil {
		return nil, fmt.Errorf("decode attempt log of delivery %s: %w", d.ID, err)
	}
	for i := range d.Log {
		d.Log[i].At = escalated.Truncate(d.Log[i].At)
	}
	return &d, nil
}

func attemptsText(log []store.Attempt) (string, error) {
	if log == nil {
		log = []store.Attempt{}
	}
	for i := range log {
		log[i].At = escalated.Truncate(log[i].At)
	}
	return jsonText(log)
}

// sqlEnqueueDelivery inserts the delivery and queues the store.ChangeDelivery of its ticket in
// the same statement, as sqlAppendEvent does for events.
// dialect: $n placeholders (SQLite: ?); the payload is bytea (SQLite: TEXT); pg_notify on the
// schema's channel ($17) through a data-modifying CTE (SQLite: the store publishes to its hub
// after the commit). PostgreSQL folds identical notifications of one transaction into one:
// one per ticket, which is all the dispatcher needs.
const sqlEnqueueDelivery = `WITH d AS (INSERT INTO deliveries (` + deliveryColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING ticket_id)
	SELECT pg_notify($17, json_build_object('ticket_id', d.ticket_id, 'type', '` + store.ChangeDelivery + `')::text) FROM d`

// EnqueueDelivery inserts d; conflict when the id is taken, not_found when its ticket does not
// exist.
func (t *tx) EnqueueDelivery(ctx context.Context, d *store.Delivery) error {
	log, err := attemptsText(d.Log)
	if err != nil {
		return err
	}
	if !json.Valid(d.Payload) {
		return escalated.Errorf(escalated.EINVALID, "delivery %s: payload is not JSON", d.ID)
	}
	_, err = t.exec(ctx, sqlEnqueueDelivery,
		d.ID, d.TicketID, d.Seq, d.Channel, d.EventType, d.EventID, d.Payload, string(d.State),
		d.Attempts, ts(d.NextAttemptAt), d.LastStatus, d.LastError, ts(d.CreatedAt), ts(d.QueuedAt),
		tsPtr(d.DeliveredAt), log, t.channel)
	return writeErr(err, "enqueue delivery "+d.ID, "delivery "+d.ID+" already exists",
		"ticket "+d.TicketID+" not found")
}

// headOfLine keeps a pending delivery only when no earlier pending delivery of its ticket and
// channel exists, as in the SQLite store.
const headOfLine = `NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.state = 'pending'
		AND p.ticket_id = d.ticket_id AND p.channel = d.channel
		AND (p.seq < d.seq OR (p.seq = d.seq AND p.id < d.id)))`

// dialect: FOR UPDATE OF d SKIP LOCKED and RETURNING (SQLite: SELECT then UPDATE on its single
// writer). Rows another node is claiming are passed over; the head-of-line test still sees them
// pending, so the next delivery of their ticket and channel waits for them either way.
const sqlClaimDeliveries = `UPDATE deliveries SET next_attempt_at = $3 WHERE id IN (
		SELECT d.id FROM deliveries d WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND ` + headOfLine + `
		ORDER BY d.next_attempt_at, d.id LIMIT $2 FOR UPDATE OF d SKIP LOCKED)
	RETURNING ` + deliveryColumns

// ClaimDeliveries leases and returns at most n due deliveries, the first of each ticket and
// channel only.
func (t *tx) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, n int) ([]*store.Delivery, error) {
	if n <= 0 {
		return []*store.Delivery{}, nil
	}
	// The rows come back with the lease as their due time: order them by id, the only order
	// left that RETURNING's arbitrary one can be put into (due times were the claim's order).
	ds, err := list(ctx, t, sqlClaimDeliveries, []any{ts(now), n, ts(leaseUntil)}, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", interpretError(err))
	}
	slices.SortFunc(ds, func(a, b *store.Delivery) int { return cmp.Compare(a.ID, b.ID) })
	return ds, nil
}

// NextDeliveryAt returns the earliest due time of a claimable delivery, or the zero time.
func (t *tx) NextDeliveryAt(ctx context.Context) (time.Time, error) {
	var next time.Time
	err := t.queryRow(ctx, `SELECT d.next_attempt_at FROM deliveries d
		WHERE d.state = 'pending' AND `+headOfLine+` ORDER BY d.next_attempt_at, d.id LIMIT 1`).Scan(&next)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	} else if err != nil {
		return time.Time{}, fmt.Errorf("next delivery: %w", interpretError(err))
	}
	return fromTS(next), nil
}

// UpdateDelivery writes the outcome of an attempt.
func (t *tx) UpdateDelivery(ctx context.Context, d *store.Delivery) error {
	log, err := attemptsText(d.Log)
	if err != nil {
		return err
	}
	// dialect: $n placeholders (SQLite: ?).
	tag, err := t.exec(ctx, `UPDATE deliveries SET state = $1, attempts = $2, next_attempt_at = $3, last_status = $4,
		last_error = $5, queued_at = $6, delivered_at = $7, log = $8 WHERE id = $9`,
		string(d.State), d.Attempts, ts(d.NextAttemptAt), d.LastStatus, d.LastError, ts(d.QueuedAt),
		tsPtr(d.DeliveredAt), log, d.ID)
	if err != nil {
		return writeErr(err, "update delivery "+d.ID, "", "")
	}
	if tag.RowsAffected() == 0 {
		return notFound("delivery", d.ID)
	}
	return nil
}

// GetDelivery returns one delivery.
func (t *tx) GetDelivery(ctx context.Context, id string) (*store.Delivery, error) {
	d, err := scanDelivery(t.queryRow(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = $1`, id))
	if err != nil {
		return nil, readErr(err, "delivery", id)
	}
	return d, nil
}

// ListDeliveries returns a page of deliveries, newest first.
func (t *tx) ListDeliveries(ctx context.Context, f store.DeliveryFilter) ([]*store.Delivery, string, error) {
	limit := store.ClampLimit(f.Limit)
	var w where
	w.eq("state", string(f.State))
	w.eq("ticket_id", f.TicketID)
	w.eq("channel", f.Channel)
	if f.Cursor != "" {
		w.add("id < $?", f.Cursor)
	}
	items, cursor, err := page(ctx, t, `SELECT `+deliveryColumns+` FROM deliveries`+w.sql()+` ORDER BY id DESC`,
		w.args, limit, scanDelivery, func(d *store.Delivery) string { return d.ID })
	if err != nil {
		return nil, "", fmt.Errorf("list deliveries: %w", interpretError(err))
	}
	return items, cursor, nil
}

// RetryDelivery puts a failed or dead delivery back to pending, due at now.
func (t *tx) RetryDelivery(ctx context.Context, id string, now time.Time) (*store.Delivery, error) {
	// dialect: FOR UPDATE, so that two retries of one delivery cannot both pass the state check
	// (SQLite: its single writer serialises them).
	d, err := scanDelivery(t.queryRow(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = $1 FOR UPDATE`, id))
	if err != nil {
		return nil, readErr(err, "delivery", id)
	}
	if err := store.Requeue(d, now); err != nil {
		return nil, err
	}
	if err := t.UpdateDelivery(ctx, d); err != nil {
		return nil, err
	}
	// Every node's dispatcher hears that the delivery is pending again once this commits.
	// dialect: pg_notify (SQLite: the store publishes to its hub after the commit).
	if _, err := t.exec(ctx, `SELECT pg_notify($1, json_build_object('ticket_id', $2::text, 'type', '`+store.ChangeDelivery+`')::text)`,
		t.channel, d.TicketID); err != nil {
		return nil, fmt.Errorf("announce retried delivery %s: %w", id, interpretError(err))
	}
	return d, nil
}

// CountDeliveries counts the deliveries in each state but delivered, one index range count each
// (deliveries_state).
func (t *tx) CountDeliveries(ctx context.Context) (map[store.DeliveryState]int64, error) {
	out := map[store.DeliveryState]int64{}
	for _, st := range []store.DeliveryState{store.DeliveryPending, store.DeliveryFailed, store.DeliveryDead} {
		var n int64
		if err := t.queryRow(ctx, `SELECT count(*) FROM deliveries WHERE state = $1`, string(st)).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s deliveries: %w", st, err)
		}
		out[st] = n
	}
	return out, nil
}
