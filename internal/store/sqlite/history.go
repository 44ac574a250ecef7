package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

const messageColumns = `id, ticket_id, seq, author_kind, author_id, author_name, body, internal, signals, created_at`

const sqlInsertMessage = `INSERT INTO messages (` + messageColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func messageArgs(m *escalated.Message) ([]any, error) {
	signals, err := store.SignalsText(m.Signals)
	if err != nil {
		return nil, err
	}
	return []any{m.ID, m.TicketID, m.Seq, string(m.Author.Kind), m.Author.ID, m.Author.Name,
		m.Body, m.Internal, signals, ms(m.CreatedAt)}, nil
}

func scanMessage(s scanner) (*escalated.Message, error) {
	var (
		m       escalated.Message
		signals string
		created int64
	)
	if err := s.Scan(&m.ID, &m.TicketID, &m.Seq, &m.Author.Kind, &m.Author.ID, &m.Author.Name,
		&m.Body, &m.Internal, &signals, &created); err != nil {
		return nil, err
	}
	if err := decodeSignals(signals, &m.Signals); err != nil {
		return nil, err
	}
	m.CreatedAt = fromMS(created)
	return &m, nil
}

func decodeSignals(text string, s *escalated.Signals) error {
	if err := json.Unmarshal([]byte(text), s); err != nil {
		return fmt.Errorf("decode message signals: %w", err)
	}
	if s.Keywords == nil {
		s.Keywords = []string{}
	}
	return nil
}

// AddMessage appends a message to its ticket's conversation; not_found when the ticket does
// not exist, conflict when the message id is taken.
func (t *tx) AddMessage(ctx context.Context, m *escalated.Message) error {
	args, err := messageArgs(m)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, sqlInsertMessage, args...)
	if err == nil {
		return nil // the messages below are built only for an error
	}
	return writeErr(err, "add message "+m.ID,
		"message "+m.ID+" already exists",
		"ticket "+m.TicketID+" not found")
}

// GetMessage returns one message by id.
func (t *tx) GetMessage(ctx context.Context, id string) (*escalated.Message, error) {
	m, err := scanMessage(t.queryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("message", id)
	} else if err != nil {
		return nil, fmt.Errorf("get message %s: %w", id, err)
	}
	return m, nil
}

// sqlListMessages finds a ticket's messages through the events that announce them
// (store.History): the events' (ticket_id, seq) index serves both lists, and the messages table
// keeps no index by ticket of its own, one random index page less for every message written.
var sqlListMessages = `SELECT ` + store.Qualified("m", messageColumns) + `
		FROM events e
		JOIN messages m ON m.id = e.message_id AND m.ticket_id = e.ticket_id
		WHERE e.ticket_id = ?
		ORDER BY e.seq, m.id`

// ListMessages returns a ticket's messages in conversation order, each found through the
// event that announces it. An unknown ticket has no messages: the list is empty, not an error.
func (t *tx) ListMessages(ctx context.Context, ticketID string) ([]*escalated.Message, error) {
	ms, err := list(ctx, t, sqlListMessages, []any{ticketID}, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("list messages of %s: %w", ticketID, err)
	}
	return ms, nil
}

// PickMessages returns the first or last p.Limit of a ticket's messages that match p
// (store.History), walking the events' index by ticket from that end and stopping there.
func (t *tx) PickMessages(ctx context.Context, ticketID string, p store.MessagePick) ([]*escalated.Message, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	var q strings.Builder
	q.WriteString(`SELECT ` + store.Qualified("m", messageColumns) + `
		FROM events e
		JOIN messages m ON m.id = e.message_id AND m.ticket_id = e.ticket_id
		WHERE e.ticket_id = ?`)
	args := []any{ticketID}
	if p.Kind != "" {
		q.WriteString(` AND m.author_kind = ?`)
		args = append(args, string(p.Kind))
	}
	if p.Public {
		q.WriteString(` AND m.internal = 0`)
	}
	if p.Last {
		q.WriteString(` ORDER BY e.seq DESC, m.id DESC LIMIT ?`)
	} else {
		q.WriteString(` ORDER BY e.seq, m.id LIMIT ?`)
	}
	args = append(args, p.Limit)
	ms, err := list(ctx, t, q.String(), args, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("pick messages of %s: %w", ticketID, err)
	}
	if p.Last {
		slices.Reverse(ms)
	}
	return ms, nil
}

const sqlInsertEvent = `INSERT INTO events (id, ticket_id, seq, type, actor, data, message_id, created_at, team, from_team)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// AppendEvent appends an event to its ticket's history; conflict when the id or the ticket's
// seq is taken (two writers raced for the same version), not_found when the ticket does not
// exist.
func (t *tx) AppendEvent(ctx context.Context, e *escalated.Event) error {
	data, err := mapText(e.Data)
	if err != nil {
		return err
	}
	var msgID any
	if id := store.EventMessageID(e); id != "" {
		msgID = id
	}
	_, err = t.exec(ctx, sqlInsertEvent,
		e.ID, e.TicketID, e.Seq, e.Type, e.Actor, data, msgID, ms(e.CreatedAt), e.Team, e.FromTeam)
	if err == nil && t.write {
		t.changes = append(t.changes, store.Change{TicketID: e.TicketID, Seq: e.Seq, Type: e.Type})
	}
	if err == nil {
		return nil // the messages below are built only for an error
	}
	return writeErr(err, "append event "+e.ID,
		fmt.Sprintf("event %s or seq %d of ticket %s already exists", e.ID, e.Seq, e.TicketID),
		"ticket "+e.TicketID+" not found")
}

// ListEvents returns a ticket's history in seq order, each message.added event carrying its
// message. One LEFT JOIN rather than a lookup per event: a long history must not cost one
// query per line.
func (t *tx) ListEvents(ctx context.Context, ticketID string) ([]*escalated.Event, error) {
	evs, err := list(ctx, t, `SELECT `+eventColumns+`
		FROM events e
		LEFT JOIN messages m ON m.id = e.message_id
		WHERE e.ticket_id = ?
		ORDER BY e.seq`, []any{ticketID}, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("list events of %s: %w", ticketID, err)
	}
	return evs, nil
}

// ListWorkEvents returns the ticket's events of types and its agents' message.added events
// (store.History), by the same index as ListEvents, reading of each message only its author.
func (t *tx) ListWorkEvents(ctx context.Context, ticketID string, types []string) ([]*escalated.Event, error) {
	args := make([]any, 0, len(types)+3)
	args = append(args, ticketID)
	for _, ty := range types {
		args = append(args, ty)
	}
	args = append(args, escalated.EventMessageAdded, string(escalated.AuthorAgent))
	evs, err := list(ctx, t, workEventsQuery(len(types)), args, scanWorkEvent)
	if err != nil {
		return nil, fmt.Errorf("list the work events of %s: %w", ticketID, err)
	}
	return evs, nil
}

// workEventsQuery is ListWorkEvents' query for n types; its text is the same for the same n,
// so the statement cache compiles it once.
func workEventsQuery(n int) string {
	in := "''" // no types: only the agents' messages (no event has an empty type)
	if n > 0 {
		in = strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
	}
	return `SELECT e.id, e.ticket_id, e.seq, e.type, e.actor, e.data, e.created_at, e.team, e.from_team,
		m.id, m.ticket_id, m.seq, m.author_kind, m.author_id, m.author_name
		FROM events e
		LEFT JOIN messages m ON m.id = e.message_id
		WHERE e.ticket_id = ? AND (e.type IN (` + in + `) OR (e.type = ? AND m.author_kind = ?))
		ORDER BY e.seq`
}

func scanWorkEvent(s scanner) (*escalated.Event, error) {
	var (
		e       escalated.Event
		data    string
		created int64
		// The message side of the LEFT JOIN is NULL for events without a message.
		mID, mTicket, mKind, mAuthorID, mAuthorName sql.NullString
		mSeq                                        sql.NullInt64
	)
	if err := s.Scan(&e.ID, &e.TicketID, &e.Seq, &e.Type, &e.Actor, &data, &created, &e.Team, &e.FromTeam,
		&mID, &mTicket, &mSeq, &mKind, &mAuthorID, &mAuthorName); err != nil {
		return nil, err
	}
	var err error
	if e.Data, err = parseMap(data); err != nil {
		return nil, err
	}
	e.CreatedAt = fromMS(created)
	if mID.Valid {
		e.Message = &escalated.Message{ID: mID.String, TicketID: mTicket.String, Seq: mSeq.Int64,
			Author: escalated.Author{Kind: escalated.AuthorKind(mKind.String), ID: mAuthorID.String, Name: mAuthorName.String}}
	}
	return &e, nil
}

// eventColumns are what scanEvent reads: the event, then its message through a LEFT JOIN of
// messages m on e.message_id.
var eventColumns = `e.id, e.ticket_id, e.seq, e.type, e.actor, e.data, e.created_at, e.team, e.from_team, ` +
	store.Qualified("m", messageColumns)

func scanEvent(s scanner) (*escalated.Event, error) {
	var (
		e       escalated.Event
		data    string
		created int64
		// The message side of the LEFT JOIN is NULL for events without a message.
		mID, mTicket, mKind, mAuthorID, mAuthorName, mBody, mSignals sql.NullString
		mSeq, mCreated                                               sql.NullInt64
		mInternal                                                    sql.NullBool
	)
	if err := s.Scan(&e.ID, &e.TicketID, &e.Seq, &e.Type, &e.Actor, &data, &created, &e.Team, &e.FromTeam,
		&mID, &mTicket, &mSeq, &mKind, &mAuthorID, &mAuthorName, &mBody, &mInternal, &mSignals, &mCreated); err != nil {
		return nil, err
	}
	var err error
	if e.Data, err = parseMap(data); err != nil {
		return nil, err
	}
	e.CreatedAt = fromMS(created)
	if mID.Valid {
		m := &escalated.Message{
			ID: mID.String, TicketID: mTicket.String, Seq: mSeq.Int64,
			Author:   escalated.Author{Kind: escalated.AuthorKind(mKind.String), ID: mAuthorID.String, Name: mAuthorName.String},
			Body:     mBody.String,
			Internal: mInternal.Bool, CreatedAt: fromMS(mCreated.Int64),
		}
		if err := decodeSignals(mSignals.String, &m.Signals); err != nil {
			return nil, err
		}
		e.Message = m
	}
	return &e, nil
}
