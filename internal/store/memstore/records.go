package memstore

import (
	"context"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

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
