package ticket

import (
	"context"
	"fmt"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// Analytics facts (E7): every change keeps its ticket's row and the rows of the escalations it
// touched in step, in its own transaction, so reports read one consistent table each and never
// lag behind what the API shows.

// trackAnalytics updates the ticket's analytics tallies from what the change did. It runs once
// per change, after the policy reacted and before the ticket is written the last time.
func (c *change) trackAnalytics(live *Live) {
	t := c.t
	a := &t.Analytics
	// The first pass of a creating change runs before the policy reacts: the ticket is where
	// it was opened. A later pass may find it already escalated elsewhere.
	switch {
	case c.created && a.IntakeTeam == "":
		a.IntakeTeam, a.IntakeTier = t.Team, t.Tier
	case a.IntakeTeam == "":
		// A ticket from before analytics existed: the team it was in when first changed since
		// stands in for the team it was opened in.
		a.IntakeTeam = c.startTeam
		if tier, ok := live.Policy.TierOfTeam(c.startTeam); ok {
			a.IntakeTier = tier.ID
		}
	}
	if a.FirstAgent == "" && t.Assignee != "" && t.Team == a.IntakeTeam {
		a.FirstAgent = t.Assignee
	}
	// Breaches while the ticket was never escalated, in the order they happened in the change.
	escalated_ := c.startEscalations > 0
	for _, e := range c.events[c.analyticsOut:] {
		switch e.Type {
		case escalated.EventEscalationCreated:
			escalated_ = true
			if why, _ := e.Data["ping_pong"].(string); why != "" {
				a.PingPongs++
			}
		case escalated.EventSLABreached:
			// Before escalation means due by then: a breach the engine fired late, after an
			// escalation made in the meantime, still happened first.
			due, err := time.Parse(escalated.TimeFormat, fmt.Sprint(e.Data["due_at"]))
			late := err == nil && a.FirstEscalatedAt != nil && !due.After(*a.FirstEscalatedAt)
			if !escalated_ || late {
				a.BreachesBeforeEscalation++
			}
		}
	}
	c.analyticsOut = len(c.events)
	if t.Counters.Escalations > 0 && a.FirstEscalatedAt == nil {
		at := c.now
		a.FirstEscalatedAt = &at
	}
	was, is := c.startStatus.Done(), t.Status.Done()
	level := 0
	if tier, ok := live.Policy.TierOfTeam(t.Team); ok {
		level = tier.Level
	}
	switch {
	case is && !was:
		at := c.now
		a.SolvedAt = &at
		if level == 1 {
			a.SolvedInTier1 = true
		}
	case was && !is && a.SolvedInTier1:
		a.ReopenedAfterT1 = true
	}
	if a.ReopenedAfterT1 && t.Counters.Escalations > c.startEscalations {
		a.ReopenedAfterT1Solve = true
	}
	a.MaxFrustration = max(a.MaxFrustration, t.Signals.Frustration)
}

// ticketFact is the analytics row of t.
func ticketFact(t *escalated.Ticket) *store.TicketFact {
	a := t.Analytics
	f := &store.TicketFact{
		TicketID: t.ID, CreatedAt: t.CreatedAt, IssueType: t.IssueType, Channel: string(t.Channel),
		AccountID: t.AccountID, IntakeTeam: a.IntakeTeam, IntakeTier: a.IntakeTier, FirstAgent: a.FirstAgent,
		Solved: t.Status.Done(), SolvedAt: a.SolvedAt, Escalations: t.Counters.Escalations,
		FirstEscalatedAt: a.FirstEscalatedAt, Reopens: t.Counters.Reopens,
		BreachesBeforeEscalation: a.BreachesBeforeEscalation, ReopenedAfterT1Solve: a.ReopenedAfterT1Solve,
		MaxFrustration: a.MaxFrustration, PingPongs: a.PingPongs,
	}
	if !f.Solved {
		f.SolvedAt = nil
	}
	if t.Account != nil {
		f.CustomerTier = t.Account.Tier
	}
	return f
}

// writeFacts saves the ticket's analytics row when anything in it changed, and the rows of the
// escalations the change touched. Internal notes written while an escalation holds the ticket
// count on that escalation (over-escalation: solved in minutes without a note).
func (s *Service) writeFacts(ctx context.Context, tx store.Tx, ch *change) error {
	t := ch.t
	tf := ticketFact(t)
	if ch.created || !sameFact(tf, ch.startFact) {
		if err := tx.SaveTicketFact(ctx, tf); err != nil {
			return err
		}
	}
	notes := 0
	for _, m := range ch.msgs {
		if m.Internal {
			notes++
		}
	}
	pingPong := map[string]bool{}
	for _, e := range ch.events {
		if id, _ := e.Data["escalation_id"].(string); e.Type == escalated.EventEscalationCreated && id != "" {
			if why, _ := e.Data["ping_pong"].(string); why != "" {
				pingPong[id] = true
			}
		}
	}
	// The operation wrote its notes before the policy reacted, so they count on the escalation
	// that held the ticket then, also when a rule's escalation in the same change superseded it
	// (as the rebuild counts them).
	holder := t.ActiveEscalation
	for holder != "" && ch.escCreated[holder] {
		holder = superseded(ch, holder)
	}
	seen := false
	for id := range ch.escWritten {
		e := ch.escs[id]
		if e == nil {
			return escalated.Errorf(escalated.EINTERNAL, "escalation %s was written but not recorded in the change", id)
		}
		f, err := escalationFact(ctx, tx, t, e, ch.escCreated[id])
		if err != nil {
			return err
		}
		if pingPong[id] {
			f.PingPong = true
		}
		if id == holder && notes > 0 {
			f.InternalNotes += notes
			seen = true
		}
		if err := tx.SaveEscalationFact(ctx, f); err != nil {
			return err
		}
	}
	if holder != "" && notes > 0 && !seen {
		f, err := tx.GetEscalationFact(ctx, holder)
		if escalated.ErrorCode(err) == escalated.ENOTFOUND {
			return nil // escalated before analytics existed
		} else if err != nil {
			return err
		}
		f.InternalNotes += notes
		return tx.SaveEscalationFact(ctx, f)
	}
	return nil
}

// superseded returns the escalation the change closed in favour of the one it created, id
// ("" when id superseded none).
func superseded(ch *change, id string) string {
	for prev := range ch.escWritten {
		if e := ch.escs[prev]; e != nil && e.NextID == id {
			return prev
		}
	}
	return ""
}

// escalationFact builds e's analytics row. An escalation made earlier keeps the attributes it
// was recorded with (the ticket's issue type when it was escalated, not now) and its note count.
func escalationFact(ctx context.Context, tx store.Tx, t *escalated.Ticket, e *escalated.Escalation, created bool) (*store.EscalationFact, error) {
	if created {
		// Made by this change: there is no row to read yet.
		f := newEscalationFact(t, e)
		fillEscalationOutcome(f, e)
		return f, nil
	}
	f, err := tx.GetEscalationFact(ctx, e.ID)
	switch {
	case escalated.ErrorCode(err) == escalated.ENOTFOUND:
		f = newEscalationFact(t, e)
	case err != nil:
		return nil, err
	}
	fillEscalationOutcome(f, e)
	return f, nil
}

// newEscalationFact is e's row as it was made: its route and the ticket's attributes then.
func newEscalationFact(t *escalated.Ticket, e *escalated.Escalation) *store.EscalationFact {
	f := &store.EscalationFact{
		EscalationID: e.ID, TicketID: e.TicketID, CreatedAt: e.CreatedAt,
		FromTeam: e.FromTeam, ToTeam: e.ToTeam, FromTier: e.FromTier, ToTier: e.ToTier,
		ByAgent: e.By, Trigger: string(e.Trigger), Reason: string(e.Reason), RuleID: e.RuleID,
		IssueType: t.IssueType, Channel: string(t.Channel), AccountID: t.AccountID,
		TimeToEscalate: e.CreatedAt.Sub(t.CreatedAt),
	}
	if t.Account != nil {
		f.CustomerTier = t.Account.Tier
	}
	return f
}

// fillEscalationOutcome sets the parts of f that follow e's state.
func fillEscalationOutcome(f *store.EscalationFact, e *escalated.Escalation) {
	f.State = string(e.State)
	f.AcknowledgedAt, f.TimeToAck = nil, nil
	if e.AcknowledgedAt != nil {
		at := *e.AcknowledgedAt
		d := at.Sub(e.CreatedAt)
		f.AcknowledgedAt, f.TimeToAck = &at, &d
	}
	f.Returned = e.State == escalated.EscalationReturned
	f.Unnecessary = f.Returned && e.Necessary != nil && !*e.Necessary
	f.ResolvedAtTarget = e.State == escalated.EscalationResolved
	f.ReEscalated = e.State == escalated.EscalationEscalated
	f.ResolvedAfter = nil
	if f.ResolvedAtTarget && e.ClosedAt != nil {
		d := e.ClosedAt.Sub(e.CreatedAt)
		f.ResolvedAfter = &d
	}
	if e.Package != nil {
		f.Completeness = e.Package.Completeness
	}
	f.ContextInsufficient = e.ContextSufficient != nil && !*e.ContextSufficient
}

// sameFact reports whether two ticket facts hold the same values (times compared by value).
func sameFact(a, b *store.TicketFact) bool {
	if a == nil || b == nil {
		return a == b
	}
	eq := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	x, y := *a, *b
	x.SolvedAt, y.SolvedAt, x.FirstEscalatedAt, y.FirstEscalatedAt = nil, nil, nil, nil
	return x == y && eq(a.SolvedAt, b.SolvedAt) && eq(a.FirstEscalatedAt, b.FirstEscalatedAt)
}
