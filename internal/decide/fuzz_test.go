package decide

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated/internal/policy"
)

// FuzzDecide compiles two arbitrary rule conditions into a policy (the second rule stops, both
// escalate) and decides every event type against a fixed ticket: a condition that does not
// compile must be a policy error, never a panic; one that compiles must evaluate without a
// panic (a run-time failure is a "condition error" outcome, a value) and quickly. The decision
// has one trace entry per rule with a known outcome, escalates at most once with an action it
// lists unsuppressed, is the same when decided again and, outcomes and actions, with Explain on.
func FuzzDecide(f *testing.F) {
	for _, c := range [][2]string{
		{`account.tier == "pro"`, `"legal" in message.keywords`},
		{`ticket.priority == "urgent" || signals.sentiment < -0.5`, `any(signals.trend, # < -0.5)`},
		{`ticket.custom_fields.plan == "gold"`, `account.attributes.arr > 10000`},
		{`now - ticket.created_at > duration("1h")`, `ticket.age_minutes / 0 > 1`},
		{`ticket.custom_fields.missing.deeper == 1`, `len(ticket.tags) > 0 && ticket.tags[5] == "x"`},
		{`message.body matches "(?i)lawyer"`, `count(ticket.tags, # startsWith "b") == 1`},
		{`true`, `false`}, {`1`, `"x"`}, {`ticket.nope`, `(`},
	} {
		for ev := range uint8(len(policy.EventTypes)) {
			f.Add(c[0], c[1], ev, uint8(0))
		}
		f.Add(c[0], c[1], uint8(0), uint8(5))
	}
	f.Fuzz(func(t *testing.T, cond1, cond2 string, event, escalations uint8) {
		q1, _ := json.Marshal(cond1)
		q2, _ := json.Marshal(cond2)
		rules := "  - id: first\n    on: [" + strings.Join(policy.EventTypes, ", ") + "]\n    when: " + string(q1) +
			"\n    do: [{escalate: {to: next_tier, reason: complexity}}, {tag: fuzz}]\n" +
			"  - id: second\n    on: [" + strings.Join(policy.EventTypes, ", ") + "]\n    when: " + string(q2) +
			"\n    stop: true\n    do: [{escalate: {to: account_team, reason: customer_tier}}, {notify: {channel: ops}}]\n" +
			"  - {id: third, on: [ticket.created, message.added], do: [{recommend: {text: check}}]}\n"
		pol, err := policy.Parse("fuzz.yaml", []byte(org+"rules:\n"+rules))
		if err != nil {
			if _, ok := err.(*policy.ErrorList); !ok {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		in := Input{Policy: pol, Event: policy.EventTypes[int(event)%len(policy.EventTypes)], Env: sampleEnv(), Escalations: int(escalations)}
		done := make(chan Decision, 1)
		go func() { done <- Decide(in) }()
		var d Decision
		select {
		case d = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("deciding %q / %q took more than 5s", cond1, cond2)
		}
		if len(d.Trace) != len(pol.Rules) {
			t.Fatalf("%d trace entries for %d rules", len(d.Trace), len(pol.Rules))
		}
		outcomes := []string{OutcomeFired, OutcomeNoMatch, OutcomeNotSubscribed, OutcomeConditionError, OutcomeSkippedAfter, OutcomeLoopGuard}
		for _, tr := range d.Trace {
			if !slices.Contains(outcomes, tr.Outcome) || tr.Reason == "" {
				t.Fatalf("trace %+v", tr)
			}
			if tr.Outcome != OutcomeFired && len(tr.Actions) > 0 {
				t.Fatalf("rule %s: %s with actions", tr.Rule, tr.Outcome)
			}
		}
		applied := 0
		for i := range d.Actions {
			if d.Actions[i].Kind == ActionEscalate && d.Actions[i].Suppressed == "" {
				applied++
				if d.Escalate != &d.Actions[i] {
					t.Fatalf("unsuppressed escalation %+v is not Decision.Escalate", d.Actions[i])
				}
			}
		}
		if applied > 1 || (applied == 1) != (d.Escalate != nil) {
			t.Fatalf("%d escalations applied, Escalate %+v", applied, d.Escalate)
		}
		if again := Decide(in); !reflect.DeepEqual(again, d) {
			t.Fatalf("deciding again differs:\n%+v\n%+v", again, d)
		}
		in.Explain = true
		ex := Decide(in)
		if !reflect.DeepEqual(ex.Actions, d.Actions) || len(ex.Trace) != len(d.Trace) {
			t.Fatalf("Explain changed the actions:\n%+v\n%+v", ex.Actions, d.Actions)
		}
		for i := range d.Trace {
			if ex.Trace[i].Outcome != d.Trace[i].Outcome {
				t.Fatalf("Explain changed rule %s: %s, was %s", d.Trace[i].Rule, ex.Trace[i].Outcome, d.Trace[i].Outcome)
			}
		}
	})
}
