package decide

import (
	"fmt"
	"github.com/escalated/escalated/internal/policy"
	"strings"
	"testing"
)

// benchRules are condition shapes support leads write: customer tier, priority, keyword lists,
// sentiment and frustration, tags, counters, account attributes. Each is instantiated with a
// different constant per rule, so that a realistic few of the hundred rules match.
var benchRules = []string{
	`account.tier == "%s" && ticket.priority == "urgent"`,
	`message.author == "customer" && "%s" in message.keywords`,
	`message.sentiment < -0.%d && signals.frustration > 0.5`,
	`ticket.priority in ["high", "urgent"] && ticket.tier_level == %d`,
	`"%s" in ticket.tags || ticket.reopens >= 3`,
	`account.attributes.arr > %d000 && account.tier != "free"`,
	`any(signals.trend, # < -0.%d)`,
	`ticket.customer_contacts > %d && message.author == "customer"`,
	`signals.wants_human && ticket.channel == "%s"`,
	`ticket.issue_type == "%s" && ticket.age_minutes > 30`,
}

var benchWords = []string{"enterprise", "legal", "churn", "vip", "fraud", "pro", "chat", "refund", "api", "email"}

// benchPolicySource is a policy of 100 rules on message.added (a tenth also on
// ticket.created), with escalations, sets, tags and notifications.
func benchPolicySource() string {
	var b strings.Builder
	for i := range 100 {
		shape := benchRules[i%len(benchRules)]
		var cond string
		if strings.Contains(shape, "%d") {
			cond = fmt.Sprintf(shape, 1+i%9)
		} else {
			cond = fmt.Sprintf(shape, benchWords[(i/len(benchRules))%len(benchWords)])
		}
		on := "[message.added]"
		if i%10 == 0 {
			on = "[message.added, ticket.created]"
		}
		fmt.Fprintf(&b, "  - id: rule-%03d\n    on: %s\n    when: '%s'\n    do:\n", i, on, strings.ReplaceAll(cond, "'", "''"))
		switch i % 4 {
		case 0:
			b.WriteString("      - set: {priority: urgent}\n      - escalate: {to: next_tier, reason: dissatisfaction, note: \"Rule says so\"}\n")
		case 1:
			b.WriteString("      - tag: [flagged, review]\n      - notify: {channel: ops, message: \"Look at this\"}\n")
		case 2:
			b.WriteString("      - escalate: {to: billing, reason: priority}\n")
		case 3:
			b.WriteString("      - recommend: \"Call the customer back\"\n")
		}
	}
	return b.String()
}

func benchPolicy(tb testing.TB) *policy.Policy {
	tb.Helper()
	return mustPolicy(tb, benchPolicySource())
}

// benchInput is a customer message on a pro account's ticket with its signals precomputed, as
// the ticket service passes them.
func benchInput(pol *policy.Policy) Input {
	in := input(pol, "message.added")
	in.Fired = map[string]bool{}
	in.Escalations = 1
	return in
}

func BenchmarkDecide100Rules(b *testing.B) {
	pol := benchPolicy(b)
	in := benchInput(pol)
	d := Decide(in)
	fired := len(d.Fired())
	if fired == 0 || fired > 30 || d.Escalate == nil {
		b.Fatalf("the benchmark policy should fire a realistic few rules and escalate; fired %d", fired)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Decide(in)
	}
	b.ReportMetric(float64(fired), "rules_fired")
}

// BenchmarkDecide100RulesExplain is the same decision with the values of false conditions
// quoted, as explain and `policy test` ask for it.
func BenchmarkDecide100RulesExplain(b *testing.B) {
	pol := benchPolicy(b)
	in := benchInput(pol)
	in.Explain = true
	b.ReportAllocs()
	for b.Loop() {
		Decide(in)
	}
}

// TestDecideAllocations pins the cost of a decision: a fixed handful of allocations for the
// trace, the actions and the evaluator, plus what the expression VM needs to box field values;
// nothing per rule for the trace's reasons.
func TestDecideAllocations(t *testing.T) {
	pol := benchPolicy(t)
	in := benchInput(pol)
	allocs := testing.AllocsPerRun(100, func() { Decide(in) })
	t.Logf("%.0f allocations per decision of 100 rules", allocs)
	if allocs > 400 {
		t.Errorf("%.0f allocations per decision of 100 rules; something formats per rule", allocs)
	}
}
