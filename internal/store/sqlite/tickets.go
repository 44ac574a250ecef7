package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

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

// ticketRow is one row of ticketSelect as scanned, before its JSON columns are decoded. The
// writer's ticket cache (cache.go) keeps these: a ticket built from a cached row is built
// exactly as one read from the database.
type ticketRow struct {
	id, subject, status, priority, channel, issueType, tags, language string
	customerID, accountID, team, tier, assignee, fields               string
	reopens, reassignments, contacts, messages, escalations           int
	activeEscalation, extra                                           string
	version, created, updated                                         int64
	cID, cName, cEmail, cAcct                                         sql.NullString
	aID, aName, aTier, aAttribs                                       sql.NullString
	// gen is the cache generation the customer and account columns were read at (cache.go).
	gen uint64
	// ready, when set, holds the row already decoded by a background goroutine (cache.go
	// release) for the one read that takes it; nil for rows nobody decodes ahead.
	ready *atomic.Pointer[escalated.Ticket]
}

func scanTicketRow(s scanner) (*ticketRow, error) {
	var r ticketRow
	err := s.Scan(
		&r.id, &r.subject, &r.status, &r.priority, &r.channel, &r.issueType, &r.tags, &r.language,
		&r.customerID, &r.accountID, &r.team, &r.tier, &r.assignee, &r.fields,
		&r.reopens, &r.reassignments, &r.contacts, &r.messages, &r.escalations,
		&r.activeEscalation, &r.extra, &r.version, &r.created, &r.updated,
		&r.cID, &r.cName, &r.cEmail, &r.cAcct,
		&r.aID, &r.aName, &r.aTier, &r.aAttribs,
	)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

func scanTicket(s scanner) (*escalated.Ticket, error) {
	r, err := scanTicketRow(s)
	if err != nil {
		return nil, err
	}
	return r.ticket()
}

// ticket decodes the row into a new Ticket that shares nothing with the row or other tickets.
func (r *ticketRow) ticket() (*escalated.Ticket, error) {
	t := escalated.Ticket{
		ID: r.id, Subject: r.subject, Status: escalated.Status(r.status), Priority: escalated.Priority(r.priority),
		Channel: escalated.Channel(r.channel), IssueType: r.issueType, Language: r.language,
		CustomerID: r.customerID, AccountID: r.accountID, Team: r.team, Tier: r.tier, Assignee: r.assignee,
		Counters: escalated.Counters{Reopens: r.reopens, Reassignments: r.reassignments, CustomerContacts: r.contacts,
			Messages: r.messages, Escalations: r.escalations},
		ActiveEscalation: r.activeEscalation, Version: r.version,
	}
	var err error
	if t.Tags, err = parseStrings(r.tags); err != nil {
		return nil, err
	}
	if t.CustomFields, err = parseMap(r.fields); err != nil {
		return nil, err
	}
	if err := store.DecodeTicketExtra([]byte(r.extra), &t); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = fromMS(r.created), fromMS(r.updated)
	if r.cID.Valid {
		t.Customer = &escalated.Customer{ID: r.cID.String, Name: r.cName.String, Email: r.cEmail.String, AccountID: r.cAcct.String}
	}
	if r.aID.Valid {
		t.Account = &escalated.Account{ID: r.aID.String, Name: r.aName.String, Tier: r.aTier.String}
		if t.Account.Attributes, err = parseMap(r.aAttribs.String); err != nil {
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
	if err == nil {
		// A new ticket (its id new) has no analytics row yet: its first save reads none.
		t.factCache().stageTicketFact(tk.ID, nil)
	}
	return writeErr(err, "create ticket "+tk.ID, "ticket "+tk.ID+" already exists", "")
}

// GetTicket returns the ticket with its customer and account. Inside Update the writer's
// ticket cache may answer instead of the database (cache.go).
func (t *tx) GetTicket(ctx context.Context, id string) (*escalated.Ticket, error) {
	if _, err := t.ctx(ctx); err != nil {
		return nil, err
	}
	r := t.cachedTicket(id)
	if r == nil {
		var gen uint64
		if t.cache != nil {
			gen = t.cache.readGen()
		}
		var err error
		r, err = scanTicketRow(t.queryRow(ctx, sqlGetTicket, id))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound("ticket", id)
		} else if err != nil {
			return nil, fmt.Errorf("get ticket %s: %w", id, err)
		}
		r.gen = gen
		t.stageTicket(id, r)
	}
	tk := r.take()
	if tk == nil {
		var err error
		if tk, err = r.ticket(); err != nil {
			return nil, fmt.Errorf("get ticket %s: %w", id, err)
		}
	}
	if t.write {
		s := t.see(id)
		s.key, s.hasKey = keyOf(tk), true
		if t.cache != nil {
			s.row, s.writes = r, t.cacheWrites()
		}
	}
	return tk, nil
}

// seenTicket is what a write transaction knows about one ticket it read or wrote.
type seenTicket struct {
	id     string
	key    indexKey // valid when hasKey
	hasKey bool
	row    *ticketRow // the row as this fn last read or wrote it, or nil
	// writes is the cache's count of changed ticket rows when row was read or written: a
	// different count at the next UpdateTicket means some other statement changed a ticket
	// in between, and row may be stale.
	writes uint64
}

// seenOf returns what the tx knows about ticket id, or nil.
func (t *tx) seenOf(id string) *seenTicket {
	for i := range t.seen {
		if t.seen[i].id == id {
			return &t.seen[i]
		}
	}
	return nil
}

// see returns the entry of ticket id, adding an empty one.
func (t *tx) see(id string) *seenTicket {
	if s := t.seenOf(id); s != nil {
		return s
	}
	if t.seen == nil {
		t.seen = t.seenBuf[:0]
	}
	t.seen = append(t.seen, seenTicket{id: id})
	return &t.seen[len(t.seen)-1]
}

// indexKey is what a ticket's secondary indexes are built from. UpdateTicket compares it with
// the values read in the same transaction and runs an UPDATE that leaves the unchanged ones out
// of SET, so SQLite does not rewrite their index entries. When none changed that halves the cost
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
		active_escalation = ?, extra = ?, version = ?, updated_at = ?`

// indexedColumns are the columns of indexKey that an index or a partial index's WHERE reads,
// in the order of movedIndexed's bits. SQLite rewrites an index's entry when its UPDATE names
// one of its columns, whether or not the value changes.
var indexedColumns = [...]string{"status", "priority", "account_id", "team", "tier", "assignee", "escalation_count"}

// sqlUpdateTicketMoved[m] is sqlUpdateTicketUnindexed that also sets the indexed columns of
// the bits of m (see movedIndexed), in indexedColumns order.
var sqlUpdateTicketMoved = func() (out [1 << len(indexedColumns)]string) {
	for m := range out {
		var b strings.Builder
		b.WriteString(sqlUpdateTicketUnindexed)
		for i, c := range indexedColumns {
			if m&(1<<i) != 0 {
				b.WriteString(", " + c + " = ?")
			}
		}
		b.WriteString(" WHERE id = ? AND version = ?")
		out[m] = b.String()
	}
	return out
}()

// movedIndexed has a bit set for each indexed column whose value differs between a and b.
func movedIndexed(a, b indexKey) int {
	m := 0
	for i, moved := range [...]bool{a.status != b.status, a.priority != b.priority, a.accountID != b.accountID,
		a.team != b.team, a.tier != b.tier, a.assignee != b.assignee, a.escalations != b.escalations} {
		if moved {
			m |= 1 << i
		}
	}
	return m
}

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
	unindexed := false
	before := t.cacheWrites()
	if read := t.seenOf(tk.ID); read != nil && read.hasKey && read.key.version == prev {
		// The row is as read: SET names only the indexed columns whose value moves, so SQLite
		// rewrites only the index entries built from them (an escalation moves team, tier and
		// the escalation count, not status, priority or account).
		moved := movedIndexed(read.key, next)
		unindexed = moved == 0
		a := make([]any, 0, 24)
		a = append(a, tk.Subject, string(tk.Channel), tk.IssueType, args[5], tk.Language,
			tk.CustomerID, args[12], tk.Counters.Reopens, tk.Counters.Reassignments, tk.Counters.CustomerContacts,
			tk.Counters.Messages, tk.ActiveEscalation, args[19], tk.Version, ms(tk.UpdatedAt))
		for i, v := range [...]any{string(tk.Status), string(tk.Priority), tk.AccountID, tk.Team, tk.Tier, tk.Assignee, tk.Counters.Escalations} {
			if moved&(1<<i) != 0 {
				a = append(a, v)
			}
		}
		res, err = t.exec(ctx, sqlUpdateTicketMoved[moved], append(a, tk.ID, prev)...)
	} else {
		args = append(args[:len(args)-2], ms(tk.UpdatedAt), tk.ID, prev)
		res, err = t.exec(ctx, sqlUpdateTicket, args...)
	}
	if err != nil {
		t.forget(tk.ID)
		return writeErr(err, "update ticket "+tk.ID, "", "")
	}
	if err := t.checkVersioned(ctx, res, "tickets", "ticket", tk.ID, prev); err != nil {
		t.forget(tk.ID)
		return err
	}
	// Only a write that happened may vouch for the row's indexed columns.
	st := t.see(tk.ID)
	st.key, st.hasKey = next, true
	if t.cache != nil && (st.writes != before || t.cacheWrites() != before+1) {
		// Another statement changed a ticket row between the read and this UPDATE: the copy
		// read may be stale, so the row is read again next time instead of rebuilt from it.
		st.row = nil
		t.stageTicket(tk.ID, nil)
		return nil
	}
	t.wroteRow(tk, prev, unindexed, args[5].(string), args[12].(string), args[19].(string))
	st.writes = t.cacheWrites()
	return nil
}

// forget drops what the fn knew of ticket id: its row must be read again.
func (t *tx) forget(id string) {
	if s := t.seenOf(id); s != nil {
		s.hasKey, s.row = false, nil
	}
	t.stageTicket(id, nil)
}

// wroteRow stages the row UpdateTicket just wrote: the row this fn read at version prev with
// the columns the UPDATE set replaced by what it bound (unindexed: no indexed column; else
// all, those an UPDATE of sqlUpdateTicketMoved left out being equal to the read ones). The customer and account columns come from the read, so when the
// ticket moved to another customer or account the row is dropped instead (the next read joins
// the new ones).
func (t *tx) wroteRow(tk *escalated.Ticket, prev int64, unindexed bool, tags, fields, extra string) {
	if t.cache == nil {
		return
	}
	s := t.see(tk.ID)
	read := s.row
	if read == nil || read.version != prev || read.customerID != tk.CustomerID || read.accountID != tk.AccountID {
		s.row = nil
		t.stageTicket(tk.ID, nil)
		return
	}
	r := *read
	r.subject, r.channel, r.issueType, r.tags, r.language, r.customerID, r.fields = tk.Subject, string(tk.Channel),
		tk.IssueType, tags, tk.Language, tk.CustomerID, fields
	r.reopens, r.reassignments, r.contacts, r.messages = tk.Counters.Reopens, tk.Counters.Reassignments,
		tk.Counters.CustomerContacts, tk.Counters.Messages
	r.activeEscalation, r.extra, r.version, r.updated = tk.ActiveEscalation, extra, tk.Version, ms(tk.UpdatedAt)
	if !unindexed {
		r.status, r.priority, r.accountID, r.team, r.tier, r.assignee, r.escalations = string(tk.Status),
			string(tk.Priority), tk.AccountID, tk.Team, tk.Tier, tk.Assignee, tk.Counters.Escalations
	}
	r.ready = new(atomic.Pointer[escalated.Ticket])
	s.row = &r
	t.stageTicket(tk.ID, &r)
}

// prepare decodes the row for the next read of it, off the writer goroutine: the writer is
// the one serial part of every write, the decoding is not.
// A row already read before prepare got to it is not decoded again for nobody: a speculation
// (speculate.go) often reads the row a queued write will leave before that write commits.
func (r *ticketRow) prepare() {
	if r.ready.Load() == taken {
		return
	}
	if tk, err := r.ticket(); err == nil {
		r.ready.CompareAndSwap(nil, tk)
	}
}

// take returns the ticket prepare decoded, once, or nil.
func (r *ticketRow) take() *escalated.Ticket {
	if r.ready == nil {
		return nil
	}
	if tk := r.ready.Swap(taken); tk != taken {
		return tk
	}
	return nil
}

// taken marks a row's decoded ticket as handed out (or the row as read before it was decoded).
var taken = new(escalated.Ticket)

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
