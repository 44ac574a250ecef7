package memstore

import (
	"context"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// Stubs of Facts: replaced by the real methods.

var _ = escalated.Truncate
var _ time.Time

func (x *tx) SaveTicketFact(ctx context.Context, f *store.TicketFact) error         { return errTodo() }
func (x *tx) SaveEscalationFact(ctx context.Context, f *store.EscalationFact) error { return errTodo() }
func (x *tx) SetAccountTier(ctx context.Context, accountID, tier string) error      { return errTodo() }
func (x *tx) GetTicketFact(ctx context.Context, ticketID string) (*store.TicketFact, error) {
	return nil, errTodo()
}
func (x *tx) GetEscalationFact(ctx context.Context, escalationID string) (*store.EscalationFact, error) {
	return nil, errTodo()
}
func (x *tx) ReportGroups(ctx context.Context, q store.ReportQuery) ([]store.ReportGroup, error) {
	return nil, errTodo()
}
func (x *tx) ReportOutcomes(ctx context.Context, q store.ReportQuery) (*store.Outcomes, error) {
	return nil, errTodo()
}
func (x *tx) RebuildRollups(ctx context.Context) error { return errTodo() }
