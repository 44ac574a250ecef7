package ticket

import (
	"slices"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/sla"
)

// env is the ticket's state as a rule condition sees it when ev happens.
func env(pol *policy.Policy, ch *change, ev *escalated.Event) policy.Env {
	t := ch.t
	level := 0
	if tier, ok := pol.TierOfTeam(t.Team); ok {
		level = tier.Level
	}
	e := policy.Env{
		Ticket: policy.TicketEnv{
			ID: t.ID, Subject: t.Subject, Status: string(t.Status), Priority: string(t.Priority),
			Channel: string(t.Channel), IssueType: t.IssueType, Tags: t.Tags, Language: t.Language,
			Team: t.Team, Tier: t.Tier, TierLevel: level, Assignee: t.Assignee, CustomFields: t.CustomFields,
			Reopens: t.Counters.Reopens, Reassignments: t.Counters.Reassignments,
			CustomerContacts: t.Counters.CustomerContacts, Messages: t.Counters.Messages,
			Escalations: t.Counters.Escalations, CreatedAt: t.CreatedAt,
			AgeMinutes: ch.now.Sub(t.CreatedAt).Minutes(),
		},
		Signals: policy.SignalsEnv{
			Sentiment: t.Signals.Sentiment, Trend: t.Signals.Trend, Keywords: t.Signals.Keywords,
			WantsHuman: t.Signals.WantsHuman, Frustration: t.Signals.Frustration,
		},
		Event: policy.EventEnv{Type: ev.Type, Actor: ev.Actor},
		SLA:   slaEnv(t, ev),
		Now:   ch.now,
	}
	if a := t.Account; a != nil {
		e.Account = policy.AccountEnv{ID: a.ID, Name: a.Name, Tier: a.Tier, Attributes: a.Attributes}
	}
	if c := t.Customer; c != nil {
		e.Customer = policy.CustomerEnv{ID: c.ID, Name: c.Name, Email: c.Email}
	}
	if b := t.Bot; b != nil {
		h := policy.HandoffEnv{Received: true, Bot: b.Bot, RequestedTeam: b.RequestedTeam,
			Intents: []string{}, Steps: len(b.Steps), MinConfidence: 1, Recommendation: b.Recommendation}
		for _, st := range b.Steps {
			h.Intents = append(h.Intents, st.Intent)
			if st.Outcome != "resolved" {
				h.Failed++
			}
			h.MinConfidence = min(h.MinConfidence, st.Confidence)
		}
		e.Handoff = h
	}
	m := ev.Message
	if m == nil && ev.Type == escalated.EventHandoffReceived {
		m = ch.handoffMsg
	}
	if m != nil {
		e.Message = policy.MessageEnv{
			ID: m.ID, Author: string(m.Author.Kind), AuthorID: m.Author.ID, Body: m.Body, Internal: m.Internal,
			Keywords: m.Signals.Keywords, Sentiment: m.Signals.Sentiment, WantsHuman: m.Signals.WantsHuman,
			Shouting: m.Signals.Shouting, Profanity: m.Signals.Profanity,
		}
	}
	if changes, ok := ev.Data["changes"].(map[string]escalated.Change); ok {
		for k := range changes {
			e.Event.Changed = append(e.Event.Changed, k)
		}
		slices.Sort(e.Event.Changed)
	}
	// The escalation the event is about, else the ticket's active one when this change touched it.
	id, _ := ev.Data["escalation_id"].(string)
	if id == "" {
		id = t.ActiveEscalation
	}
	if x := ch.escs[id]; x != nil {
		e.Escalation = policy.EscalationEnv{
			ID: x.ID, FromTeam: x.FromTeam, ToTeam: x.ToTeam, FromTier: x.FromTier, ToTier: x.ToTier,
			Reason: string(x.Reason), Trigger: string(x.Trigger), State: string(x.State), Note: x.Note,
		}
	}
	return e
}

// slaEnv is the clock an SLA event is about, else the ticket's most urgent counting clock (the
// one due first: a breached clock that has not stopped comes before any running one), else
// zero.
func slaEnv(t *escalated.Ticket, ev *escalated.Event) policy.SLAEnv {
	var c *escalated.Clock
	if target, ok := ev.Data["target"].(string); ok && isClockEvent(ev.Type) {
		c = t.SLA.Clock(target)
	} else {
		for i := range t.SLA.Clocks {
			x := &t.SLA.Clocks[i]
			counting := x.State == sla.Running || x.State == sla.Warned || (x.State == sla.Breached && x.StoppedAt.IsZero())
			if counting && (c == nil || x.DueAt.Before(c.DueAt)) {
				c = x
			}
		}
	}
	if c == nil {
		return policy.SLAEnv{}
	}
	return policy.SLAEnv{Target: c.Target, State: c.State, DueAt: c.DueAt, Breached: c.State == sla.Breached}
}

func isClockEvent(typ string) bool {
	return typ == escalated.EventSLAWarning || typ == escalated.EventSLABreached || typ == escalated.EventEscalationUnacknowledged
}
