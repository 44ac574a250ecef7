package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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

const sqlGetTicket = ticketSelect + ` WHERE t.id = ?`

func scanTicket(s scanner) (*escalated.Ticket, error) {
	var (
		t                           escalated.Ticket
		tags, fields, extra         string
		created, updated            int64
		cID, cName, cEmail, cAcct   sql.NullString
		aID, aName, aTier, aAttribs sql.NullString
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
	if err := store.DecodeTicketExtra([]byte(extra), &t); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = fromMS(created), fromMS(updated)
	if cID.Valid {
		t.Customer = &escalated.Customer{ID: cID.String, Name: cName.String, Email: cEmail.String, AccountID: cAcct.String}
	}
	if aID.Valid {
		t.Account = &escalated.Account{ID: aID.String, Name: aName.String, Tier: aTier.String}
		if t.Account.Attributes, err = parseMap(aAttribs.String); err != nil {
			return nil, err
		}
	}
	return &t, nil
}

// ticketArgs returns the stored columns of t after id, in ticketColumns order.
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
		t.ActiveEscalation, extra, t.Version, ms(t.CreatedAt), ms(t.UpdatedAt),
	}, nil
}

const sqlInsertTicket = `INSERT INTO tickets (id,
		subject, status, priority, channel, issue_type, tags, language,
		customer_id, account_id, team, tier, assignee, custom_fields,
		reopen_count, reassignment_count, customer_contact_count, message_count, escalation_count,
		active_escalation, extra, version, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// CreateTicket inserts t; conflict when the id is taken.
func (t *tx) CreateTicket(ctx context.Context, tk *escalated.Ticket) error {
	args, err := ticketArgs(tk)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, sqlInsertTicket,
		append([]any{tk.ID}, args...)...)
	return writeErr(err, "create ticket "+tk.ID, "ticket "+tk.ID+" already exists", "")
}

// GetTicket returns the ticket with its customer and account.
func (t *tx) GetTicket(ctx context.Context, id string) (*escalated.Ticket, error) {
	tk, err := scanTicket(t.queryRow(ctx, sqlGetTicket, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("ticket", id)
	} else if err != nil {
		return nil, fmt.Errorf("get ticket %s: %w", id, err)
	}
	if t.write {
		if t.keys == nil {
			t.keys = map[string]indexKey{}
		}
		t.keys[id] = keyOf(tk)
	}
	return tk, nil
}

// indexKey is what a ticket's secondary indexes are built from. UpdateTicket compares it with
// the values read in the same transaction: when none changed it runs an UPDATE that leaves these
// columns out of SET, so SQLite does not rewrite the seven index entries. That halves the cost
// of the commonest write, a new message on a ticket.
type indexKey struct {
	version                                int64
	team, tier, status, priority, assignee string
	accountID                              string
	escalations                            int
}

func keyOf(t *escalated.Ticket) indexKey {
	return indexKey{version: t.Version, team: t.Team, tier: t.Tier, status: string(t.Status), priority: string(t.Priority),
		assignee: t.Assignee, accountID: t.AccountID, escalations: t.Counters.Escalations}
}

// sqlUpdateTicketUnindexed sets every column that no index reads (escalation_count feeds the
// generated ever_escalated column, which is indexed, so it is left out too).
const sqlUpdateTicketUnindexed = `UPDATE tickets SET
		subject = ?, channel = ?, issue_type = ?, tags = ?, language = ?, customer_id = ?, custom_fields = ?,
		reopen_count = ?, reassignment_count = ?, customer_contact_count = ?, message_count = ?,
		active_escalation = ?, extra = ?, version = ?, updated_at = ?
		WHERE id = ? AND version = ?`

const sqlUpdateTicket = `UPDATE tickets SET
		subject = ?, status = ?, priority = ?, channel = ?, issue_type = ?, tags = ?, language = ?,
		customer_id = ?, account_id = ?, team = ?, tier = ?, assignee = ?, custom_fields = ?,
		reopen_count = ?, reassignment_count = ?, customer_contact_count = ?, message_count = ?, escalation_count = ?,
		active_escalation = ?, extra = ?, version = ?, updated_at = ?
		WHERE id = ? AND version = ?`

// UpdateTicket writes every field but id and created_at (t.Version included) if the stored
// version is still prev. Checking the version in the UPDATE itself makes read-modify-write safe
// without holding a lock between the read and the write.
func (t *tx) UpdateTicket(ctx context.Context, tk *escalated.Ticket, prev int64) error {
	args, err := ticketArgs(tk)
	if err != nil {
		return err
	}
	var res sql.Result
	next := keyOf(tk)
	same := next
	same.version = prev
	if read, ok := t.keys[tk.ID]; ok && read == same {
		res, err = t.exec(ctx, sqlUpdateTicketUnindexed, tk.Subject, string(tk.Channel), tk.IssueType, args[5], tk.Language,
			tk.CustomerID, args[12], tk.Counters.Reopens, tk.Counters.Reassignments, tk.Counters.CustomerContacts,
			tk.Counters.Messages, tk.ActiveEscalation, args[19], tk.Version, ms(tk.UpdatedAt), tk.ID, prev)
	} else {
		args = append(args[:len(args)-2], ms(tk.UpdatedAt), tk.ID, prev)
		res, err = t.exec(ctx, sqlUpdateTicket, args...)
	}
	if err != nil {
		delete(t.keys, tk.ID)
		return writeErr(err, "update ticket "+tk.ID, "", "")
	}
	if err := t.checkVersioned(ctx, res, "tickets", "ticket", tk.ID, prev); err != nil {
		delete(t.keys, tk.ID)
		return err
	}
	// Only a write that happened may vouch for the row's indexed columns.
	if t.keys != nil {
		t.keys[tk.ID] = next
	}
	return nil
}

// checkVersioned turns "no row updated" into not_found or conflict, whichever it was.
func (t *tx) checkVersioned(ctx context.Context, res sql.Result, table, kind, id string, prev int64) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	var stored int64
	err = t.queryRow(ctx, `SELECT version FROM `+table+` WHERE id = ?`, id).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(kind, id)
	} else if err != nil {
		return fmt.Errorf("update %s %s: %w", kind, id, err)
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
		return nil, "", fmt.Errorf("list tickets: %w", err)
	}
	return items, cursor, nil
}

// ticketListQuery builds the page query for f, without its final LIMIT argument. Every filter
// has a (column, id) index, so SQLite walks one index in id order and stops after the page.
func ticketListQuery(f store.TicketFilter) (string, []any) {
	var w where
	w.eq("t.team", f.Team)
	w.eq("t.tier", f.Tier)
	w.eq("t.status", string(f.Status))
	w.eq("t.priority", string(f.Priority))
	w.eq("t.assignee", f.Assignee)
	w.eq("t.account_id", f.AccountID)
	if f.Escalated != nil {
		w.add("t.ever_escalated = ?", *f.Escalated)
	}
	if f.Cursor != "" {
		w.add("t.id < ?", f.Cursor)
	}
	return ticketSelect + w.sql() + ` ORDER BY t.id DESC LIMIT ?`, w.args
}
