package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// dialect: $n placeholders (SQLite: ?).
const sqlPutAgentState = `INSERT INTO agent_state (agent_id, status, capacity, updated_at) VALUES ($1, $2, $3, $4)
	ON CONFLICT (agent_id) DO UPDATE SET status = excluded.status, capacity = excluded.capacity,
		updated_at = excluded.updated_at`

// PutAgentState stores s, replacing the agent's previous state.
func (t *tx) PutAgentState(ctx context.Context, s *store.AgentState) error {
	_, err := t.exec(ctx, sqlPutAgentState, s.AgentID, s.Status, s.Capacity, ts(s.UpdatedAt))
	return writeErr(err, "put agent state "+s.AgentID, "", "")
}

// AgentStates returns the stored states of the agents in ids that have one.
func (t *tx) AgentStates(ctx context.Context, ids ...string) (map[string]*store.AgentState, error) {
	out := map[string]*store.AgentState{}
	if len(ids) == 0 {
		return out, nil
	}
	// dialect: one text[] parameter with = ANY (SQLite: IN with a placeholder per id).
	states, err := list(ctx, t, `SELECT agent_id, status, capacity, updated_at FROM agent_state
		WHERE agent_id = ANY($1::text[])`, []any{ids}, func(s scanner) (*store.AgentState, error) {
		var (
			a  store.AgentState
			at time.Time
		)
		if err := s.Scan(&a.AgentID, &a.Status, &a.Capacity, &at); err != nil {
			return nil, err
		}
		a.UpdatedAt = fromTS(at)
		return &a, nil
	})
	if err != nil {
		return nil, fmt.Errorf("agent states: %w", interpretError(err))
	}
	for _, a := range states {
		out[a.AgentID] = a
	}
	return out, nil
}

// sqlOpenCounts counts from the partial index tickets_open_assignee.
// dialect: = ANY($1::text[]) (SQLite: IN with a placeholder per id); count(*) is bigint.
const sqlOpenCounts = `SELECT assignee, count(*) FROM tickets
	WHERE status NOT IN ('solved', 'closed') AND assignee = ANY($1::text[]) GROUP BY assignee`

// OpenCounts returns how many open tickets each agent in ids holds (agents with none absent).
func (t *tx) OpenCounts(ctx context.Context, ids ...string) (map[string]int, error) {
	out := map[string]int{}
	if len(ids) == 0 {
		return out, nil
	}
	type row struct {
		agent string
		n     int64
	}
	rows, err := list(ctx, t, sqlOpenCounts, []any{ids}, func(s scanner) (row, error) {
		var r row
		err := s.Scan(&r.agent, &r.n)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("open ticket counts: %w", interpretError(err))
	}
	for _, r := range rows {
		out[r.agent] = int(r.n)
	}
	return out, nil
}

// sqlEnsureTeamRouting makes sure the team has a row to lock.
// dialect: $n placeholders; ON CONFLICT DO NOTHING (SQLite needs no row to lock).
const sqlEnsureTeamRouting = `INSERT INTO team_routing (team, last_agent, updated_at) VALUES ($1, '', now())
	ON CONFLICT (team) DO NOTHING`

// sqlLockTeamRouting reads the team's last assigned agent and locks the row until the
// transaction ends. dialect: FOR UPDATE (SQLite: its single writer serialises routing). Two nodes
// routing tickets into one team so take turns, and the second counts the first's assignment.
const sqlLockTeamRouting = `SELECT last_agent FROM team_routing WHERE team = $1 FOR UPDATE`

// LastAssigned returns the agent the team assigned last; inside Update it locks the team's
// routing row until the transaction ends.
func (t *tx) LastAssigned(ctx context.Context, team string) (string, error) {
	var agent string
	var err error
	if t.write {
		if _, err = t.exec(ctx, sqlEnsureTeamRouting, team); err != nil {
			return "", fmt.Errorf("last assigned in team %s: %w", team, interpretError(err))
		}
		err = t.queryRow(ctx, sqlLockTeamRouting, team).Scan(&agent)
	} else {
		err = t.queryRow(ctx, `SELECT last_agent FROM team_routing WHERE team = $1`, team).Scan(&agent)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("last assigned in team %s: %w", team, interpretError(err))
	}
	return agent, nil
}

// dialect: $n placeholders (SQLite: ?).
const sqlSetLastAssigned = `INSERT INTO team_routing (team, last_agent, updated_at) VALUES ($1, $2, $3)
	ON CONFLICT (team) DO UPDATE SET last_agent = excluded.last_agent, updated_at = excluded.updated_at`

// SetLastAssigned records the agent the team assigned last.
func (t *tx) SetLastAssigned(ctx context.Context, team, agent string, at time.Time) error {
	_, err := t.exec(ctx, sqlSetLastAssigned, team, agent, ts(at))
	return writeErr(err, "set last assigned in team "+team, "", "")
}

// ListQueue returns a page of a team's open tickets, oldest first, from the partial index
// tickets_open_team.
func (t *tx) ListQueue(ctx context.Context, f store.QueueFilter) ([]*escalated.Ticket, string, error) {
	limit := store.ClampLimit(f.Limit)
	var w where
	w.add("t.team = $?", f.Team)
	if f.Cursor != "" {
		w.add("t.id > $?", f.Cursor)
	}
	query := ticketSelect + w.sql() + ` AND t.status NOT IN ('solved', 'closed') ORDER BY t.id`
	items, cursor, err := page(ctx, t, query, w.args, limit, scanTicket, func(tk *escalated.Ticket) string { return tk.ID })
	if err != nil {
		return nil, "", fmt.Errorf("list queue of team %s: %w", f.Team, interpretError(err))
	}
	return items, cursor, nil
}
