package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// escalationColumns lists every column after id; escalationArgs and scanEscalation follow it.
const escalationColumns = `ticket_id, from_team, to_team, from_tier, to_tier, by_agent, actor, trigger_kind,
	rule_id, reason, note, state, policy_version, acknowledged_by, context_sufficient, closed_by, return_reason,
	necessary, resolution, next_id, package, version, created_at, acknowledged_at, closed_at`

const (
	sqlInsertEscalation = `INSERT INTO escalations (id, ` + escalationColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlGetEscalation = `SELECT id, ` + escalationColumns + ` FROM escalations WHERE id = ?`
)

func escalationArgs(e *escalated.Escalation) ([]any, error) {
	var pkg any
	if e.Package != nil {
		b, err := json.Marshal(e.Package)
		if err != nil {
			return nil, escalated.Errorf(escalated.EINVALID, "escalation package cannot be stored as JSON: %v", err)
		}
		pkg = string(b)
	}
	return []any{e.TicketID, e.FromTeam, e.ToTeam, e.FromTier, e.ToTier, e.By, e.Actor, string(e.Trigger),
		e.RuleID, string(e.Reason), e.Note, string(e.State), e.PolicyVersion, e.AcknowledgedBy, boolPtr(e.ContextSufficient), e.ClosedBy, e.ReturnReason,
		boolPtr(e.Necessary), e.Resolution, e.NextID, pkg, e.Version, ms(e.CreatedAt), msPtr(e.AcknowledgedAt), msPtr(e.ClosedAt),
	}, nil
}

func scanEscalation(s scanner) (*escalated.Escalation, error) {
	r, err := scanEscRow(s)
	if err != nil {
		return nil, err
	}
	return r.escalation()
}

// escRow is an escalation as scanned, its package still JSON text. The writer's cache
// (cache.go) keeps these: an escalation built from a cached row is built exactly as one read
// from the database.
type escRow struct {
	e   escalated.Escalation // without Package
	pkg sql.NullString
	// decoded, once set, is the package decoded from pkg, never handed out itself: each read
	// gets a clone of it. Decoding the JSON once per row and cloning it per read costs a
	// fraction of decoding it per read (with the demo policy every message on an escalated
	// ticket reads its escalation: the decodes were 7% of the whole process's CPU under the
	// API benchmark's load).
	decoded atomic.Pointer[escalated.Package]
}

func scanEscRow(s scanner) (*escRow, error) {
	var (
		r              escRow
		e              = &r.e
		sufficient     sql.NullBool
		necessary      sql.NullBool
		created        int64
		acked, closedA sql.NullInt64
	)
	if err := s.Scan(&e.ID, &e.TicketID, &e.FromTeam, &e.ToTeam, &e.FromTier, &e.ToTier, &e.By, &e.Actor, &e.Trigger,
		&e.RuleID, &e.Reason, &e.Note, &e.State, &e.PolicyVersion, &e.AcknowledgedBy, &sufficient, &e.ClosedBy, &e.ReturnReason,
		&necessary, &e.Resolution, &e.NextID, &r.pkg, &e.Version, &created, &acked, &closedA); err != nil {
		return nil, err
	}
	e.ContextSufficient = fromNullBool(sufficient)
	e.Necessary = fromNullBool(necessary)
	e.CreatedAt = fromMS(created)
	e.AcknowledgedAt = fromNullMS(acked)
	e.ClosedAt = fromNullMS(closedA)
	return &r, nil
}

// writtenEscRow is the row a successful write of e stored, pkg being the package column it
// bound: what reading it back would scan.
func writtenEscRow(e *escalated.Escalation, pkg any) *escRow {
	r := &escRow{e: *e}
	r.e.Package = nil
	if s, ok := pkg.(string); ok {
		r.pkg = sql.NullString{String: s, Valid: true}
	}
	r.e.CreatedAt = fromMS(ms(e.CreatedAt))
	r.e.AcknowledgedAt = fromNullMS(sql.NullInt64{Int64: ms(derefTime(e.AcknowledgedAt)), Valid: e.AcknowledgedAt != nil})
	r.e.ClosedAt = fromNullMS(sql.NullInt64{Int64: ms(derefTime(e.ClosedAt)), Valid: e.ClosedAt != nil})
	r.e.ContextSufficient = copyBool(e.ContextSufficient)
	r.e.Necessary = copyBool(e.Necessary)
	return r
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func copyBool(b *bool) *bool {
	if b == nil {
		return nil
	}
	v := *b
	return &v
}

// escalation decodes the row into a new Escalation that shares nothing with the row or other
// escalations.
func (r *escRow) escalation() (*escalated.Escalation, error) {
	e := r.e
	e.ContextSufficient = copyBool(r.e.ContextSufficient)
	e.Necessary = copyBool(r.e.Necessary)
	if r.e.AcknowledgedAt != nil {
		t := *r.e.AcknowledgedAt
		e.AcknowledgedAt = &t
	}
	if r.e.ClosedAt != nil {
		t := *r.e.ClosedAt
		e.ClosedAt = &t
	}
	if r.pkg.Valid {
		p := r.decoded.Load()
		if p == nil {
			var err error
			if p, err = r.decodePackage(); err != nil {
				return nil, err
			}
			r.decoded.CompareAndSwap(nil, p)
		}
		e.Package = p.Clone()
	}
	return &e, nil
}

func (r *escRow) decodePackage() (*escalated.Package, error) {
	p := &escalated.Package{}
	if err := json.Unmarshal([]byte(r.pkg.String), p); err != nil {
		return nil, fmt.Errorf("decode package of escalation %s: %w", r.e.ID, err)
	}
	return p, nil
}

// needsDecoding says whether the row has a package nobody decoded yet.
func (r *escRow) needsDecoding() bool { return r.pkg.Valid && r.decoded.Load() == nil }

// prepareNow decodes the package for the reads of the row, once; the cache calls it off the
// writer goroutine (decodeAhead): the writer is the one serial part of every write, the
// decoding is not.
func (r *escRow) prepareNow() {
	if !r.needsDecoding() {
		return
	}
	if p, err := r.decodePackage(); err == nil {
		r.decoded.CompareAndSwap(nil, p)
	}
}

// CreateEscalation inserts e; conflict when the id is taken, not_found when its ticket does not
// exist.
func (t *tx) CreateEscalation(ctx context.Context, e *escalated.Escalation) error {
	args, err := escalationArgs(e)
	if err != nil {
		return err
	}
	pkg := args[20]
	_, err = t.exec(ctx, sqlInsertEscalation,
		append([]any{e.ID}, args...)...)
	if err == nil {
		t.stageEsc(e.ID, writtenEscRow(e, pkg))
		// A new escalation (its id new) has no analytics row yet: its first save reads none.
		t.factCache().stageEscalationFact(e.ID, nil)
		return nil // the messages below are built only for an error
	}
	return writeErr(err, "create escalation "+e.ID,
		"escalation "+e.ID+" already exists",
		"ticket "+e.TicketID+" not found")
}

// GetEscalation returns one escalation with its package. The writer answers from its cache
// when it holds the row (cache.go).
func (t *tx) GetEscalation(ctx context.Context, id string) (*escalated.Escalation, error) {
	if _, err := t.ctx(ctx); err != nil {
		return nil, err
	}
	if r := t.cachedEsc(id); r != nil {
		return r.escalation()
	}
	r, err := scanEscRow(t.queryRow(ctx, sqlGetEscalation, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("escalation", id)
	} else if err != nil {
		return nil, fmt.Errorf("get escalation %s: %w", id, err)
	}
	t.stageEsc(id, r)
	return r.escalation()
}

const sqlUpdateEscalation = `UPDATE escalations SET
		from_team = ?, to_team = ?, from_tier = ?, to_tier = ?, by_agent = ?, actor = ?, trigger_kind = ?,
		rule_id = ?, reason = ?, note = ?, state = ?, policy_version = ?, acknowledged_by = ?, context_sufficient = ?, closed_by = ?, return_reason = ?,
		necessary = ?, resolution = ?, next_id = ?, package = ?, version = ?, acknowledged_at = ?, closed_at = ?
		WHERE id = ? AND version = ?`

// UpdateEscalation writes every field but id, ticket_id and created_at if the stored version is
// e.Version-1 (an escalation moves one transition at a time), else conflict.
func (t *tx) UpdateEscalation(ctx context.Context, e *escalated.Escalation) error {
	args, err := escalationArgs(e)
	if err != nil {
		return err
	}
	pkg := args[20]
	old := t.peekEsc(e.ID) // the row being replaced, if cached (the write drops it)
	// Drop ticket_id (first) and created_at (third from the end): neither changes after create.
	n := len(args)
	args = append(append(args[1:n-3:n-3], args[n-2:]...), e.ID, e.Version-1)
	res, err := t.exec(ctx, sqlUpdateEscalation, args...)
	if err != nil {
		return writeErr(err, "update escalation "+e.ID, "", "")
	}
	if err := t.checkVersioned(ctx, res, "escalations", "escalation", e.ID, e.Version-1); err != nil {
		return err
	}
	// The row is now what was bound, with the ticket and creation time the UPDATE left alone:
	// those come from the row it replaced, when the cache knew it (else the next read reads it).
	if old != nil && old.e.Version == e.Version-1 {
		w := writtenEscRow(e, pkg)
		w.e.TicketID, w.e.CreatedAt = old.e.TicketID, old.e.CreatedAt
		t.stageEsc(e.ID, w)
	}
	return nil
}

// ListEscalations returns a page of escalations, newest first.
func (t *tx) ListEscalations(ctx context.Context, f store.EscalationFilter) ([]*escalated.Escalation, string, error) {
	limit := store.ClampLimit(f.Limit)
	query, args := escalationListQuery(f, limit)
	items, cursor, err := page(ctx, t, query, args, limit, scanEscalation,
		func(e *escalated.Escalation) string { return e.ID })
	if err != nil {
		return nil, "", fmt.Errorf("list escalations: %w", err)
	}
	return items, cursor, nil
}

// escalationListQuery builds the page query for f, without its final LIMIT argument.
func escalationListQuery(f store.EscalationFilter, limit int) (string, []any) {
	var w where
	w.eq("ticket_id", f.TicketID)
	w.eq("to_team", f.ToTeam)
	w.eq("state", string(f.State))
	if f.Cursor != "" {
		w.add("id < ?", f.Cursor)
	}
	if f.Team == "" {
		return `SELECT id, ` + escalationColumns + ` FROM escalations` + w.sql() + ` ORDER BY id DESC LIMIT ?`, w.args
	}
	// "from_team = ? OR to_team = ?" cannot walk one index in id order, so it would sort every
	// match. Instead each side walks its own (team, id) index for at most one page plus one,
	// and only those rows are merged: the cost is bounded by the page, not by the table.
	// UNION ALL, not UNION: a row on both sides is harmless inside IN (...) and needs no
	// dedupe step. PostgreSQL: the same shape works unchanged.
	side := func(col string) (string, []any) {
		s := where{conds: append([]string{col + " = ?"}, w.conds...), args: append([]any{f.Team}, w.args...)}
		return `SELECT id FROM (SELECT id FROM escalations` + s.sql() + ` ORDER BY id DESC LIMIT ?)`, append(s.args, limit+1)
	}
	fromSQL, fromArgs := side("from_team")
	toSQL, toArgs := side("to_team")
	return `SELECT id, ` + escalationColumns + ` FROM escalations WHERE id IN (` +
		fromSQL + ` UNION ALL ` + toSQL + `) ORDER BY id DESC LIMIT ?`, append(fromArgs, toArgs...)
}
