package notify

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/escalated/escalated"
)

// Payload is the body every channel is built from; webhooks receive it as it is:
// {"id", "type", "occurred_at", "data"}. id is the event's id (the delivery id, which differs per
// channel, travels in the Escalated-Delivery header).
type Payload struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	OccurredAt string         `json:"occurred_at"`
	Data       map[string]any `json:"data"`
}

// Summary is the short handoff summary an escalation.created delivery carries under
// data.handoff: enough for the receiving team to know what it is getting before it opens the
// ticket.
type Summary struct {
	Subject         string `json:"subject"`
	Priority        string `json:"priority"`
	FromTeam        string `json:"from_team"`
	ToTeam          string `json:"to_team"`
	Reason          string `json:"reason"`
	Trigger         string `json:"trigger"`
	Note            string `json:"note"`
	CustomerTier    string `json:"customer_tier,omitempty"`
	Account         string `json:"account,omitempty"`
	OriginalMessage string `json:"original_message,omitempty"`
	Recommendation  string `json:"recommendation,omitempty"`
	// BotTried lists what a chatbot tried before handing off, one "intent: action (outcome)"
	// per step.
	BotTried     []string `json:"bot_tried,omitempty"`
	Completeness float64  `json:"completeness"`
}

// summaryText bounds the quoted texts of a summary: a notification is a pointer to the ticket,
// not a copy of it.
const summaryText = 500

// SummaryOf returns the handoff summary of an escalation.
func SummaryOf(t *escalated.Ticket, e *escalated.Escalation) *Summary {
	s := &Summary{
		Subject: t.Subject, Priority: string(t.Priority), FromTeam: e.FromTeam, ToTeam: e.ToTeam,
		Reason: string(e.Reason), Trigger: string(e.Trigger), Note: clip(e.Note, summaryText),
	}
	if p := e.Package; p != nil {
		s.CustomerTier, s.Completeness = p.CustomerTier, p.Completeness
		if p.Account != nil {
			s.Account = p.Account.Name
			if s.Account == "" {
				s.Account = p.Account.ID
			}
		}
		if p.OriginalMessage != nil {
			s.OriginalMessage = clip(p.OriginalMessage.Body, summaryText)
		}
		if p.Recommendation != nil {
			s.Recommendation = clip(p.Recommendation.Text, summaryText)
		}
		for _, st := range p.BotSteps {
			s.BotTried = append(s.BotTried, clip(fmt.Sprintf("%s: %s (%s)", st.Intent, st.Action, st.Outcome), 200))
		}
	}
	return s
}

// BuildPayload renders the body of the deliveries of ev, an event of ticket t: the event's data
// plus the ticket's id, subject, priority, team and tier as they are after the change, and for
// escalation.created (esc is then the escalation) the handoff summary.
func BuildPayload(ev *escalated.Event, t *escalated.Ticket, esc *escalated.Escalation) ([]byte, error) {
	data := make(map[string]any, len(ev.Data)+6)
	maps.Copy(data, ev.Data)
	data["ticket_id"] = t.ID
	data["subject"] = t.Subject
	data["priority"] = string(t.Priority)
	data["team"] = t.Team
	data["tier"] = t.Tier
	if esc != nil && ev.Type == escalated.EventEscalationCreated {
		data["handoff"] = SummaryOf(t, esc)
	}
	b, err := json.Marshal(Payload{ID: ev.ID, Type: ev.Type, OccurredAt: escalated.FormatTime(ev.CreatedAt), Data: data})
	if err != nil {
		return nil, escalated.Errorf(escalated.EINVALID, "event %s cannot be rendered as a notification: %v", ev.ID, err)
	}
	return b, nil
}

// ParsePayload reads a delivery's stored payload back.
func ParsePayload(b []byte) (*Payload, error) {
	var p Payload
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("decode delivery payload: %w", err)
	}
	if p.Data == nil {
		p.Data = map[string]any{}
	}
	return &p, nil
}

// Str returns data[key] as text ("" when absent).
func (p *Payload) Str(key string) string {
	switch v := p.Data[key].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// Handoff returns the payload's handoff summary, or nil.
func (p *Payload) Handoff() *Summary {
	raw, ok := p.Data["handoff"]
	if !ok {
		return nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil
	}
	var s Summary
	if json.Unmarshal(b, &s) != nil {
		return nil
	}
	return &s
}

// clip shortens s to at most n runes, marking the cut.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// TicketURL is the link notifications give for a ticket, under the server's public URL.
func TicketURL(base, ticketID string) string {
	return strings.TrimRight(base, "/") + "/v1/tickets/" + url.PathEscape(ticketID)
}

// Headline is a one-line description of a payload for people: what happened to which ticket.
func Headline(p *Payload) string {
	subject := p.Str("subject")
	switch p.Type {
	case escalated.EventEscalationCreated:
		return fmt.Sprintf("Escalated to %s (%s): %s", p.Str("to_team"), p.Str("reason"), subject)
	case escalated.EventEscalationAcknowledged:
		return fmt.Sprintf("Escalation acknowledged by %s: %s", p.Str("by"), subject)
	case escalated.EventEscalationResolved:
		return "Escalation resolved: " + subject
	case escalated.EventEscalationReturned:
		return fmt.Sprintf("Escalation returned to %s: %s", p.Str("to_team"), subject)
	case escalated.EventEscalationUnacknowledged:
		return "Escalation not acknowledged in time: " + subject
	case escalated.EventSLABreached:
		return fmt.Sprintf("SLA %s breached: %s", p.Str("target"), subject)
	case escalated.EventSLAWarning:
		return fmt.Sprintf("SLA %s about to breach: %s", p.Str("target"), subject)
	case escalated.EventNotificationRequested:
		if m := p.Str("message"); m != "" {
			return m + ": " + subject
		}
		return fmt.Sprintf("Rule %s: %s", p.Str("rule"), subject)
	case escalated.EventTicketCreated:
		return fmt.Sprintf("New ticket in %s: %s", p.Str("team"), subject)
	}
	return fmt.Sprintf("%s: %s", p.Type, subject)
}
