package memstore

import (
	"context"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// Agents: the live routing state.
//
//	agent_state    agent id -> *store.AgentState
//	team_routing   team -> teamRouting (the agent the team assigned last)
//
// OpenCounts and ListQueue read the tickets' open-ticket indexes ("tickets_open_assignee",
// "tickets_open_team": assignee or team \x00 id -> id for tickets neither solved nor closed),
// which the tickets' writes keep.
const (
	tAgentState  = "agent_state"
	tTeamRouting = "team_routing"
)

type teamRouting struct {
	Agent string
	At    time.Time
}

// PutAgentState stores s, replacing the agent's previous state.
func (x *tx) PutAgentState(ctx context.Context, s *store.AgentState) error {
	if err := x.writable("put agent state"); err != nil {
		return err
	}
	v := clone(s)
	v.UpdatedAt = escalated.Truncate(v.UpdatedAt)
	put(x, tAgentState, v.AgentID, v)
	return nil
}

// AgentStates returns the stored states of the agents in ids that have one.
func (x *tx) AgentStates(ctx context.Context, ids ...string) (map[string]*store.AgentState, error) {
	out := map[string]*store.AgentState{}
	for _, id := range ids {
		if s, ok := get[*store.AgentState](x, tAgentState, id); ok {
			out[id] = clone(s)
		}
	}
	return out, nil
}

// LastAssigned returns the agent the team assigned last ("" when none). Updates run one at a
// time, so routing into a team is serialised already.
func (x *tx) LastAssigned(ctx context.Context, team string) (string, error) {
	r, _ := get[teamRouting](x, tTeamRouting, team)
	return r.Agent, nil
}

// SetLastAssigned records the agent the team assigned last.
func (x *tx) SetLastAssigned(ctx context.Context, team, agent string, at time.Time) error {
	if err := x.writable("set last assigned"); err != nil {
		return err
	}
	put(x, tTeamRouting, team, teamRouting{Agent: agent, At: escalated.Truncate(at)})
	return nil
}

// OpenCounts returns how many open tickets each agent in ids holds (agents with none absent):
// a count of the agent's entries in the tickets' open-assignee index, so its cost is the
// agent's open tickets, as on SQLite (tickets_open_assignee).
func (x *tx) OpenCounts(ctx context.Context, ids ...string) (map[string]int, error) {
	out := map[string]int{}
	for _, id := range ids {
		if _, done := out[id]; done {
			continue
		}
		n := 0
		scan(x, tOpenAssignee, id+"\x00", "", func(string, string) bool {
			n++
			return true
		})
		if n > 0 {
			out[id] = n
		}
	}
	return out, nil
}

// ListQueue returns a page of a team's open tickets, oldest first (id ascending), walking the
// tickets' open-team index from the cursor (SQLite: tickets_open_team).
func (x *tx) ListQueue(ctx context.Context, f store.QueueFilter) ([]*escalated.Ticket, string, error) {
	limit := store.ClampLimit(f.Limit)
	prefix := f.Team + "\x00"
	from := ""
	if f.Cursor != "" {
		from = prefix + f.Cursor
	}
	var ids []string
	scan(x, tOpenTeam, prefix, from, func(key string, id string) bool {
		if f.Cursor != "" && id <= f.Cursor {
			return true
		}
		ids = append(ids, id)
		return len(ids) <= limit
	})
	cursor := ""
	if len(ids) > limit {
		ids = ids[:limit]
		cursor = ids[limit-1]
	}
	out := make([]*escalated.Ticket, 0, len(ids))
	for _, id := range ids {
		t, err := x.GetTicket(ctx, id)
		if err != nil {
			return nil, "", err
		}
		out = append(out, t)
	}
	return out, cursor, nil
}
