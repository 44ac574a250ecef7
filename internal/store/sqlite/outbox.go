package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

const deliveryColumns = `id, ticket_id, seq, channel, event_type, event_id, payload, state, attempts,
	next_attempt_at, last_status, last_error, created_at, queued_at, delivered_at, log`

func scanDelivery(s scanner) (*store.Delivery, error) {
	var (
		d                     store.Delivery
		payload, log          string
		next, created, queued int64
		delivered             sql.NullInt64
	)
	if err := s.Scan(&d.ID, &d.TicketID, &d.Seq, &d.Channel, &d.EventType, &d.EventID, &payload, &d.State,
		&d.Attempts, &next, &d.LastStatus, &d.LastError, &created, &queued, &delivered, &log); err != nil {
		return nil, err
	}
	d.Payload = []byte(payload)
	d.NextAttemptAt, d.CreatedAt, d.QueuedAt = fromMS(next), fromMS(created), fromMS(queued)
	d.DeliveredAt = fromNullMS(delivered)
	var err error
	if d.Log, err = parseAttempts([]byte(log)); err != nil {
		return nil, fmt.Errorf("decode attempt log of delivery %s: %w", d.ID, err)
	}
	return &d, nil
}

// parseAttempts reads the attempt log column, with times in UTC as the rest of the store.
func parseAttempts(text []byte) ([]store.Attempt, error) {
	log := []store.Attempt{}
	if err := json.Unmarshal(text, &log); err != nil {
		return nil, err
	}
	for i := range log {
		log[i].At = escalated.Truncate(log[i].At)
	}
	return log, nil
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
	_, err = t.exec(ctx, `INSERT INTO deliveries (`+deliveryColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.TicketID, d.Seq, d.Channel, d.EventType, d.EventID, string(d.Payload), string(d.State),
		d.Attempts, ms(d.NextAttemptAt), d.LastStatus, d.LastError, ms(d.CreatedAt), ms(d.QueuedAt),
		msPtr(d.DeliveredAt), log)
	if err == nil {
		t.announceDelivery(d.TicketID)
	}
	if err == nil {
		return nil // the messages below are built only for an error
	}
	return writeErr(err, "enqueue delivery "+d.ID, "delivery "+d.ID+" already exists",
		"ticket "+d.TicketID+" not found")
}

// announceDelivery queues the store.ChangeDelivery of ticketID for after the commit, once per
// run of deliveries of one ticket (a change queues one per event and channel).
func (t *tx) announceDelivery(ticketID string) {
	if n := len(t.changes); n > 0 && t.changes[n-1].Type == store.ChangeDelivery && t.changes[n-1].TicketID == ticketID {
		return
	}
	t.changes = append(t.changes, store.Change{TicketID: ticketID, Type: store.ChangeDelivery})
}

// headOfLine keeps a pending delivery only when no earlier pending delivery of its ticket and
// channel exists: that is what sends each ticket's deliveries to a channel in order. The same
// text works in both dialects.
const headOfLine = `NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.state = 'pending'
		AND p.ticket_id = d.ticket_id AND p.channel = d.channel
		AND (p.seq < d.seq OR (p.seq = d.seq AND p.id < d.id)))`

// dialect: no locking clause (PostgreSQL: FOR UPDATE SKIP LOCKED). SQLite has one writer and
// every Update runs on it, so the SELECT and the UPDATE below see no other claimer in between.
// The inner SELECT picks the ids from the indexes alone (deliveries_due holds the line
// columns, deliveries_line answers headOfLine); only the claimed rows are read whole.
// dialect: INDEXED BY (PostgreSQL plans from its statistics). Left to itself SQLite walked
// deliveries_state and sorted every pending row, reading each one's page: a 5,000-row backlog
// then held the dispatcher to about 500 deliveries/s.
const sqlSelectDueDeliveries = `SELECT ` + deliveryColumns + ` FROM deliveries WHERE id IN (
		SELECT d.id FROM deliveries d INDEXED BY deliveries_due
		WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND ` + headOfLine + `
		ORDER BY d.next_attempt_at, d.id LIMIT ?)
	ORDER BY next_attempt_at, id`

// ClaimDeliveries leases and returns at most n due deliveries, the first of each ticket and
// channel only.
func (t *tx) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, n int) ([]*store.Delivery, error) {
	if n <= 0 {
		return []*store.Delivery{}, nil
	}
	ds, err := list(ctx, t, sqlSelectDueDeliveries, []any{ms(now), n}, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	if len(ds) == 0 {
		return ds, nil
	}
	args := []any{ms(leaseUntil)}
	for _, d := range ds {
		args = append(args, d.ID)
		d.NextAttemptAt = fromMS(ms(leaseUntil))
	}
	if _, err := t.exec(ctx, `UPDATE deliveries SET next_attempt_at = ? WHERE id IN (`+placeholders(len(ds))+`)`, args...); err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", interpretError(err))
	}
	return ds, nil
}

// sqlNextDeliveryAt is NextDeliveryAt's query. dialect: INDEXED BY, as in sqlSelectDueDeliveries.
const sqlNextDeliveryAt = `SELECT d.next_attempt_at FROM deliveries d INDEXED BY deliveries_due
		WHERE d.state = 'pending' AND ` + headOfLine + ` ORDER BY d.next_attempt_at, d.id LIMIT 1`

// NextDeliveryAt returns the earliest due time of a claimable delivery, or the zero time.
func (t *tx) NextDeliveryAt(ctx context.Context) (time.Time, error) {
	var next sql.NullInt64
	err := t.queryRow(ctx, sqlNextDeliveryAt).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	} else if err != nil {
		return time.Time{}, fmt.Errorf("next delivery: %w", err)
	}
	return fromMS(next.Int64), nil
}

// UpdateDelivery writes the outcome of an attempt.
func (t *tx) UpdateDelivery(ctx context.Context, d *store.Delivery) error {
	log, err := attemptsText(d.Log)
	if err != nil {
		return err
	}
	res, err := t.exec(ctx, `UPDATE deliveries SET state = ?, attempts = ?, next_attempt_at = ?, last_status = ?,
		last_error = ?, queued_at = ?, delivered_at = ?, log = ? WHERE id = ?`,
		string(d.State), d.Attempts, ms(d.NextAttemptAt), d.LastStatus, d.LastError, ms(d.QueuedAt),
		msPtr(d.DeliveredAt), log, d.ID)
	if err != nil {
		return writeErr(err, "update delivery "+d.ID, "", "")
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update delivery %s: %w", d.ID, err)
	} else if n == 0 {
		return notFound("delivery", d.ID)
	}
	return nil
}

// GetDelivery returns one delivery.
func (t *tx) GetDelivery(ctx context.Context, id string) (*store.Delivery, error) {
	d, err := scanDelivery(t.queryRow(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("delivery", id)
	} else if err != nil {
		return nil, fmt.Errorf("get delivery %s: %w", id, err)
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
		w.add("id < ?", f.Cursor)
	}
	items, cursor, err := page(ctx, t, `SELECT `+deliveryColumns+` FROM deliveries`+w.sql()+` ORDER BY id DESC LIMIT ?`,
		w.args, limit, scanDelivery, func(d *store.Delivery) string { return d.ID })
	if err != nil {
		return nil, "", fmt.Errorf("list deliveries: %w", err)
	}
	return items, cursor, nil
}

// RetryDelivery puts a failed or dead delivery back to pending, due at now.
func (t *tx) RetryDelivery(ctx context.Context, id string, now time.Time) (*store.Delivery, error) {
	d, err := t.GetDelivery(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := store.Requeue(d, now); err != nil {
		return nil, err
	}
	if err := t.UpdateDelivery(ctx, d); err != nil {
		return nil, err
	}
	t.announceDelivery(d.TicketID)
	return d, nil
}

// CountDeliveries counts the deliveries in each state but delivered, one index range count each
// (deliveries_state).
func (t *tx) CountDeliveries(ctx context.Context) (map[store.DeliveryState]int64, error) {
	out := map[store.DeliveryState]int64{}
	for _, st := range []store.DeliveryState{store.DeliveryPending, store.DeliveryFailed, store.DeliveryDead} {
		var n int64
		if err := t.queryRow(ctx, `SELECT count(*) FROM deliveries WHERE state = ?`, string(st)).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s deliveries: %w", st, err)
		}
		out[st] = n
	}
	return out, nil
}
