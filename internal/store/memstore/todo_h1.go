package memstore

import (
	"context"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// Stubs of Tickets, History, Accounts, Audit, Tokens, Policies, Decisions, Logins: replaced by the real methods.

var _ = escalated.Truncate
var _ time.Time

func (x *tx) CreateTicket(ctx context.Context, t *escalated.Ticket) error { return errTodo() }
func (x *tx) GetTicket(ctx context.Context, id string) (*escalated.Ticket, error) {
	return nil, errTodo()
}
func (x *tx) UpdateTicket(ctx context.Context, t *escalated.Ticket, prev int64) error {
	return errTodo()
}
func (x *tx) ListTickets(ctx context.Context, f store.TicketFilter) ([]*escalated.Ticket, string, error) {
	return nil, "", errTodo()
}
func (x *tx) AddMessage(ctx context.Context, m *escalated.Message) error { return errTodo() }
func (x *tx) GetMessage(ctx context.Context, id string) (*escalated.Message, error) {
	return nil, errTodo()
}
func (x *tx) ListMessages(ctx context.Context, ticketID string) ([]*escalated.Message, error) {
	return nil, errTodo()
}
func (x *tx) AppendEvent(ctx context.Context, e *escalated.Event) error { return errTodo() }
func (x *tx) ListEvents(ctx context.Context, ticketID string) ([]*escalated.Event, error) {
	return nil, errTodo()
}
func (x *tx) UpsertAccount(ctx context.Context, a *escalated.Account) error { return errTodo() }
func (x *tx) GetAccount(ctx context.Context, id string) (*escalated.Account, error) {
	return nil, errTodo()
}
func (x *tx) UpsertCustomer(ctx context.Context, c *escalated.Customer) error { return errTodo() }
func (x *tx) GetCustomer(ctx context.Context, id string) (*escalated.Customer, error) {
	return nil, errTodo()
}
func (x *tx) AppendAudit(ctx context.Context, a *escalated.AuditRecord) error { return errTodo() }
func (x *tx) ListAudit(ctx context.Context, f store.AuditFilter) ([]*escalated.AuditRecord, string, error) {
	return nil, "", errTodo()
}
func (x *tx) CreateToken(ctx context.Context, t *escalated.Token) error { return errTodo() }
func (x *tx) TokenByHash(ctx context.Context, hash string) (*escalated.Token, error) {
	return nil, errTodo()
}
func (x *tx) TouchToken(ctx context.Context, id string, t time.Time) error { return errTodo() }
func (x *tx) ListTokens(ctx context.Context) ([]*escalated.Token, error)   { return nil, errTodo() }
func (x *tx) RevokeToken(ctx context.Context, id string, t time.Time) (*escalated.Token, error) {
	return nil, errTodo()
}
func (x *tx) SavePolicy(ctx context.Context, p *escalated.PolicyVersion) error { return errTodo() }
func (x *tx) LatestPolicy(ctx context.Context) (*escalated.PolicyVersion, error) {
	return nil, errTodo()
}
func (x *tx) GetPolicy(ctx context.Context, version int64) (*escalated.PolicyVersion, error) {
	return nil, errTodo()
}
func (x *tx) ListPolicies(ctx context.Context) ([]*escalated.PolicyVersion, error) {
	return nil, errTodo()
}
func (x *tx) SaveDecision(ctx context.Context, d *escalated.Decision) error { return errTodo() }
func (x *tx) LatestDecision(ctx context.Context, ticketID string) (*escalated.Decision, error) {
	return nil, errTodo()
}
func (x *tx) SetCredential(ctx context.Context, c *store.Credential) error { return errTodo() }
func (x *tx) GetCredential(ctx context.Context, userID string) (*store.Credential, error) {
	return nil, errTodo()
}
func (x *tx) CreateSession(ctx context.Context, s *store.Session) error { return errTodo() }
func (x *tx) GetSession(ctx context.Context, idHash string) (*store.Session, error) {
	return nil, errTodo()
}
func (x *tx) DeleteSession(ctx context.Context, idHash string) error             { return errTodo() }
func (x *tx) DeleteUserSessions(ctx context.Context, userID string) (int, error) { return 0, errTodo() }
func (x *tx) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	return 0, errTodo()
}
