package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/escalated/escalated/internal/store"
)

const handoffColumns = `id, request_hash, ticket_id, escalation_id, answer, created_at`

// SaveHandoff stores h; conflict when a handoff with its id exists, not_found when its ticket
// does not.
func (t *tx) SaveHandoff(ctx context.Context, h *store.Handoff) error {
	// answer goes in as a string: the driver binds []byte as a BLOB, which a STRICT TEXT column
	// refuses. The bytes are kept as given either way; SQLite does not rewrite TEXT.
	_, err := t.exec(ctx, `INSERT INTO handoffs (`+handoffColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		h.ID, h.RequestHash, h.TicketID, h.EscalationID, string(h.Answer), ms(h.CreatedAt))
	return writeErr(err, "save handoff "+h.ID, "handoff "+h.ID+" already exists",
		"ticket "+h.TicketID+" not found")
}

// GetHandoff returns the handoff with that id; not_found when there is none.
func (t *tx) GetHandoff(ctx context.Context, id string) (*store.Handoff, error) {
	var (
		h       store.Handoff
		created int64
	)
	err := t.queryRow(ctx, `SELECT `+handoffColumns+` FROM handoffs WHERE id = ?`, id).
		Scan(&h.ID, &h.RequestHash, &h.TicketID, &h.EscalationID, &h.Answer, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("handoff", id)
	} else if err != nil {
		return nil, fmt.Errorf("get handoff %s: %w", id, err)
	}
	h.CreatedAt = fromMS(created)
	return &h, nil
}

// sqlPendingAhead counts a team's pending escalations strictly before (created_at, id). The row
// value comparison is a range on escalations_pending_line, and the WHERE repeats the index's
// state = 'pending' exactly, so this is a covering index range scan whose cost is the number of
// escalations ahead, not the size of the table.
const sqlPendingAhead = `SELECT count(*) FROM escalations
	WHERE state = 'pending' AND to_team = ? AND (created_at, id) < (?, ?)`

// PendingAhead counts the pending escalations to team created before (createdAt, id).
func (t *tx) PendingAhead(ctx context.Context, team string, createdAt time.Time, id string) (int, error) {
	var n int
	if err := t.queryRow(ctx, sqlPendingAhead, team, ms(createdAt), id).Scan(&n); err != nil {
		return 0, fmt.Errorf("count pending escalations to %s ahead of %s: %w", team, id, err)
	}
	return n, nil
}

// sqlAckDelays reads the wait of a team's latest acknowledgements from the covering index
// escalations_acknowledged, newest first; the WHERE repeats the index's
// acknowledged_at IS NOT NULL exactly. Both times are unix milliseconds, so the difference is
// the wait in milliseconds, exactly.
const sqlAckDelays = `SELECT acknowledged_at - created_at FROM escalations
	WHERE acknowledged_at IS NOT NULL AND to_team = ? AND acknowledged_at >= ?
	ORDER BY acknowledged_at DESC, id DESC LIMIT ?`

// AckDelays returns how long the latest n escalations to team acknowledged at or after since
// waited for their acknowledgement, newest first.
func (t *tx) AckDelays(ctx context.Context, team string, since time.Time, n int) ([]time.Duration, error) {
	if n <= 0 {
		return []time.Duration{}, nil
	}
	ds, err := list(ctx, t, sqlAckDelays, []any{team, ms(since), n}, func(s scanner) (time.Duration, error) {
		var wait int64
		err := s.Scan(&wait)
		return time.Duration(wait) * time.Millisecond, err
	})
	if err != nil {
		return nil, fmt.Errorf("acknowledgement delays of %s: %w", team, err)
	}
	return ds, nil
}
