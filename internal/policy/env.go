package policy

import "time"

// Env is what a rule condition can read: a snapshot of the ticket and of the event being
// decided. Conditions are type-checked against this struct when the policy is loaded, so a
// misspelt field or a comparison of a number with a text is a `policy check` error rather
// than a rule that silently never fires. The `expr` tags are the names conditions use.
//
// The ticket service fills an Env for every event; the decision core never reads a clock, so
// Now is the time of the event, and AgeMinutes is derived from it by whoever fills the Env.
// Sections that do not apply to an event are left zero: on message.added there is no
// escalation, so escalation.id == "".
type Env struct {
	Ticket     TicketEnv     `expr:"ticket"`
	Account    AccountEnv    `expr:"account"`
	Customer   CustomerEnv   `expr:"customer"`
	Message    MessageEnv    `expr:"message"`
	Signals    SignalsEnv    `expr:"signals"`
	SLA        SLAEnv        `expr:"sla"`
	Escalation EscalationEnv `expr:"escalation"`
	Handoff    HandoffEnv    `expr:"handoff"`
	Event      EventEnv      `expr:"event"`
	// Now is the time of the event being decided (the virtual clock's time in simulations).
	Now time.Time `expr:"now"`
}

// TicketEnv is the ticket as it stands when the event happens (after the event's own change:
// on ticket.updated it holds the new values).
type TicketEnv struct {
	ID        string `expr:"id"`
	Subject   string `expr:"subject"`
	Status    string `expr:"status"`   // new, open, pending, on_hold, solved, closed
	Priority  string `expr:"priority"` // low, normal, high, urgent
	Channel   string `expr:"channel"`  // chat, email, web, phone, api
	IssueType string `expr:"issue_type"`
	// Tags are the ticket's tags; tag and untag actions of rules earlier in the same decision
	// are not visible yet (a decision reads one snapshot).
	Tags      []string `expr:"tags"`
	Language  string   `expr:"language"`
	Team      string   `expr:"team"`       // current team id
	Tier      string   `expr:"tier"`       // current tier id
	TierLevel int      `expr:"tier_level"` // level of the current tier (1 = frontline)
	Assignee  string   `expr:"assignee"`   // agent id, or "" when unassigned
	// CustomFields are the ticket's free-form fields; a missing key reads as nil.
	CustomFields     map[string]any `expr:"custom_fields"`
	Reopens          int            `expr:"reopens"`
	Reassignments    int            `expr:"reassignments"`
	CustomerContacts int            `expr:"customer_contacts"`
	Messages         int            `expr:"messages"`
	Escalations      int            `expr:"escalations"`
	CreatedAt        time.Time      `expr:"created_at"`
	// AgeMinutes is Now - CreatedAt in minutes, precomputed so conditions need no time maths.
	AgeMinutes float64 `expr:"age_minutes"`
}

// AccountEnv is the customer's organisation.
type AccountEnv struct {
	ID   string `expr:"id"`
	Name string `expr:"name"`
	Tier string `expr:"tier"` // customer tier: free, pro, enterprise...
	// Attributes are free-form (plan, arr, region); a missing key reads as nil.
	Attributes map[string]any `expr:"attributes"`
}

// HandoffEnv is the ticket's latest chatbot handoff (POST /v1/handoffs), zero when no bot
// handed it off: on handoff.received it is the handoff being decided.
type HandoffEnv struct {
	Received      bool   `expr:"received"` // a bot handed the ticket off
	Bot           string `expr:"bot"`      // the bot token's name
	RequestedTeam string `expr:"requested_team"`
	// Intents are the steps' intents in order (repeats kept), so `"refund" in handoff.intents`.
	Intents []string `expr:"intents"`
	// Steps counts the bot's steps; Failed those that failed or were abandoned.
	Steps  int `expr:"steps"`
	Failed int `expr:"failed"`
	// MinConfidence is the lowest confidence among the steps (1 when there are none).
	MinConfidence  float64 `expr:"min_confidence"`
	Recommendation string  `expr:"recommendation"`
}

// CustomerEnv is the person who raised the ticket.
type CustomerEnv struct {
	ID    string `expr:"id"`
	Name  string `expr:"name"`
	Email string `expr:"email"`
}

// MessageEnv is the message that triggered the event (message.added, handoff.received); zero
// for other events.
type MessageEnv struct {
	ID       string `expr:"id"`
	Author   string `expr:"author"`    // author kind: customer, bot, agent, system
	AuthorID string `expr:"author_id"` // the author's id (agent id, bot name...)
	Body     string `expr:"body"`
	Internal bool   `expr:"internal"`
	// The message's signals, computed once at ingest: ids of the keyword lists it hits
	// (signals.keywords), VADER compound sentiment (-1..1), and the flags.
	Keywords   []string `expr:"keywords"`
	Sentiment  float64  `expr:"sentiment"`
	WantsHuman bool     `expr:"wants_human"`
	Shouting   bool     `expr:"shouting"`
	Profanity  bool     `expr:"profanity"`
}

// SignalsEnv are the ticket-level signals, aggregated over the ticket's customer messages.
type SignalsEnv struct {
	Sentiment   float64   `expr:"sentiment"`   // latest customer message sentiment
	Trend       []float64 `expr:"trend"`       // sentiment of recent customer messages, oldest first
	Keywords    []string  `expr:"keywords"`    // keyword lists hit by any message of the ticket
	WantsHuman  bool      `expr:"wants_human"` // any message asked for a human
	Frustration float64   `expr:"frustration"` // 0..1, from the trend, reopens and repeated contacts
}

// SLAEnv is the SLA clock an sla.warning or sla.breached event is about; for other events the
// ticket's most urgent running clock, or zero when none runs.
type SLAEnv struct {
	Target   string    `expr:"target"` // first_response, next_reply, resolution, acknowledge
	State    string    `expr:"state"`  // running, paused, warned, breached, met
	DueAt    time.Time `expr:"due_at"`
	Breached bool      `expr:"breached"`
}

// EscalationEnv is the escalation an escalation.* event is about, else the ticket's active
// escalation, else zero.
type EscalationEnv struct {
	ID       string `expr:"id"`
	FromTeam string `expr:"from_team"`
	ToTeam   string `expr:"to_team"`
	FromTier string `expr:"from_tier"`
	ToTier   string `expr:"to_tier"`
	Reason   string `expr:"reason"`
	Trigger  string `expr:"trigger"`
	State    string `expr:"state"`
	Note     string `expr:"note"`
}

// EventEnv is the event being decided.
type EventEnv struct {
	Type  string `expr:"type"`  // one of EventTypes
	Actor string `expr:"actor"` // who caused it: "user:ana" (signed in to the console), "token:bot", "system"
	// Changed are the fields a ticket.updated event changed (status, priority, ...).
	Changed []string `expr:"changed"`
}
