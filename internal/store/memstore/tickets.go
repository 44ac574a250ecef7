package memstore

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// Tables of Tickets, History, Accounts and Decisions.
//
//	"tickets"                 id → *Ticket (Customer and Account nil: attached on reads)
//	"tickets_by_team"         team + "\x00" + id → id
//	"tickets_by_assignee"     assignee + "\x00" + id → id
//	"tickets_by_account"      account id + "\x00" + id → id: the list filters services use on
//	                          many tickets (the others are checked on the way)
//	"tickets_open_team"       team + "\x00" + id → id for tickets not solved or closed
//	"tickets_open_assignee"   assignee + "\x00" + id → id for tickets not solved or closed
//	"messages"                id → *Message
//	"events"                  ticketID + "\x00" + pad(seq) → *Event (Message attached; a
//	                          ticket's messages are listed through these, as in SQL)
//	"event_ids"               event id → its "events" key
//	"feed"                    pad(pos) → *Event (the same value as in "events")
//	"events_awaiting_message" messageID + "\x00" + events key → awaiting: an event appended
//	                          before the message it announces, fixed up by AddMessage
//	"accounts", "customers"   id → *Account, *Customer
//	"decisions"               ticket id → *Decision
//
// Stored values are never changed once put (a write puts a new value), so tables may share
// them; everything a caller gets is a clone.
const (
	tTickets      = "tickets"
	tOpenTeam     = "tickets_open_team"
	tOpenAssignee = "tickets_open_assignee"
	tMessages     = "messages"
	tEvents       = "events"
	tEventIDs     = "event_ids"
	tFeed         = "feed"
	tAwaiting     = "events_awaiting_message"
	tAccounts     = "accounts"
	tCustomers    = "customers"
	tDecisions    = "decisions"
)

// ticketFilters are ListTickets' filters: the ticket's value and, for the filters services
// use on many tickets (an agent's, an account's, a team's), the index table. Indexed filters
// come first, the most selective first: ListTickets walks the first one given.
var ticketFilters = []struct {
	table string
	value func(*escalated.Ticket) string
}{
	{"tickets_by_assignee", func(t *escalated.Ticket) string { return t.Assignee }},
	{"tickets_by_account", func(t *escalated.Ticket) string { return t.AccountID }},
	{"tickets_by_team", func(t *escalated.Ticket) string { return t.Team }},
	{"", func(t *escalated.Ticket) string { return t.Tier }},
	{"", func(t *escalated.Ticket) string { return string(t.Priority) }},
	{"", func(t *escalated.Ticket) string { return string(t.Status) }},
	{"", everEscalated},
}

func everEscalated(t *escalated.Ticket) string {
	if t.Counters.Escalations > 0 {
		return "1"
	}
	return "0"
}

// filterValues returns f's value for each of ticketFilters ("" for no filter).
func filterValues(f store.TicketFilter) []string {
	esc := ""
	if f.Escalated != nil {
		esc = "0"
		if *f.Escalated {
			esc = "1"
		}
	}
	return []string{f.Assignee, f.AccountID, f.Team, f.Tier, string(f.Priority), string(f.Status), esc}
}

func isOpen(t *escalated.Ticket) bool {
	return t.Status != escalated.StatusSolved && t.Status != escalated.StatusClosed
}

// indexTicket adds (old nil) or moves the index entries of a ticket from old to t.
func (x *tx) indexTicket(old, t *escalated.Ticket) {
	for _, ix := range ticketFilters {
		if ix.table == "" {
			continue
		}
		v := ix.value(t)
		if old != nil {
			if ov := ix.value(old); ov == v {
				continue
			} else {
				del[string](x, ix.table, ov+"\x00"+t.ID)
			}
		}
		put(x, ix.table, v+"\x00"+t.ID, t.ID)
	}
	wasOpen := old != nil && isOpen(old)
	open := isOpen(t)
	for _, ix := range []struct {
		table string
		o, n  string
	}{{tOpenTeam, "", t.Team}, {tOpenAssignee, "", t.Assignee}} {
		if old != nil {
			if ix.table == tOpenTeam {
				ix.o = old.Team
			} else {
				ix.o = old.Assignee
			}
		}
		if wasOpen && open && ix.o == ix.n {
			continue
		}
		if wasOpen {
			del[string](x, ix.table, ix.o+"\x00"+t.ID)
		}
		if open {
			put(x, ix.table, ix.n+"\x00"+t.ID, t.ID)
		}
	}
}

// storedTicket returns the copy of t to store: normalised as the SQL stores read it back
// (UTC milliseconds, empty rather than nil lists and maps, JSON values), without Customer and
// Account.
func storedTicket(t *escalated.Ticket) (*escalated.Ticket, error) {
	c := *t
	c.Customer, c.Account = nil, nil
	fields := c.CustomFields
	c.CustomFields = nil
	s := clone(&c)
	var err error
	if s.CustomFields, err = jsonMap(fields); err != nil {
		return nil, err
	}
	if s.Tags == nil {
		s.Tags = []string{}
	}
	if s.Signals.Trend == nil {
		s.Signals.Trend = []float64{}
	}
	if s.Signals.Keywords == nil {
		s.Signals.Keywords = []string{}
	}
	// The SQL stores keep the SLA only when it says something (store.EncodeTicketExtra).
	if !(s.SLA.Plan != "" || len(s.SLA.Clocks) > 0 || s.SLA.Replied || s.SLA.Tier != "") {
		s.SLA = escalated.SLA{}
	}
	s.CreatedAt, s.UpdatedAt = escalated.Truncate(s.CreatedAt), escalated.Truncate(s.UpdatedAt)
	return s, nil
}

// readTicket returns a caller's copy of a stored ticket with its customer and account.
func (x *tx) readTicket(s *escalated.Ticket) *escalated.Ticket {
	t := clone(s)
	if s.CustomerID != "" {
		if c, ok := get[*escalated.Customer](x, tCustomers, s.CustomerID); ok {
			t.Customer = clone(c)
		}
	}
	if s.AccountID != "" {
		if a, ok := get[*escalated.Account](x, tAccounts, s.AccountID); ok {
			t.Account = clone(a)
		}
	}
	return t
}

// CreateTicket inserts t; conflict when the id is taken.
func (x *tx) CreateTicket(ctx context.Context, t *escalated.Ticket) error {
	if err := x.writable("create ticket"); err != nil {
		return err
	}
	if _, ok := get[*escalated.Ticket](x, tTickets, t.ID); ok {
		return conflict("ticket %s already exists", t.ID)
	}
	s, err := storedTicket(t)
	if err != nil {
		return err
	}
	put(x, tTickets, s.ID, s)
	x.indexTicket(nil, s)
	return nil
}

// GetTicket returns the ticket with its customer and account.
func (x *tx) GetTicket(ctx context.Context, id string) (*escalated.Ticket, error) {
	s, ok := get[*escalated.Ticket](x, tTickets, id)
	if !ok {
		return nil, notFound("ticket", id)
	}
	return x.readTicket(s), nil
}

// UpdateTicket writes every field but id and created_at if the stored version is still prev.
func (x *tx) UpdateTicket(ctx context.Context, t *escalated.Ticket, prev int64) error {
	if err := x.writable("update ticket"); err != nil {
		return err
	}
	old, ok := get[*escalated.Ticket](x, tTickets, t.ID)
	if !ok {
		return notFound("ticket", t.ID)
	}
	if old.Version != prev {
		return conflict("ticket %s was changed by someone else (stored version %d, this write expected %d): reload and retry",
			t.ID, old.Version, prev)
	}
	s, err := storedTicket(t)
	if err != nil {
		return err
	}
	s.CreatedAt = old.CreatedAt
	put(x, tTickets, s.ID, s)
	x.indexTicket(old, s)
	return nil
}

// ListTickets returns a page of tickets, newest first: it walks one filter's index (or the
// tickets) by id descending and checks the other filters on each ticket.
//
// Other groups may read the open-ticket indexes: "tickets_open_team" (team + "\x00" + id → id)
// and "tickets_open_assignee" (assignee + "\x00" + id → id) hold exactly the tickets whose
// status is neither solved nor closed, in id order within each team or assignee.
func (x *tx) ListTickets(ctx context.Context, f store.TicketFilter) ([]*escalated.Ticket, string, error) {
	limit := store.ClampLimit(f.Limit)
	values := filterValues(f)
	items := make([]*escalated.Ticket, 0, min(limit, 64))
	more := false
	match := func(t *escalated.Ticket) bool {
		for i, ix := range ticketFilters {
			if values[i] != "" && ix.value(t) != values[i] {
				return false
			}
		}
		return true
	}
	take := func(s *escalated.Ticket) bool {
		if !match(s) {
			return true
		}
		if len(items) == limit {
			more = true
			return false
		}
		items = append(items, x.readTicket(s))
		return true
	}
	walked := false
	for i, ix := range ticketFilters {
		if values[i] == "" || ix.table == "" {
			continue
		}
		prefix := values[i] + "\x00"
		from := ""
		if f.Cursor != "" {
			from = prefix + f.Cursor
		}
		scanDesc(x, ix.table, prefix, from, func(key, id string) bool {
			if id >= f.Cursor && f.Cursor != "" {
				return true
			}
			s, ok := get[*escalated.Ticket](x, tTickets, id)
			if !ok {
				return true
			}
			return take(s)
		})
		walked = true
		break
	}
	if !walked {
		scanDesc(x, tTickets, "", f.Cursor, func(id string, s *escalated.Ticket) bool {
			if id >= f.Cursor && f.Cursor != "" {
				return true
			}
			return take(s)
		})
	}
	cursor := ""
	if more {
		cursor = items[len(items)-1].ID
	}
	return items, cursor, nil
}

// awaiting is an event appended before the message it announces.
type awaiting struct {
	eventKey string
	pos      int64
}

func eventKey(ticketID string, seq int64) string { return ticketID + "\x00" + pad(seq) }

func storedMessage(m *escalated.Message) *escalated.Message {
	s := clone(m)
	if s.Signals.Keywords == nil {
		s.Signals.Keywords = []string{}
	}
	s.CreatedAt = escalated.Truncate(s.CreatedAt)
	return s
}

// AddMessage appends a message to its ticket's conversation; not_found when the ticket does
// not exist, conflict when the message id is taken.
func (x *tx) AddMessage(ctx context.Context, m *escalated.Message) error {
	if err := x.writable("add message"); err != nil {
		return err
	}
	if _, ok := get[*escalated.Message](x, tMessages, m.ID); ok {
		return conflict("message %s already exists", m.ID)
	}
	if _, ok := get[*escalated.Ticket](x, tTickets, m.TicketID); !ok {
		return notFound("ticket", m.TicketID)
	}
	s := storedMessage(m)
	put(x, tMessages, s.ID, s)
	// Events appended before this message announce it from now on.
	var fix []string
	scan(x, tAwaiting, s.ID+"\x00", "", func(key string, a awaiting) bool {
		fix = append(fix, key)
		if e, ok := get[*escalated.Event](x, tEvents, a.eventKey); ok {
			n := *e
			n.Message = s
			put(x, tEvents, a.eventKey, &n)
			put(x, tFeed, pad(a.pos), &n)
		}
		return true
	})
	for _, k := range fix {
		del[awaiting](x, tAwaiting, k)
	}
	return nil
}

// GetMessage returns one message by id.
func (x *tx) GetMessage(ctx context.Context, id string) (*escalated.Message, error) {
	m, ok := get[*escalated.Message](x, tMessages, id)
	if !ok {
		return nil, notFound("message", id)
	}
	return clone(m), nil
}

// ListMessages returns a ticket's messages in conversation order, found through the events
// that announce them, as the SQL stores find them (store.History).
func (x *tx) ListMessages(ctx context.Context, ticketID string) ([]*escalated.Message, error) {
	out := []*escalated.Message{}
	scan(x, tEvents, ticketID+"\x00", "", func(_ string, e *escalated.Event) bool {
		if m := e.Message; m != nil && m.TicketID == ticketID {
			out = append(out, clone(m))
		}
		return true
	})
	return out, nil
}

// PickMessages returns the first or last p.Limit of a ticket's messages that match p
// (store.History).
func (x *tx) PickMessages(ctx context.Context, ticketID string, p store.MessagePick) ([]*escalated.Message, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	var picked []*escalated.Message
	scan(x, tEvents, ticketID+"\x00", "", func(_ string, e *escalated.Event) bool {
		m := e.Message
		if m == nil || m.TicketID != ticketID || p.Kind != "" && m.Author.Kind != p.Kind || p.Public && m.Internal {
			return true
		}
		picked = append(picked, m)
		return p.Last || len(picked) < p.Limit
	})
	if len(picked) > p.Limit {
		picked = picked[len(picked)-p.Limit:]
	}
	out := make([]*escalated.Message, len(picked))
	for i, m := range picked {
		out[i] = clone(m)
	}
	return out, nil
}

// AppendEvent appends an event to its ticket's history and to the feed; conflict when the id
// or the ticket's seq is taken, not_found when the ticket does not exist. The Change is
// announced once the transaction commits.
func (x *tx) AppendEvent(ctx context.Context, e *escalated.Event) error {
	if err := x.writable("append event"); err != nil {
		return err
	}
	key := eventKey(e.TicketID, e.Seq)
	_, idTaken := get[string](x, tEventIDs, e.ID)
	_, seqTaken := get[*escalated.Event](x, tEvents, key)
	if idTaken || seqTaken {
		return conflict("event %s or seq %d of ticket %s already exists", e.ID, e.Seq, e.TicketID)
	}
	if _, ok := get[*escalated.Ticket](x, tTickets, e.TicketID); !ok {
		return notFound("ticket", e.TicketID)
	}
	msgID := store.EventMessageID(e)
	c := *e
	c.Message = nil
	data := c.Data
	c.Data = nil
	s := clone(&c)
	var err error
	if s.Data, err = jsonMap(data); err != nil {
		return err
	}
	s.CreatedAt = escalated.Truncate(s.CreatedAt)
	pos := x.next(tFeed)
	if msgID != "" {
		if m, ok := get[*escalated.Message](x, tMessages, msgID); ok {
			s.Message = m
		} else {
			put(x, tAwaiting, msgID+"\x00"+key, awaiting{eventKey: key, pos: pos})
		}
	}
	put(x, tEvents, key, s)
	put(x, tEventIDs, s.ID, key)
	put(x, tFeed, pad(pos), s)
	x.announce(store.Change{TicketID: e.TicketID, Seq: e.Seq, Type: e.Type})
	return nil
}

// ListEvents returns a ticket's history in seq order, message.added events with their message.
func (x *tx) ListEvents(ctx context.Context, ticketID string) ([]*escalated.Event, error) {
	out := []*escalated.Event{}
	scan(x, tEvents, ticketID+"\x00", "", func(_ string, e *escalated.Event) bool {
		out = append(out, clone(e))
		return true
	})
	return out, nil
}

// ListWorkEvents returns the ticket's events of types and its agents' message.added events
// (store.History), each message with its id, ticket, seq and author only.
func (x *tx) ListWorkEvents(ctx context.Context, ticketID string, types []string) ([]*escalated.Event, error) {
	out := []*escalated.Event{}
	scan(x, tEvents, ticketID+"\x00", "", func(_ string, e *escalated.Event) bool {
		m := e.Message
		agents := e.Type == escalated.EventMessageAdded && m != nil && m.Author.Kind == escalated.AuthorAgent
		if !agents && !slices.Contains(types, e.Type) {
			return true
		}
		c := *e
		c.Data = copyJSONMap(e.Data)
		if m != nil {
			c.Message = &escalated.Message{ID: m.ID, TicketID: m.TicketID, Seq: m.Seq, Author: m.Author}
		}
		out = append(out, &c)
		return true
	})
	return out, nil
}

// UpsertAccount inserts the account or overwrites every field of the stored one.
func (x *tx) UpsertAccount(ctx context.Context, a *escalated.Account) error {
	if err := x.writable("upsert account"); err != nil {
		return err
	}
	attrs, err := jsonMap(a.Attributes)
	if err != nil {
		return err
	}
	put(x, tAccounts, a.ID, &escalated.Account{ID: a.ID, Name: a.Name, Tier: a.Tier, Attributes: attrs})
	return nil
}

// GetAccount returns one account.
func (x *tx) GetAccount(ctx context.Context, id string) (*escalated.Account, error) {
	a, ok := get[*escalated.Account](x, tAccounts, id)
	if !ok {
		return nil, notFound("account", id)
	}
	return clone(a), nil
}

// UpsertCustomer inserts the customer or overwrites every field of the stored one.
func (x *tx) UpsertCustomer(ctx context.Context, c *escalated.Customer) error {
	if err := x.writable("upsert customer"); err != nil {
		return err
	}
	v := *c
	put(x, tCustomers, c.ID, &v)
	return nil
}

// GetCustomer returns one customer.
func (x *tx) GetCustomer(ctx context.Context, id string) (*escalated.Customer, error) {
	c, ok := get[*escalated.Customer](x, tCustomers, id)
	if !ok {
		return nil, notFound("customer", id)
	}
	v := *c
	return &v, nil
}

// SaveDecision stores d as its ticket's latest decision.
func (x *tx) SaveDecision(ctx context.Context, d *escalated.Decision) error {
	if err := x.writable("save decision"); err != nil {
		return err
	}
	if _, ok := get[*escalated.Ticket](x, tTickets, d.TicketID); !ok {
		return notFound("ticket", d.TicketID)
	}
	s := clone(d)
	s.CreatedAt = escalated.Truncate(s.CreatedAt)
	put(x, tDecisions, d.TicketID, s)
	return nil
}

// LatestDecision returns a ticket's latest decision; not_found when none was saved.
func (x *tx) LatestDecision(ctx context.Context, ticketID string) (*escalated.Decision, error) {
	d, ok := get[*escalated.Decision](x, tDecisions, ticketID)
	if !ok {
		return nil, escalated.Errorf(escalated.ENOTFOUND, "no decision recorded for ticket %s", ticketID)
	}
	return clone(d), nil
}

// jsonMap returns a copy of m as a JSON object column reads back: nil as an empty map, numbers
// as float64, structs and other Go values as the maps, lists and strings JSON makes of them.
// Values that are JSON already are copied without encoding.
func jsonMap(m map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		n, err := jsonValue(v)
		if err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, nil
}

func jsonValue(v any) (any, error) {
	switch v := v.(type) {
	case nil, string, bool, float64:
		return v, nil
	case int:
		return float64(v), nil
	case int64:
		return float64(v), nil
	case int32:
		return float64(v), nil
	case map[string]any:
		return jsonMap(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			n, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case []string:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = e
		}
		return out, nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.String {
		_, m := v.(json.Marshaler)
		_, tm := v.(encoding.TextMarshaler)
		if !m && !tm {
			return rv.String(), nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, escalated.Errorf(escalated.EINVALID, "value cannot be stored as JSON: %v", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("decode JSON value: %w", err)
	}
	return out, nil
}
