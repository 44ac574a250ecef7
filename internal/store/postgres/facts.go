package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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
	sqlSaveTicketFact       = upsertSQL("ticket_facts", "ticket_id", ticketFactColumns)
	sqlSaveEscalationFact   = upsertSQL("escalation_facts", "id", escalationFactColumns)
	sqlInsertTicketFact     = insertNewSQL("ticket_facts", "ticket_id", ticketFactColumns)
	sqlInsertEscalationFact = insertNewSQL("escalation_facts", "id", escalationFactColumns)
)

// insertNewSQL writes an INSERT of every column that does nothing when the key exists (saveFact).
func insertNewSQL(table, key, columns string) string {
	up := upsertSQL(table, key, columns)
	return up[:strings.Index(up, " DO UPDATE SET ")] + " DO NOTHING"
}

// upsertSQL writes an INSERT of every column that replaces every column but the key when the
// row exists. dialect: $n placeholders (SQLite: ?).
func upsertSQL(table, key, columns string) string {
	cols := strings.Split(columns, ",")
	vals := make([]string, len(cols))
	set := make([]string, 0, len(cols))
	for i := range cols {
		cols[i] = strings.TrimSpace(cols[i])
		vals[i] = "$" + strconv.Itoa(i+1)
		if cols[i] != key {
			set = append(set, cols[i]+" = excluded."+cols[i])
		}
	}
	return `INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES (` + strings.Join(vals, ", ") +
		`) ON CONFLICT (` + key + `) DO UPDATE SET ` + strings.Join(set, ", ")
}

// Durations are whole milliseconds in bigint columns, as in SQLite: percentiles then compare
// the same integers in both stores. dialect: not interval, whose days and months fields do not
// order as plain durations do.

func durMS(d time.Duration) int64 { return int64(d / time.Millisecond) }

func durMSPtr(d *time.Duration) any {
	if d == nil {
		return nil
	}
	return durMS(*d)
}

func fromMSDur(v *int64) *time.Duration {
	if v == nil {
		return nil
	}
	d := time.Duration(*v) * time.Millisecond
	return &d
}

// SaveTicketFact inserts or replaces the ticket's row and applies what the change means to the
// report rollups.
func (t *tx) SaveTicketFact(ctx context.Context, f *store.TicketFact) error {
	args := []any{f.TicketID, ts(f.CreatedAt), f.IssueType, f.Channel, f.CustomerTier, f.AccountID,
		f.IntakeTeam, f.IntakeTier, f.FirstAgent, f.Solved, tsPtr(f.SolvedAt), f.Escalations, tsPtr(f.FirstEscalatedAt),
		f.Reopens, f.BreachesBeforeEscalation, f.ReopenedAfterT1Solve, f.MaxFrustration, f.PingPongs}
	old, err := saveFact(t, ctx, "ticket fact "+f.TicketID, args, sqlInsertTicketFact, sqlSaveTicketFact,
		func() (*store.TicketFact, error) { return t.getTicketFact(ctx, f.TicketID) })
	if err != nil {
		return err
	}
	t.cells.Ticket(old, f, shards)
	return nil
}

// saveFact writes a fact row (args, in its columns' order) and returns the row it replaced, nil
// when it made a new one, for the rollup delta. dialect: the row read first is locked (lockRow),
// but a row that does not exist yet locks nothing, so two transactions saving the same new row
// would both count it as new and the cells would count it twice (TestRollupConcurrentWriters
// met it). A row read as missing is therefore inserted only if it still is (insert: ON CONFLICT
// DO NOTHING, which waits for a concurrent insert of the key to commit); when another
// transaction inserted it meanwhile, the row is read again, now locked, and replaced (upsert).
// SQLite has one writer.
func saveFact[F any](t *tx, ctx context.Context, what string, args []any, insert, upsert string, get func() (*F, error)) (*F, error) {
	old, err := get()
	if err != nil {
		return nil, err
	}
	if old == nil {
		tag, err := t.exec(ctx, insert, args...)
		if err != nil {
			return nil, writeErr(err, "save "+what, "", "")
		}
		if tag.RowsAffected() == 1 {
			return nil, nil
		}
		if old, err = get(); err != nil {
			return nil, err
		}
	}
	if _, err := t.exec(ctx, upsert, args...); err != nil {
		return nil, writeErr(err, "save "+what, "", "")
	}
	return old, nil
}

// lockRow is the locking clause of a write transaction's read of a fact row it may replace.
// dialect: a save works out the rollup delta from the row as it was, so that row must be the
// one it replaces: a concurrent SetAccountTier that rewrote it is waited for and its result
// read (SQLite has one writer). Read-only transactions cannot lock.
func (t *tx) lockRow() string {
	if t.write {
		return ` FOR NO KEY UPDATE`
	}
	return ""
}

// getTicketFact returns the ticket's row, nil when there is none.
func (t *tx) getTicketFact(ctx context.Context, ticketID string) (*store.TicketFact, error) {
	f, err := scanTicketFact(t.queryRow(ctx, `SELECT `+ticketFactColumns+` FROM ticket_facts WHERE ticket_id = $1`+t.lockRow(), ticketID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("get ticket fact %s: %w", ticketID, err)
	}
	return f, nil
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
		created            time.Time
		solvedAt, firstEsc *time.Time
	)
	err := s.Scan(
		&f.TicketID, &created, &f.IssueType, &f.Channel, &f.CustomerTier, &f.AccountID,
		&f.IntakeTeam, &f.IntakeTier, &f.FirstAgent, &f.Solved, &solvedAt, &f.Escalations, &firstEsc,
		&f.Reopens, &f.BreachesBeforeEscalation, &f.ReopenedAfterT1Solve, &f.MaxFrustration, &f.PingPongs)
	if err != nil {
		return nil, err
	}
	f.CreatedAt, f.SolvedAt, f.FirstEscalatedAt = fromTS(created), fromTSPtr(solvedAt), fromTSPtr(firstEsc)
	return &f, nil
}

// SaveEscalationFact inserts or replaces the escalation's row and applies what the change
// means to the report rollups.
func (t *tx) SaveEscalationFact(ctx context.Context, f *store.EscalationFact) error {
	args := []any{f.EscalationID, f.TicketID, ts(f.CreatedAt), f.FromTeam, f.ToTeam, f.FromTier, f.ToTier,
		f.ByAgent, f.Trigger, f.Reason, f.RuleID, f.IssueType, f.Channel, f.CustomerTier, f.AccountID,
		durMS(f.TimeToEscalate), tsPtr(f.AcknowledgedAt), durMSPtr(f.TimeToAck), f.State,
		f.Returned, f.Unnecessary, f.ResolvedAtTarget, f.ReEscalated, durMSPtr(f.ResolvedAfter),
		f.InternalNotes, f.Completeness, f.ContextInsufficient, f.PingPong}
	old, err := saveFact(t, ctx, "escalation fact "+f.EscalationID, args, sqlInsertEscalationFact, sqlSaveEscalationFact,
		func() (*store.EscalationFact, error) { return t.getEscalationFact(ctx, f.EscalationID) })
	if err != nil {
		return err
	}
	t.cells.Escalation(old, f, shards)
	return nil
}

// getEscalationFact returns the escalation's row, nil when there is none.
func (t *tx) getEscalationFact(ctx context.Context, escalationID string) (*store.EscalationFact, error) {
	f, err := scanEscalationFact(t.queryRow(ctx, `SELECT `+escalationFactColumns+` FROM escalation_facts WHERE id = $1`+t.lockRow(), escalationID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("get escalation fact %s: %w", escalationID, err)
	}
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
		f                  store.EscalationFact
		created            time.Time
		acked              *time.Time
		tte                int64
		tta, resolvedAfter *int64
	)
	err := s.Scan(
		&f.EscalationID, &f.TicketID, &created, &f.FromTeam, &f.ToTeam, &f.FromTier, &f.ToTier,
		&f.ByAgent, &f.Trigger, &f.Reason, &f.RuleID, &f.IssueType, &f.Channel, &f.CustomerTier, &f.AccountID,
		&tte, &acked, &tta, &f.State,
		&f.Returned, &f.Unnecessary, &f.ResolvedAtTarget, &f.ReEscalated, &resolvedAfter,
		&f.InternalNotes, &f.Completeness, &f.ContextInsufficient, &f.PingPong)
	if err != nil {
		return nil, err
	}
	f.CreatedAt, f.AcknowledgedAt = fromTS(created), fromTSPtr(acked)
	f.TimeToEscalate = time.Duration(tte) * time.Millisecond
	f.TimeToAck, f.ResolvedAfter = fromMSDur(tta), fromMSDur(resolvedAfter)
	return &f, nil
}

// ticketFactField and escalationFactField read the time and duration columns as this store
// keeps them (store.ScanColumns; the rest is store.TicketFactField's). dialect: times are
// timestamptz, read as UTC, durations whole milliseconds in bigint columns (SQLite:
// milliseconds for both).
func ticketFactField(f *store.TicketFact, col string) (any, func()) {
	if col == "created_at" {
		return &f.CreatedAt, func() { f.CreatedAt = fromTS(f.CreatedAt) }
	}
	return store.TicketFactField(f, col), nil
}

func escalationFactField(f *store.EscalationFact, col string) (any, func()) {
	switch col {
	case "created_at":
		return &f.CreatedAt, func() { f.CreatedAt = fromTS(f.CreatedAt) }
	case "acknowledged_at":
		return &f.AcknowledgedAt, func() { f.AcknowledgedAt = fromTSPtr(f.AcknowledgedAt) }
	case "time_to_escalate":
		var v int64
		return &v, func() { f.TimeToEscalate = time.Duration(v) * time.Millisecond }
	case "time_to_ack":
		var v *int64
		return &v, func() { f.TimeToAck = fromMSDur(v) }
	case "resolved_after":
		var v *int64
		return &v, func() { f.ResolvedAfter = fromMSDur(v) }
	}
	return store.EscalationFactField(f, col), nil
}

// SetAccountTier sets the customer tier of the account's ticket rows (those not at it yet),
// moving their counts in the rollups from the old tier to the new.
func (t *tx) SetAccountTier(ctx context.Context, accountID, tier string) error {
	// dialect: the rows locked as they are read, so that a concurrent change of one of them
	// cannot move its counts between this read and the update.
	rows, err := list(ctx, t, `SELECT `+ticketFactColumns+` FROM ticket_facts WHERE account_id = $1 AND customer_tier <> $2 FOR UPDATE`,
		[]any{accountID, tier}, scanTicketFact)
	if err != nil {
		return fmt.Errorf("read ticket facts of account %s: %w", accountID, err)
	}
	if len(rows) == 0 {
		return nil
	}
	ids := make([]string, len(rows))
	for i, old := range rows {
		f := *old
		f.CustomerTier = tier
		t.cells.Ticket(old, &f, shards)
		ids[i] = old.TicketID
	}
	// The rows read and locked above, whatever committed since.
	_, err = t.exec(ctx, `UPDATE ticket_facts SET customer_tier = $1 WHERE ticket_id = ANY($2)`, tier, ids)
	return writeErr(err, "set customer tier of account "+accountID, "", "")
}
