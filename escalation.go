package escalated

import (
	"encoding/json"
	"slices"
	"time"
)

// EscalationState is where an escalation stands. See doc.go for the state machine.
type EscalationState string

// Escalation states.
const (
	EscalationPending      EscalationState = "pending"
	EscalationAcknowledged EscalationState = "acknowledged"
	EscalationResolved     EscalationState = "resolved"
	EscalationReturned     EscalationState = "returned"
	EscalationEscalated    EscalationState = "escalated"
)

// EscalationStates lists every state.
var EscalationStates = []EscalationState{EscalationPending, EscalationAcknowledged, EscalationResolved, EscalationReturned, EscalationEscalated}

// Valid reports whether s is a known state.
func (s EscalationState) Valid() bool { return slices.Contains(EscalationStates, s) }

// Active reports whether the escalation still holds its ticket (pending or acknowledged).
func (s EscalationState) Active() bool {
	return s == EscalationPending || s == EscalationAcknowledged
}

// transitions is the escalation state machine. pending may move straight to escalated only when
// nobody picked it up in time (trigger unacknowledged or sla); people must acknowledge first.
var transitions = map[EscalationState][]EscalationState{
	EscalationPending:      {EscalationAcknowledged, EscalationEscalated},
	EscalationAcknowledged: {EscalationResolved, EscalationReturned, EscalationEscalated},
}

// CanTransition reports whether the state machine allows from -> to.
func CanTransition(from, to EscalationState) bool {
	return slices.Contains(transitions[from], to)
}

// Trigger says what caused an escalation.
type Trigger string

// Escalation triggers.
const (
	TriggerManual         Trigger = "manual"
	TriggerRule           Trigger = "rule"
	TriggerSLA            Trigger = "sla"
	TriggerUnacknowledged Trigger = "unacknowledged"
	TriggerHandoff        Trigger = "handoff"
)

// Reason is the reason code of an escalation, the key analytics group by.
type Reason string

// Escalation reason codes.
const (
	ReasonComplexity      Reason = "complexity"
	ReasonCustomerTier    Reason = "customer_tier"
	ReasonPriority        Reason = "priority"
	ReasonSLA             Reason = "sla"
	ReasonDissatisfaction Reason = "dissatisfaction"
	ReasonBotHandoff      Reason = "bot_handoff"
	ReasonOther           Reason = "other"
)

// Reasons lists every valid reason code.
var Reasons = []Reason{ReasonComplexity, ReasonCustomerTier, ReasonPriority, ReasonSLA, ReasonDissatisfaction, ReasonBotHandoff, ReasonOther}

// Valid reports whether r is a known reason code.
func (r Reason) Valid() bool { return slices.Contains(Reasons, r) }

// Target keywords an escalation may name instead of a team id.
const (
	TargetNextTier    = "next_tier"
	TargetAccountTeam = "account_team"
)

// Escalation is the first-class record of a ticket moving from one team to another, with the
// handoff package the receiving side needs.
type Escalation struct {
	ID       string          `json:"id"`
	TicketID string          `json:"ticket_id"`
	FromTeam string          `json:"from_team"`
	ToTeam   string          `json:"to_team"`
	FromTier string          `json:"from_tier"`
	ToTier   string          `json:"to_tier"`
	By       string          `json:"by"` // agent id of the escalating side, or "" for automation
	Actor    string          `json:"actor"`
	Trigger  Trigger         `json:"trigger"`
	RuleID   string          `json:"rule_id"`
	Reason   Reason          `json:"reason"`
	Note     string          `json:"note"`
	State    EscalationState `json:"state"`
	// PolicyVersion is the policy version that was live when the escalation was decided.
	PolicyVersion int64 `json:"policy_version"`

	AcknowledgedBy string `json:"acknowledged_by"`
	// ContextSufficient is the acknowledging agent's answer to "did the package tell you what you
	// needed?"; nil when not asked or not answered. Analytics count the insufficient ones.
	ContextSufficient *bool  `json:"context_sufficient"`
	ClosedBy          string `json:"closed_by"`
	// ReturnReason and Necessary are set when the escalation was returned.
	ReturnReason string `json:"return_reason"`
	Necessary    *bool  `json:"necessary"`
	// Resolution is the resolving agent's note when the escalation was resolved.
	Resolution string `json:"resolution"`
	// NextID is the escalation that superseded this one when it was escalated further.
	NextID string `json:"next_id"`

	Package *Package `json:"package"`
	Version int64    `json:"version"`

	CreatedAt      time.Time  `json:"-"`
	AcknowledgedAt *time.Time `json:"-"`
	ClosedAt       *time.Time `json:"-"`
}

// MarshalJSON renders times in the API's format, with null for times not reached yet.
func (e Escalation) MarshalJSON() ([]byte, error) {
	type plain Escalation
	return json.Marshal(struct {
		plain
		CreatedAt      string  `json:"created_at"`
		AcknowledgedAt *string `json:"acknowledged_at"`
		ClosedAt       *string `json:"closed_at"`
	}{plain(e), FormatTime(e.CreatedAt), optTime(e.AcknowledgedAt), optTime(e.ClosedAt)})
}

func optTime(t *time.Time) *string {
	if t == nil || t.IsZero() {
		return nil
	}
	s := FormatTime(*t)
	return &s
}

// PackageSchemaVersion is the version of the handoff package schema (docs/schema/handoff-v1.json).
const PackageSchemaVersion = 1

// Package fields that a policy may require (escalation.required_package_fields).
const (
	FieldOriginalMessage  = "original_message"
	FieldConversation     = "conversation"
	FieldBotSteps         = "bot_steps"
	FieldAccount          = "account"
	FieldCustomer         = "customer"
	FieldCustomerTier     = "customer_tier"
	FieldSLA              = "sla"
	FieldSignals          = "signals"
	FieldPriorEscalations = "prior_escalations"
	FieldNote             = "note"
	FieldEscalatedBy      = "escalated_by"
	FieldRecommendation   = "recommendation"
)

// PackageFields lists every field name a policy may require, in the order the package shows them.
var PackageFields = []string{
	FieldOriginalMessage, FieldConversation, FieldBotSteps, FieldAccount, FieldCustomer,
	FieldCustomerTier, FieldSLA, FieldSignals, FieldPriorEscalations, FieldNote, FieldEscalatedBy,
	FieldRecommendation,
}

// Package is the handoff package (schema version 1): everything the receiving agent needs to
// carry on without asking the customer again. It is built once, when the escalation is created,
// and stored with it so the receiving side sees what the escalating side saw.
type Package struct {
	SchemaVersion    int               `json:"schema_version"`
	Ticket           PackageTicket     `json:"ticket"`
	OriginalMessage  *PackageMessage   `json:"original_message"`
	Conversation     []PackageMessage  `json:"conversation"`
	BotSteps         []BotStep         `json:"bot_steps"`
	Account          *Account          `json:"account"`
	Customer         *Customer         `json:"customer"`
	CustomerTier     string            `json:"customer_tier"`
	SLA              []ClockStatus     `json:"sla"`
	Signals          *PackageSignals   `json:"signals"`
	PriorEscalations []PriorEscalation `json:"prior_escalations"`
	Note             string            `json:"note"`
	EscalatedBy      *Author           `json:"escalated_by"`
	Recommendation   *Recommendation   `json:"recommendation"`
	Completeness     float64           `json:"completeness"`
	Missing          []string          `json:"missing"`
}

// PackageTicket is the ticket as it stood when the package was built.
type PackageTicket struct {
	ID        string   `json:"id"`
	Subject   string   `json:"subject"`
	Status    Status   `json:"status"`
	Priority  Priority `json:"priority"`
	Channel   Channel  `json:"channel"`
	IssueType string   `json:"issue_type"`
	Tags      []string `json:"tags"`
	Language  string   `json:"language"`
	CreatedAt string   `json:"created_at"`
}

// PackageMessage is a message as quoted in a package.
type PackageMessage struct {
	ID       string `json:"id"`
	Author   Author `json:"author"`
	Body     string `json:"body"`
	Internal bool   `json:"internal"`
	At       string `json:"at"`
}

// BotStep is one thing a chatbot tried before handing off.
type BotStep struct {
	Intent     string  `json:"intent"`
	Action     string  `json:"action"`
	Outcome    string  `json:"outcome"` // resolved | failed | abandoned
	Confidence float64 `json:"confidence"`
}

// PackageSignals summarises the ticket's signals for the receiving agent.
type PackageSignals struct {
	SentimentTrend []float64 `json:"sentiment_trend"`
	Frustration    float64   `json:"frustration"`
	Keywords       []string  `json:"keywords"`
	WantsHuman     bool      `json:"wants_human"`
}

// PriorEscalation is an earlier escalation of the same ticket as the package reports it.
type PriorEscalation struct {
	ID        string          `json:"id"`
	FromTeam  string          `json:"from_team"`
	ToTeam    string          `json:"to_team"`
	Reason    Reason          `json:"reason"`
	State     EscalationState `json:"state"`
	Note      string          `json:"note"`
	Outcome   string          `json:"outcome"`
	CreatedAt string          `json:"created_at"`
}

// Decision is the policy's verdict on one ticket event, kept so that `explain` can show why each
// rule did or did not fire. Trace is the decide package's trace as JSON.
type Decision struct {
	TicketID      string          `json:"ticket_id"`
	Seq           int64           `json:"seq"`
	Event         string          `json:"event"`
	PolicyVersion int64           `json:"policy_version"`
	Trace         json.RawMessage `json:"trace"`
	CreatedAt     time.Time       `json:"-"`
}

// MarshalJSON renders times in the API's format.
func (d Decision) MarshalJSON() ([]byte, error) {
	type plain Decision
	return json.Marshal(struct {
		plain
		CreatedAt string `json:"at"`
	}{plain(d), FormatTime(d.CreatedAt)})
}

// Recommendation is the suggested next action and where it came from. In a handoff package
// it combines what each source said (F12): the rule's text, the bot's, and the most similar
// resolved tickets with their resolution notes; Text is the whole in readable form.
type Recommendation struct {
	Text   string `json:"text"`
	Source string `json:"source"` // "rule:<id>", "bot", "similar", joined with ", " when combined
	// Rule and RuleText are the recommend action that fired, Bot the chatbot's recommendation;
	// empty when that source said nothing.
	Rule     string `json:"rule,omitempty"`
	RuleText string `json:"rule_text,omitempty"`
	Bot      string `json:"bot,omitempty"`
	// Similar are the most similar resolved tickets, best first.
	Similar []SimilarTicket `json:"similar,omitempty"`
}

// SimilarTicket is a resolved ticket like this one, as a recommendation cites it.
type SimilarTicket struct {
	TicketID   string  `json:"ticket_id"`
	Subject    string  `json:"subject"`
	IssueType  string  `json:"issue_type"`
	Resolution string  `json:"resolution"`
	URL        string  `json:"url"`
	Score      float64 `json:"score"`
}

// BotHandoff is what a chatbot handed over with a ticket.
type BotHandoff struct {
	HandoffID      string    `json:"handoff_id"`
	Bot            string    `json:"bot"` // the token's name
	Steps          []BotStep `json:"steps"`
	Recommendation string    `json:"recommendation"`
	RequestedTeam  string    `json:"requested_team"`
	At             string    `json:"at"`
}
