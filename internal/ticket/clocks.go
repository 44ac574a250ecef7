package ticket

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/sla"
	"github.com/escalated/escalated/internal/store"
)

// SLA clocks of a ticket. The arithmetic is internal/sla's; this file decides when clocks start,
// pause and stop, and keeps one deadline row per pending warning or breach. The rules (also in
// docs/sla.md):
//
//   - Plan. When a ticket is created, and whenever its priority, its account's tier or its team
//     changes, the first SLA plan whose `when` holds is chosen again. A different plan (or a
//     new team, whose calendar the clocks now count in) re-plans every clock that has not
//     stopped: business time already used carries over to the new target (sla.Clock.Replan).
//     A target the new plan lacks drops its clock; a plan that starts applying to a ticket that
//     had none starts resolution and, unless an agent has already answered, first_response.
//   - first_response starts with the ticket and stops (met or breached) at the first public
//     agent message.
//   - next_reply starts at a customer message once an agent has answered, unless it is already
//     counting (it measures from the first unanswered message), and stops at the next public
//     agent message.
//   - resolution starts with the ticket and stops when it is solved or closed; a reopen lets it
//     count on with the business time it had used.
//   - acknowledge starts when an escalation is created (replacing the clock of an escalation it
//     supersedes) and stops when that escalation is acknowledged or otherwise leaves pending.
//   - While the ticket is pending or on_hold every clock but acknowledge is paused (the
//     receiving team's pick-up does not wait on the customer); solved or closed stops them all.
//   - A replaced policy reaches a ticket's clocks at its next change: a plan that is gone, or
//     whose targets differ from the counting clocks', is chosen again then.
//   - Clocks count in the business hours of the calendar of the team holding the ticket,
//     around the clock when the team has none.

// alwaysOpen is the calendar of teams without one.
var alwaysOpen = func() *sla.Calendar {
	c := &policy.Calendar{ID: "always", Location: time.UTC}
	for d := time.Sunday; d <= time.Saturday; d++ {
		c.Hours = append(c.Hours, policy.DayHours{Day: d, Start: 0, End: 24 * 60})
	}
	cal, err := sla.New(c)
	if err != nil {
		panic(err)
	}
	return cal
}()

// calendars prepares every calendar of p for arithmetic.
func calendars(p *policy.Policy) (map[string]*sla.Calendar, error) {
	out := make(map[string]*sla.Calendar, len(p.Calendars))
	for i := range p.Calendars {
		c, err := sla.New(&p.Calendars[i])
		if err != nil {
			return nil, err
		}
		out[c.ID()] = c
	}
	return out, nil
}

// calendar returns the calendar a team's clocks count in.
func (l *Live) calendar(team string) *sla.Calendar {
	if tm, ok := l.Policy.Team(team); ok && tm.Calendar != "" {
		if c := l.Calendars[tm.Calendar]; c != nil {
			return c
		}
	}
	return alwaysOpen
}

// planKey is what the choice of plan depends on.
type planKey struct {
	priority escalated.Priority
	tier     string
	team     string
}

func keyOf(t *escalated.Ticket) planKey {
	k := planKey{priority: t.Priority, team: t.Team}
	if t.Account != nil {
		k.tier = t.Account.Tier
	}
	return k
}

// slaTrack is what a change remembers about the clocks: the deadline rows they had pending
// when it began (so that only the deadlines that moved are rewritten), how many events the
// clocks have seen, and the ticket's status and plan inputs as they last saw them.
type slaTrack struct {
	before pendingSet
	seen   int
	key    planKey
	status escalated.Status
	// fresh marks a ticket created by this change: its plan is chosen at the first sync.
	fresh bool
}

// newSLATrack starts tracking t as read. The tier in the key is the one the plan was chosen
// with, not the account's current one: an account's tier changes through other tickets, and
// this ticket's next change must notice.
func newSLATrack(t *escalated.Ticket) slaTrack {
	k := keyOf(t)
	k.tier = t.SLA.Tier
	return slaTrack{before: pendingSetOf(&t.SLA), key: k, status: t.Status}
}

func cloneSLA(s escalated.SLA) escalated.SLA {
	s.Clocks = slices.Clone(s.Clocks)
	return s
}

// deadlineTargets are the clocks that have deadline rows, in the order they are written.
var deadlineTargets = [...]string{sla.FirstResponse, sla.NextReply, sla.Resolution, sla.Acknowledge}

// pendingSet is the deadline rows of a ticket's clocks, per deadlineTargets: what a change
// compares against, rather than a copy of every clock (which was a tenth of what a replay
// allocated).
type pendingSet [len(deadlineTargets)]pendingDeadlines

func pendingSetOf(s *escalated.SLA) pendingSet {
	var p pendingSet
	for i, target := range deadlineTargets {
		p[i] = pendingOf(s.Clock(target))
	}
	return p
}

func pausedStatus(s escalated.Status) bool {
	return s == escalated.StatusPending || s == escalated.StatusOnHold
}

// syncClocks brings ch's ticket's clocks up to date with what the change did since the last
// sync. It may run several times per change (before and after the policy reacts).
func (s *Service) syncClocks(ch *change, live *Live) {
	t, pol, at := ch.t, live.Policy, ch.now
	tr := &ch.sla
	if ch.created && tr.seen == 0 {
		tr.fresh = true
	}
	if len(pol.SLAPlans) == 0 && len(t.SLA.Clocks) == 0 && t.SLA.Plan == "" {
		// No clock runs, but a first answer is remembered for a policy that adds plans later.
		for ; tr.seen < len(ch.events); tr.seen++ {
			if m := ch.events[tr.seen].Message; m != nil && m.Author.Kind == escalated.AuthorAgent && !m.Internal {
				t.SLA.Replied = true
			}
		}
		tr.key, tr.status, tr.fresh = keyOf(t), t.Status, false
		return
	}
	cal := live.calendar(t.Team)

	// 1. A reopen lets resolution count on, under the plan it ran with until the re-plan
	// below moves it.
	if tr.status.Done() && !t.Status.Done() {
		if c := t.SLA.Clock(sla.Resolution); c != nil {
			*c = escalated.Clock(sla.Clock(*c).Reopen(cal, at))
		}
	}

	// 2. The plan, when what it depends on moved, the ticket is new, or the policy was
	// replaced and no longer has the plan the clocks run under as they are.
	if key := keyOf(t); key != tr.key || tr.fresh || planStale(pol, &t.SLA) {
		s.replan(ch, live, tr.key.team, tr.fresh)
		tr.key, tr.fresh = key, false
	}
	plan := planByID(pol, t.SLA.Plan)

	// 3. The events of the change, in order.
	for ; tr.seen < len(ch.events); tr.seen++ {
		ev := ch.events[tr.seen]
		switch ev.Type {
		case escalated.EventMessageAdded:
			m := ev.Message
			if m == nil || m.Internal {
				continue
			}
			switch m.Author.Kind {
			case escalated.AuthorAgent:
				t.SLA.Replied = true
				for _, target := range []string{sla.FirstResponse, sla.NextReply} {
					if c := t.SLA.Clock(target); c != nil {
						*c = escalated.Clock(sla.Clock(*c).Stop(cal, at))
					}
				}
			case escalated.AuthorCustomer:
				if !t.SLA.Replied || plan == nil {
					continue
				}
				c := t.SLA.Clock(sla.NextReply)
				if c != nil && !stopped(c) {
					continue // already counting from an earlier unanswered message
				}
				startClock(t, plan, sla.NextReply, "", cal, at)
			}
		case escalated.EventEscalationCreated:
			if plan == nil {
				continue
			}
			id, _ := ev.Data["escalation_id"].(string)
			startClock(t, plan, sla.Acknowledge, id, cal, at)
		case escalated.EventEscalationAcknowledged, escalated.EventEscalationReturned,
			escalated.EventEscalationResolved, escalated.EventEscalationEscalated:
			id, _ := ev.Data["escalation_id"].(string)
			if c := t.SLA.Clock(sla.Acknowledge); c != nil && c.Escalation == id {
				*c = escalated.Clock(sla.Clock(*c).Stop(cal, at))
			}
		}
	}

	// 4. Every clock is brought in line with the status the ticket ends in.
	tr.status = t.Status
	for i := range t.SLA.Clocks {
		c := sla.Clock(t.SLA.Clocks[i])
		switch {
		case t.Status.Done():
			c = c.Stop(cal, at)
		case pausedStatus(t.Status) && c.Target != sla.Acknowledge:
			c = c.Pause(cal, at)
		default:
			c = c.Resume(cal, at)
		}
		t.SLA.Clocks[i] = escalated.Clock(c)
	}
}

// replan chooses the ticket's plan again and carries its clocks over to it. oldTeam is the team
// whose calendar the clocks counted in until now; fresh says the ticket has just been created.
func (s *Service) replan(ch *change, live *Live, oldTeam string, fresh bool) {
	t, pol, at := ch.t, live.Policy, ch.now
	e := env(pol, ch, &escalated.Event{Type: escalated.EventTicketUpdated, Actor: ch.actor})
	plan := pol.PlanFor(&e)
	id := ""
	if plan != nil {
		id = plan.ID
	}
	moved := oldTeam != t.Team
	t.SLA.Tier = keyOf(t).tier
	if id == t.SLA.Plan && !moved && !fresh && !planStale(pol, &t.SLA) {
		return
	}
	oldCal, cal := live.calendar(oldTeam), live.calendar(t.Team)
	kept := t.SLA.Clocks[:0]
	for _, x := range t.SLA.Clocks {
		c := sla.Clock(x)
		if stopped(&x) {
			kept = append(kept, x)
			continue
		}
		if moved {
			// Count the stretch so far in the old team's hours before switching calendars.
			c = c.Replan(oldCal, c.Budget, c.WarnAt, c.Plan, at)
		}
		budget, ok := time.Duration(0), false
		if plan != nil {
			budget, ok = plan.Targets[c.Target]
		}
		if !ok {
			continue // the new plan has no such target: the clock (and its deadlines) go
		}
		kept = append(kept, escalated.Clock(c.Replan(cal, budget, plan.WarnAt, plan.ID, at)))
	}
	t.SLA.Clocks, t.SLA.Plan = kept, id
	if plan == nil || t.Status.Done() {
		return
	}
	if !t.SLA.Replied && t.SLA.Clock(sla.FirstResponse) == nil {
		startClock(t, plan, sla.FirstResponse, "", cal, at)
	}
	if t.SLA.Clock(sla.Resolution) == nil {
		startClock(t, plan, sla.Resolution, "", cal, at)
	}
}

// startClock starts (or restarts) the ticket's clock for target under plan, if the plan has
// that target.
func startClock(t *escalated.Ticket, plan *policy.SLAPlan, target, escalationID string, cal *sla.Calendar, at time.Time) {
	budget, ok := plan.Targets[target]
	if !ok {
		return
	}
	c := sla.Start(cal, target, plan.ID, budget, plan.WarnAt, at)
	c.Escalation = escalationID
	if x := t.SLA.Clock(target); x != nil {
		*x = escalated.Clock(c)
		return
	}
	t.SLA.Clocks = append(t.SLA.Clocks, escalated.Clock(c))
}

// planStale reports whether the ticket's plan is gone from the policy, or its counting clocks'
// targets differ from the plan's (the policy was replaced since they were set).
func planStale(pol *policy.Policy, s *escalated.SLA) bool {
	if s.Plan == "" {
		return false
	}
	plan := planByID(pol, s.Plan)
	if plan == nil {
		return true
	}
	for i := range s.Clocks {
		c := &s.Clocks[i]
		if stopped(c) {
			continue
		}
		if b, ok := plan.Targets[c.Target]; !ok || b != c.Budget || plan.WarnAt != c.WarnAt {
			return true
		}
	}
	return false
}

func stopped(c *escalated.Clock) bool { return c.State == sla.Met || !c.StoppedAt.IsZero() }

func planByID(pol *policy.Policy, id string) *policy.SLAPlan {
	for i := range pol.SLAPlans {
		if pol.SLAPlans[i].ID == id {
			return &pol.SLAPlans[i]
		}
	}
	return nil
}

// deadlineKinds are the deadlines a clock has pending, by kind.
type pendingDeadlines struct {
	warn, due  time.Time
	escalation string
}

func pendingOf(c *escalated.Clock) pendingDeadlines {
	if c == nil || !sla.Clock(*c).Active() {
		return pendingDeadlines{}
	}
	return pendingDeadlines{warn: ceilMS(c.WarnDue), due: ceilMS(c.DueAt), escalation: c.Escalation}
}

// ceilMS rounds up to the millisecond the stores keep, so that a deadline never fires before
// the instant the clock computed.
func ceilMS(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	r := t.Truncate(time.Millisecond)
	if r.Before(t) {
		r = r.Add(time.Millisecond)
	}
	return r.UTC()
}

// breachKind is the event a clock's breach raises.
func breachKind(target string) string {
	if target == sla.Acknowledge {
		return escalated.EventEscalationUnacknowledged
	}
	return escalated.EventSLABreached
}

// writeDeadlines rewrites the deadline rows of every clock whose pending deadlines differ from
// what they were when the change began. The ticket row must exist.
func (ch *change) writeDeadlines(ctx context.Context, tx store.Tx) error {
	t := ch.t
	after := pendingSetOf(&t.SLA)
	for i, target := range deadlineTargets {
		old, now := ch.sla.before[i], after[i]
		// The row the engine's claim took is not subtracted from old: an earlier firing of the
		// same claim may have written the target's rows again, and only cancelling them all
		// leaves none the clock does not account for (TestOneClaimOfManyRowsLeavesNoStrayRow).
		if old == now {
			continue
		}
		if old != (pendingDeadlines{}) {
			if err := tx.CancelDeadlines(ctx, t.ID, target); err != nil {
				return err
			}
		}
		for _, d := range []struct {
			kind string
			at   time.Time
		}{{escalated.EventSLAWarning, now.warn}, {breachKind(target), now.due}} {
			if d.at.IsZero() || !d.at.Before(sla.Never) {
				continue
			}
			if err := tx.ScheduleDeadline(ctx, &store.Deadline{
				ID: escalated.NewID(escalated.PrefixDeadline, ch.now), TicketID: t.ID, Kind: d.kind,
				Target: target, EscalationID: now.escalation, DueAt: d.at, CreatedAt: ch.now,
			}); err != nil {
				return err
			}
		}
	}
	ch.sla.before = after
	return nil
}

// clockStatuses reports a ticket's clocks as the API shows them, elapsed time counted to at.
func clockStatuses(live *Live, t *escalated.Ticket, at time.Time) []escalated.ClockStatus {
	out := make([]escalated.ClockStatus, 0, len(t.SLA.Clocks))
	cal := alwaysOpen
	if live != nil {
		cal = live.calendar(t.Team)
	}
	for _, x := range t.SLA.Clocks {
		c := sla.Clock(x)
		st := escalated.ClockStatus{
			Target: c.Target, Plan: c.Plan, State: c.State, DueAt: escalated.TimePtr(c.DueAt),
			WarningAt: escalated.TimePtr(c.WarnDue), TargetSeconds: c.Budget.Seconds(),
			ElapsedSeconds: c.ElapsedAt(cal, at).Seconds(), StoppedAt: escalated.TimePtr(c.StoppedAt),
		}
		if c.Escalation != "" {
			st.EscalationID = &c.Escalation
		}
		out = append(out, st)
	}
	return out
}

// FireDeadline applies a deadline the engine claimed in tx at firedAt: the clock warns or
// breaches, and the event goes into the policy in the same transaction. It reports whether it
// fired. A deadline that no longer matches its clock (the ticket is gone, or the clock moved
// in a way its row did not follow) is dropped, and the clock's real deadlines are written
// again.
func (s *Service) FireDeadline(ctx context.Context, tx store.Tx, d *store.Deadline, firedAt time.Time) (bool, error) {
	live, err := s.policy()
	if err != nil {
		return false, err
	}
	t, err := tx.GetTicket(ctx, d.TicketID)
	if escalated.ErrorCode(err) == escalated.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	now := escalated.Truncate(firedAt)
	ch := newChange(t, "system:sla", now)
	// The row was computed under the policy of its day: when the policy was replaced since,
	// the clocks move to the new targets first, and the row is judged against them.
	var unplanned *escalated.SLA // the clocks before a re-plan, nil when none was needed
	if planStale(live.Policy, &t.SLA) {
		orig := cloneSLA(t.SLA)
		unplanned = &orig
		s.replan(ch, live, t.Team, false)
	}
	c := t.SLA.Clock(d.Target)
	var p pendingDeadlines
	if c != nil {
		p = pendingOf(c)
	}
	switch {
	case c == nil || c.Escalation != d.EscalationID:
	case d.Kind == escalated.EventSLAWarning && c.State == sla.Running && p.warn.Equal(d.DueAt):
		*c = escalated.Clock(sla.Clock(*c).Warn())
		return true, s.fireClock(ctx, tx, ch, live, d, c)
	case d.Kind == breachKind(d.Target) && p.due.Equal(d.DueAt):
		*c = escalated.Clock(sla.Clock(*c).Breach())
		return true, s.fireClock(ctx, tx, ch, live, d, c)
	}
	s.log.Info("stale deadline dropped", "deadline", d.ID, "ticket", d.TicketID, "kind", d.Kind,
		"target", d.Target, "due_at", escalated.FormatTime(d.DueAt))
	if unplanned != nil && !reflect.DeepEqual(*unplanned, t.SLA) {
		// Re-planned above: keep the clocks as they now are. No history event: nothing
		// happened to the ticket; the policy change is in the audit trail.
		t.UpdatedAt = now
		if err := tx.UpdateTicket(ctx, t, t.Version); err != nil {
			return false, err
		}
	}
	// The claim removed the row; whatever the clocks really have pending goes back.
	ch.sla.before = pendingSet{}
	return false, ch.writeDeadlines(ctx, tx)
}

// fireClock records the event of a deadline that fired on clock c and commits the change.
func (s *Service) fireClock(ctx context.Context, tx store.Tx, ch *change, live *Live, d *store.Deadline, c *escalated.Clock) error {
	lateness := ch.now.Sub(d.DueAt)
	data := map[string]any{
		"target": d.Target, "plan": c.Plan, "due_at": escalated.FormatTime(d.DueAt),
		"fired_at": escalated.FormatTime(ch.now), "lateness_ms": lateness.Milliseconds(),
	}
	if d.EscalationID != "" {
		data["escalation_id"] = d.EscalationID
	}
	ch.event(d.Kind, data)
	// What the policy's reaction reads from the store (messages, history, escalations, open
	// counts by status and assignee) the firing did not change: its row waits for the
	// reaction's, and a breach that escalates updates the ticket (and its indexes) once.
	ch.rowAfterReact = true
	if err := s.commit(ctx, tx, ch, live); err != nil {
		return fmt.Errorf("fire %s %s of %s: %w", d.Kind, d.Target, d.TicketID, err)
	}
	return nil
}
