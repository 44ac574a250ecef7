package ticket

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/handoff"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/route"
	"github.com/escalated/escalated/internal/store"
)

// EscalateInput is a manual escalation.
type EscalateInput struct {
	// To is a team id, "next_tier" or "account_team".
	To     string
	Reason escalated.Reason
	Note   string
	// By is the escalating agent.
	By string
}

// Escalate moves a ticket to another team along the policy's paths with a handoff package. An
// escalation from a team that itself received the ticket by escalation supersedes that one
// (state escalated).
func (s *Service) Escalate(ctx context.Context, ticketID string, in EscalateInput) (*escalated.Escalation, error) {
	p, err := access.Authorize(ctx, access.CreateEscalation)
	if err != nil {
		return nil, err
	}
	live, err := s.policy()
	if err != nil {
		return nil, err
	}
	pol := live.Policy
	fe := escalated.FieldErrors{}
	in.To, in.Note, in.By = trim(in.To), trim(in.Note), trim(in.By)
	if in.To == "" {
		fe.Add("to", "is required: a team id, next_tier or account_team")
	}
	if !in.Reason.Valid() {
		fe.Add("reason", oneOf(escalated.Reasons))
	}
	if min := pol.Escalation.NoteMinLength; utf8.RuneCountInString(in.Note) < min {
		fe.Add("note", fmt.Sprintf("must be at least %d characters: say what was tried and what is needed", min))
	} else {
		checkText(fe, "note", in.Note, false, MaxNote)
	}
	if in.By, err = actingAs(ctx, "by", in.By); err != nil {
		return nil, err
	}
	checkAgent(fe, pol, "by", in.By)
	if err := fe.Err(); err != nil {
		return nil, err
	}

	var out *escalated.Escalation
	err = s.store.Update(ctx, func(tx store.Tx) error {
		t, err := s.writeTicket(ctx, tx, ticketID)
		if err != nil {
			return err
		}
		ch := newChange(t, p.Actor(), escalated.Truncate(s.now()))
		if out, err = s.escalateTx(ctx, tx, ch, live, escalation{
			To: in.To, Reason: in.Reason, Note: in.Note, By: in.By, Trigger: escalated.TriggerManual,
		}); err != nil {
			return err
		}
		return s.commit(ctx, tx, ch, live)
	})
	if err != nil {
		return nil, fmt.Errorf("escalate: %w", err)
	}
	return out, nil
}

// escalation is one escalation to make, whoever asked for it.
type escalation struct {
	To      string
	Reason  escalated.Reason
	Note    string
	By      string
	Trigger escalated.Trigger
	RuleID  string
	// Recommendation goes into the package, e.g. from the rule that escalated.
	Recommendation *escalated.Recommendation
	// Here escalates within the ticket's own team: a chatbot's handoff that no rule and no
	// requested team sent elsewhere still waits for a person there to pick it up, with its
	// package and acknowledge clock, so from_team equals to_team. Paths, ping-pong and routing
	// do not apply: the ticket does not move.
	Here bool
}

// escalateTx moves ch's ticket along a path inside the caller's transaction: the checks every
// escalation must pass (ticket open, max_per_ticket, no pending escalation, target on a path),
// the escalation record with its package, the superseded escalation closed, history and audit.
func (s *Service) escalateTx(ctx context.Context, tx store.Tx, ch *change, live *Live, in escalation) (*escalated.Escalation, error) {
	pol, t := live.Policy, ch.t
	if t.Status.Done() {
		return nil, escalated.Errorf(escalated.ECONFLICT, "ticket %s is %s; reopen it before escalating", t.ID, t.Status)
	}
	if max := pol.Escalation.MaxPerTicket; max > 0 && t.Counters.Escalations >= max {
		return nil, escalated.Invalid("to", fmt.Sprintf("ticket %s has reached the policy's max_per_ticket of %d escalations", t.ID, max))
	}
	var prev *escalated.Escalation
	if t.ActiveEscalation != "" {
		var err error
		if prev, err = tx.GetEscalation(ctx, t.ActiveEscalation); err != nil {
			return nil, err
		}
		// A pending escalation nobody acknowledged in time may move on (F7); any other
		// escalation must wait for the receiving team.
		if prev.State == escalated.EscalationPending && in.Trigger != escalated.TriggerUnacknowledged {
			return nil, escalated.Errorf(escalated.ECONFLICT, "escalation %s to %s is still pending; it must be acknowledged before the ticket can be escalated further", prev.ID, prev.ToTeam)
		}
	}
	if in.By != "" && !memberOf(pol, in.By, t.Team) {
		return nil, escalated.Invalid("by", fmt.Sprintf("agent %q is not a member of team %q, which holds the ticket", in.By, t.Team))
	}
	to := t.Team
	if !in.Here {
		var err error
		if to, err = resolveTarget(pol, t, in.To); err != nil {
			return nil, err
		}
	}
	now := ch.now
	// Ping-pong: back to a team the ticket left within the hour. A person is refused; a rule's
	// escalation goes ahead (the rule's author decided) and history says it bounced.
	prior, err := ticketEscalations(ctx, tx, t.ID)
	if err != nil {
		return nil, err
	}
	pingPong := ""
	if bounced, why := route.PingPong(moves(prior), to, now, false); bounced && !in.Here {
		if in.Trigger == escalated.TriggerManual {
			return nil, escalated.Invalid("to", why)
		}
		pingPong = why
	}
	// Routing in the target team may overflow to its fallback, which then receives the
	// escalation.
	r := &routing{team: to, agent: t.Assignee}
	if !in.Here {
		if r, err = s.routeInto(ctx, tx, ch, live, to, "", t.Team); err != nil {
			return nil, err
		}
	}
	to = r.team
	e := &escalated.Escalation{
		ID: escalated.NewID(escalated.PrefixEscalation, now), TicketID: t.ID,
		FromTeam: t.Team, FromTier: t.Tier, ToTeam: to, By: in.By, Actor: ch.actor,
		Trigger: in.Trigger, RuleID: in.RuleID, Reason: in.Reason, Note: in.Note,
		State: escalated.EscalationPending, PolicyVersion: live.Version, CreatedAt: now,
	}
	toTier, _ := pol.TierOfTeam(to)
	e.ToTier = toTier.ID
	// Close the superseded escalation first, so the new package reports it as it now is.
	if prev != nil {
		if err := s.closeEscalation(ctx, tx, ch, t, prev, escalated.EscalationEscalated, in.By, func(old *escalated.Escalation) {
			old.NextID = e.ID
		}); err != nil {
			return nil, err
		}
	}
	rec := in.Recommendation
	if rec == nil {
		rec = t.Recommendation
	}
	// The package lists the prior escalations as they now are: read again only when closing
	// the superseded one changed a row since the ping-pong check read them (routing writes
	// none).
	if prev != nil {
		if prior, err = ticketEscalations(ctx, tx, t.ID); err != nil {
			return nil, err
		}
	}
	if e.Package, err = s.buildPackage(ctx, tx, live, t, e, prior, rec, now); err != nil {
		return nil, err
	}
	ch.wroteEscalation(e.ID)
	ch.createdEscalation(e.ID)
	if err := tx.CreateEscalation(ctx, e); err != nil {
		return nil, err
	}
	ch.touched(e)
	changes := map[string]escalated.Change{}
	if t.Status == escalated.StatusNew {
		setStatus(t, escalated.StatusOpen, changes)
	}
	if t.Assignee != r.agent {
		changes["assignee"] = escalated.Change{From: nullable(t.Assignee), To: nullable(r.agent)}
	}
	t.Team, t.Tier, t.Assignee, t.ActiveEscalation = e.ToTeam, e.ToTier, r.agent, e.ID
	t.Counters.Escalations++
	data := map[string]any{
		"escalation_id": e.ID, "from_team": e.FromTeam, "to_team": e.ToTeam, "from_tier": e.FromTier,
		"to_tier": e.ToTier, "trigger": string(e.Trigger), "rule_id": e.RuleID, "reason": string(e.Reason),
		"note": e.Note, "by": e.By, "completeness": e.Package.Completeness,
	}
	audit := map[string]any{
		"ticket_id": t.ID, "from_team": e.FromTeam, "to_team": e.ToTeam, "trigger": string(e.Trigger),
		"rule_id": e.RuleID, "reason": string(e.Reason), "policy_version": live.Version,
	}
	if pingPong != "" {
		data["ping_pong"], audit["ping_pong"] = pingPong, pingPong
	}
	ch.event(escalated.EventEscalationCreated, data)
	ch.routedEvents(r)
	ch.updated(changes)
	ch.auditRec(escalated.AuditEscalationCreated, "escalation", e.ID, audit)
	return e, nil
}

// resolveTarget turns the requested target into a team id on a path from the ticket's team.
func resolveTarget(pol *policy.Policy, t *escalated.Ticket, to string) (string, error) {
	switch to {
	case escalated.TargetNextTier:
		cands := pol.NextTier(t.Team)
		if len(cands) == 0 {
			return "", escalated.Invalid("to", fmt.Sprintf("no team at a higher tier is on an escalation path from %q", t.Team))
		}
		return pickBySkill(pol, cands, t), nil
	case escalated.TargetAccountTeam:
		team, ok := pol.AccountTeamFor(t.AccountID)
		if !ok {
			return "", escalated.Invalid("to", fmt.Sprintf("no account team serves account %q", t.AccountID))
		}
		if team == t.Team {
			return "", escalated.Invalid("to", fmt.Sprintf("the ticket is already with account team %q", team))
		}
		return team, nil
	}
	team, ok := pol.Team(to)
	if !ok {
		return "", escalated.Invalid("to", fmt.Sprintf("unknown team %q (known teams: %s; or next_tier, account_team)", to, teamIDs(pol)))
	}
	if team.Kind == policy.KindAccountTeam && !slices.Contains(team.Accounts, t.AccountID) {
		return "", escalated.Invalid("to", fmt.Sprintf("account team %q does not serve account %q (it serves: %s)", to, t.AccountID, strings.Join(team.Accounts, ", ")))
	}
	if !pol.Allowed(t.Team, to, t.AccountID) {
		return "", escalated.Invalid("to", fmt.Sprintf("team %q is not on an escalation path from %q (allowed: %s)", to, t.Team, allowedFrom(pol, t)))
	}
	return to, nil
}

// pickBySkill chooses among next-tier candidates the first whose skills name the ticket's issue
// type, one of its words (payment_issue -> payment) or one of its tags, else the first in path
// order. Routing within a team comes later; this keeps next_tier deterministic and explainable.
func pickBySkill(pol *policy.Policy, cands []string, t *escalated.Ticket) string {
	words := strings.FieldsFunc(t.IssueType, func(r rune) bool { return r == '_' || r == '-' || r == '.' })
	for _, id := range cands {
		team, _ := pol.Team(id)
		for _, sk := range team.Skills {
			if sk == t.IssueType || slices.Contains(words, sk) || slices.Contains(t.Tags, sk) {
				return id
			}
		}
	}
	return cands[0]
}

func allowedFrom(pol *policy.Policy, t *escalated.Ticket) string {
	var ids []string
	for _, team := range pol.Teams {
		if pol.Allowed(t.Team, team.ID, t.AccountID) {
			ids = append(ids, team.ID)
		}
	}
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

// buildPackage assembles the handoff package from what the ticket holds now; prior are the
// ticket's escalations as stored, oldest first.
func (s *Service) buildPackage(ctx context.Context, tx store.Tx, live *Live, t *escalated.Ticket, e *escalated.Escalation, prior []*escalated.Escalation, rec *escalated.Recommendation, at time.Time) (*escalated.Package, error) {
	pol := live.Policy
	// The package quotes the first public customer message and the conversation's end: only
	// those are read, not a long conversation whole.
	original, recent, err := packageMessages(ctx, tx, t.ID)
	if err != nil {
		return nil, err
	}
	var by *escalated.Author
	switch {
	case e.By != "":
		a, _ := pol.Agent(e.By)
		by = &escalated.Author{Kind: escalated.AuthorAgent, ID: a.ID, Name: a.Name}
	case e.Trigger == escalated.TriggerHandoff && t.Bot != nil:
		by = &escalated.Author{Kind: escalated.AuthorBot, ID: t.Bot.Bot, Name: t.Bot.Bot}
	}
	first := ""
	if original != nil {
		first = original.Body
	}
	combined, err := s.recommend(ctx, tx, live, t, rec, first)
	if err != nil {
		return nil, err
	}
	var steps []escalated.BotStep
	if t.Bot != nil {
		steps = t.Bot.Steps
	}
	return handoff.Build(handoff.Input{
		Ticket: t, Original: original, Messages: recent, Prior: prior, Note: e.Note, EscalatedBy: by, BotSteps: steps,
		Required: pol.Escalation.RequiredPackageFields, Recommendation: combined, Signals: packageSignals(t),
		SLA: clockStatuses(live, t, at),
	}), nil
}

// packageMessages reads what a handoff package quotes of ticket id's conversation: its first
// public customer message (nil when none) and its last handoff.ConversationLength messages. A
// conversation no longer than that is read whole by the second pick, which then holds the first.
func packageMessages(ctx context.Context, tx store.Tx, id string) (*escalated.Message, []*escalated.Message, error) {
	recent, err := tx.PickMessages(ctx, id, store.MessagePick{Last: true, Limit: handoff.ConversationLength})
	if err != nil {
		return nil, nil, err
	}
	if len(recent) < handoff.ConversationLength {
		return handoff.Original(recent), recent, nil
	}
	first, err := tx.PickMessages(ctx, id, store.MessagePick{Kind: escalated.AuthorCustomer, Public: true, Limit: 1})
	if err != nil || len(first) == 0 {
		return nil, recent, err
	}
	return first[0], recent, nil
}

// Acknowledge records that the receiving team picked up a pending escalation. The acknowledging
// agent becomes the ticket's assignee unless someone already is.
func (s *Service) Acknowledge(ctx context.Context, escID, by string) (*escalated.Escalation, error) {
	return s.AcknowledgeWith(ctx, escID, AckInput{By: by})
}

// AckInput is an acknowledgement with the receiving agent's verdict on the package.
type AckInput struct {
	By string
	// ContextSufficient answers "did the handoff package tell you what you needed?"; nil when
	// the agent did not say. Analytics report the share of insufficient packages (E7).
	ContextSufficient *bool
}

// AcknowledgeWith is Acknowledge with the agent's verdict on the package's context.
func (s *Service) AcknowledgeWith(ctx context.Context, escID string, in AckInput) (*escalated.Escalation, error) {
	by, err := actingAs(ctx, "by", trim(in.By))
	if err != nil {
		return nil, err
	}
	return s.transition(ctx, escID, by, escalated.EscalationAcknowledged, func(tx store.Tx, ch *change, t *escalated.Ticket, e *escalated.Escalation) error {
		now := ch.now
		e.AcknowledgedAt, e.AcknowledgedBy = &now, agentOr(by, ch.actor)
		e.ContextSufficient = in.ContextSufficient
		changes := map[string]escalated.Change{}
		if by != "" && t.Assignee == "" {
			changes["assignee"] = escalated.Change{From: nil, To: by}
			t.Assignee = by
		}
		data := map[string]any{"escalation_id": e.ID, "by": by, "team": e.ToTeam}
		audit := map[string]any{"ticket_id": t.ID, "by": by}
		if in.ContextSufficient != nil {
			data["context_sufficient"], audit["context_sufficient"] = *in.ContextSufficient, *in.ContextSufficient
		}
		ch.event(escalated.EventEscalationAcknowledged, data)
		ch.updated(changes)
		ch.auditRec(escalated.AuditEscalationAcknowledged, "escalation", e.ID, audit)
		return nil
	})
}

// ReturnInput sends an escalation back to the team it came from.
type ReturnInput struct {
	By     string
	Reason string
	// Necessary says whether the escalation was needed at all; analytics count the unnecessary.
	Necessary *bool
}

// Return sends the ticket back to the team it came from, assigned to the agent who escalated
// it when that agent is still a member there.
func (s *Service) Return(ctx context.Context, escID string, in ReturnInput) (*escalated.Escalation, error) {
	// Who may comes before what was sent: a role that may not return escalations learns that
	// first, whatever its request said.
	if _, err := access.Authorize(ctx, access.HandleEscalation); err != nil {
		return nil, err
	}
	fe := escalated.FieldErrors{}
	in.Reason = trim(in.Reason)
	checkText(fe, "reason", in.Reason, true, MaxNote)
	if in.Necessary == nil {
		fe.Add("necessary", "is required: true if the escalation was warranted, false if it should not have come")
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	var err error
	if in.By, err = actingAs(ctx, "by", trim(in.By)); err != nil {
		return nil, err
	}
	return s.transition(ctx, escID, in.By, escalated.EscalationReturned, func(tx store.Tx, ch *change, t *escalated.Ticket, e *escalated.Escalation) error {
		pol := ch.live.Policy
		if err := s.closeEscalation(ctx, tx, ch, t, e, escalated.EscalationReturned, in.By, func(e *escalated.Escalation) {
			e.ReturnReason, e.Necessary = in.Reason, in.Necessary
		}); err != nil {
			return err
		}
		// Back to the team it came from, routed there: the agent who escalated it gets it back
		// when they still qualify (sticky).
		sticky := ""
		if e.By != "" && memberOf(pol, e.By, e.FromTeam) {
			sticky = e.By
		}
		r, err := s.routeInto(ctx, tx, ch, ch.live, e.FromTeam, sticky, t.Team)
		if err != nil {
			return err
		}
		if t.Assignee != "" && r.agent != "" && t.Assignee != r.agent {
			t.Counters.Reassignments++
		}
		changes := map[string]escalated.Change{}
		applyRouting(pol, t, r, changes)
		ch.routedEvents(r)
		ch.updated(changes)
		return nil
	})
}

// Resolve records that the receiving team solved the issue; the ticket becomes solved.
func (s *Service) Resolve(ctx context.Context, escID, by, resolution string) (*escalated.Escalation, error) {
	if _, err := access.Authorize(ctx, access.HandleEscalation); err != nil {
		return nil, err
	}
	fe := escalated.FieldErrors{}
	resolution = trim(resolution)
	checkText(fe, "resolution", resolution, true, MaxNote)
	if err := fe.Err(); err != nil {
		return nil, err
	}
	by, err := actingAs(ctx, "by", trim(by))
	if err != nil {
		return nil, err
	}
	return s.transition(ctx, escID, by, escalated.EscalationResolved, func(tx store.Tx, ch *change, t *escalated.Ticket, e *escalated.Escalation) error {
		if err := s.closeEscalation(ctx, tx, ch, t, e, escalated.EscalationResolved, by, func(e *escalated.Escalation) {
			e.Resolution = resolution
		}); err != nil {
			return err
		}
		changes := map[string]escalated.Change{}
		setStatus(t, escalated.StatusSolved, changes)
		ch.updated(changes)
		return nil
	})
}

// transition runs one state change of an escalation and its ticket in one transaction, after
// checking the role, the agent and that the state machine allows it.
func (s *Service) transition(ctx context.Context, escID, by string, to escalated.EscalationState,
	apply func(store.Tx, *change, *escalated.Ticket, *escalated.Escalation) error) (*escalated.Escalation, error) {
	p, err := access.Authorize(ctx, access.HandleEscalation)
	if err != nil {
		return nil, err
	}
	live, err := s.policy()
	if err != nil {
		return nil, err
	}
	if by, err = actingAs(ctx, "by", trim(by)); err != nil {
		return nil, err
	}
	fe := escalated.FieldErrors{}
	checkAgent(fe, live.Policy, "by", by)
	if err := fe.Err(); err != nil {
		return nil, err
	}
	var out *escalated.Escalation
	err = s.store.Update(ctx, func(tx store.Tx) error {
		e, err := s.handleEscalation(ctx, tx, escID)
		if err != nil {
			return err
		}
		if !escalated.CanTransition(e.State, to) {
			return escalated.Errorf(escalated.ECONFLICT, "escalation %s is %s; it cannot become %s (allowed from %s: %s)",
				e.ID, e.State, to, e.State, allowedNext(e.State))
		}
		if by != "" && !memberOf(live.Policy, by, e.ToTeam) {
			return escalated.Invalid("by", fmt.Sprintf("agent %q is not a member of team %q, which received the escalation", by, e.ToTeam))
		}
		t, err := s.getTicket(ctx, tx, e.TicketID)
		if err != nil {
			return err
		}
		ch := newChange(t, p.Actor(), escalated.Truncate(s.now()))
		ch.live = live
		prevVersion := e.Version
		if to == escalated.EscalationAcknowledged {
			e.State = to
			e.Version++
		}
		if err := apply(tx, ch, t, e); err != nil {
			return err
		}
		if to == escalated.EscalationAcknowledged {
			ch.wroteEscalation(e.ID)
			if err := tx.UpdateEscalation(ctx, e); err != nil {
				return err
			}
			ch.touched(e)
		} else if e.Version == prevVersion {
			return escalated.Errorf(escalated.EINTERNAL, "escalation %s was not updated", e.ID)
		}
		if err := s.commit(ctx, tx, ch, live); err != nil {
			return err
		}
		// A rule reacting to this transition may have moved the escalation on again.
		out = ch.escs[e.ID]
		if out == nil {
			out = e
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s escalation: %w", strings.TrimSuffix(string(to), "d"), err)
	}
	return out, nil
}

// closeEscalation ends an active escalation in a final state and releases the ticket.
func (s *Service) closeEscalation(ctx context.Context, tx store.Tx, ch *change, t *escalated.Ticket, e *escalated.Escalation,
	to escalated.EscalationState, by string, set func(*escalated.Escalation)) error {
	if !escalated.CanTransition(e.State, to) {
		return escalated.Errorf(escalated.ECONFLICT, "escalation %s is %s; it cannot become %s", e.ID, e.State, to)
	}
	now := ch.now
	e.State, e.ClosedAt, e.ClosedBy = to, &now, agentOr(by, ch.actor)
	set(e)
	e.Version++
	ch.wroteEscalation(e.ID)
	if err := tx.UpdateEscalation(ctx, e); err != nil {
		return err
	}
	ch.touched(e)
	if t.ActiveEscalation == e.ID {
		t.ActiveEscalation = ""
	}
	names := closing[to]
	data := map[string]any{"escalation_id": e.ID, "by": by, "from_team": e.FromTeam, "to_team": e.ToTeam}
	switch to {
	case escalated.EscalationReturned:
		data["reason"], data["necessary"] = e.ReturnReason, e.Necessary
	case escalated.EscalationResolved:
		data["resolution"] = e.Resolution
	case escalated.EscalationEscalated:
		data["next_id"] = e.NextID
	}
	ch.event(names[0], data)
	ch.auditRec(names[1], "escalation", e.ID, map[string]any{"ticket_id": t.ID, "by": by, "state": string(to)})
	return nil
}

// closing names the history event and audit action of each final state.
var closing = map[escalated.EscalationState][2]string{
	escalated.EscalationResolved:  {escalated.EventEscalationResolved, escalated.AuditEscalationResolved},
	escalated.EscalationReturned:  {escalated.EventEscalationReturned, escalated.AuditEscalationReturned},
	escalated.EscalationEscalated: {escalated.EventEscalationEscalated, escalated.AuditEscalationEscalated},
}

func allowedNext(st escalated.EscalationState) string {
	var out []string
	for _, to := range escalated.EscalationStates {
		if escalated.CanTransition(st, to) {
			out = append(out, string(to))
		}
	}
	if len(out) == 0 {
		return "none, it is final"
	}
	return strings.Join(out, ", ")
}
