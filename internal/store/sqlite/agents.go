package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

const sqlPutAgentState = `INSERT INTO agent_state (agent_id, status, capacity, updated_at) VALUES (?, ?, ?, ?)
	ON CONFLICT (agent_id) DO UPDATE SET status = excluded.status, capacity = excluded.capacity,
		updated_at = excluded.updated_at`

// PutAgentState stores s, replacing the agent's previous state.
func (t *tx) PutAgentState(ctx context.Context, s *store.AgentState) error {
	_, err := t.exec(ctx, sqlPutAgentState, s.AgentID, s.Status, s.Capacity, ms(s.UpdatedAt))
	if err == nil {
		return nil // the messages below are built only for an error
	}
	return writeErr(err, "put agent state "+s.AgentID, "", "")
}

// AgentStates returns the stored states of the agents in ids that have one.
func (t *tx) AgentStates(ctx context.Context, ids ...string) (map[string]*store.AgentState, error) {
	out := map[string]*store.AgentState{}
	if len(ids) == 0 {
		return out, nil
	}
	states, err := list(ctx, t, `SELECT agent_id, status, capacity, updated_at FROM agent_state
		WHERE agent_id IN (`+placeholders(len(ids))+`)`, anys(ids), func(s scanner) (*store.AgentState, error) {
		var (
			a  store.AgentState
			at int64
		)
		if err := s.Scan(&a.AgentID, &a.Status, &a.Capacity, &at); err != nil {
			return nil, err
		}
		a.UpdatedAt = fromMS(at)
		return &a, nil
	})
	if err != nil {
		return nil, fmt.Errorf("agent states: %w", err)
	}
	for _, a := range states {
		out[a.AgentID] = a
	}
	return out, nil
}

// sqlOpenCounts repeats tickets_open_assignee's WHERE term word for word, so that SQLite counts
// from that partial index.
const sqlOpenCounts = `SELECT assignee, COUNT(*) FROM tickets
	WHERE status NOT IN ('solved', 'closed') AND assignee IN (%s) GROUP BY assignee`

// OpenCounts returns how many open tickets each agent in ids holds (agents with none absent).
func (t *tx) OpenCounts(ctx context.Context, ids ...string) (map[string]int, error) {
	out := map[string]int{}
	if len(ids) == 0 {
		return out, nil
	}
	type row struct {
		agent string
		n     int
	}
	rows, err := list(ctx, t, fmt.Sprintf(sqlOpenCounts, placeholders(len(ids))), anys(ids), func(s scanner) (row, error) {
		var r row
		err := s.Scan(&r.agent, &r.n)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("open ticket counts: %w", err)
	}
	for _, r := range rows {
		out[r.agent] = r.n
	}
	return out, nil
}

// LastAssigned returns the agent the team assigned last. dialect: no lock (PostgreSQL: FOR
// UPDATE on the team's row); every Update runs on SQLite's single writer, so routing into a team
// is serialised already.
func (t *tx) LastAssigned(ctx context.Context, team string) (string, error) {
	var agent string
	err := t.queryRow(ctx, `SELECT last_agent FROM team_routing WHERE team = ?`, team).Scan(&agent)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("last assigned in team %s: %w", team, err)
	}
	return agent, nil
}

const sqlSetLastAssigned = `INSERT INTO team_routing (team, last_agent, updated_at) VALUES (?, ?, ?)
	ON CONFLICT (team) DO UPDATE SET last_agent = excluded.last_agent, updated_at = excluded.updated_at`

// SetLastAssigned records the agent the team assigned last.
func (t *tx) SetLastAssigned(ctx context.Context, team, agent string, at time.Time) error {
	_, err := t.exec(ctx, sqlSetLastAssigned, team, agent, ms(at))
	if err == nil {
		return nil // the messages below are built only for an error
	}
	return writeErr(err, "set last assigned in team "+team, "", "")
}

// ListQueue returns a page of a team's open tickets, oldest first. The WHERE repeats
// tickets_open_team's term, so SQLite walks that partial index in id order.
func (t *tx) ListQueue(ctx context.Context, f store.QueueFilter) ([]*escalated.Ticket, string, error) {
	limit := store.ClampLimit(f.Limit)
	query := ticketSelect + ` WHERE t.status NOT IN ('solved', 'closed') AND t.team = ?`
	args := []any{f.Team}
	if f.Cursor != "" {
		query += ` AND t.id > ?`
		args = append(args, f.Cursor)
	}
	query += ` ORDER BY t.id LIMIT ?`
	items, cursor, err := page(ctx, t, query, args, limit, scanTicket, func(tk *escalated.Ticket) string { return tk.ID })
	if err != nil {
		return nil, "", fmt.Errorf("list queue of team %s: %w", f.Team, err)
	}
	return items, cursor, nil
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
