package decide

import (
	"strconv"
	"sync"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/policy"
)

// Action kinds, as in the policy file.
const (
	ActionEscalate  = policy.ActionEscalate
	ActionSet       = policy.ActionSet
	ActionTag       = policy.ActionTag
	ActionUntag     = policy.ActionUntag
	ActionAssign    = policy.ActionAssign
	ActionNotify    = policy.ActionNotify
	ActionRecommend = policy.ActionRecommend
)

// Outcomes of one rule on one event, as RuleTrace.Outcome says them.
const (
	OutcomeFired          = "fired"
	OutcomeNoMatch        = "no match"
	OutcomeNotSubscribed  = "not subscribed"
	OutcomeConditionError = "condition error"
	OutcomeSkippedAfter   = "skipped after stop"
	OutcomeLoopGuard      = "loop guard"
)

// Input is everything a decision depends on; Decide reads nothing else.
type Input struct {
	Policy *policy.Policy
	// Event is the type of the triggering event (one of policy.EventTypes).
	Event string
	// Env is what conditions read: the ticket snapshot, the message, signals, and Now.
	Env policy.Env
	// Fired are the rules that already fired in the chain of events this one belongs to: a
	// rule never fires twice in one cascade, so actions that raise events cannot loop.
	Fired map[string]bool
	// Escalations is how many escalations the ticket already has, for max_per_ticket.
	Escalations int
	// Explain asks for reasons that quote the values a false condition read, like
	// (account.tier = "pro"). It costs allocations, so the ingest path leaves it off; explain,
	// `policy test` and evaluate turn it on.
	Explain bool
}

// Decision is what the policy says about one event.
type Decision struct {
	// Actions are the actions of the rules that fired, in rule file order and then action
	// order, suppressed escalations included (with Suppressed saying why).
	Actions []Action
	// Trace has one entry per rule of the policy, in file order.
	Trace []RuleTrace
	// Escalate is the one escalation to apply (an element of Actions), or nil.
	Escalate *Action
}

// Action is one action a fired rule asks for. Only the fields of its Kind are set. Set and
// Tags belong to the policy, which is shared between goroutines: read them, never modify them.
type Action struct {
	Rule string
	Kind string // ActionEscalate, ActionSet, ...

	To, Reason, Note string // escalate: To is a team id, "next_tier" or "account_team"
	// Set maps "priority", "status", "issue_type" and "custom_fields.<key>" to new values.
	Set           map[string]any
	Tags          []string // tag, untag
	Agent         string   // assign
	Channel, Text string   // notify (Text is the message, possibly empty); recommend (Text)

	// Suppressed is non-empty when the action must not be applied, and says why.
	Suppressed string
}

// RuleTrace is one rule's outcome on the event, for explain.
type RuleTrace struct {
	Rule    string
	Line    int // where the rule starts in the policy file
	Outcome string
	// Reason says why in plain words: the condition and its value, the events the rule
	// listens to, the rule that stopped the decision...
	Reason string
	// Actions are indexes into Decision.Actions of the actions this rule contributed.
	Actions []int
}

// Fired returns the ids of the rules that fired, in file order; the caller adds them to
// Input.Fired for the next event of the same cascade.
func (d *Decision) Fired() []string {
	var ids []string
	for _, t := range d.Trace {
		if t.Outcome == OutcomeFired {
			ids = append(ids, t.Rule)
		}
	}
	return ids
}

// Reasons that do not depend on the input are constants, so a decision formats text only for
// what actually happened (a condition error, a suppressed escalation).
const (
	reasonLoopGuard   = "already fired on an earlier event of this change; a rule fires at most once per change, which is also why rules cannot loop"
	reasonNoCondition = "no condition: matches every event it listens to"
)

// evaluators keeps condition evaluators between decisions: an evaluator holds the expression
// VM's stack and buffers, which grow to what the policy needs on the first decisions and are
// then reused. A cache, not state: a decision's result never depends on which one it gets.
var evaluators = sync.Pool{New: func() any { return new(policy.Evaluator) }}

// Decide applies the policy to one event. It is pure: the same input gives the same decision,
// it reads no clock and does no I/O, and a condition that fails at run time is reported in the
// trace rather than panicking. See the package documentation for the semantics.
func Decide(in Input) Decision {
	pol := in.Policy
	if pol == nil || len(pol.Rules) == 0 {
		return Decision{}
	}
	d := Decision{Trace: make([]RuleTrace, len(pol.Rules))}
	ev := evaluators.Get().(*policy.Evaluator)
	defer func() {
		ev.Clear()
		evaluators.Put(ev)
	}()
	ev.Reset(&in.Env)
	ev.Prepare(pol, in.Event)
	var stopper *policy.Rule
	nActions := 0
	for i := range pol.Rules {
		r := &pol.Rules[i]
		tr := &d.Trace[i]
		tr.Rule, tr.Line = r.ID, r.Line
		switch {
		case !r.Listens(in.Event):
			tr.Outcome, tr.Reason = OutcomeNotSubscribed, r.DescribeOn()
			continue
		case stopper != nil:
			tr.Outcome, tr.Reason = OutcomeSkippedAfter, stopper.DescribeStop()
			continue
		case in.Fired[r.ID]:
			tr.Outcome, tr.Reason = OutcomeLoopGuard, reasonLoopGuard
			continue
		}
		if r.When == nil {
			tr.Outcome, tr.Reason = OutcomeFired, reasonNoCondition
		} else {
			ok, err := ev.Match(pol, i)
			switch {
			case err != nil:
				tr.Outcome, tr.Reason = OutcomeConditionError, "condition error: "+err.Error()
				continue
			case !ok:
				tr.Outcome, tr.Reason = OutcomeNoMatch, r.When.Describe(false)
				if in.Explain {
					if vals := r.When.Explain(ev); vals != "" {
						tr.Reason += " (" + vals + ")"
					}
				}
				continue
			}
			tr.Outcome, tr.Reason = OutcomeFired, r.When.Describe(true)
		}
		nActions += len(r.Do)
		if r.Stop {
			stopper = r
		}
	}
	if nActions == 0 {
		return d
	}

	// Second pass: the actions of the rules that fired, in one allocation, with the trace's
	// indexes slicing one shared array.
	d.Actions = make([]Action, 0, nActions)
	idx := make([]int, nActions)
	var sup suppression
	for i := range pol.Rules {
		tr := &d.Trace[i]
		if tr.Outcome != OutcomeFired {
			continue
		}
		r := &pol.Rules[i]
		start := len(d.Actions)
		for _, a := range r.Do {
			idx[len(d.Actions)] = len(d.Actions)
			out := Action{Rule: r.ID, Kind: a.Kind}
			switch a.Kind {
			case ActionEscalate:
				out.To, out.Reason, out.Note = a.To, string(a.Reason), a.Note
				out.Suppressed = sup.why(&in, &a, r.ID, len(d.Actions))
			case ActionSet:
				out.Set = a.Set
			case ActionTag, ActionUntag:
				out.Tags = a.Tags
			case ActionAssign:
				out.Agent = a.Agent
			case ActionNotify:
				out.Channel, out.Text = a.Channel, a.Text
			case ActionRecommend:
				out.Text = a.Text
			}
			d.Actions = append(d.Actions, out)
		}
		tr.Actions = idx[start:len(d.Actions):len(d.Actions)]
	}
	if sup.seen && sup.winner >= 0 {
		d.Escalate = &d.Actions[sup.winner]
	}
	return d
}

// suppression decides which escalation of a decision applies; the reasons it gives the
// others are formatted once per decision, not once per suppressed action.
type suppression struct {
	seen   bool
	winner int    // index in Actions of the escalation that applies, or -1
	taken  string // reason for escalations after the winner
	capped string // reason for every escalation when max_per_ticket is reached
}

// why says why the escalation a (of rule, at index i of Actions) must not be applied, or ""
// when it is the one. The cap comes first: when max_per_ticket is reached no rule escalates,
// whatever the order. An escalation that cannot happen from where the ticket is (no path, no
// next tier, no account team, already there) does not take the event's one escalation from a
// later rule that can.
func (s *suppression) why(in *Input, a *policy.Action, rule string, i int) string {
	if !s.seen {
		s.seen, s.winner = true, -1
		if limit := in.Policy.Escalation.MaxPerTicket; limit > 0 && in.Escalations >= limit {
			s.capped = "max_per_ticket (" + strconv.Itoa(limit) + ") reached"
		}
	}
	switch {
	case s.capped != "":
		return s.capped
	case s.winner >= 0:
		return s.taken
	}
	if why := impossible(in.Policy, &in.Env, a.To); why != "" {
		return why
	}
	s.winner, s.taken = i, "a rule earlier in the file already escalates on this event: "+rule
	return ""
}

// impossible says why an escalation to target cannot be made from the ticket's current team,
// or "" when it can. With no current team in the snapshot the target is not checked.
func impossible(pol *policy.Policy, env *policy.Env, target string) string {
	from, account := env.Ticket.Team, env.Account.ID
	if from == "" {
		return ""
	}
	switch target {
	case escalated.TargetNextTier:
		if len(pol.NextTier(from)) == 0 {
			return "not possible: no path leads from team " + strconv.Quote(from) + " to a higher tier"
		}
	case escalated.TargetAccountTeam:
		to, ok := pol.AccountTeamFor(account)
		switch {
		case !ok:
			return "not possible: no account team serves account " + strconv.Quote(account)
		case to == from:
			return "not possible: the ticket is already with its account team " + strconv.Quote(to)
		}
	default:
		switch {
		case target == from:
			return "not possible: the ticket is already in team " + strconv.Quote(target)
		case !pol.Allowed(from, target, account):
			return "not possible: no path leads from team " + strconv.Quote(from) + " to " + strconv.Quote(target)
		}
	}
	return ""
}
