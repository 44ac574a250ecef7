package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/escalated/escalated/internal/store"
)

const handoffColumns = `id, request_hash, ticket_id, escalation_id, answer, created_at`

// SaveHandoff stores h; conflict when a handoff with its id exists, not_found when its ticket
// does not. Two transactions saving the same id at once: the second waits for the first and
// gets conflict once it commits, so only one handoff's ticket and escalation survive.
func (t *tx) SaveHandoff(ctx context.Context, h *store.Handoff) error {
	// dialect: $n placeholders, answer as bytea from []byte (SQLite: ?, TEXT from a string).
	_, err := t.exec(ctx, `INSERT INTO handoffs (`+handoffColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		h.ID, h.RequestHash, h.TicketID, h.EscalationID, answerBytes(h.Answer), ts(h.CreatedAt))
	return writeErr(err, "save handoff "+h.ID, "handoff "+h.ID+" already exists",
		"ticket "+h.TicketID+" not found")
}

// answerBytes maps a nil answer to an empty one: pgx sends a nil []byte as NULL, which the NOT
// NULL column would refuse as invalid, while SQLite stores it as ”.
func answerBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// GetHandoff returns the handoff with that id; not_found when there is none.
func (t *tx) GetHandoff(ctx context.Context, id string) (*store.Handoff, error) {
	var (
		h       store.Handoff
		created time.Time
	)
	// dialect: $1 placeholder (SQLite: ?).
	err := t.queryRow(ctx, `SELECT `+handoffColumns+` FROM handoffs WHERE id = $1`, id).
		Scan(&h.ID, &h.RequestHash, &h.TicketID, &h.EscalationID, &h.Answer, &created)
	if err != nil {
		return nil, readErr(err, "handoff", id)
	}
	h.CreatedAt = fromTS(created)
	return &h, nil
}

// sqlPendingAhead counts a team's pending escalations strictly before (created_at, id): an
// index-only range scan of escalations_pending_line (the row comparison is its index condition),
// whose cost is the number of escalations ahead, not the size of the table.
// dialect: $n placeholders (SQLite: ?).
const sqlPendingAhead = `SELECT count(*) FROM escalations
	WHERE state = 'pending' AND to_team = $1 AND (created_at, id) < ($2, $3)`

// PendingAhead counts the pending escalations to team created before (createdAt, id).
func (t *tx) PendingAhead(ctx context.Context, team string, createdAt time.Time, id string) (int, error) {
	var n int
	if err := t.queryRow(ctx, sqlPendingAhead, team, ts(createdAt), id).Scan(&n); err != nil {
		return 0, fmt.Errorf("count pending escalations to %s ahead of %s: %w", team, id, interpretError(err))
	}
	return n, nil
}

// sqlAckDelays reads a team's latest acknowledgements backwards from escalations_acknowledged,
// an index-only scan, newest first. dialect: $n placeholders; the difference of two
// timestamptz is an interval (SQLite: integer milliseconds). PostgreSQL folds whole 24-hour
// days of it into its days field and pgx counts each as 24 hours when it scans the interval into
// a time.Duration, so the wait comes back exact, to the microsecond.
const sqlAckDelays = `SELECT acknowledged_at - created_at FROM escalations
	WHERE acknowledged_at IS NOT NULL AND to_team = $1 AND acknowledged_at >= $2
	ORDER BY acknowledged_at DESC, id DESC LIMIT $3`

// AckDelays returns how long the latest n escalations to team acknowledged at or after since
// waited for their acknowledgement, newest first.
func (t *tx) AckDelays(ctx context.Context, team string, since time.Time, n int) ([]time.Duration, error) {
	if n <= 0 {
		return []time.Duration{}, nil
	}
	ds, err := list(ctx, t, sqlAckDelays, []any{team, ts(since), n}, func(s scanner) (time.Duration, error) {
		var wait time.Duration
		err := s.Scan(&wait)
		return wait, err
	})
	if err != nil {
		return nil, fmt.Errorf("acknowledgement delays of %s: %w", team, interpretError(err))
	}
	return ds, nil
}
