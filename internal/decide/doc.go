// Package decide is the pure decision core: given a policy, the triggering event and a
// snapshot of the ticket (policy.Env), it says which rules fire, which actions to apply and
// why, for every rule. It reads no clock, does no I/O and keeps no state, so the same input
// always gives the same decision: that is what lets explain, `policy test` and the simulator
// replay history with the production code. The ticket service applies the actions in the same
// transaction as the event.
//
// # Semantics
//
// Rules are tried in file order. For each rule, the first of these that applies is its
// outcome in the trace:
//
//	not subscribed      the event is not in the rule's `on` list
//	skipped after stop  an earlier rule fired and said `stop: true`
//	loop guard          the rule already fired in this chain of events (Input.Fired)
//	condition error     evaluating `when` failed at run time (division by zero, a field of
//	                    a missing map entry, the memory budget); the rule does not fire
//	no match            `when` was false
//	fired               `when` was true, or the rule has none
//
// Every rule that fires contributes all its actions, in order, to Decision.Actions; a later
// rule is not affected by an earlier one's actions (all conditions read the same snapshot).
//
// One triggering event escalates a ticket at most once. The escalate actions of the fired
// rules are considered in order, and the first that can apply is Decision.Escalate; each other
// one stays in Actions with Suppressed saying why:
//
//	max_per_ticket (N) reached      the ticket already has N escalations (0 = no cap)
//	a rule earlier in the file ...  another escalation already won this event
//	not possible: ...               no path leads from the ticket's team to the target, the
//	                                team has no next tier, the account has no account team,
//	                                or the ticket is already there
//
// An impossible escalation does not take the event's one escalation from a later rule that can
// escalate. Only the target is checked here; the service still refuses what the ticket's state
// does not allow (an active escalation, a note too short), and records that in the trace.
//
// Actions raise events of their own (set raises ticket.updated, escalate escalation.created).
// The service feeds those back through Decide as one cascade, passing the rules that already
// fired in Input.Fired: a rule fires at most once per cascade, so rules cannot loop.
//
// # Cost
//
// Conditions are compiled when the policy loads, and for each event type the conditions of the
// rules listening to it are also compiled together into one program that reads each field once
// (policy.Evaluator.Prepare); a decision runs that once and falls back to a rule's own program
// only when the batch cannot give its value (a condition that fails at run time). Trace reasons
// are built at load, except for condition errors, suppressed escalations and the values
// Input.Explain asks for, so a decision allocates a handful of slices, not a string per rule.
package decide
