package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// escalationColumns lists every column after id; escalationArgs and scanEscalation follow it.
const escalationColumns = `ticket_id, from_team, to_team, from_tier, to_tier, by_agent, actor, trigger_kind,
	rule_id, reason, note, state, policy_version, acknowledged_by, context_sufficient, closed_by, return_reason,
	necessary, resolution, next_id, package, version, created_at, acknowledged_at, closed_at`

const (
	// dialect: $n placeholders (SQLite: ?).
	sqlInsertEscalation = `INSERT INTO escalations (id, ` + escalationColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)`
	// dialect: $1 placeholder (SQLite: ?).
	sqlGetEscalation = `SELECT id, ` + escalationColumns + ` FROM escalations WHERE id = $1`
	// dialect: row locks (SQLite needs none: it has one writer). sqlLockEscalationTicket locks
	// the escalation's ticket first, then sqlGetEscalationForUpdate the escalation itself; see
	// GetEscalation for why the ticket comes first.
	sqlLockEscalationTicket   = `SELECT 1 FROM tickets WHERE id = (SELECT ticket_id FROM escalations WHERE id = $1) FOR NO KEY UPDATE`
	sqlGetEscalationForUpdate = sqlGetEscalation + ` FOR NO KEY UPDATE`
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
		e.RuleID, string(e.Reason), e.Note, string(e.State), e.PolicyVersion, e.AcknowledgedBy, e.ContextSufficient, e.ClosedBy, e.ReturnReason,
		e.Necessary, e.Resolution, e.NextID, pkg, e.Version, ts(e.CreatedAt), tsPtr(e.AcknowledgedAt), tsPtr(e.ClosedAt),
	}, nil
}

func scanEscalation(s scanner) (*escalated.Escalation, error) {
	var (
		e              escalated.Escalation
		pkg            []byte
		created        time.Time
		acked, closedA *time.Time
	)
	if err := s.Scan(&e.ID, &e.TicketID, &e.FromTeam, &e.ToTeam, &e.FromTier, &e.ToTier, &e.By, &e.Actor, &e.Trigger,
		&e.RuleID, &e.Reason, &e.Note, &e.State, &e.PolicyVersion, &e.AcknowledgedBy, &e.ContextSufficient, &e.ClosedBy, &e.ReturnReason,
		&e.Necessary, &e.Resolution, &e.NextID, &pkg, &e.Version, &created, &acked, &closedA); err != nil {
		return nil, err
	}
	if pkg != nil {
		e.Package = &escalated.Package{}
		if err := json.Unmarshal(pkg, e.Package); err != nil {
			return nil, fmt.Errorf("decode package of escalation %s: %w", e.ID, err)
		}
	}
	e.CreatedAt = fromTS(created)
	e.AcknowledgedAt = fromTSPtr(acked)
	e.ClosedAt = fromTSPtr(closedA)
	return &e, nil
}

// CreateEscalation inserts e; conflict when the id is taken, not_found when its ticket does not
// exist.
func (t *tx) CreateEscalation(ctx context.Context, e *escalated.Escalation) error {
	args, err := escalationArgs(e)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, sqlInsertEscalation, append([]any{e.ID}, args...)...)
	return writeErr(err, "create escalation "+e.ID,
		"escalation "+e.ID+" already exists",
		"ticket "+e.TicketID+" not found")
}

// GetEscalation returns one escalation with its package. Inside Update it locks the escalation
// until the transaction ends, and its ticket before it: every write transaction that touches a
// ticket's escalations then takes the ticket's lock first, whichever object it read first, so
// "acknowledge" (escalation, then ticket) and "escalate further" (ticket, then escalation) on
// the same ticket queue behind each other instead of deadlocking.
func (t *tx) GetEscalation(ctx context.Context, id string) (*escalated.Escalation, error) {
	var row scanner
	if t.write {
		row = t.lockAndQueryRow(ctx, sqlLockEscalationTicket, []any{id}, sqlGetEscalationForUpdate, id)
	} else {
		row = t.queryRow(ctx, sqlGetEscalation, id)
	}
	e, err := scanEscalation(row)
	if err != nil {
		return nil, readErr(err, "escalation", id)
	}
	return e, nil
}

// dialect: $n placeholders (SQLite: ?).
const sqlUpdateEscalation = `UPDATE escalations SET
		from_team = $1, to_team = $2, from_tier = $3, to_tier = $4, by_agent = $5, actor = $6, trigger_kind = $7,
		rule_id = $8, reason = $9, note = $10, state = $11, policy_version = $12, acknowledged_by = $13, context_sufficient = $14,
		closed_by = $15, return_reason = $16, necessary = $17, resolution = $18, next_id = $19, package = $20, version = $21,
		acknowledged_at = $22, closed_at = $23
		WHERE id = $24 AND version = $25`

// UpdateEscalation writes every field but id, ticket_id and created_at if the stored version is
// e.Version-1 (an escalation moves one transition at a time), else conflict.
func (t *tx) UpdateEscalation(ctx context.Context, e *escalated.Escalation) error {
	args, err := escalationArgs(e)
	if err != nil {
		return err
	}
	// Drop ticket_id (first) and created_at (third from the end): neither changes after create.
	n := len(args)
	args = append(append(args[1:n-3:n-3], args[n-2:]...), e.ID, e.Version-1)
	tag, err := t.exec(ctx, sqlUpdateEscalation, args...)
	if err != nil {
		return writeErr(err, "update escalation "+e.ID, "", "")
	}
	return t.checkVersioned(ctx, tag.RowsAffected(), "escalations", "escalation", e.ID, e.Version-1)
}

// ListEscalations returns a page of escalations, newest first.
func (t *tx) ListEscalations(ctx context.Context, f store.EscalationFilter) ([]*escalated.Escalation, string, error) {
	limit := store.ClampLimit(f.Limit)
	query, args := escalationListQuery(f, limit)
	items, cursor, err := page(ctx, t, query, args, limit, scanEscalation,
		func(e *escalated.Escalation) string { return e.ID })
	if err != nil {
		return nil, "", fmt.Errorf("list escalations: %w", interpretError(err))
	}
	return items, cursor, nil
}

// escalationListQuery builds the page query for f, without its LIMIT.
func escalationListQuery(f store.EscalationFilter, limit int) (string, []any) {
	var w where
	w.eq("ticket_id", f.TicketID)
	w.eq("to_team", f.ToTeam)
	w.eq("state", string(f.State))
	if f.Cursor != "" {
		w.add("id < $?", f.Cursor)
	}
	if f.Team == "" {
		return `SELECT id, ` + escalationColumns + ` FROM escalations` + w.sql() + ` ORDER BY id DESC`, w.args
	}
	// "from_team = $1 OR to_team = $1" cannot walk one index in id order, so it would sort every
	// match. Instead each side walks its own (team, id) index for at most one page plus one, and
	// only those rows are merged: the cost is bounded by the page, not by the table.
	// dialect: both sides share the placeholders of the common filters, as numbered parameters
	// can be used more than once (SQLite: every ? is passed again), and the derived tables need
	// an alias (PostgreSQL before 16 refuses a subquery in FROM without one).
	team, inner := w.arg(f.Team), w.arg(limit+1)
	side := func(col, alias string) string {
		return `SELECT id FROM (SELECT id FROM escalations` + whereSQL(append([]string{col + " = " + team}, w.conds...)) +
			` ORDER BY id DESC LIMIT ` + inner + `) AS ` + alias
	}
	return `SELECT id, ` + escalationColumns + ` FROM escalations WHERE id IN (` +
		side("from_team", "f") + ` UNION ALL ` + side("to_team", "t") + `) ORDER BY id DESC`, w.args
}
