package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

const messageColumns = `id, ticket_id, seq, author_kind, author_id, author_name, body, internal, signals, created_at`

// dialect: $n placeholders (SQLite: ?).
const sqlInsertMessage = `INSERT INTO messages (` + messageColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

func messageArgs(m *escalated.Message) ([]any, error) {
	signals, err := store.SignalsText(m.Signals)
	if err != nil {
		return nil, err
	}
	return []any{m.ID, m.TicketID, m.Seq, string(m.Author.Kind), m.Author.ID, m.Author.Name,
		m.Body, m.Internal, signals, ts(m.CreatedAt)}, nil
}

func scanMessage(s scanner) (*escalated.Message, error) {
	var (
		m       escalated.Message
		signals []byte
		created time.Time
	)
	if err := s.Scan(&m.ID, &m.TicketID, &m.Seq, &m.Author.Kind, &m.Author.ID, &m.Author.Name,
		&m.Body, &m.Internal, &signals, &created); err != nil {
		return nil, err
	}
	if err := decodeSignals(signals, &m.Signals); err != nil {
		return nil, err
	}
	m.CreatedAt = fromTS(created)
	return &m, nil
}

func decodeSignals(text []byte, s *escalated.Signals) error {
	if err := json.Unmarshal(text, s); err != nil {
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
	return writeErr(err, "add message "+m.ID,
		"message "+m.ID+" already exists",
		"ticket "+m.TicketID+" not found")
}

// GetMessage returns one message by id.
func (t *tx) GetMessage(ctx context.Context, id string) (*escalated.Message, error) {
	// dialect: $1 placeholder (SQLite: ?).
	m, err := scanMessage(t.queryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = $1`, id))
	if err != nil {
		return nil, readErr(err, "message", id)
	}
	return m, nil
}

// sqlListMessages finds a ticket's messages through the events that announce them
// (store.History), as the SQLite store does: the messages table keeps no index by ticket.
// dialect: $1 placeholder (SQLite: ?).
var sqlListMessages = `SELECT ` + store.Qualified("m", messageColumns) + `
		FROM events e
		JOIN messages m ON m.id = e.message_id AND m.ticket_id = e.ticket_id
		WHERE e.ticket_id = $1
		ORDER BY e.seq, m.id`

// ListMessages returns a ticket's messages in conversation order, each found through the
// event that announces it. An unknown ticket has no messages: the list is empty, not an error.
func (t *tx) ListMessages(ctx context.Context, ticketID string) ([]*escalated.Message, error) {
	ms, err := list(ctx, t, sqlListMessages, []any{ticketID}, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("list messages of %s: %w", ticketID, interpretError(err))
	}
	return ms, nil
}

// PickMessages returns the first or last p.Limit of a ticket's messages that match p
// (store.History), walking the events' index by ticket from that end and stopping there.
func (t *tx) PickMessages(ctx context.Context, ticketID string, p store.MessagePick) ([]*escalated.Message, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	// dialect: $n placeholders and boolean internal (SQLite: ? and 0).
	var q strings.Builder
	q.WriteString(`SELECT ` + store.Qualified("m", messageColumns) + `
		FROM events e
		JOIN messages m ON m.id = e.message_id AND m.ticket_id = e.ticket_id
		WHERE e.ticket_id = $1`)
	args := []any{ticketID}
	if p.Kind != "" {
		args = append(args, string(p.Kind))
		fmt.Fprintf(&q, ` AND m.author_kind = $%d`, len(args))
	}
	if p.Public {
		q.WriteString(` AND NOT m.internal`)
	}
	args = append(args, p.Limit)
	if p.Last {
		fmt.Fprintf(&q, ` ORDER BY e.seq DESC, m.id DESC LIMIT $%d`, len(args))
	} else {
		fmt.Fprintf(&q, ` ORDER BY e.seq, m.id LIMIT $%d`, len(args))
	}
	ms, err := list(ctx, t, q.String(), args, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("pick messages of %s: %w", ticketID, interpretError(err))
	}
	if p.Last {
		slices.Reverse(ms)
	}
	return ms, nil
}

// sqlInsertEvent is the plain insert, used by RawInsertMessages (which announces nothing, like
// the SQLite store's).
// dialect: $n placeholders (SQLite: ?).
const sqlInsertEvent = `INSERT INTO events (id, ticket_id, seq, type, actor, data, message_id, created_at, team, from_team)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

// sqlAppendEvent inserts the event and queues its announcement in the same statement.
// dialect: pg_notify on the schema's channel ($11) with the store.Change as JSON, through a
// data-modifying CTE (SQLite: the store publishes to its hub itself after the commit). NOTIFY is
// transactional: PostgreSQL delivers it to every listening node only if and when the transaction
// commits, in commit order, and drops it on rollback. Doing it in the INSERT costs no extra
// round trip.
const sqlAppendEvent = `WITH e AS (` + sqlInsertEvent + ` RETURNING ticket_id, seq, type)
	SELECT pg_notify($11, json_build_object('ticket_id', e.ticket_id, 'seq', e.seq, 'type', e.type)::text) FROM e`

// AppendEvent appends an event to its ticket's history; conflict when the id or the ticket's
// seq is taken (two writers raced for the same version), not_found when the ticket does not
// exist. Every node subscribed to the schema hears of it once the transaction commits.
func (t *tx) AppendEvent(ctx context.Context, e *escalated.Event) error {
	data, err := mapText(e.Data)
	if err != nil {
		return err
	}
	var msgID any
	if id := store.EventMessageID(e); id != "" {
		msgID = id
	}
	_, err = t.exec(ctx, sqlAppendEvent,
		e.ID, e.TicketID, e.Seq, e.Type, e.Actor, data, msgID, ts(e.CreatedAt), e.Team, e.FromTeam, t.channel)
	return writeErr(err, "append event "+e.ID,
		fmt.Sprintf("event %s or seq %d of ticket %s already exists", e.ID, e.Seq, e.TicketID),
		"ticket "+e.TicketID+" not found")
}

// ListEvents returns a ticket's history in seq order, each message.added event carrying its
// message, through one LEFT JOIN.
func (t *tx) ListEvents(ctx context.Context, ticketID string) ([]*escalated.Event, error) {
	// dialect: $1 placeholder (SQLite: ?).
	evs, err := list(ctx, t, `SELECT `+eventColumns+`
		FROM events e
		LEFT JOIN messages m ON m.id = e.message_id
		WHERE e.ticket_id = $1
		ORDER BY e.seq`, []any{ticketID}, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("list events of %s: %w", ticketID, interpretError(err))
	}
	return evs, nil
}

// ListWorkEvents returns the ticket's events of types and its agents' message.added events
// (store.History), by the same index as ListEvents, reading of each message only its author.
func (t *tx) ListWorkEvents(ctx context.Context, ticketID string, types []string) ([]*escalated.Event, error) {
	// dialect: $n placeholders and = ANY of an array (SQLite: one ? per type in IN).
	evs, err := list(ctx, t, `SELECT e.id, e.ticket_id, e.seq, e.type, e.actor, e.data, e.created_at, e.team, e.from_team,
		m.id, m.ticket_id, m.seq, m.author_kind, m.author_id, m.author_name
		FROM events e
		LEFT JOIN messages m ON m.id = e.message_id
		WHERE e.ticket_id = $1 AND (e.type = ANY($2) OR (e.type = $3 AND m.author_kind = $4))
		ORDER BY e.seq`, []any{ticketID, types, escalated.EventMessageAdded, string(escalated.AuthorAgent)}, scanWorkEvent)
	if err != nil {
		return nil, fmt.Errorf("list the work events of %s: %w", ticketID, interpretError(err))
	}
	return evs, nil
}

func scanWorkEvent(s scanner) (*escalated.Event, error) {
	var (
		e       escalated.Event
		data    []byte
		created time.Time
		// The message side of the LEFT JOIN is NULL for events without a message.
		mID, mTicket, mKind, mAuthorID, mAuthorName *string
		mSeq                                        *int64
	)
	if err := s.Scan(&e.ID, &e.TicketID, &e.Seq, &e.Type, &e.Actor, &data, &created, &e.Team, &e.FromTeam,
		&mID, &mTicket, &mSeq, &mKind, &mAuthorID, &mAuthorName); err != nil {
		return nil, err
	}
	var err error
	if e.Data, err = parseMap(data); err != nil {
		return nil, err
	}
	e.CreatedAt = fromTS(created)
	if mID != nil {
		e.Message = &escalated.Message{ID: *mID, TicketID: *mTicket, Seq: *mSeq,
			Author: escalated.Author{Kind: escalated.AuthorKind(*mKind), ID: *mAuthorID, Name: *mAuthorName}}
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
		data    []byte
		created time.Time
		// The message side of the LEFT JOIN is NULL for events without a message.
		mID, mTicket, mKind, mAuthorID, mAuthorName, mBody *string
		mSignals                                           []byte
		mSeq                                               *int64
		mInternal                                          *bool
		mCreated                                           *time.Time
	)
	if err := s.Scan(&e.ID, &e.TicketID, &e.Seq, &e.Type, &e.Actor, &data, &created, &e.Team, &e.FromTeam,
		&mID, &mTicket, &mSeq, &mKind, &mAuthorID, &mAuthorName, &mBody, &mInternal, &mSignals, &mCreated); err != nil {
		return nil, err
	}
	var err error
	if e.Data, err = parseMap(data); err != nil {
		return nil, err
	}
	e.CreatedAt = fromTS(created)
	if mID != nil {
		m := &escalated.Message{
			ID: *mID, TicketID: *mTicket, Seq: *mSeq,
			Author:   escalated.Author{Kind: escalated.AuthorKind(*mKind), ID: *mAuthorID, Name: *mAuthorName},
			Body:     *mBody,
			Internal: *mInternal, CreatedAt: fromTS(*mCreated),
		}
		if err := decodeSignals(mSignals, &m.Signals); err != nil {
			return nil, err
		}
		e.Message = m
	}
	return &e, nil
}
