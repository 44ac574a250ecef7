package memstore

import (
	"context"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// Stubs of Escalations, Agents, Handoffs, Search: replaced by the real methods.

var _ = escalated.Truncate
var _ time.Time

func (x *tx) CreateEscalation(ctx context.Context, e *escalated.Escalation) error { return errTodo() }
func (x *tx) GetEscalation(ctx context.Context, id string) (*escalated.Escalation, error) {
	return nil, errTodo()
}
func (x *tx) UpdateEscalation(ctx context.Context, e *escalated.Escalation) error { return errTodo() }
func (x *tx) ListEscalations(ctx context.Context, f store.EscalationFilter) ([]*escalated.Escalation, string, error) {
	return nil, "", errTodo()
}
func (x *tx) PutAgentState(ctx context.Context, s *store.AgentState) error { return errTodo() }
func (x *tx) AgentStates(ctx context.Context, ids ...string) (map[string]*store.AgentState, error) {
	return nil, errTodo()
}
func (x *tx) OpenCounts(ctx context.Context, ids ...string) (map[string]int, error) {
	return nil, errTodo()
}
func (x *tx) LastAssigned(ctx context.Context, team string) (string, error) { return "", errTodo() }
func (x *tx) SetLastAssigned(ctx context.Context, team, agent string, at time.Time) error {
	return errTodo()
}
func (x *tx) ListQueue(ctx context.Context, f store.QueueFilter) ([]*escalated.Ticket, string, error) {
	return nil, "", errTodo()
}
func (x *tx) SaveHandoff(ctx context.Context, h *store.Handoff) error { return errTodo() }
func (x *tx) GetHandoff(ctx context.Context, id string) (*store.Handoff, error) {
	return nil, errTodo()
}
func (x *tx) PendingAhead(ctx context.Context, team string, createdAt time.Time, id string) (int, error) {
	return 0, errTodo()
}
func (x *tx) AckDelays(ctx context.Context, team string, since time.Time, n int) ([]time.Duration, error) {
	return nil, errTodo()
}
func (x *tx) IndexResolved(ctx context.Context, d *store.SearchDoc) error { return errTodo() }
func (x *tx) UnindexResolved(ctx context.Context, ticketID string) error  { return errTodo() }
func (x *tx) SimilarResolved(ctx context.Context, text, exclude string, n int) ([]store.SimilarTicket, error) {
	return nil, errTodo()
}
