package store

import (
	"context"
	"time"

	"github.com/escalated/escalated"
)

// AgentState is what the policy does not say about an agent and routing needs now: the live
// status people set during the day and a capacity override. The policy names the agent, their
// teams, skills and languages, and their starting status and capacity; a stored state wins over
// those two while it exists.
type AgentState struct {
	AgentID string
	// Status is online, away or offline; "" means the policy's starting status.
	Status string
	// Capacity is the open tickets the agent takes at most; 0 means the policy's capacity.
	Capacity  int
	UpdatedAt time.Time
}

// Agents stores the live routing state: agents' status and capacity, the agent each team
// assigned last (round robin), and the counts and queues routing reads from the tickets.
type Agents interface {
	// PutAgentState stores s, replacing the agent's previous state.
	PutAgentState(ctx context.Context, s *AgentState) error
	// AgentStates returns the stored state of each of the agents in ids that has one, by
	// agent id; an agent never changed is absent.
	AgentStates(ctx context.Context, ids ...string) (map[string]*AgentState, error)
	// OpenCounts returns, for each agent in ids with any, how many tickets assigned to them are
	// not solved or closed.
	OpenCounts(ctx context.Context, ids ...string) (map[string]int, error)
	// LastAssigned returns the agent the team assigned last ("" when none). Inside Update it
	// also serialises routing into the team until the transaction ends (PostgreSQL locks the
	// team's row; SQLite has one writer), so that round robin and capacity hold when tickets
	// enter one team concurrently.
	LastAssigned(ctx context.Context, team string) (string, error)
	// SetLastAssigned records that the team assigned agent at at.
	SetLastAssigned(ctx context.Context, team, agent string, at time.Time) error
	// ListQueue returns a team's open tickets (not solved or closed), oldest first (by id
	// ascending), at most f.Limit, and the cursor of the next page ("" when there is none).
	ListQueue(ctx context.Context, f QueueFilter) ([]*escalated.Ticket, string, error)
}

// QueueFilter selects one team's queue.
type QueueFilter struct {
	Team string
	// Cursor is the last id of the previous page; the page starts after it.
	Cursor string
	Limit  int
}
