package ticket

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/route"
	"github.com/escalated/escalated/internal/store"
)

// Routing inside the ticket service. internal/route decides, purely; this file gathers what it
// decides on and applies the decision in the change that moved the ticket:
//
//   - When: a ticket enters a team: created (unless the request names an assignee), escalated
//     (the escalation's target team), returned (the team it came from).
//   - Facts: the team from the policy with its calendar open or not at the change's instant,
//     its members in policy order with their live status and capacity (store.AgentState over
//     the policy's) and their open tickets, the ticket's issue type, tags and language, the
//     sticky agent (the escalating agent on a return; otherwise the agent who last worked the
//     ticket in that team, from its history) and the team's last assigned agent.
//   - Outcomes: assigned (the ticket's assignee), queued (unassigned, in the team's queue) or
//     overflow: the ticket moves to the team's fallback and is routed once more there, with the
//     fallback's own fallback ignored, so routing never loops.
//   - Every decision is a ticket.routed history event: {team, outcome, agent, reason, passed}
//     (and fallback on overflow), so history says who got the ticket and why the others did not.

// EventTicketRouted records one routing decision in a ticket's history.
const EventTicketRouted = "ticket.routed"

// AuditAgentUpdated is the audit action of a change to an agent's status or capacity.
const AuditAgentUpdated = "agent.updated"

// routeStep is one routing decision: the team the ticket entered and what routing made of it.
type routeStep struct {
	team string
	d    route.Decision
}

// routing is where routing left a ticket: its team, its agent ("" when queued), and the steps
// that led there, in order.
type routing struct {
	team, agent string
	steps       []routeStep
}

// routeInto routes ch's ticket as it enters team. sticky, when not "", is the agent who gets the
// ticket back in that team if they qualify; otherwise the agent who last worked it there does.
// leaving is the team the ticket moves away from ("" for a new ticket): an overflow never sends
// it back there, it queues instead. Nothing on the ticket changes here: the caller applies the
// result (applyRouting) where its operation records the move, and the events follow with
// routedEvents.
func (s *Service) routeInto(ctx context.Context, tx store.Tx, ch *change, live *Live, team, sticky, leaving string) (*routing, error) {
	r := &routing{team: team}
	var history []*escalated.Event
	historyRead := false
	for hop := 0; hop < 2; hop++ {
		req, err := routeRequest(ctx, tx, ch, live, r.team)
		if err != nil {
			return nil, err
		}
		if hop > 0 || req.Team.Fallback == leaving {
			// Routed once more in the fallback team, whose own fallback is not followed; and
			// never back to the team the ticket is leaving.
			req.Team.Fallback = ""
		}
		if hop == 0 && sticky != "" {
			req.Sticky = sticky
		} else {
			if !historyRead && ch.stored() {
				if history, err = tx.ListWorkEvents(ctx, ch.t.ID, workTypes); err != nil {
					return nil, err
				}
				historyRead = true
			}
			req.Sticky = lastWorked(append(slices.Clip(history), ch.events[ch.eventsOut:]...), r.team)
		}
		d := route.Pick(req)
		r.steps = append(r.steps, routeStep{team: r.team, d: d})
		switch d.Outcome {
		case route.Assigned:
			r.agent = d.Agent
			if err := tx.SetLastAssigned(ctx, r.team, d.Agent, ch.now); err != nil {
				return nil, err
			}
			return r, nil
		case route.Overflow:
			r.team = d.Fallback
		default:
			return r, nil
		}
	}
	return r, nil
}

// stored reports whether the change's ticket has a row (and history) in the store: false only
// for a ticket this change creates, before its first write.
func (c *change) stored() bool { return !c.created || c.inserted }

// routeRequest gathers what routing decides on for ch's ticket entering team.
func routeRequest(ctx context.Context, tx store.Tx, ch *change, live *Live, team string) (route.Request, error) {
	pol, t := live.Policy, ch.t
	tm, ok := pol.Team(team)
	if !ok {
		return route.Request{}, escalated.Errorf(escalated.EINTERNAL, "routing into unknown team %q", team)
	}
	req := route.Request{
		Team: route.Team{ID: tm.ID, Method: tm.Routing, Skills: tm.Skills, Fallback: tm.Fallback,
			Open: live.calendar(team).Open(ch.now)},
		IssueType: t.IssueType, Tags: t.Tags, Language: t.Language,
	}
	var members []*policy.Agent
	var ids []string
	for i := range pol.Agents {
		if a := &pol.Agents[i]; slices.Contains(a.Teams, team) {
			members = append(members, a)
			ids = append(ids, a.ID)
		}
	}
	last, err := tx.LastAssigned(ctx, team)
	if err != nil {
		return req, err
	}
	req.LastAssigned = last
	if len(ids) == 0 {
		return req, nil
	}
	states, err := tx.AgentStates(ctx, ids...)
	if err != nil {
		return req, err
	}
	open, err := tx.OpenCounts(ctx, ids...)
	if err != nil {
		return req, err
	}
	for _, a := range members {
		st := effectiveState(a, states[a.ID])
		n := open[a.ID]
		// The ticket being routed does not weigh on the agent it is leaving. This assumes the
		// stored row agrees with t on the assignee and on whether it is open: a change that
		// leaves its row for the write after the reaction (rowAfterReact: breach firings,
		// messages that do not reopen) must not have moved either. OpenCounts is the one read
		// of ticket rows inside a reaction; a new one must keep to the same rule.
		if ch.stored() && t.Assignee == a.ID && !t.Status.Done() && n > 0 {
			n--
		}
		req.Members = append(req.Members, route.Agent{ID: a.ID, Skills: a.Skills, Languages: a.Languages,
			Capacity: st.Capacity, Status: st.Status, Open: n})
	}
	return req, nil
}

// effectiveState is an agent's status and capacity as routing sees them: the stored state's
// values where it sets them, else the policy's.
func effectiveState(a *policy.Agent, st *store.AgentState) store.AgentState {
	out := store.AgentState{AgentID: a.ID, Status: a.Status, Capacity: a.Capacity}
	if out.Status == "" {
		out.Status = policy.StatusOnline
	}
	if st != nil {
		if st.Status != "" {
			out.Status = st.Status
		}
		if st.Capacity > 0 {
			out.Capacity = st.Capacity
		}
		out.UpdatedAt = st.UpdatedAt
	}
	return out
}

// applyRouting puts ch's ticket where routing left it: team (and tier) and assignee, noting in
// changes what moved. An assignee routing replaces is not counted as a reassignment: the ticket
// changed teams, not hands within one.
func applyRouting(pol *policy.Policy, t *escalated.Ticket, r *routing, changes map[string]escalated.Change) {
	if r.team != t.Team {
		record(changes, "team", t.Team, r.team)
		tier, _ := pol.TierOfTeam(r.team)
		record(changes, "tier", t.Tier, tier.ID)
		t.Team, t.Tier = r.team, tier.ID
	}
	if r.agent != t.Assignee {
		record(changes, "assignee", nullable(t.Assignee), nullable(r.agent))
		t.Assignee = r.agent
	}
}

// routedEvents records each routing decision as a ticket.routed event.
func (c *change) routedEvents(r *routing) {
	for _, st := range r.steps {
		passed := make([]any, len(st.d.Passed))
		for i, p := range st.d.Passed {
			passed[i] = map[string]any{"agent": p.Agent, "reason": p.Reason}
		}
		data := map[string]any{"team": st.team, "outcome": st.d.Outcome, "agent": nullable(st.d.Agent),
			"reason": st.d.Reason, "passed": passed}
		if st.d.Fallback != "" {
			data["fallback"] = st.d.Fallback
		}
		c.event(EventTicketRouted, data)
	}
}

// workTypes are the event types lastWorked reads beside agents' messages: routing reads only
// these of a ticket's history (store.History.ListWorkEvents), in the store's one writer, instead
// of every message of a long conversation with its body and signals.
// TestLastWorkedReadsOnlyWorkEvents keeps the two in step.
var workTypes = []string{escalated.EventTicketCreated, EventTicketRouted, escalated.EventEscalationCreated,
	escalated.EventEscalationAcknowledged, escalated.EventTicketUpdated}

// lastWorked returns the agent who last worked the ticket in team according to its history (in
// Seq order): the agent last assigned there (by routing, a person or a rule), or who last wrote
// on the ticket, acknowledged it or escalated it from there. "" when nobody has.
func lastWorked(events []*escalated.Event, team string) string {
	cur, last := "", ""
	note := func(agent string) {
		if agent != "" && cur == team {
			last = agent
		}
	}
	for _, e := range events {
		switch e.Type {
		case escalated.EventTicketCreated:
			cur = str(e.Data["team"])
		case EventTicketRouted:
			cur = str(e.Data["team"])
			switch str(e.Data["outcome"]) {
			case route.Assigned:
				note(str(e.Data["agent"]))
			case route.Overflow:
				cur = str(e.Data["fallback"])
			}
		case escalated.EventEscalationCreated:
			note(str(e.Data["by"]))
			cur = str(e.Data["to_team"])
		case escalated.EventEscalationAcknowledged:
			note(str(e.Data["by"]))
		case escalated.EventTicketUpdated:
			if to, ok := changedTo(e.Data, "team"); ok {
				cur = str(to)
			}
			if to, ok := changedTo(e.Data, "assignee"); ok {
				note(str(to))
			}
		case escalated.EventMessageAdded:
			if m := e.Message; m != nil && m.Author.Kind == escalated.AuthorAgent {
				note(m.Author.ID)
			}
		}
	}
	return last
}

// changedTo reads the new value of key from a ticket.updated event's data, whether the event
// was just recorded (escalated.Change values) or read back from the store (JSON objects).
func changedTo(data map[string]any, key string) (any, bool) {
	switch cs := data["changes"].(type) {
	case map[string]escalated.Change:
		c, ok := cs[key]
		return c.To, ok
	case map[string]any:
		c, ok := cs[key].(map[string]any)
		if !ok {
			return nil, false
		}
		return c["to"], true
	}
	return nil, false
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// moves lists a ticket's changes of team for the ping-pong guard: each escalation's move up, and
// the move back of each one returned.
func moves(escs []*escalated.Escalation) []route.Move {
	var out []route.Move
	for _, e := range escs {
		out = append(out, route.Move{From: e.FromTeam, To: e.ToTeam, At: e.CreatedAt})
		if e.State == escalated.EscalationReturned && e.ClosedAt != nil {
			out = append(out, route.Move{From: e.ToTeam, To: e.FromTeam, At: *e.ClosedAt, Return: true})
		}
	}
	return out
}

// Agent is a policy agent as the API shows it now: the policy's facts with the live status and
// capacity, and how many open tickets they hold.
type Agent struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Teams     []string `json:"teams"`
	Skills    []string `json:"skills"`
	Languages []string `json:"languages"`
	Status    string   `json:"status"`
	Capacity  int      `json:"capacity"`
	// Open counts the tickets assigned to the agent that are not solved or closed.
	Open int `json:"open"`
	// PolicyStatus and PolicyCapacity are what the policy says, which the live values override.
	PolicyStatus   string  `json:"policy_status"`
	PolicyCapacity int     `json:"policy_capacity"`
	UpdatedAt      *string `json:"updated_at"`
}

// ListAgents returns every agent of the policy as they are now, in policy order.
func (s *Service) ListAgents(ctx context.Context) ([]Agent, error) {
	if _, err := access.Authorize(ctx, access.ReadTickets); err != nil {
		return nil, err
	}
	live, err := s.policy()
	if err != nil {
		return nil, err
	}
	pol := live.Policy
	ids := make([]string, len(pol.Agents))
	for i, a := range pol.Agents {
		ids[i] = a.ID
	}
	var out []Agent
	err = s.store.View(ctx, func(tx store.Tx) error {
		states, err := tx.AgentStates(ctx, ids...)
		if err != nil {
			return err
		}
		open, err := tx.OpenCounts(ctx, ids...)
		if err != nil {
			return err
		}
		out = make([]Agent, len(pol.Agents))
		for i := range pol.Agents {
			out[i] = agentView(&pol.Agents[i], states[pol.Agents[i].ID], open[pol.Agents[i].ID])
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	return out, nil
}

func agentView(a *policy.Agent, st *store.AgentState, open int) Agent {
	eff := effectiveState(a, st)
	v := Agent{ID: a.ID, Name: a.Name, Teams: nonNil(a.Teams), Skills: nonNil(a.Skills), Languages: nonNil(a.Languages),
		Status: eff.Status, Capacity: eff.Capacity, Open: open, PolicyStatus: a.Status, PolicyCapacity: a.Capacity}
	if v.PolicyStatus == "" {
		v.PolicyStatus = policy.StatusOnline
	}
	if st != nil {
		at := escalated.FormatTime(st.UpdatedAt)
		v.UpdatedAt = &at
	}
	return v
}

// AgentPatch changes an agent's live state. Nil fields stay as they are.
type AgentPatch struct {
	// Status is online, away or offline; "" goes back to the policy's starting status.
	Status *string
	// Capacity is the open tickets the agent takes at most; 0 goes back to the policy's.
	Capacity *int
}

// MaxAgentCapacity bounds a capacity override; nobody works a thousand tickets at once.
const MaxAgentCapacity = 1000

// PatchAgent changes an agent's status or capacity and returns the agent as they now are. An
// agent may change only their own (the agent signed in, or the one their token acts for); an
// admin or supervisor anyone's. The audit record keeps who did.
func (s *Service) PatchAgent(ctx context.Context, id string, p AgentPatch) (*Agent, error) {
	pr, err := access.Authorize(ctx, access.ManageAgents)
	if err != nil {
		return nil, err
	}
	live, err := s.policy()
	if err != nil {
		return nil, err
	}
	a, ok := live.Policy.Agent(id)
	if !ok {
		return nil, escalated.Errorf(escalated.ENOTFOUND, "agent %s not found (agents are defined in the policy's agents section)", id)
	}
	if pr.Role == escalated.RoleAgent && pr.Person() != id {
		who := pr.Person()
		if who == "" {
			who = "no agent (token " + pr.Name + " was made without --agent)"
		}
		return nil, escalated.Errorf(escalated.EFORBIDDEN, "an agent may change only their own status and capacity: this principal acts for %s, not %s", who, id)
	}
	fe := escalated.FieldErrors{}
	if p.Status == nil && p.Capacity == nil {
		fe.Add("status", "send status, capacity or both")
	}
	if p.Status != nil {
		*p.Status = strings.ToLower(trim(*p.Status))
		if *p.Status != "" && !slices.Contains([]string{policy.StatusOnline, policy.StatusAway, policy.StatusOffline}, *p.Status) {
			fe.Add("status", "must be online, away or offline (or \"\" for the policy's starting status)")
		}
	}
	if p.Capacity != nil && (*p.Capacity < 0 || *p.Capacity > MaxAgentCapacity) {
		fe.Add("capacity", fmt.Sprintf("must be a whole number from 1 to %d (or 0 for the policy's capacity)", MaxAgentCapacity))
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	var out Agent
	err = s.store.Update(ctx, func(tx store.Tx) error {
		now := escalated.Truncate(s.now())
		states, err := tx.AgentStates(ctx, id)
		if err != nil {
			return err
		}
		next := store.AgentState{AgentID: id}
		if old := states[id]; old != nil {
			next.Status, next.Capacity = old.Status, old.Capacity
		}
		before := effectiveState(a, states[id])
		if p.Status != nil {
			next.Status = *p.Status
		}
		if p.Capacity != nil {
			next.Capacity = *p.Capacity
		}
		next.UpdatedAt = now
		if err := tx.PutAgentState(ctx, &next); err != nil {
			return err
		}
		after := effectiveState(a, &next)
		if err := tx.AppendAudit(ctx, &escalated.AuditRecord{
			ID: escalated.NewID(escalated.PrefixAudit, now), Actor: pr.Actor(), Action: AuditAgentUpdated,
			ObjectKind: "agent", ObjectID: id, CreatedAt: now,
			Details: map[string]any{
				"status":   map[string]any{"from": before.Status, "to": after.Status},
				"capacity": map[string]any{"from": before.Capacity, "to": after.Capacity},
			},
		}); err != nil {
			return err
		}
		open, err := tx.OpenCounts(ctx, id)
		if err != nil {
			return err
		}
		out = agentView(a, &next, open[id])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("patch agent: %w", err)
	}
	return &out, nil
}

// QueueItem is one ticket in a team's queue.
type QueueItem struct {
	ID        string             `json:"id"`
	Subject   string             `json:"subject"`
	Status    escalated.Status   `json:"status"`
	Priority  escalated.Priority `json:"priority"`
	IssueType string             `json:"issue_type"`
	Language  string             `json:"language"`
	Assignee  *string            `json:"assignee"`
	// Unassigned flags a ticket nobody has picked up yet.
	Unassigned       bool   `json:"unassigned"`
	ActiveEscalation string `json:"active_escalation"`
	CreatedAt        string `json:"created_at"`
	// Age is how long the ticket has existed, in seconds.
	AgeSeconds float64 `json:"age_seconds"`
	// SLA is the clock that falls due first among those counting, null when none counts.
	SLA *escalated.ClockStatus `json:"sla"`
	// CustomerTier is the account's tier as the ticket's SLA plan saw it ("" without one).
	CustomerTier string `json:"customer_tier"`
	// EscalationState is the state of the escalation holding the ticket (pending or
	// acknowledged), "" when none does.
	EscalationState escalated.EscalationState `json:"escalation_state"`
	// Returned says the ticket's latest escalation was sent back to this team.
	Returned bool `json:"returned"`
	// Frustration is the customer's frustration score (0..1) from the ticket's signals.
	Frustration float64 `json:"frustration"`
}

// Queue returns a page of a team's open tickets (not solved or closed), oldest first, each with
// its assignee, priority and the SLA clock due first.
func (s *Service) Queue(ctx context.Context, f store.QueueFilter) ([]QueueItem, string, error) {
	if _, err := access.Authorize(ctx, access.ReadTickets); err != nil {
		return nil, "", err
	}
	live, err := s.policy()
	if err != nil {
		return nil, "", err
	}
	if _, ok := live.Policy.Team(f.Team); !ok {
		return nil, "", escalated.Errorf(escalated.ENOTFOUND, "team %s not found (known teams: %s)", f.Team, teamIDs(live.Policy))
	}
	if _, err := s.scope(ctx).team("team", f.Team); err != nil {
		return nil, "", err
	}
	f.Limit = store.ClampLimit(f.Limit)
	var tks []*escalated.Ticket
	var next string
	states := map[string]escalated.EscalationState{}
	returned := map[string]bool{}
	err = s.store.View(ctx, func(tx store.Tx) error {
		var err error
		if tks, next, err = tx.ListQueue(ctx, f); err != nil {
			return err
		}
		// The badges: the holding escalation's state, or whether the latest one came back.
		for _, t := range tks {
			switch {
			case t.ActiveEscalation != "":
				e, err := tx.GetEscalation(ctx, t.ActiveEscalation)
				if err != nil {
					return err
				}
				states[t.ID] = e.State
			case t.Counters.Escalations > 0:
				// Newest first: the latest escalation only.
				es, _, err := tx.ListEscalations(ctx, store.EscalationFilter{TicketID: t.ID, Limit: 1})
				if err != nil {
					return err
				}
				returned[t.ID] = len(es) > 0 && es[0].State == escalated.EscalationReturned
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	out := make([]QueueItem, len(tks))
	for i, t := range tks {
		q := QueueItem{ID: t.ID, Subject: t.Subject, Status: t.Status, Priority: t.Priority, IssueType: t.IssueType,
			Language: t.Language, Unassigned: t.Assignee == "", ActiveEscalation: t.ActiveEscalation,
			CreatedAt: escalated.FormatTime(t.CreatedAt), AgeSeconds: now.Sub(t.CreatedAt).Round(time.Second).Seconds()}
		if t.Assignee != "" {
			a := t.Assignee
			q.Assignee = &a
		}
		q.SLA = dueFirst(clockStatuses(live, t, now))
		q.CustomerTier, q.EscalationState, q.Returned, q.Frustration = t.SLA.Tier, states[t.ID], returned[t.ID], t.Signals.Frustration
		out[i] = q
	}
	return out, next, nil
}

// dueFirst returns the clock with the earliest due time among those that have one and have not
// stopped, or nil.
func dueFirst(cs []escalated.ClockStatus) *escalated.ClockStatus {
	var best *escalated.ClockStatus
	for i := range cs {
		c := &cs[i]
		if c.DueAt == nil || c.StoppedAt != nil {
			continue
		}
		// Due times share one format (UTC, milliseconds), so they order as strings.
		if best == nil || *c.DueAt < *best.DueAt {
			best = c
		}
	}
	if best == nil {
		return nil
	}
	v := *best
	return &v
}
