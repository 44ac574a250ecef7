// Package policybench holds the 100-rule policy and the events PRODUCT.md's rule-evaluation bar
// is measured on: decide's Go benchmarks and `escalated bench` use the same ones.
package policybench

import (
	"fmt"
	"strings"
	"time"

	"github.com/escalated/escalated/internal/policy"
)

// Org is the organisation around the rules: PRODUCT.md's example (decide's tests share it).
const Org = `tiers:
  - {id: t1, level: 1}
  - {id: t2, level: 2}
  - {id: t3, level: 3}
teams:
  - {id: frontline, tier: t1, calendar: always}
  - {id: billing, tier: t2, calendar: always}
  - {id: integrations, tier: t2, calendar: always}
  - {id: engineering, tier: t3, calendar: always}
  - {id: enterprise-desk, tier: t2, calendar: always, kind: account_team, accounts: [acme]}
calendars:
  - {id: always, timezone: UTC, hours: {mon-sun: "00:00-24:00"}}
agents:
  - {id: ana, teams: [frontline]}
  - {id: ben, teams: [integrations]}
paths:
  - {from: frontline, to: [billing, integrations, enterprise-desk]}
  - {from: [billing, integrations], to: [engineering]}
sla:
  - id: default
    targets: {first_response: 4h, acknowledge: 1h}
signals:
  keywords:
    legal: [lawyer, legal action]
    churn: [cancel my subscription]
    vip: [ceo]
channels:
  - {id: legal-alerts, type: slack, url: "https://hooks.example.test/legal"}
  - {id: ops, type: webhook, url: "https://ops.example.test/x"}
escalation:
  max_per_ticket: 5
`

// shapes are condition shapes support leads write: customer tier, priority, keyword lists,
// sentiment and frustration, tags, counters, account attributes. Each is instantiated with a
// different constant per rule, so that a quarter of the rules match the heavy event.
var shapes = []string{
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

var words = []string{"enterprise", "legal", "churn", "vip", "fraud", "pro", "chat", "refund", "api", "email"}

// Rules100 is the rules section of 100 rules on message.added (a tenth also on
// ticket.created), with escalations, sets, tags and notifications.
func Rules100() string {
	var b strings.Builder
	for i := range 100 {
		shape := shapes[i%len(shapes)]
		var cond string
		if strings.Contains(shape, "%d") {
			cond = fmt.Sprintf(shape, 1+i%9)
		} else {
			cond = fmt.Sprintf(shape, words[(i/len(shapes))%len(words)])
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

// Policy parses the organisation with rules (Rules100 for the benchmark's policy).
func Policy(rules string) (*policy.Policy, error) {
	return policy.Parse("bench.yaml", []byte(Org+"rules:\n"+rules))
}

// Now is the benchmark events' time.
var Now = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

// HeavyEnv is an angry customer message on a pro account's frontline ticket, with its signals
// precomputed as the ticket service passes them: it mentions a lawyer, its sentiment is -0.7,
// and a quarter of the hundred rules fire (25 rules, 50 actions, 12 escalations to weigh).
func HeavyEnv() policy.Env {
	return policy.Env{
		Ticket: policy.TicketEnv{
			ID: "tkt_1", Subject: "Refund", Status: "open", Priority: "normal", Channel: "email",
			IssueType: "refund", Tags: []string{"billing"}, Language: "en", Team: "frontline", Tier: "t1",
			TierLevel: 1, CustomFields: map[string]any{"plan": "gold"}, Messages: 3, CreatedAt: Now.Add(-2 * time.Hour),
			AgeMinutes: 120,
		},
		Account:  policy.AccountEnv{ID: "globex", Name: "Globex", Tier: "pro", Attributes: map[string]any{"arr": 50000}},
		Customer: policy.CustomerEnv{ID: "c1", Name: "Kim", Email: "kim@example.test"},
		Message: policy.MessageEnv{ID: "msg_1", Author: "customer", Body: "My lawyer will hear of this",
			Keywords: []string{"legal"}, Sentiment: -0.7},
		Signals: policy.SignalsEnv{Sentiment: -0.7, Trend: []float64{-0.2, -0.7}, Keywords: []string{"legal"}, Frustration: 0.6},
		Event:   policy.EventEnv{Type: "message.added", Actor: "token:web"},
		Now:     Now,
	}
}

// TypicalEnv is an ordinary follow-up on the same ticket ("any news on my refund?"): no
// keyword list hit, mildly negative, so that a few rules fire, as on most events.
func TypicalEnv() policy.Env {
	env := HeavyEnv()
	env.Message.Keywords, env.Message.Sentiment, env.Message.Body = nil, -0.15, "Any news on my refund?"
	env.Signals = policy.SignalsEnv{Sentiment: -0.15, Trend: []float64{0.1, -0.15}, Frustration: 0.2}
	env.Account.Attributes = map[string]any{"arr": 4000}
	return env
}
