package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// ticketSelect reads a ticket with its customer and account in one query: reads always fill
// them (Ticket's contract), and a join is cheaper than two lookups per ticket in a list.
const ticketSelect = `SELECT
	t.id, t.subject, t.status, t.priority, t.channel, t.issue_type, t.tags, t.language,
	t.customer_id, t.account_id, t.team, t.tier, t.assignee, t.custom_fields,
	t.reopen_count, t.reassignment_count, t.customer_contact_count, t.message_count, t.escalation_count,
	t.active_escalation, t.extra, t.version, t.created_at, t.updated_at,
	c.id, c.name, c.email, c.account_id,
	a.id, a.name, a.tier, a.attributes
FROM tickets t
LEFT JOIN customers c ON c.id = t.customer_id
LEFT JOIN accounts a ON a.id = t.account_id`

// dialect: $1 placeholder (SQLite: ?).
const sqlGetTicket = ticketSelect + ` WHERE t.id = $1`

// sqlLockTicket takes the row lock a read-modify-write of the ticket holds until commit.
// dialect: FOR NO KEY UPDATE (SQLite needs no row lock: it has one writer). NO KEY: the
// weakest lock that still excludes another read-modify-write, and it does not block other
// transactions inserting rows that reference the ticket (their foreign key check takes KEY
// SHARE), since a ticket's id never changes.
const sqlLockTicket = `SELECT 1 FROM tickets WHERE id = $1 FOR NO KEY UPDATE`

func scanTicket(s scanner) (*escalated.Ticket, error) {
	var (
		t                         escalated.Ticket
		tags, fields, aAttribs    []byte
		extra                     []byte
		created, updated          time.Time
		cID, cName, cEmail, cAcct *string
		aID, aName, aTier         *string
	)
	err := s.Scan(
		&t.ID, &t.Subject, &t.Status, &t.Priority, &t.Channel, &t.IssueType, &tags, &t.Language,
		&t.CustomerID, &t.AccountID, &t.Team, &t.Tier, &t.Assignee, &fields,
		&t.Counters.Reopens, &t.Counters.Reassignments, &t.Counters.CustomerContacts,
		&t.Counters.Messages, &t.Counters.Escalations,
		&t.ActiveEscalation, &extra, &t.Version, &created, &updated,
		&cID, &cName, &cEmail, &cAcct,
		&aID, &aName, &aTier, &aAttribs,
	)
	if err != nil {
		return nil, err
	}
	if t.Tags, err = parseStrings(tags); err != nil {
		return nil, err
	}
	if t.CustomFields, err = parseMap(fields); err != nil {
		return nil, err
	}
	if err := store.DecodeTicketExtra(extra, &t); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = fromTS(created), fromTS(updated)
	if cID != nil {
		t.Customer = &escalated.Customer{ID: *cID, Name: *cName, Email: *cEmail, AccountID: *cAcct}
	}
	if aID != nil {
		t.Account = &escalated.Account{ID: *aID, Name: *aName, Tier: *aTier}
		if t.Account.Attributes, err = parseMap(aAttribs); err != nil {
			return nil, err
		}
	}
	return &t, nil
}

// ticketArgs returns the stored columns of t after id, in the INSERT's order.
func ticketArgs(t *escalated.Ticket) ([]any, error) {
	tags, err := sliceText(t.Tags)
	if err != nil {
		return nil, err
	}
	fields, err := mapText(t.CustomFields)
	if err != nil {
		return nil, err
	}
	extra, err := store.EncodeTicketExtra(t)
	if err != nil {
		return nil, err
	}
	return []any{
		t.Subject, string(t.Status), string(t.Priority), string(t.Channel), t.IssueType, tags, t.Language,
		t.CustomerID, t.AccountID, t.Team, t.Tier, t.Assignee, fields,
		t.Counters.Reopens, t.Counters.Reassignments, t.Counters.CustomerContacts,
		t.Counters.Messages, t.Counters.Escalations,
		t.ActiveEscalation, extra, t.Version, ts(t.CreatedAt), ts(t.UpdatedAt),
	}, nil
}

// dialect: $n placeholders (SQLite: ?).
const sqlInsertTicket = `INSERT INTO tickets (id,
		subject, status, priority, channel, issue_type, tags, language,
		customer_id, account_id, team, tier, assignee, custom_fields,
		reopen_count, reassignment_count, customer_contact_count, message_count, escalation_count,
		active_escalation, extra, version, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`

// CreateTicket inserts t; conflict when the id is taken.
func (t *tx) CreateTicket(ctx context.Context, tk *escalated.Ticket) error {
	args, err := ticketArgs(tk)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, sqlInsertTicket, append([]any{tk.ID}, args...)...)
	return writeErr(err, "create ticket "+tk.ID, "ticket "+tk.ID+" already exists", "")
}

// GetTicket returns the ticket with its customer and account. Inside Update it also locks the
// ticket's row until the transaction ends, so that two nodes doing read-modify-write on the same
// ticket take turns instead of the second failing on its version check.
func (t *tx) GetTicket(ctx context.Context, id string) (*escalated.Ticket, error) {
	var row scanner
	if t.write {
		row = t.lockAndQueryRow(ctx, sqlLockTicket, []any{id}, sqlGetTicket, id)
	} else {
		row = t.queryRow(ctx, sqlGetTicket, id)
	}
	tk, err := scanTicket(row)
	if err != nil {
		return nil, readErr(err, "ticket", id)
	}
	return tk, nil
}

// dialect: $n placeholders (SQLite: ?); one statement for every update. The SQLite store leaves
// indexed columns out when none changed; PostgreSQL makes the same saving itself (a HOT update
// when no indexed value changed, helped by the table's fillfactor), so there is no second form.
const sqlUpdateTicket = `UPDATE tickets SET
		subject = $1, status = $2, priority = $3, channel = $4, issue_type = $5, tags = $6, language = $7,
		customer_id = $8, account_id = $9, team = $10, tier = $11, assignee = $12, custom_fields = $13,
		reopen_count = $14, reassignment_count = $15, customer_contact_count = $16, message_count = $17, escalation_count = $18,
		active_escalation = $19, extra = $20, version = $21, updated_at = $22
		WHERE id = $23 AND version = $24`

// UpdateTicket writes every field but id and created_at (t.Version included) if the stored
// version is still prev. GetTicket's row lock already keeps other writers out; the version check
// stays as the safety net for a caller that did not read the ticket in the same transaction.
func (t *tx) UpdateTicket(ctx context.Context, tk *escalated.Ticket, prev int64) error {
	args, err := ticketArgs(tk)
	if err != nil {
		return err
	}
	args = append(args[:len(args)-2], ts(tk.UpdatedAt), tk.ID, prev)
	tag, err := t.exec(ctx, sqlUpdateTicket, args...)
	if err != nil {
		return writeErr(err, "update ticket "+tk.ID, "", "")
	}
	return t.checkVersioned(ctx, tag.RowsAffected(), "tickets", "ticket", tk.ID, prev)
}

// checkVersioned turns "no row updated" into not_found or conflict, whichever it was.
func (t *tx) checkVersioned(ctx context.Context, n int64, table, kind, id string, prev int64) error {
	if n == 1 {
		return nil
	}
	var stored int64
	// dialect: $1 placeholder (SQLite: ?).
	err := t.queryRow(ctx, `SELECT version FROM `+table+` WHERE id = $1`, id).Scan(&stored)
	if err != nil {
		return readErr(err, kind, id)
	}
	return escalated.Errorf(escalated.ECONFLICT,
		"%s %s was changed by someone else (stored version %d, this write expected %d): reload and retry",
		kind, id, stored, prev)
}

// ListTickets returns a page of tickets, newest first.
func (t *tx) ListTickets(ctx context.Context, f store.TicketFilter) ([]*escalated.Ticket, string, error) {
	limit := store.ClampLimit(f.Limit)
	query, args := ticketListQuery(f)
	items, cursor, err := page(ctx, t, query, args, limit, scanTicket, func(tk *escalated.Ticket) string { return tk.ID })
	if err != nil {
		return nil, "", fmt.Errorf("list tickets: %w", interpretError(err))
	}
	return items, cursor, nil
}

// ticketListQuery builds the page query for f, without its LIMIT. Every filter has a
// (column, id) index, so PostgreSQL walks one index backwards in id order and stops after the
// page.
func ticketListQuery(f store.TicketFilter) (string, []any) {
	var w where
	w.eq("t.team", f.Team)
	w.eq("t.tier", f.Tier)
	w.eq("t.status", string(f.Status))
	w.eq("t.priority", string(f.Priority))
	w.eq("t.assignee", f.Assignee)
	w.eq("t.account_id", f.AccountID)
	if f.Escalated != nil {
		// dialect: a boolean column compared with a boolean (SQLite: INTEGER 0/1).
		w.add("t.ever_escalated = $?", *f.Escalated)
	}
	if f.Cursor != "" {
		w.add("t.id < $?", f.Cursor)
	}
	return ticketSelect + w.sql() + ` ORDER BY t.id DESC`, w.args
}
