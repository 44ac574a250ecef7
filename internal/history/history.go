// Package history reads and writes recorded ticket histories: JSON Lines, one event per line,
// in time order (docs/simulate.md). `escalated export` writes them from a database, `escalated
// history from-csv` from a help desk's ticket export, and `escalated simulate` replays them
// through a policy.
//
// A history records what people and customers did (tickets opened, messages, status changes,
// manual escalations, acknowledgements) and, for comparison, what the policy did live
// (escalations made by rules, SLA breaches and handoffs, which carry their trigger). A replay
// repeats the former and lets the policy under test decide the latter again.
package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/escalated/escalated"
)

// Event types. They are the names of the history events they come from.
const (
	TicketCreated          = escalated.EventTicketCreated
	MessageAdded           = escalated.EventMessageAdded
	TicketUpdated          = escalated.EventTicketUpdated
	HandoffReceived        = escalated.EventHandoffReceived
	EscalationCreated      = escalated.EventEscalationCreated
	EscalationAcknowledged = escalated.EventEscalationAcknowledged
	EscalationReturned     = escalated.EventEscalationReturned
	EscalationResolved     = escalated.EventEscalationResolved
)

// Types lists the event types a history may hold.
var Types = []string{TicketCreated, MessageAdded, TicketUpdated, HandoffReceived, EscalationCreated,
	EscalationAcknowledged, EscalationReturned, EscalationResolved}

// Event is one line of a history. Which fields apply depends on Type (docs/simulate.md).
type Event struct {
	Type string    `json:"type"`
	At   time.Time `json:"-"`
	// Ticket is the ticket's id in the history (the source system's, or escalated's own in an
	// export); replays make their own ids and report by this one.
	Ticket string `json:"ticket"`

	// ticket.created, and handoff.received for a new ticket.
	New *NewTicket `json:"new,omitempty"`

	// message.added (and the first message of ticket.created).
	Message *Message `json:"message,omitempty"`

	// ticket.updated: the fields that changed (at least one).
	Update *Update `json:"update,omitempty"`

	// handoff.received: the bot's side of the conversation and what it tried.
	Handoff *Handoff `json:"handoff,omitempty"`

	// escalation.*: Escalation is the escalation's place among the ticket's escalations
	// (1 = its first), which is how acknowledgements, returns and resolutions name it.
	Escalation int `json:"escalation,omitempty"`
	// escalation.created
	To      string `json:"to,omitempty"`
	From    string `json:"from,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Note    string `json:"note,omitempty"`
	Trigger string `json:"trigger,omitempty"` // manual (the default) or what made it live: rule, sla, bot_handoff...
	Rule    string `json:"rule,omitempty"`
	// escalation.acknowledged, returned, resolved; ticket.updated; escalation.created (manual)
	By string `json:"by,omitempty"`
	// escalation.acknowledged
	ContextSufficient *bool `json:"context_sufficient,omitempty"`
	// escalation.returned
	Necessary    *bool  `json:"necessary,omitempty"`
	ReturnReason string `json:"return_reason,omitempty"`
	// escalation.resolved
	Resolution string `json:"resolution,omitempty"`
}

// NewTicket is a ticket as it was opened.
type NewTicket struct {
	Subject      string              `json:"subject"`
	Priority     string              `json:"priority,omitempty"`
	Channel      string              `json:"channel,omitempty"`
	IssueType    string              `json:"issue_type,omitempty"`
	Language     string              `json:"language,omitempty"`
	Tags         []string            `json:"tags,omitempty"`
	Team         string              `json:"team,omitempty"`
	Customer     *escalated.Customer `json:"customer,omitempty"`
	Account      *escalated.Account  `json:"account,omitempty"`
	CustomFields map[string]any      `json:"custom_fields,omitempty"`
}

// Message is a message of the conversation.
type Message struct {
	Author   escalated.Author `json:"author"`
	Body     string           `json:"body"`
	Internal bool             `json:"internal,omitempty"`
}

// Update is a change of a ticket's fields by a person or an integration.
type Update struct {
	Status    string    `json:"status,omitempty"`
	Priority  string    `json:"priority,omitempty"`
	Assignee  *string   `json:"assignee,omitempty"`
	IssueType string    `json:"issue_type,omitempty"`
	Tags      *[]string `json:"tags,omitempty"`
}

// Handoff is a chatbot handing the conversation to people.
type Handoff struct {
	ID             string              `json:"id,omitempty"`
	Transcript     []TranscriptLine    `json:"transcript"`
	BotSteps       []escalated.BotStep `json:"bot_steps,omitempty"`
	Recommendation string              `json:"recommendation,omitempty"`
	RequestedTeam  string              `json:"requested_team,omitempty"`
	Note           string              `json:"note,omitempty"`
}

// TranscriptLine is one line the bot saw.
type TranscriptLine struct {
	Author string `json:"author"` // customer or bot
	Body   string `json:"body"`
}

// MarshalJSON writes the time in the API's format, first after the type.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event
	return json.Marshal(struct {
		Type string `json:"type"`
		At   string `json:"at"`
		plain
	}{e.Type, escalated.FormatTime(e.At), plain(e)})
}

// UnmarshalJSON reads at as RFC 3339.
func (e *Event) UnmarshalJSON(b []byte) error {
	type plain Event
	var in struct {
		At *string `json:"at"`
		plain
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return err
	}
	*e = Event(in.plain)
	if in.At == nil {
		return fmt.Errorf("at is required: the event's time, RFC 3339 like 2026-10-01T09:30:00Z")
	}
	t, err := time.Parse(time.RFC3339Nano, *in.At)
	if err != nil {
		return fmt.Errorf("at %q is not an RFC 3339 time like 2026-10-01T09:30:00Z", *in.At)
	}
	e.At = escalated.Truncate(t.UTC())
	return nil
}

// Check says what is wrong with one event on its own (the order of a history is Read's).
func (e *Event) Check() error {
	bad := func(format string, a ...any) error { return fmt.Errorf(format, a...) }
	if e.Ticket == "" {
		return bad("ticket is required: the ticket's id in the history")
	}
	needs := func(what string, ok bool) error {
		if !ok {
			return bad("%s needs %s", e.Type, what)
		}
		return nil
	}
	switch e.Type {
	case TicketCreated:
		if err := needs("new (the ticket's fields) and message (its first message)", e.New != nil && e.Message != nil); err != nil {
			return err
		}
		return checkMessage(e.Message)
	case MessageAdded:
		if err := needs("message", e.Message != nil); err != nil {
			return err
		}
		return checkMessage(e.Message)
	case TicketUpdated:
		u := e.Update
		if err := needs("update with at least one of status, priority, assignee, issue_type, tags",
			u != nil && (u.Status != "" || u.Priority != "" || u.Assignee != nil || u.IssueType != "" || u.Tags != nil)); err != nil {
			return err
		}
		if u.Status != "" && !escalated.Status(u.Status).Valid() {
			return bad("update.status %q is not a status (new, open, pending, on_hold, solved, closed)", u.Status)
		}
	case HandoffReceived:
		if err := needs("handoff with a transcript", e.Handoff != nil && len(e.Handoff.Transcript) > 0); err != nil {
			return err
		}
	case EscalationCreated:
		if err := needs("to (the team it went to)", e.To != ""); err != nil {
			return err
		}
		if e.Trigger == "" || e.Trigger == string(escalated.TriggerManual) {
			if e.Reason != "" && !escalated.Reason(e.Reason).Valid() {
				return bad("reason %q is not a reason (%s)", e.Reason, reasonList())
			}
		}
	case EscalationAcknowledged, EscalationReturned, EscalationResolved:
		if e.Escalation < 1 {
			return bad("%s needs escalation: which of the ticket's escalations (1 = its first)", e.Type)
		}
	default:
		return bad("unknown type %q (allowed: %s)", e.Type, strings.Join(Types, ", "))
	}
	return nil
}

func checkMessage(m *Message) error {
	if strings.TrimSpace(m.Body) == "" {
		return fmt.Errorf("message.body is required")
	}
	if !m.Author.Kind.Valid() {
		return fmt.Errorf("message.author.kind %q is not customer, agent, bot or system", m.Author.Kind)
	}
	return nil
}

func reasonList() string {
	out := make([]string, len(escalated.Reasons))
	for i, r := range escalated.Reasons {
		out[i] = string(r)
	}
	return strings.Join(out, ", ")
}

// MaxLine is the longest line a history may hold (a ticket with a long first message).
const MaxLine = 4 << 20

// Read reads a whole history and checks it: every line an event of a known type with what it
// needs, in time order, each ticket opened (ticket.created or handoff.received with new) before
// anything else happens to it, and escalation numbers that exist. Errors name the line.
func Read(r io.Reader) ([]Event, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxLine)
	var (
		out     []Event
		line    int
		last    time.Time
		opened  = map[string]bool{}
		escs    = map[string]int{}
		errLine = func(err error) error { return fmt.Errorf("history line %d: %w", line, err) }
	)
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var e Event
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, errLine(err)
		}
		if err := e.Check(); err != nil {
			return nil, errLine(err)
		}
		if e.At.Before(last) {
			return nil, errLine(fmt.Errorf("at %s is before the line above (%s): a history is in time order (sort it by at)",
				escalated.FormatTime(e.At), escalated.FormatTime(last)))
		}
		last = e.At
		switch {
		case e.Type == TicketCreated || (e.Type == HandoffReceived && e.New != nil):
			if opened[e.Ticket] {
				return nil, errLine(fmt.Errorf("ticket %s is opened twice", e.Ticket))
			}
			opened[e.Ticket] = true
		case !opened[e.Ticket]:
			return nil, errLine(fmt.Errorf("%s for ticket %s, which no earlier ticket.created (or handoff.received with new) opened", e.Type, e.Ticket))
		}
		switch e.Type {
		case EscalationCreated:
			escs[e.Ticket]++
			if e.Escalation == 0 {
				e.Escalation = escs[e.Ticket]
			} else if e.Escalation != escs[e.Ticket] {
				return nil, errLine(fmt.Errorf("escalation %d of ticket %s comes after its escalation %d: number them in order from 1", e.Escalation, e.Ticket, escs[e.Ticket]-1))
			}
		case EscalationAcknowledged, EscalationReturned, EscalationResolved:
			if e.Escalation > escs[e.Ticket] {
				return nil, errLine(fmt.Errorf("%s names escalation %d of ticket %s, which has %d so far", e.Type, e.Escalation, e.Ticket, escs[e.Ticket]))
			}
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return nil, fmt.Errorf("history line %d is longer than %d bytes", line+1, MaxLine)
		}
		return nil, err
	}
	return out, nil
}

// Writer writes events as JSON Lines.
type Writer struct {
	w   *bufio.Writer
	enc *json.Encoder
}

// NewWriter returns a Writer on w; call Flush when done.
func NewWriter(w io.Writer) *Writer {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &Writer{w: bw, enc: enc}
}

// Write writes one event on its line.
func (w *Writer) Write(e Event) error { return w.enc.Encode(e) }

// Flush writes what is buffered.
func (w *Writer) Flush() error { return w.w.Flush() }

// Sort orders events by time, keeping the order of events at the same time.
func Sort(events []Event) {
	slices.SortStableFunc(events, func(a, b Event) int { return a.At.Compare(b.At) })
}
