package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

const ticketFactColumns = `ticket_id, created_at, issue_type, channel, customer_tier, account_id,
	intake_team, intake_tier, first_agent, solved, solved_at, escalations, first_escalated_at, reopens,
	breaches_before_escalation, reopened_after_t1_solve, max_frustration, ping_pongs`

const escalationFactColumns = `id, ticket_id, created_at, from_team, to_team, from_tier, to_tier,
	by_agent, trigger_kind, reason, rule_id, issue_type, channel, customer_tier, account_id,
	time_to_escalate, acknowledged_at, time_to_ack, state, returned, unnecessary, resolved_at_target,
	re_escalated, resolved_after, internal_notes, completeness, context_insufficient, ping_pong`

var (
	sqlSaveTicketFact     = upsertSQL("ticket_facts", "ticket_id", ticketFactColumns)
	sqlSaveEscalationFact = upsertSQL("escalation_facts", "id", escalationFactColumns)
)

// upsertSQL writes an INSERT of every column that replaces every column but the key when the
// row exists. The rowid, and so the row's place in the table, stays: rows are written in the
// order tickets and escalations are created, so a window of created_at is a run of neighbouring
// pages however often the facts are rewritten.
func upsertSQL(table, key, columns string) string {
	cols := strings.Split(columns, ",")
	set := make([]string, 0, len(cols))
	for i := range cols {
		cols[i] = strings.TrimSpace(cols[i])
		if cols[i] != key {
			set = append(set, cols[i]+" = excluded."+cols[i])
		}
	}
	return `INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES (?` +
		strings.Repeat(", ?", len(cols)-1) + `) ON CONFLICT (` + key + `) DO UPDATE SET ` + strings.Join(set, ", ")
}

// Durations are whole milliseconds, like times: what a report shows needs no more, and integers
// sort and compare exactly in both stores.

func durMS(d time.Duration) int64 { return int64(d / time.Millisecond) }

func durMSPtr(d *time.Duration) any {
	if d == nil {
		return nil
	}
	return durMS(*d)
}

func fromNullDur(v sql.NullInt64) *time.Duration {
	if !v.Valid {
		return nil
	}
	d := time.Duration(v.Int64) * time.Millisecond
	return &d
}

// SaveTicketFact inserts or replaces the ticket's row and applies what the change means to the
// report rollups.
func (t *tx) SaveTicketFact(ctx context.Context, f *store.TicketFact) error {
	if t.spec != nil {
		cp := *f
		cp.SolvedAt, cp.FirstEscalatedAt = escalated.ClonePtr(f.SolvedAt), escalated.ClonePtr(f.FirstEscalatedAt)
		t.spec.deferWrite(func(t *tx) error { return t.SaveTicketFact(ctx, &cp) })
		return nil
	}
	old, err := t.getTicketFact(ctx, f.TicketID)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, sqlSaveTicketFact,
		f.TicketID, ms(f.CreatedAt), f.IssueType, f.Channel, f.CustomerTier, f.AccountID,
		f.IntakeTeam, f.IntakeTier, f.FirstAgent, f.Solved, msPtr(f.SolvedAt), f.Escalations, msPtr(f.FirstEscalatedAt),
		f.Reopens, f.BreachesBeforeEscalation, f.ReopenedAfterT1Solve, f.MaxFrustration, f.PingPongs)
	if err != nil {
		return writeErr(err, "save ticket fact "+f.TicketID, "", "")
	}
	t.factCache().stageTicketFact(f.TicketID, f)
	t.cells.Ticket(old, f, shards)
	return nil
}

const sqlGetTicketFact = `SELECT ` + ticketFactColumns + ` FROM ticket_facts WHERE ticket_id = ?`

// getTicketFact returns the ticket's row, nil when there is none: in the writer from its cache
// when it knows the row (factcache.go), else read and then known.
func (t *tx) getTicketFact(ctx context.Context, ticketID string) (*store.TicketFact, error) {
	if f, known := t.factCache().ticketFact(ticketID); known {
		return f, nil
	}
	f, err := scanTicketFact(t.queryRow(ctx, sqlGetTicketFact, ticketID))
	if errors.Is(err, sql.ErrNoRows) {
		f, err = nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("get ticket fact %s: %w", ticketID, err)
	}
	t.factCache().stageTicketFact(ticketID, f)
	return f, nil
}

// factCache is the writer's cache of analytics rows, nil outside the writer and in a run
// decided ahead of it (whose fact writes are left to the writer: deferWrite).
func (t *tx) factCache() *ticketCache {
	if t.spec != nil {
		return nil
	}
	return t.cache
}

// GetTicketFact returns the ticket's row; not_found when there is none.
func (t *tx) GetTicketFact(ctx context.Context, ticketID string) (*store.TicketFact, error) {
	f, err := t.getTicketFact(ctx, ticketID)
	if err == nil && f == nil {
		return nil, notFound("ticket fact", ticketID)
	}
	return f, err
}

func scanTicketFact(s scanner) (*store.TicketFact, error) {
	var (
		f                  store.TicketFact
		created            int64
		solvedAt, firstEsc sql.NullInt64
	)
	err := s.Scan(
		&f.TicketID, &created, &f.IssueType, &f.Channel, &f.CustomerTier, &f.AccountID,
		&f.IntakeTeam, &f.IntakeTier, &f.FirstAgent, &f.Solved, &solvedAt, &f.Escalations, &firstEsc,
		&f.Reopens, &f.BreachesBeforeEscalation, &f.ReopenedAfterT1Solve, &f.MaxFrustration, &f.PingPongs)
	if err != nil {
		return nil, err
	}
	f.CreatedAt, f.SolvedAt, f.FirstEscalatedAt = fromMS(created), fromNullMS(solvedAt), fromNullMS(firstEsc)
	return &f, nil
}

// SaveEscalationFact inserts or replaces the escalation's row and applies what the change
// means to the report rollups.
func (t *tx) SaveEscalationFact(ctx context.Context, f *store.EscalationFact) error {
	if t.spec != nil {
		cp := *f
		cp.AcknowledgedAt, cp.TimeToAck, cp.ResolvedAfter = escalated.ClonePtr(f.AcknowledgedAt), escalated.ClonePtr(f.TimeToAck), escalated.ClonePtr(f.ResolvedAfter)
		t.spec.deferWrite(func(t *tx) error { return t.SaveEscalationFact(ctx, &cp) })
		return nil
	}
	old, err := t.getEscalationFact(ctx, f.EscalationID)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, sqlSaveEscalationFact,
		f.EscalationID, f.TicketID, ms(f.CreatedAt), f.FromTeam, f.ToTeam, f.FromTier, f.ToTier,
		f.ByAgent, f.Trigger, f.Reason, f.RuleID, f.IssueType, f.Channel, f.CustomerTier, f.AccountID,
		durMS(f.TimeToEscalate), msPtr(f.AcknowledgedAt), durMSPtr(f.TimeToAck), f.State,
		f.Returned, f.Unnecessary, f.ResolvedAtTarget, f.ReEscalated, durMSPtr(f.ResolvedAfter),
		f.InternalNotes, f.Completeness, f.ContextInsufficient, f.PingPong)
	if err != nil {
		return writeErr(err, "save escalation fact "+f.EscalationID, "", "")
	}
	t.factCache().stageEscalationFact(f.EscalationID, f)
	t.cells.Escalation(old, f, shards)
	return nil
}

const sqlGetEscalationFact = `SELECT ` + escalationFactColumns + ` FROM escalation_facts WHERE id = ?`

// getEscalationFact returns the escalation's row, nil when there is none (from the writer's
// cache when it knows the row, as getTicketFact).
func (t *tx) getEscalationFact(ctx context.Context, escalationID string) (*store.EscalationFact, error) {
	if f, known := t.factCache().escalationFact(escalationID); known {
		return f, nil
	}
	f, err := scanEscalationFact(t.queryRow(ctx, sqlGetEscalationFact, escalationID))
	if errors.Is(err, sql.ErrNoRows) {
		f, err = nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("get escalation fact %s: %w", escalationID, err)
	}
	t.factCache().stageEscalationFact(escalationID, f)
	return f, nil
}

// GetEscalationFact returns the escalation's row; not_found when there is none.
func (t *tx) GetEscalationFact(ctx context.Context, escalationID string) (*store.EscalationFact, error) {
	f, err := t.getEscalationFact(ctx, escalationID)
	if err == nil && f == nil {
		return nil, notFound("escalation fact", escalationID)
	}
	return f, err
}

func scanEscalationFact(s scanner) (*store.EscalationFact, error) {
	var (
		f                       store.EscalationFact
		created, tte            int64
		acked, tta, resolvedAft sql.NullInt64
	)
	err := s.Scan(
		&f.EscalationID, &f.TicketID, &created, &f.FromTeam, &f.ToTeam, &f.FromTier, &f.ToTier,
		&f.ByAgent, &f.Trigger, &f.Reason, &f.RuleID, &f.IssueType, &f.Channel, &f.CustomerTier, &f.AccountID,
		&tte, &acked, &tta, &f.State,
		&f.Returned, &f.Unnecessary, &f.ResolvedAtTarget, &f.ReEscalated, &resolvedAft,
		&f.InternalNotes, &f.Completeness, &f.ContextInsufficient, &f.PingPong)
	if err != nil {
		return nil, err
	}
	f.CreatedAt, f.AcknowledgedAt = fromMS(created), fromNullMS(acked)
	f.TimeToEscalate = time.Duration(tte) * time.Millisecond
	f.TimeToAck, f.ResolvedAfter = fromNullDur(tta), fromNullDur(resolvedAft)
	return &f, nil
}

// SetAccountTier sets the customer tier of the account's ticket rows (those not at it yet),
// moving their counts in the rollups from the old tier to the new.
func (t *tx) SetAccountTier(ctx context.Context, accountID, tier string) error {
	rows, err := list(ctx, t, `SELECT `+ticketFactColumns+` FROM ticket_facts WHERE account_id = ? AND customer_tier <> ?`,
		[]any{accountID, tier}, scanTicketFact)
	if err != nil {
		return fmt.Errorf("read ticket facts of account %s: %w", accountID, err)
	}
	if len(rows) == 0 {
		return nil
	}
	_, err = t.exec(ctx, `UPDATE ticket_facts SET customer_tier = ? WHERE account_id = ? AND customer_tier <> ?`, tier, accountID, tier)
	if err != nil {
		return writeErr(err, "set customer tier of account "+accountID, "", "")
	}
	for _, old := range rows { // as read before the UPDATE
		f := *old
		f.CustomerTier = tier
		t.cells.Ticket(old, &f, shards)
	}
	return nil
}
