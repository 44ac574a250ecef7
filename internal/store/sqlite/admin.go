package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

const sqlInsertAudit = `INSERT INTO audit (id, actor, action, object_kind, object_id, details, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`

// AppendAudit appends one audit record; conflict when its id is taken. The table's triggers
// refuse any UPDATE or DELETE, so this is the only way a record changes the trail.
func (t *tx) AppendAudit(ctx context.Context, a *escalated.AuditRecord) error {
	details, err := mapText(a.Details)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, sqlInsertAudit,
		a.ID, a.Actor, a.Action, a.ObjectKind, a.ObjectID, details, ms(a.CreatedAt))
	if err == nil {
		return nil // the messages below are built only for an error
	}
	return writeErr(err, "append audit "+a.ID, "audit record "+a.ID+" already exists", "")
}

// ListAudit returns a page of audit records, newest first.
func (t *tx) ListAudit(ctx context.Context, f store.AuditFilter) ([]*escalated.AuditRecord, string, error) {
	query, args := auditListQuery(f)
	items, cursor, err := page(ctx, t, query, args, store.ClampLimit(f.Limit), scanAudit,
		func(a *escalated.AuditRecord) string { return a.ID })
	if err != nil {
		return nil, "", fmt.Errorf("list audit: %w", err)
	}
	return items, cursor, nil
}

// auditListQuery builds the page query for f, without its final LIMIT argument.
func auditListQuery(f store.AuditFilter) (string, []any) {
	var w where
	w.eq("object_kind", f.ObjectKind)
	w.eq("object_id", f.ObjectID)
	w.eq("action", f.Action)
	if f.Cursor != "" {
		w.add("id < ?", f.Cursor)
	}
	return `SELECT id, actor, action, object_kind, object_id, details, created_at FROM audit` + w.sql() +
		` ORDER BY id DESC LIMIT ?`, w.args
}

func scanAudit(s scanner) (*escalated.AuditRecord, error) {
	var (
		a       escalated.AuditRecord
		details string
		created int64
	)
	if err := s.Scan(&a.ID, &a.Actor, &a.Action, &a.ObjectKind, &a.ObjectID, &details, &created); err != nil {
		return nil, err
	}
	var err error
	if a.Details, err = parseMap(details); err != nil {
		return nil, err
	}
	a.CreatedAt = fromMS(created)
	return &a, nil
}

const tokenColumns = `id, name, role, hash, created_at, last_used_at, revoked_at, expires_at, agent`

func scanToken(s scanner) (*escalated.Token, error) {
	var (
		tok                    escalated.Token
		created                int64
		used, revoked, expires sql.NullInt64
	)
	if err := s.Scan(&tok.ID, &tok.Name, &tok.Role, &tok.Hash, &created, &used, &revoked, &expires, &tok.Agent); err != nil {
		return nil, err
	}
	tok.CreatedAt = fromMS(created)
	tok.LastUsedAt = fromNullMS(used)
	tok.RevokedAt = fromNullMS(revoked)
	tok.ExpiresAt = fromNullMS(expires)
	return &tok, nil
}

// CreateToken stores a token; conflict when its id or hash is taken.
func (t *tx) CreateToken(ctx context.Context, tok *escalated.Token) error {
	_, err := t.exec(ctx, `INSERT INTO tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tok.ID, tok.Name, string(tok.Role), tok.Hash, ms(tok.CreatedAt), msPtr(tok.LastUsedAt), msPtr(tok.RevokedAt), msPtr(tok.ExpiresAt), tok.Agent)
	return writeErr(err, "create token "+tok.ID, "token "+tok.ID+" or its secret already exists", "")
}

// TokenByHash returns the token whose secret hashes to hash, revoked or not: deciding what a
// revoked token may do is the caller's business, and it can only say "revoked" if it sees one.
func (t *tx) TokenByHash(ctx context.Context, hash string) (*escalated.Token, error) {
	tok, err := scanToken(t.queryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		// The hash identifies a secret; the message must not echo it.
		return nil, escalated.Errorf(escalated.ENOTFOUND, "token not found")
	} else if err != nil {
		return nil, fmt.Errorf("token by hash: %w", err)
	}
	return tok, nil
}

// TouchToken records that the token was used at at; not_found for an unknown id.
func (t *tx) TouchToken(ctx context.Context, id string, at time.Time) error {
	res, err := t.exec(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, ms(at), id)
	if err != nil {
		return fmt.Errorf("touch token %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return notFound("token", id)
	}
	return nil
}

// RevokeToken marks the token revoked at at.
func (t *tx) RevokeToken(ctx context.Context, id string, at time.Time) (*escalated.Token, error) {
	tok, err := scanToken(t.queryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("token", id)
	} else if err != nil {
		return nil, fmt.Errorf("get token %s: %w", id, err)
	}
	if tok.RevokedAt != nil {
		return nil, escalated.Errorf(escalated.ECONFLICT, "token %s was revoked at %s", id, escalated.FormatTime(*tok.RevokedAt))
	}
	if _, err := t.exec(ctx, `UPDATE tokens SET revoked_at = ? WHERE id = ?`, ms(at), id); err != nil {
		return nil, writeErr(err, "revoke token "+id, "", "")
	}
	r := escalated.Truncate(at)
	tok.RevokedAt = &r
	return tok, nil
}

// ListTokens returns every token, newest first.
func (t *tx) ListTokens(ctx context.Context) ([]*escalated.Token, error) {
	toks, err := list(ctx, t, `SELECT `+tokenColumns+` FROM tokens ORDER BY id DESC`, nil, scanToken)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return toks, nil
}

const policyColumns = `version, hash, source, actor, created_at`

func scanPolicy(s scanner) (*escalated.PolicyVersion, error) {
	var (
		p       escalated.PolicyVersion
		created int64
	)
	if err := s.Scan(&p.Version, &p.Hash, &p.Source, &p.Actor, &created); err != nil {
		return nil, err
	}
	p.CreatedAt = fromMS(created)
	return &p, nil
}

// SavePolicy stores p as the next version and sets p.Version. The number is computed in the
// INSERT itself; the single writer makes that race-free here. PostgreSQL needs a lock or a
// sequence for the same guarantee.
func (t *tx) SavePolicy(ctx context.Context, p *escalated.PolicyVersion) error {
	latest, err := t.LatestPolicy(ctx)
	if err == nil && latest.Hash == p.Hash {
		p.Version = latest.Version
		return nil
	} else if err != nil && escalated.ErrorCode(err) != escalated.ENOTFOUND {
		return err
	}
	var v int64
	err = t.queryRow(ctx, `INSERT INTO policy_versions (version, hash, source, actor, created_at)
		SELECT COALESCE(MAX(version), 0) + 1, ?, ?, ?, ? FROM policy_versions
		RETURNING version`, p.Hash, p.Source, p.Actor, ms(p.CreatedAt)).Scan(&v)
	if err != nil {
		return writeErr(err, "save policy", "", "")
	}
	p.Version = v
	return nil
}

// LatestPolicy returns the newest policy version; not_found when none was saved.
func (t *tx) LatestPolicy(ctx context.Context) (*escalated.PolicyVersion, error) {
	p, err := scanPolicy(t.queryRow(ctx, `SELECT `+policyColumns+` FROM policy_versions ORDER BY version DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, escalated.Errorf(escalated.ENOTFOUND, "no policy has been saved yet")
	} else if err != nil {
		return nil, fmt.Errorf("latest policy: %w", err)
	}
	return p, nil
}

// GetPolicy returns one policy version.
func (t *tx) GetPolicy(ctx context.Context, version int64) (*escalated.PolicyVersion, error) {
	p, err := scanPolicy(t.queryRow(ctx, `SELECT `+policyColumns+` FROM policy_versions WHERE version = ?`, version))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, escalated.Errorf(escalated.ENOTFOUND, "policy version %d not found", version)
	} else if err != nil {
		return nil, fmt.Errorf("get policy %d: %w", version, err)
	}
	return p, nil
}

// ListPolicies returns every policy version, newest first.
func (t *tx) ListPolicies(ctx context.Context) ([]*escalated.PolicyVersion, error) {
	ps, err := list(ctx, t, `SELECT `+policyColumns+` FROM policy_versions ORDER BY version DESC`, nil, scanPolicy)
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	return ps, nil
}

// SaveDecision stores d as its ticket's latest decision.
func (t *tx) SaveDecision(ctx context.Context, d *escalated.Decision) error {
	_, err := t.exec(ctx, sqlSaveDecision, d.TicketID, d.Seq, d.Event, d.PolicyVersion, string(d.Trace), ms(d.CreatedAt))
	if err == nil {
		return nil // the messages below are built only for an error
	}
	return writeErr(err, "save decision for ticket "+d.TicketID, "", "ticket "+d.TicketID+" not found")
}

const sqlSaveDecision = `INSERT INTO decisions (ticket_id, seq, event, policy_version, trace, created_at)
	VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT (ticket_id) DO UPDATE SET seq = excluded.seq, event = excluded.event,
		policy_version = excluded.policy_version, trace = excluded.trace, created_at = excluded.created_at`

// LatestDecision returns a ticket's latest decision.
func (t *tx) LatestDecision(ctx context.Context, ticketID string) (*escalated.Decision, error) {
	var (
		d       escalated.Decision
		trace   string
		created int64
	)
	err := t.queryRow(ctx, `SELECT ticket_id, seq, event, policy_version, trace, created_at FROM decisions WHERE ticket_id = ?`, ticketID).
		Scan(&d.TicketID, &d.Seq, &d.Event, &d.PolicyVersion, &trace, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, escalated.Errorf(escalated.ENOTFOUND, "no decision recorded for ticket %s", ticketID)
	} else if err != nil {
		return nil, fmt.Errorf("latest decision of %s: %w", ticketID, err)
	}
	d.Trace, d.CreatedAt = json.RawMessage(trace), fromMS(created)
	return &d, nil
}
