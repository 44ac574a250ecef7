// Package escalated holds the domain of the escalation engine: tickets and their history,
// customers and accounts, escalations with their handoff package, audit records and API tokens,
// together with the error vocabulary every layer shares. It imports nothing but the standard
// library so that every other package can depend on it.
package escalated

import (
	"encoding/json"
	"slices"
	"time"
)

// Status is where a ticket stands in its life.
type Status string

// Ticket statuses. pending means waiting on the customer; on_hold waiting on a third party.
const (
	StatusNew     Status = "new"
	StatusOpen    Status = "open"
	StatusPending Status = "pending"
	StatusOnHold  Status = "on_hold"
	StatusSolved  Status = "solved"
	StatusClosed  Status = "closed"
)

// Statuses lists every valid status in lifecycle order.
var Statuses = []Status{StatusNew, StatusOpen, StatusPending, StatusOnHold, StatusSolved, StatusClosed}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Done reports whether the ticket no longer needs work (solved or closed).
func (s Status) Done() bool { return s == StatusSolved || s == StatusClosed }

// Priority is how urgent a ticket is.
type Priority string

// Ticket priorities, lowest first.
const (
	PriorityLow    Priority = "low"
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
	PriorityUrgent Priority = "urgent"
)

// Priorities lists every valid priority, lowest first.
var Priorities = []Priority{PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent}

// Valid reports whether p is a known priority.
func (p Priority) Valid() bool { return slices.Contains(Priorities, p) }

// Channel is how the customer reached support.
type Channel string

// Ticket channels.
const (
	ChannelChat  Channel = "chat"
	ChannelEmail Channel = "email"
	ChannelWeb   Channel = "web"
	ChannelPhone Channel = "phone"
	ChannelAPI   Channel = "api"
)

// Channels lists every valid channel.
var Channels = []Channel{ChannelChat, ChannelEmail, ChannelWeb, ChannelPhone, ChannelAPI}

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool { return slices.Contains(Channels, c) }

// Counters are the per-ticket tallies that analytics and rules read without rescanning history.
type Counters struct {
	Reopens          int `json:"reopens"`
	Reassignments    int `json:"reassignments"`
	CustomerContacts int `json:"customer_contacts"`
	Messages         int `json:"messages"`
	Escalations      int `json:"escalations"`
}

// Ticket is a customer's issue as support works it. Its history (messages and events) lives in
// separate append-only records ordered by Seq; Version counts them, so every change to a ticket
// bumps Version and the new history entry takes that number.
type Ticket struct {
	ID           string         `json:"id"`
	Subject      string         `json:"subject"`
	Status       Status         `json:"status"`
	Priority     Priority       `json:"priority"`
	Channel      Channel        `json:"channel"`
	IssueType    string         `json:"issue_type"`
	Tags         []string       `json:"tags"`
	Language     string         `json:"language"`
	CustomerID   string         `json:"-"`
	AccountID    string         `json:"-"`
	Team         string         `json:"team"`
	Tier         string         `json:"tier"`
	Assignee     string         `json:"-"`
	CustomFields map[string]any `json:"custom_fields"`
	Counters     Counters       `json:"counters"`
	// ActiveEscalation is the id of the escalation that currently holds the ticket (pending or
	// acknowledged), or "" when none does. At most one exists per ticket at a time.
	ActiveEscalation string `json:"active_escalation"`
	// Signals aggregates the signals of the ticket's customer messages, updated as each arrives.
	Signals TicketSignals `json:"signals"`
	// Recommendation is the latest recommended next action (from a rule), or nil.
	Recommendation *Recommendation `json:"recommendation"`
	// Bot is what the latest chatbot handoff of the ticket said (POST /v1/handoffs), or nil: the
	// steps it tried and its recommendation travel in every later escalation's package.
	Bot *BotHandoff `json:"bot"`
	// Analytics are the running tallies analytics need and a ticket's current state does not
	// show (where it was opened, who first had it, what happened before its first escalation).
	// Stored with the ticket; the API does not show them.
	Analytics TicketAnalytics `json:"-"`
	// SLA is the plan in force and its clocks; the API reports them beside the ticket (as
	// ClockStatus) rather than inside it.
	SLA       SLA       `json:"-"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"-"`
	UpdatedAt time.Time `json:"-"`

	// Customer and Account are filled in on reads; the ticket row stores only their ids.
	Customer *Customer `json:"customer"`
	Account  *Account  `json:"account"`
}

// TicketAnalytics are a ticket's analytics tallies (see store.TicketFact).
type TicketAnalytics struct {
	IntakeTeam               string     `json:"intake_team,omitempty"`
	IntakeTier               string     `json:"intake_tier,omitempty"`
	FirstAgent               string     `json:"first_agent,omitempty"`
	SolvedAt                 *time.Time `json:"solved_at,omitempty"`
	FirstEscalatedAt         *time.Time `json:"first_escalated_at,omitempty"`
	BreachesBeforeEscalation int        `json:"breaches_before_escalation,omitempty"`
	// SolvedInTier1 and ReopenedAfterT1 follow "solved at tier 1, reopened, then escalated".
	SolvedInTier1        bool    `json:"solved_in_tier1,omitempty"`
	ReopenedAfterT1      bool    `json:"reopened_after_t1,omitempty"`
	ReopenedAfterT1Solve bool    `json:"reopened_after_t1_solve,omitempty"`
	MaxFrustration       float64 `json:"max_frustration,omitempty"`
	PingPongs            int     `json:"ping_pongs,omitempty"`
}

// MarshalJSON renders times in the API's format and the assignee as null when unassigned.
func (t Ticket) MarshalJSON() ([]byte, error) {
	type plain Ticket
	var assignee *string
	if t.Assignee != "" {
		assignee = &t.Assignee
	}
	if t.Tags == nil {
		t.Tags = []string{}
	}
	if t.CustomFields == nil {
		t.CustomFields = map[string]any{}
	}
	return json.Marshal(struct {
		plain
		Assignee  *string `json:"assignee"`
		CreatedAt string  `json:"created_at"`
		UpdatedAt string  `json:"updated_at"`
	}{plain(t), assignee, FormatTime(t.CreatedAt), FormatTime(t.UpdatedAt)})
}

// Customer is the person who raised the ticket.
type Customer struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	AccountID string `json:"account_id,omitempty"`
}

// Account is the organisation a customer belongs to. Tier is the customer tier (free, pro,
// enterprise...) that rules and routing read; Attributes are free-form (plan, arr, region).
type Account struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Tier       string         `json:"tier"`
	Attributes map[string]any `json:"attributes"`
}

// AuthorKind says who wrote a message.
type AuthorKind string

// Message author kinds.
const (
	AuthorCustomer AuthorKind = "customer"
	AuthorBot      AuthorKind = "bot"
	AuthorAgent    AuthorKind = "agent"
	AuthorSystem   AuthorKind = "system"
)

// AuthorKinds lists every valid author kind.
var AuthorKinds = []AuthorKind{AuthorCustomer, AuthorBot, AuthorAgent, AuthorSystem}

// Valid reports whether k is a known author kind.
func (k AuthorKind) Valid() bool { return slices.Contains(AuthorKinds, k) }

// Author identifies who wrote a message.
type Author struct {
	Kind AuthorKind `json:"kind"`
	ID   string     `json:"id"`
	Name string     `json:"name"`
}

// TicketSignals is the per-ticket aggregate of message signals that rules read as `signals`.
type TicketSignals struct {
	Sentiment   float64   `json:"sentiment"`   // the last customer message's sentiment
	Trend       []float64 `json:"trend"`       // the last customer messages' sentiments, oldest first
	Keywords    []string  `json:"keywords"`    // keyword lists hit on the ticket so far
	WantsHuman  bool      `json:"wants_human"` // a customer message asked for a human
	Frustration float64   `json:"frustration"` // 0..1, from the trend, reopens and repeated contacts
}

// Signals are facts computed once when a message arrives, so that rules never rescan text.
type Signals struct {
	Keywords   []string `json:"keywords"`
	Sentiment  float64  `json:"sentiment"`
	WantsHuman bool     `json:"wants_human"`
	Shouting   bool     `json:"shouting"`
	Profanity  bool     `json:"profanity"`
}

// Message is one entry of the conversation: public (seen by the customer) or an internal note.
type Message struct {
	ID        string    `json:"id"`
	TicketID  string    `json:"ticket_id"`
	Seq       int64     `json:"seq"`
	Author    Author    `json:"author"`
	Body      string    `json:"body"`
	Internal  bool      `json:"internal"`
	Signals   Signals   `json:"signals"`
	CreatedAt time.Time `json:"-"`
}

// MarshalJSON renders times in the API's format.
func (m Message) MarshalJSON() ([]byte, error) {
	type plain Message
	if m.Signals.Keywords == nil {
		m.Signals.Keywords = []string{}
	}
	return json.Marshal(struct {
		plain
		CreatedAt string `json:"created_at"`
	}{plain(m), FormatTime(m.CreatedAt)})
}

// Event types written to a ticket's history. Rules (E3) subscribe to the same names.
const (
	EventTicketCreated          = "ticket.created"
	EventTicketUpdated          = "ticket.updated"
	EventMessageAdded           = "message.added"
	EventEscalationCreated      = "escalation.created"
	EventEscalationAcknowledged = "escalation.acknowledged"
	EventEscalationReturned     = "escalation.returned"
	EventEscalationResolved     = "escalation.resolved"
	EventEscalationEscalated    = "escalation.escalated"
	EventHandoffReceived        = "handoff.received"
	// EventRuleFired records that a policy rule fired, with the event it fired on and its actions.
	EventRuleFired = "rule.fired"
	// EventNotificationRequested records a rule's notify action; delivery arrives with channels.
	EventNotificationRequested = "notification.requested"
)

// Event is one append-only entry of a ticket's history. Seq orders a ticket's history; Actor
// names who caused it ("user:ana" for a person in the console, "token:frontline-bot", "system"). For message.added the
// message itself is attached on reads.
type Event struct {
	ID       string         `json:"id"`
	TicketID string         `json:"ticket_id"`
	Seq      int64          `json:"seq"`
	Type     string         `json:"type"`
	Actor    string         `json:"actor"`
	Data     map[string]any `json:"data"`
	// Team is the team that held the ticket once the change recording the event was written;
	// FromTeam the team it held before that change, set only when the change moved it
	// (escalated, returned, overflowed, reassigned). The live event stream filters on both, so
	// a team's console hears of a ticket leaving it as well as arriving.
	Team      string    `json:"team,omitempty"`
	FromTeam  string    `json:"from_team,omitempty"`
	CreatedAt time.Time `json:"-"`
	Message   *Message  `json:"message,omitempty"`
}

// MarshalJSON renders times in the API's format.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event
	if e.Data == nil {
		e.Data = map[string]any{}
	}
	return json.Marshal(struct {
		plain
		CreatedAt string `json:"at"`
	}{plain(e), FormatTime(e.CreatedAt)})
}

// Change is the before and after of one field in a ticket.updated event.
type Change struct {
	From any `json:"from"`
	To   any `json:"to"`
}

// TimeFormat is the API's time format: RFC 3339 in UTC with milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// FormatTime renders t in TimeFormat, and the zero time as "".
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeFormat)
}

// Truncate normalises a time to what the stores keep (UTC, milliseconds), so a value read back
// equals the value written.
func Truncate(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }
