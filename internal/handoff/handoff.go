// Package handoff builds the handoff package (schema version 1) that travels with every
// escalation: what the receiving agent needs to carry on without asking the customer again.
// Building is pure: the caller loads the ticket's state and passes it in.
package handoff

import (
	"strings"

	"github.com/escalated/escalated"
)

// ConversationLength is how many of the latest messages the package quotes.
const ConversationLength = 10

// Input is everything the builder reads. Messages must be in ticket order: the whole
// conversation or its end (Build quotes the last ConversationLength); Prior holds the ticket's
// earlier escalations, oldest first.
type Input struct {
	Ticket *escalated.Ticket
	// Original is the ticket's first public customer message, quoted as what the customer
	// asked. nil: the first such message in Messages, which is right when Messages is the
	// whole conversation, or when the ticket has no public customer message at all (then
	// Messages, however much of the conversation it holds, has none either).
	Original       *escalated.Message
	Messages       []*escalated.Message
	Prior          []*escalated.Escalation
	Note           string
	EscalatedBy    *escalated.Author
	BotSteps       []escalated.BotStep
	SLA            []escalated.ClockStatus
	Signals        *escalated.PackageSignals
	Recommendation *escalated.Recommendation
	// Required lists the policy's required_package_fields; completeness is the share of them
	// present. With none required the package is complete by definition.
	Required []string
}

// Original is the first public customer message of msgs (in ticket order), nil when none:
// what the package quotes as what the customer asked.
func Original(msgs []*escalated.Message) *escalated.Message {
	for _, m := range msgs {
		if m.Author.Kind == escalated.AuthorCustomer && !m.Internal {
			return m
		}
	}
	return nil
}

// Build assembles the package and scores its completeness.
func Build(in Input) *escalated.Package {
	t := in.Ticket
	p := &escalated.Package{
		SchemaVersion: escalated.PackageSchemaVersion,
		Ticket: escalated.PackageTicket{
			ID: t.ID, Subject: t.Subject, Status: t.Status, Priority: t.Priority, Channel: t.Channel,
			IssueType: t.IssueType, Tags: nonNil(t.Tags), Language: t.Language,
			CreatedAt: escalated.FormatTime(t.CreatedAt),
		},
		Conversation:     []escalated.PackageMessage{},
		BotSteps:         nonNilSteps(in.BotSteps),
		Account:          t.Account,
		Customer:         t.Customer,
		SLA:              nonNilClocks(in.SLA),
		Signals:          in.Signals,
		PriorEscalations: []escalated.PriorEscalation{},
		Note:             strings.TrimSpace(in.Note),
		EscalatedBy:      in.EscalatedBy,
		Recommendation:   in.Recommendation,
		Missing:          []string{},
	}
	if t.Account != nil {
		p.CustomerTier = t.Account.Tier
	}
	// The original message is the first public customer message: internal notes and bot
	// greetings are not what the customer asked.
	original := in.Original
	if original == nil {
		original = Original(in.Messages)
	}
	if original != nil {
		pm := quote(original)
		p.OriginalMessage = &pm
	}
	start := max(0, len(in.Messages)-ConversationLength)
	for _, m := range in.Messages[start:] {
		p.Conversation = append(p.Conversation, quote(m))
	}
	for _, e := range in.Prior {
		p.PriorEscalations = append(p.PriorEscalations, escalated.PriorEscalation{
			ID: e.ID, FromTeam: e.FromTeam, ToTeam: e.ToTeam, Reason: e.Reason, State: e.State,
			Note: e.Note, Outcome: outcome(e), CreatedAt: escalated.FormatTime(e.CreatedAt),
		})
	}
	p.Completeness, p.Missing = Score(p, in.Required)
	return p
}

// Score returns the share of required fields present in p and the names of those missing.
func Score(p *escalated.Package, required []string) (float64, []string) {
	missing := []string{}
	if len(required) == 0 {
		return 1, missing
	}
	for _, f := range required {
		if !Present(p, f) {
			missing = append(missing, f)
		}
	}
	return float64(len(required)-len(missing)) / float64(len(required)), missing
}

// Present reports whether the named field carries information. An empty list counts as absent:
// "no prior escalations" is a fact, but a required field is required because the receiving
// side needs its content, so a policy requiring prior_escalations flags first escalations.
func Present(p *escalated.Package, field string) bool {
	switch field {
	case escalated.FieldOriginalMessage:
		return p.OriginalMessage != nil && strings.TrimSpace(p.OriginalMessage.Body) != ""
	case escalated.FieldConversation:
		return len(p.Conversation) > 0
	case escalated.FieldBotSteps:
		return len(p.BotSteps) > 0
	case escalated.FieldAccount:
		return p.Account != nil && p.Account.ID != ""
	case escalated.FieldCustomer:
		return p.Customer != nil && p.Customer.ID != ""
	case escalated.FieldCustomerTier:
		return p.CustomerTier != ""
	case escalated.FieldSLA:
		return len(p.SLA) > 0
	case escalated.FieldSignals:
		return p.Signals != nil
	case escalated.FieldPriorEscalations:
		return len(p.PriorEscalations) > 0
	case escalated.FieldNote:
		return p.Note != ""
	case escalated.FieldEscalatedBy:
		return p.EscalatedBy != nil && (p.EscalatedBy.ID != "" || p.EscalatedBy.Name != "")
	case escalated.FieldRecommendation:
		return p.Recommendation != nil && strings.TrimSpace(p.Recommendation.Text) != ""
	}
	return false
}

func quote(m *escalated.Message) escalated.PackageMessage {
	return escalated.PackageMessage{ID: m.ID, Author: m.Author, Body: m.Body, Internal: m.Internal, At: escalated.FormatTime(m.CreatedAt)}
}

// outcome says in words how an earlier escalation ended, for the reader of the package.
func outcome(e *escalated.Escalation) string {
	switch e.State {
	case escalated.EscalationReturned:
		s := "returned"
		if e.Necessary != nil && !*e.Necessary {
			s += " as unnecessary"
		}
		if e.ReturnReason != "" {
			s += ": " + e.ReturnReason
		}
		return s
	case escalated.EscalationResolved:
		if e.Resolution != "" {
			return "resolved: " + e.Resolution
		}
		return "resolved"
	case escalated.EscalationEscalated:
		return "escalated further"
	}
	return string(e.State)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilSteps(s []escalated.BotStep) []escalated.BotStep {
	if s == nil {
		return []escalated.BotStep{}
	}
	return s
}

func nonNilClocks(s []escalated.ClockStatus) []escalated.ClockStatus {
	if s == nil {
		return []escalated.ClockStatus{}
	}
	return s
}
