package memstore

import (
	"context"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// Tables of Audit, Tokens, Policies and Logins.
//
//	"audit"               id → *AuditRecord
//	"audit_by_object"     object id + "\x00" + id → *AuditRecord (same value; records never change)
//	"audit_by_kind"       object kind + "\x00" + id → *AuditRecord
//	"audit_by_action"     action + "\x00" + id → *AuditRecord
//	"tokens"              id → *Token
//	"tokens_by_hash"      hash → id
//	"policies"            pad(version) → *PolicyVersion
//	"credentials"         user id → *Credential
//	"sessions"            id hash → *Session
//	"sessions_by_user"    user id + "\x00" + id hash → id hash
//	"sessions_by_expiry"  pad(expires, unix ms) + "\x00" + id hash → id hash
const (
	tAudit          = "audit"
	tTokens         = "tokens"
	tTokenHashes    = "tokens_by_hash"
	tPolicies       = "policies"
	tCredentials    = "credentials"
	tSessions       = "sessions"
	tUserSessions   = "sessions_by_user"
	tSessionExpires = "sessions_by_expiry"
)

// auditIndexes are ListAudit's filter indexes, in the order they are preferred: an object's
// records are few, an action's many.
var auditIndexes = []struct {
	table string
	value func(*escalated.AuditRecord) string
	want  func(store.AuditFilter) string
}{
	{"audit_by_object", func(a *escalated.AuditRecord) string { return a.ObjectID }, func(f store.AuditFilter) string { return f.ObjectID }},
	{"audit_by_action", func(a *escalated.AuditRecord) string { return a.Action }, func(f store.AuditFilter) string { return f.Action }},
	{"audit_by_kind", func(a *escalated.AuditRecord) string { return a.ObjectKind }, func(f store.AuditFilter) string { return f.ObjectKind }},
}

// AppendAudit appends one audit record; conflict when its id is taken.
func (x *tx) AppendAudit(ctx context.Context, a *escalated.AuditRecord) error {
	if err := x.writable("append audit"); err != nil {
		return err
	}
	if _, ok := get[*escalated.AuditRecord](x, tAudit, a.ID); ok {
		return conflict("audit record %s already exists", a.ID)
	}
	c := *a
	details := c.Details
	c.Details = nil
	s := clone(&c)
	var err error
	if s.Details, err = jsonMap(details); err != nil {
		return err
	}
	s.CreatedAt = escalated.Truncate(s.CreatedAt)
	put(x, tAudit, s.ID, s)
	for _, ix := range auditIndexes {
		put(x, ix.table, ix.value(s)+"\x00"+s.ID, s)
	}
	return nil
}

// ListAudit returns a page of audit records, newest first.
func (x *tx) ListAudit(ctx context.Context, f store.AuditFilter) ([]*escalated.AuditRecord, string, error) {
	limit := store.ClampLimit(f.Limit)
	items := make([]*escalated.AuditRecord, 0, min(limit, 64))
	more := false
	take := func(_ string, a *escalated.AuditRecord) bool {
		if f.Cursor != "" && a.ID >= f.Cursor {
			return true
		}
		for _, ix := range auditIndexes {
			if w := ix.want(f); w != "" && ix.value(a) != w {
				return true
			}
		}
		if len(items) == limit {
			more = true
			return false
		}
		items = append(items, clone(a))
		return true
	}
	table, prefix := tAudit, ""
	for _, ix := range auditIndexes {
		if w := ix.want(f); w != "" {
			table, prefix = ix.table, w+"\x00"
			break
		}
	}
	from := ""
	if f.Cursor != "" {
		from = prefix + f.Cursor
	}
	scanDesc(x, table, prefix, from, take)
	cursor := ""
	if more {
		cursor = items[len(items)-1].ID
	}
	return items, cursor, nil
}

func storedToken(t *escalated.Token) *escalated.Token {
	s := clone(t)
	s.CreatedAt = escalated.Truncate(s.CreatedAt)
	s.LastUsedAt, s.RevokedAt, s.ExpiresAt = truncPtr(s.LastUsedAt), truncPtr(s.RevokedAt), truncPtr(s.ExpiresAt)
	return s
}

func truncPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := escalated.Truncate(*t)
	return &v
}

// CreateToken stores a token; conflict when its id or hash is taken.
func (x *tx) CreateToken(ctx context.Context, t *escalated.Token) error {
	if err := x.writable("create token"); err != nil {
		return err
	}
	_, idTaken := get[*escalated.Token](x, tTokens, t.ID)
	_, hashTaken := get[string](x, tTokenHashes, t.Hash)
	if idTaken || hashTaken {
		return conflict("token %s or its secret already exists", t.ID)
	}
	s := storedToken(t)
	put(x, tTokens, s.ID, s)
	put(x, tTokenHashes, s.Hash, s.ID)
	return nil
}

// TokenByHash returns the token whose secret hashes to hash, revoked or not.
func (x *tx) TokenByHash(ctx context.Context, hash string) (*escalated.Token, error) {
	if id, ok := get[string](x, tTokenHashes, hash); ok {
		if t, ok := get[*escalated.Token](x, tTokens, id); ok {
			return clone(t), nil
		}
	}
	// The hash identifies a secret; the message must not echo it.
	return nil, escalated.Errorf(escalated.ENOTFOUND, "token not found")
}

// TouchToken records that the token was used at at; not_found for an unknown id.
func (x *tx) TouchToken(ctx context.Context, id string, at time.Time) error {
	if err := x.writable("touch token"); err != nil {
		return err
	}
	t, ok := get[*escalated.Token](x, tTokens, id)
	if !ok {
		return notFound("token", id)
	}
	n := *t
	n.LastUsedAt = truncPtr(&at)
	put(x, tTokens, id, &n)
	return nil
}

// ListTokens returns every token, newest first.
func (x *tx) ListTokens(ctx context.Context) ([]*escalated.Token, error) {
	out := []*escalated.Token{}
	scanDesc(x, tTokens, "", "", func(_ string, t *escalated.Token) bool {
		out = append(out, clone(t))
		return true
	})
	return out, nil
}

// RevokeToken marks the token revoked at at and returns it.
func (x *tx) RevokeToken(ctx context.Context, id string, at time.Time) (*escalated.Token, error) {
	if err := x.writable("revoke token"); err != nil {
		return nil, err
	}
	t, ok := get[*escalated.Token](x, tTokens, id)
	if !ok {
		return nil, notFound("token", id)
	}
	if t.RevokedAt != nil {
		return nil, conflict("token %s was revoked at %s", id, escalated.FormatTime(*t.RevokedAt))
	}
	n := *t
	n.RevokedAt = truncPtr(&at)
	put(x, tTokens, id, &n)
	return clone(&n), nil
}

// SavePolicy stores p as the next version and sets p.Version, unless the newest version has
// the same hash: then p.Version is that version's.
func (x *tx) SavePolicy(ctx context.Context, p *escalated.PolicyVersion) error {
	if err := x.writable("save policy"); err != nil {
		return err
	}
	var v int64
	if latest := x.latestPolicy(); latest != nil {
		if latest.Hash == p.Hash {
			p.Version = latest.Version
			return nil
		}
		v = latest.Version
	}
	s := clone(p)
	s.Version = v + 1
	s.CreatedAt = escalated.Truncate(s.CreatedAt)
	put(x, tPolicies, pad(s.Version), s)
	p.Version = s.Version
	return nil
}

func (x *tx) latestPolicy() *escalated.PolicyVersion {
	var latest *escalated.PolicyVersion
	scanDesc(x, tPolicies, "", "", func(_ string, p *escalated.PolicyVersion) bool {
		latest = p
		return false
	})
	return latest
}

// LatestPolicy returns the newest policy version; not_found when none was saved.
func (x *tx) LatestPolicy(ctx context.Context) (*escalated.PolicyVersion, error) {
	p := x.latestPolicy()
	if p == nil {
		return nil, escalated.Errorf(escalated.ENOTFOUND, "no policy has been saved yet")
	}
	return clone(p), nil
}

// GetPolicy returns one policy version.
func (x *tx) GetPolicy(ctx context.Context, version int64) (*escalated.PolicyVersion, error) {
	p, ok := get[*escalated.PolicyVersion](x, tPolicies, pad(version))
	if !ok {
		return nil, escalated.Errorf(escalated.ENOTFOUND, "policy version %d not found", version)
	}
	return clone(p), nil
}

// ListPolicies returns every policy version, newest first.
func (x *tx) ListPolicies(ctx context.Context) ([]*escalated.PolicyVersion, error) {
	out := []*escalated.PolicyVersion{}
	scanDesc(x, tPolicies, "", "", func(_ string, p *escalated.PolicyVersion) bool {
		out = append(out, clone(p))
		return true
	})
	return out, nil
}

// SetCredential inserts or replaces the person's password hash.
func (x *tx) SetCredential(ctx context.Context, c *store.Credential) error {
	if err := x.writable("set credential"); err != nil {
		return err
	}
	s := *c
	s.UpdatedAt = escalated.Truncate(s.UpdatedAt)
	put(x, tCredentials, s.UserID, &s)
	return nil
}

// GetCredential returns the person's credential; not_found when none was set.
func (x *tx) GetCredential(ctx context.Context, userID string) (*store.Credential, error) {
	c, ok := get[*store.Credential](x, tCredentials, userID)
	if !ok {
		return nil, escalated.Errorf(escalated.ENOTFOUND, "%s has no password: set one with escalated user set-password %s", userID, userID)
	}
	v := *c
	return &v, nil
}

func expiryKey(s *store.Session) string { return pad(s.ExpiresAt.UnixMilli()) + "\x00" + s.IDHash }

// CreateSession stores a new session; conflict if the id hash exists.
func (x *tx) CreateSession(ctx context.Context, s *store.Session) error {
	if err := x.writable("create session"); err != nil {
		return err
	}
	if _, ok := get[*store.Session](x, tSessions, s.IDHash); ok {
		return conflict("a session with this id exists")
	}
	v := *s
	v.CreatedAt, v.ExpiresAt = escalated.Truncate(v.CreatedAt), escalated.Truncate(v.ExpiresAt)
	put(x, tSessions, v.IDHash, &v)
	put(x, tUserSessions, v.UserID+"\x00"+v.IDHash, v.IDHash)
	put(x, tSessionExpires, expiryKey(&v), v.IDHash)
	return nil
}

// GetSession returns the session; not_found when there is none.
func (x *tx) GetSession(ctx context.Context, idHash string) (*store.Session, error) {
	s, ok := get[*store.Session](x, tSessions, idHash)
	if !ok {
		// The hash is not echoed: it identifies a live session of someone else's.
		return nil, escalated.Errorf(escalated.ENOTFOUND, "no such session")
	}
	v := *s
	return &v, nil
}

// deleteSession removes a session and its index entries; false when there was none.
func (x *tx) deleteSession(idHash string) bool {
	s, ok := get[*store.Session](x, tSessions, idHash)
	if !ok {
		return false
	}
	del[*store.Session](x, tSessions, idHash)
	del[string](x, tUserSessions, s.UserID+"\x00"+idHash)
	del[string](x, tSessionExpires, expiryKey(s))
	return true
}

// DeleteSession ends a session; ending one that does not exist is not an error.
func (x *tx) DeleteSession(ctx context.Context, idHash string) error {
	if err := x.writable("delete session"); err != nil {
		return err
	}
	x.deleteSession(idHash)
	return nil
}

// DeleteUserSessions ends every session of the person and returns how many there were.
func (x *tx) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	if err := x.writable("delete sessions"); err != nil {
		return 0, err
	}
	var hashes []string
	scan(x, tUserSessions, userID+"\x00", "", func(_ string, h string) bool {
		hashes = append(hashes, h)
		return true
	})
	n := 0
	for _, h := range hashes {
		if x.deleteSession(h) {
			n++
		}
	}
	return n, nil
}

// DeleteExpiredSessions removes the sessions expired at now (expires at or before it).
func (x *tx) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	if err := x.writable("delete expired sessions"); err != nil {
		return 0, err
	}
	limit := pad(now.UnixMilli())
	var hashes []string
	scan(x, tSessionExpires, "", "", func(key, h string) bool {
		if key[:len(limit)] > limit {
			return false
		}
		hashes = append(hashes, h)
		return true
	})
	n := 0
	for _, h := range hashes {
		if x.deleteSession(h) {
			n++
		}
	}
	return n, nil
}
