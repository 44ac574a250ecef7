package memstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// Escalations and handoffs.
//
// Tables (the indexes mirror the SQLite store's):
//
//	escalations           id -> *escalated.Escalation
//	escalations.ticket    ticket_id \x00 id                      (escalations_ticket)
//	escalations.from      from_team \x00 id                      (escalations_from_team)
//	escalations.to        to_team \x00 id                        (escalations_to_team)
//	escalations.state     state \x00 id                          (escalations_state)
//	escalations.pending   to_team \x00 ms(created_at) \x00 id    (escalations_pending_line: state pending only)
//	escalations.acked     to_team \x00 ms(acknowledged_at) \x00 id -> the wait
//	                      (escalations_acknowledged: acknowledged_at set only)
//	handoffs              id -> *store.Handoff
//
// Index values other than escalations.acked are unused (struct{}): a row is read from the
// escalations table by the id at the end of its key.
const (
	tEscalations = "escalations"
	tEscByTicket = "escalations.ticket"
	tEscByFrom   = "escalations.from"
	tEscByTo     = "escalations.to"
	tEscByState  = "escalations.state"
	tEscPending  = "escalations.pending"
	tEscAcked    = "escalations.acked"
	tHandoffs    = "handoffs"
)

// escTimeKey renders a time at the stores' millisecond precision so that keys sort by time: the
// unix milliseconds with the sign bit flipped, in fixed-width hex (negative times sort too).
func escTimeKey(t time.Time) string {
	return fmt.Sprintf("%016x", uint64(t.UnixMilli())^(1<<63))
}

// escTruncPtr is escalated.Truncate of an optional time.
func escTruncPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := escalated.Truncate(*t)
	return &v
}

// storedEscalation is the copy of e the store keeps: times at millisecond precision in UTC, as
// the SQL stores read them back.
func storedEscalation(e *escalated.Escalation) *escalated.Escalation {
	s := clone(e)
	s.CreatedAt = escalated.Truncate(s.CreatedAt)
	s.AcknowledgedAt, s.ClosedAt = escTruncPtr(s.AcknowledgedAt), escTruncPtr(s.ClosedAt)
	return s
}

// indexEscalation adds (add) or removes the index entries of e.
func (x *tx) indexEscalation(e *escalated.Escalation, add bool) {
	set := func(table, key string) {
		if add {
			put(x, table, key, struct{}{})
		} else {
			del[struct{}](x, table, key)
		}
	}
	set(tEscByTicket, e.TicketID+"\x00"+e.ID)
	set(tEscByFrom, e.FromTeam+"\x00"+e.ID)
	set(tEscByTo, e.ToTeam+"\x00"+e.ID)
	set(tEscByState, string(e.State)+"\x00"+e.ID)
	if e.State == escalated.EscalationPending {
		set(tEscPending, e.ToTeam+"\x00"+escTimeKey(e.CreatedAt)+"\x00"+e.ID)
	}
	if e.AcknowledgedAt != nil {
		key := e.ToTeam + "\x00" + escTimeKey(*e.AcknowledgedAt) + "\x00" + e.ID
		if add {
			// Both times are stored truncated, so the wait is exact in milliseconds.
			put(x, tEscAcked, key, e.AcknowledgedAt.Sub(e.CreatedAt))
		} else {
			del[time.Duration](x, tEscAcked, key)
		}
	}
}

// CreateEscalation inserts e; conflict when the id is taken, not_found when its ticket does not
// exist.
func (x *tx) CreateEscalation(ctx context.Context, e *escalated.Escalation) error {
	if err := x.writable("create escalation"); err != nil {
		return err
	}
	if _, ok := get[*escalated.Escalation](x, tEscalations, e.ID); ok {
		return conflict("escalation %s already exists", e.ID)
	}
	if _, ok := get[*escalated.Ticket](x, "tickets", e.TicketID); !ok {
		return notFound("ticket", e.TicketID)
	}
	s := storedEscalation(e)
	put(x, tEscalations, s.ID, s)
	x.indexEscalation(s, true)
	return nil
}

// GetEscalation returns one escalation with its package.
func (x *tx) GetEscalation(ctx context.Context, id string) (*escalated.Escalation, error) {
	e, ok := get[*escalated.Escalation](x, tEscalations, id)
	if !ok {
		return nil, notFound("escalation", id)
	}
	return clone(e), nil
}

// UpdateEscalation writes every field but id, ticket_id and created_at if the stored version is
// e.Version-1, else conflict.
func (x *tx) UpdateEscalation(ctx context.Context, e *escalated.Escalation) error {
	if err := x.writable("update escalation"); err != nil {
		return err
	}
	old, ok := get[*escalated.Escalation](x, tEscalations, e.ID)
	if !ok {
		return notFound("escalation", e.ID)
	}
	if old.Version != e.Version-1 {
		return conflict("escalation %s was changed by someone else (stored version %d, this write expected %d): reload and retry",
			e.ID, old.Version, e.Version-1)
	}
	s := storedEscalation(e)
	s.TicketID, s.CreatedAt = old.TicketID, old.CreatedAt
	x.indexEscalation(old, false)
	put(x, tEscalations, s.ID, s)
	x.indexEscalation(s, true)
	return nil
}

// ListEscalations returns a page of escalations, newest first (id descending). It walks the
// index of the most selective filter given (ticket, then team, to team, state) in id order
// and checks the other filters on each row; Team, matching either side, walks the from and to
// indexes for at most a page plus one each and merges them, as the SQLite store does.
func (x *tx) ListEscalations(ctx context.Context, f store.EscalationFilter) ([]*escalated.Escalation, string, error) {
	limit := store.ClampLimit(f.Limit)
	match := func(e *escalated.Escalation) bool {
		return (f.TicketID == "" || e.TicketID == f.TicketID) &&
			(f.Team == "" || e.FromTeam == f.Team || e.ToTeam == f.Team) &&
			(f.ToTeam == "" || e.ToTeam == f.ToTeam) &&
			(f.State == "" || e.State == f.State)
	}
	var rows []*escalated.Escalation
	switch {
	case f.TicketID != "":
		rows = x.walkEscalations(tEscByTicket, f.TicketID, f.Cursor, limit+1, match)
	case f.Team != "":
		rows = x.walkEscalations(tEscByFrom, f.Team, f.Cursor, limit+1, match)
		for _, e := range x.walkEscalations(tEscByTo, f.Team, f.Cursor, limit+1, match) {
			if e.FromTeam != f.Team { // both sides: already found by the from side
				rows = append(rows, e)
			}
		}
		slices.SortFunc(rows, func(a, b *escalated.Escalation) int {
			switch {
			case a.ID > b.ID:
				return -1
			case a.ID < b.ID:
				return 1
			}
			return 0
		})
		rows = rows[:min(len(rows), limit+1)]
	case f.ToTeam != "":
		rows = x.walkEscalations(tEscByTo, f.ToTeam, f.Cursor, limit+1, match)
	case f.State != "":
		rows = x.walkEscalations(tEscByState, string(f.State), f.Cursor, limit+1, match)
	default:
		rows = x.walkEscalations(tEscalations, "", f.Cursor, limit+1, match)
	}
	cursor := ""
	if len(rows) > limit {
		rows = rows[:limit]
		cursor = rows[limit-1].ID
	}
	out := make([]*escalated.Escalation, len(rows))
	for i, e := range rows {
		out[i] = clone(e)
	}
	return out, cursor, nil
}

// walkEscalations returns at most n escalations matching match, id descending, with ids below
// cursor ("" for no bound): from the escalations table itself when group is "" and table is
// tEscalations, else from the index table's keys group \x00 id.
func (x *tx) walkEscalations(table, group, cursor string, n int, match func(*escalated.Escalation) bool) []*escalated.Escalation {
	var out []*escalated.Escalation
	if table == tEscalations {
		scanDesc(x, tEscalations, "", cursor, func(id string, e *escalated.Escalation) bool {
			if cursor != "" && id >= cursor {
				return true
			}
			if match(e) {
				out = append(out, e)
			}
			return len(out) < n
		})
		return out
	}
	prefix := group + "\x00"
	from := ""
	if cursor != "" {
		from = prefix + cursor
	}
	scanDesc(x, table, prefix, from, func(key string, _ struct{}) bool {
		id := key[len(prefix):]
		if cursor != "" && id >= cursor {
			return true
		}
		if e, ok := get[*escalated.Escalation](x, tEscalations, id); ok && match(e) {
			out = append(out, e)
		}
		return len(out) < n
	})
	return out
}

// SaveHandoff stores h; conflict when a handoff with its id exists, not_found when its ticket
// does not.
func (x *tx) SaveHandoff(ctx context.Context, h *store.Handoff) error {
	if err := x.writable("save handoff"); err != nil {
		return err
	}
	if _, ok := get[*store.Handoff](x, tHandoffs, h.ID); ok {
		return conflict("handoff %s already exists", h.ID)
	}
	if _, ok := get[*escalated.Ticket](x, "tickets", h.TicketID); !ok {
		return notFound("ticket", h.TicketID)
	}
	s := clone(h)
	s.CreatedAt = escalated.Truncate(s.CreatedAt)
	if s.Answer == nil {
		s.Answer = []byte{} // a NOT NULL TEXT column reads back as empty, not nil
	}
	put(x, tHandoffs, s.ID, s)
	return nil
}

// GetHandoff returns the handoff with that id; not_found when there is none.
func (x *tx) GetHandoff(ctx context.Context, id string) (*store.Handoff, error) {
	h, ok := get[*store.Handoff](x, tHandoffs, id)
	if !ok {
		return nil, notFound("handoff", id)
	}
	return clone(h), nil
}

// PendingAhead counts the pending escalations to team strictly before (createdAt, id) in
// (created_at, id) order: a walk of the team's pending line up to that point, so its cost is
// the number ahead, as on SQLite.
func (x *tx) PendingAhead(ctx context.Context, team string, createdAt time.Time, id string) (int, error) {
	prefix := team + "\x00"
	bound := prefix + escTimeKey(createdAt) + "\x00" + id
	n := 0
	scan(x, tEscPending, prefix, "", func(key string, _ struct{}) bool {
		if key >= bound {
			return false
		}
		n++
		return true
	})
	return n, nil
}

// AckDelays returns how long the latest n escalations to team acknowledged at or after since
// waited for their acknowledgement, newest first (acknowledged_at, then id, descending).
func (x *tx) AckDelays(ctx context.Context, team string, since time.Time, n int) ([]time.Duration, error) {
	out := []time.Duration{}
	if n <= 0 {
		return out, nil
	}
	prefix := team + "\x00"
	floor := prefix + escTimeKey(since)
	scanDesc(x, tEscAcked, prefix, "", func(key string, wait time.Duration) bool {
		if key < floor {
			return false
		}
		out = append(out, wait)
		return len(out) < n
	})
	return out, nil
}
