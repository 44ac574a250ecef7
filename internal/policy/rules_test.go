package policy

import (
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// ruleBase is base with an agent, a path and a channel; its last line (13) is "rules:", so the
// first rule of a case is on line 14.
const ruleBase = base + "agents:\n  - {id: ana, teams: [a]}\npaths:\n  - {from: a, to: b}\nchannels:\n  - {id: ops, type: webhook}\nrules:\n"

// when is a policy whose only rule (line 8) has the given condition, which starts at column 41.
func when(cond string) string {
	return base + "rules:\n  - {id: r, on: [ticket.created], when: " + cond + ", do: [{tag: x}]}\n"
}

func TestRuleErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string
	}{
		// Conditions: every problem at the line and column of the mistake inside the expression.
		{"type error", when(`'ticket.reopens + "x" > 1'`), []string{
			`p.yaml:8:57: rules[0].when: type error: invalid operation: + (mismatched types int and string)`,
		}},
		{"unknown field", when(`ticket.foo == 1`), []string{
			`p.yaml:8:48: rules[0].when: unknown field ticket.foo (ticket has: id, subject, status, priority, channel, issue_type, tags, language, team, tier, tier_level, assignee, custom_fields, reopens, reassignments, customer_contacts, messages, escalations, created_at, age_minutes)`,
		}},
		{"unknown nested field", when(`'message.author == "customer" && signals.frustation > 0.5'`), []string{
			`p.yaml:8:82: rules[0].when: unknown field signals.frustation (signals has: sentiment, trend, keywords, wants_human, frustration)`,
		}},
		{"not a bool", when(`ticket.subject`), []string{
			`p.yaml:8:41: rules[0].when: the condition must be true or false, but it gives a string (compare it with something, like ticket.status == "open")`,
		}},
		{"a number", when(`'1 + 2'`), []string{
			`p.yaml:8:42: rules[0].when: the condition must be true or false, but it gives an int (compare it with something, like ticket.status == "open")`,
		}},
		{"unknown name", when(`tiket.subject == ""`), []string{
			`p.yaml:8:41: rules[0].when: unknown name "tiket" (a condition reads ticket, account, customer, message, signals, sla, escalation, handoff, event, now)`,
		}},
		{"the environment as a value", when(`'ticket.subject == "x" && $env.ticket != nil'`), []string{
			`p.yaml:8:67: rules[0].when: unknown name "$env" (a condition reads ticket, account, customer, message, signals, sla, escalation, handoff, event, now)`,
		}},
		{"a function that reads the clock", when(`'upper(ticket.subject) == "X" && now() > now'`), []string{
			`p.yaml:8:74: rules[0].when: unknown function "now" (conditions may call: all, any, none, one, filter, map, count, find, findIndex, findLast, findLastIndex, len, sum, max, min, mean, median, first, last, get, keys, values, lower, upper, trim, trimPrefix, trimSuffix, hasPrefix, hasSuffix, indexOf, lastIndexOf, abs, ceil, floor, round, int, float, string, type, duration)`,
		}},
		{"a function that can build huge values", when(`'len(repeat(ticket.subject, 1000000)) > 1'`), []string{
			`p.yaml:8:46: rules[0].when: unknown function "repeat" (conditions may call: all, any, none, one, filter, map, count, find, findIndex, findLast, findLastIndex, len, sum, max, min, mean, median, first, last, get, keys, values, lower, upper, trim, trimPrefix, trimSuffix, hasPrefix, hasSuffix, indexOf, lastIndexOf, abs, ceil, floor, round, int, float, string, type, duration)`,
		}},
		{"syntax error", when(`'ticket.reopens >'`), []string{
			`p.yaml:8:57: rules[0].when: syntax error: unexpected token EOF`,
		}},
		{"let", when(`'let x = 1; x > 0'`), []string{
			`p.yaml:8:46: rules[0].when: let is not supported in conditions; write the expression out`,
		}},
		{"nested loops", when(`'any(ticket.tags, any(ticket.tags, # == "x"))'`), []string{
			`p.yaml:8:59: rules[0].when: loops may not be nested (any inside another loop); write two conditions joined with && instead`,
		}},
		{"a pattern that is not a literal", when(`'ticket.subject matches ticket.id'`), []string{
			`p.yaml:8:72: rules[0].when: the pattern after matches must be written as a quoted string, like message.body matches "(?i)refund"`,
		}},
		{"a long range", when(`'ticket.reopens in 1..5000'`), []string{
			`p.yaml:8:61: rules[0].when: a range must be written with whole numbers at most 999 apart, like 1..5`,
		}},
		{"empty", when(`''`), []string{
			`p.yaml:8:42: rules[0].when: the condition is empty (leave ` + "`when`" + ` out for a rule that matches every event it listens to)`,
		}},
		{"the server's time zone", when(`'now.Local().Hour() > 1'`), []string{
			`p.yaml:8:46: rules[0].when: Local() depends on the server's time zone; use the time as given`,
		}},
		{"a field of a list", when(`'account.attributes.plan == 1 && ticket.tags.foo'`), []string{
			`p.yaml:8:86: rules[0].when: type error: array elements can only be selected using an integer (got string)`,
		}},
		{"a constant division by zero", when(`'ticket.reopens > 1 % 0'`), []string{
			`p.yaml:8:61: rules[0].when: the condition divides by zero`,
		}},
		{"not a scalar", when(`[a]`), []string{
			`p.yaml:8:41: rules[0].when: must be a condition, like when: account.tier == "enterprise", got a list`,
		}},
		{"too long", when(strings.Repeat("ticket.reopens > 1 && ", 100) + "true"), []string{
			`p.yaml:8:41: rules[0].when: the condition is longer than 2000 characters; split the rule in two or simplify it`,
		}},
		{"too many parts", when(strings.Repeat("1 + ", 120) + "1 > 2"), []string{
			`p.yaml:8:443: rules[0].when: the condition has more than 200 parts; split the rule in two or simplify it`,
		}},
		{"unknown and repeated events, on missing or empty", ruleBase + "  - {id: r, on: [ticket.created, ticket.create, ticket.created], do: [{tag: x}]}\n  - {id: s, on: [], do: [{tag: x}]}\n  - {id: u, do: [{tag: x}]}\n  - {id: v, on: sla.breached, do: [{tag: x}]}\n", []string{
			`p.yaml:14:34: rules[0].on[1]: unknown event "ticket.create" (allowed: ticket.created, message.added, ticket.updated, escalation.created, escalation.returned, escalation.acknowledged, escalation.resolved, handoff.received, sla.warning, sla.breached, escalation.unacknowledged)`,
			`p.yaml:14:49: rules[0].on[2]: event "ticket.created" is listed twice`,
			`p.yaml:15:17: rules[1].on: at least one event is required (allowed: ticket.created, message.added, ticket.updated, escalation.created, escalation.returned, escalation.acknowledged, escalation.resolved, handoff.received, sla.warning, sla.breached, escalation.unacknowledged)`,
			`p.yaml:16:5: rules[2]: on is required: the events the rule listens to, like on: [message.added] (allowed: ticket.created, message.added, ticket.updated, escalation.created, escalation.returned, escalation.acknowledged, escalation.resolved, handoff.received, sla.warning, sla.breached, escalation.unacknowledged)`,
		}},
		{"unknown actions and actions of the wrong shape", ruleBase + "  - id: r\n    on: [ticket.created]\n    do:\n      - escalte: {to: b}\n      - {escalate: {to: b, reason: sla}, tag: x}\n      - just-text\n      - {}\n", []string{
			`p.yaml:17:9: rules[0].do[0]: unknown action "escalte" (allowed: escalate, set, tag, untag, assign, notify, recommend)`,
			`p.yaml:18:42: rules[0].do[1]: an action has exactly one key; write "escalate" and "tag" as two entries of the list`,
			`p.yaml:19:9: rules[0].do[2]: must be an action, a mapping with one key, like escalate: {to: next_tier, reason: complexity} (actions: escalate, set, tag, untag, assign, notify, recommend), got "just-text"`,
			`p.yaml:20:9: rules[0].do[3]: must be an action, a mapping with one key, like escalate: {to: next_tier, reason: complexity} (actions: escalate, set, tag, untag, assign, notify, recommend), got an empty mapping`,
		}},
		{"escalate: unknown team and reason, missing keys", ruleBase + "  - id: r\n    on: [ticket.created]\n    do:\n      - escalate: {to: c, reason: mood, note: [x], via: a}\n      - escalate: {}\n      - escalate: next_tier\n", []string{
			`p.yaml:17:24: rules[0].do[0].escalate.to: unknown target "c" (use a team (known teams: a, b), next_tier or account_team)`,
			`p.yaml:17:35: rules[0].do[0].escalate.reason: unknown reason "mood" (allowed: complexity, customer_tier, priority, sla, dissatisfaction, bot_handoff, other)`,
			`p.yaml:17:47: rules[0].do[0].escalate.note: must be a single value, got a list`,
			`p.yaml:17:52: unknown key "via" in escalation (allowed: to, reason, note)`,
			`p.yaml:18:19: rules[0].do[1].escalate: to is required: a team (known teams: a, b), next_tier or account_team`,
			`p.yaml:18:19: rules[0].do[1].escalate: reason is required (allowed: complexity, customer_tier, priority, sla, dissatisfaction, bot_handoff, other)`,
			`p.yaml:19:19: rules[0].do[2].escalate: must be an escalation mapping with keys to, reason, note, got "next_tier"`,
		}},
		{"set: bad enum values, unknown keys, custom fields that are not values", ruleBase + "  - id: r\n    on: [ticket.created]\n    do:\n      - set: {priority: asap, status: done, issue_type: \"\", colour: red}\n      - set: {custom_fields: {plan: [a], tier: {x: 1}}}\n      - set: {}\n      - set: {custom_fields: {}}\n      - set: {priority: ~}\n", []string{
			`p.yaml:17:25: rules[0].do[0].set.priority: unknown priority "asap" (allowed: low, normal, high, urgent)`,
			`p.yaml:17:39: rules[0].do[0].set.status: unknown status "done" (allowed: new, open, pending, on_hold, solved, closed)`,
			`p.yaml:17:57: rules[0].do[0].set.issue_type: must not be empty`,
			`p.yaml:17:61: unknown key "colour" in set action (allowed: priority, status, issue_type, custom_fields)`,
			`p.yaml:18:37: rules[0].do[1].set.custom_fields.plan: must be a single value (text, number, true/false, or null to clear the field), got a list`,
			`p.yaml:18:48: rules[0].do[1].set.custom_fields.tier: must be a single value (text, number, true/false, or null to clear the field), got a mapping`,
			`p.yaml:19:14: rules[0].do[2].set: name at least one field to set (allowed: priority, status, issue_type, custom_fields)`,
			`p.yaml:20:30: rules[0].do[3].set.custom_fields: name at least one field, like custom_fields: {plan: gold}`,
			`p.yaml:21:25: rules[0].do[4].set.priority: must be one of low, normal, high, urgent`,
		}},
		{"unknown agent and channel, empty tags and recommendations", ruleBase + "  - id: r\n    on: [ticket.created]\n    do:\n      - assign: bob\n      - assign: [ana]\n      - notify: {channel: slack, message: hi}\n      - notify: {message: hi}\n      - tag: \"\"\n      - untag: [a, a]\n      - recommend: {text: \"  \"}\n      - recommend: {txt: call}\n      - tag: ~\n", []string{
			`p.yaml:17:17: rules[0].do[0].assign: unknown agent "bob" (known agents: ana)`,
			`p.yaml:18:17: rules[0].do[1].assign: must be a single value, got a list`,
			`p.yaml:19:27: rules[0].do[2].notify.channel: unknown channel "slack" (known channels: ops)`,
			`p.yaml:20:17: rules[0].do[3].notify: channel is required (known channels: ops)`,
			`p.yaml:21:14: rules[0].do[4].tag: must not be empty`,
			`p.yaml:22:20: rules[0].do[5].untag[1]: tag "a" is listed twice`,
			`p.yaml:23:20: rules[0].do[6].recommend: must not be empty: say what the agent should do next`,
			`p.yaml:24:20: rules[0].do[7].recommend: text is required: the recommended next action`,
			`p.yaml:24:21: unknown key "txt" in recommendation (allowed: text)`,
			`p.yaml:25:14: rules[0].do[8].tag: must be a tag or a list of tags, like [vip, legal]`,
		}},
		{"rule shape: stop, ids, do", ruleBase + "  - {id: r, on: [ticket.created], do: [{tag: x}], stop: yes please}\n  - {id: r, on: [ticket.created], do: []}\n  - {id: Bad Id, on: [ticket.created], do: {tag: x}, then: 1}\n  - {on: [ticket.created], do: [{tag: x}]}\n  - just a rule\n", []string{
			`p.yaml:14:57: rules[0].stop: must be true or false, got "yes please"`,
			`p.yaml:15:10: rules[1].id: duplicate rule id "r" (first defined at line 14)`,
			`p.yaml:15:39: rules[1].do: at least one action is required, like - escalate: {to: next_tier, reason: complexity}`,
			`p.yaml:16:10: rules[2].id: bad rule id "Bad Id" (use 1-64 lowercase letters, digits, "-" or "_", starting with a letter or digit)`,
			`p.yaml:16:44: rules[2].do: must be a list of actions (one "- ..." entry each), got a mapping`,
			`p.yaml:16:54: unknown key "then" in rule (allowed: id, on, when, stop, do)`,
			`p.yaml:17:5: rules[3]: id is required (1-64 lowercase letters, digits, "-" or "_", starting with a letter or digit)`,
			`p.yaml:18:5: rules[4]: must be a rule mapping with keys id, on, when, stop, do, got "just a rule"`,
		}},
		{"signals", base + "signals:\n  keywords:\n    legal: [lawyer, \"\", lawyer]\n    Bad: [x]\n    empty: []\n    none:\n    notlist: lawyer\n  wants_human: human\n  profanity: [damn, [x]]\n  extra: 1\n", []string{
			`p.yaml:9:21: signals.keywords.legal[1]: must not be empty`,
			`p.yaml:9:25: signals.keywords.legal[2]: phrase "lawyer" is listed twice`,
			`p.yaml:10:5: signals.keywords: bad keyword list id "Bad" (use 1-64 lowercase letters, digits, "-" or "_", starting with a letter or digit)`,
			`p.yaml:11:12: signals.keywords.empty: at least one phrase is required, like ["legal action", "lawyer"]`,
			`p.yaml:12:10: signals.keywords.none: at least one phrase is required, like ["legal action", "lawyer"]`,
			`p.yaml:13:14: signals.keywords.notlist: must be a list like ["legal action", "lawyer"], got "lawyer"`,
			`p.yaml:14:16: signals.wants_human: must be a list like ["talk to a human", "real person"], got "human"`,
			`p.yaml:15:21: signals.profanity[1]: must be a single value, got a list`,
			`p.yaml:16:3: unknown key "extra" in signals (allowed: keywords, wants_human, profanity)`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pol, err := Parse("p.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded (%s), want errors:\n%s", pol.Summary(), strings.Join(tt.want, "\n"))
			}
			var list *ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error is %T, want *ErrorList", err)
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(tt.want, "\n      "))
			}
		})
	}
}

// TestConditionPositions pins where an error inside a condition is reported, for every way
// YAML can write a string: the column must point at the mistake, not at the string's start.
func TestConditionPositions(t *testing.T) {
	t.Parallel()
	const head = base + "rules:\n  - id: r\n    on: [ticket.created]\n    do: [{tag: x}]\n" // the when line is 11
	tests := []struct {
		name, when string
		want       string
	}{
		{"plain", `    when: ticket.priority == "urgent" && ticket.foo`, "11:49"},
		{"double quoted with escapes", `    when: "ticket.id == \"\u00e9\u00e9\" && ticket.foo"`, "11:52"},
		{"single quoted with doubled quotes", `    when: 'ticket.id == ''a'' && ticket.foo'`, "11:41"},
		{"plain over two lines", "    when: ticket.id == \"a\" &&\n      ticket.foo", "12:14"},
		{"double quoted over two lines", "    when: \"ticket.id == 'a' &&\n      ticket.foo\"", "12:14"},
		{"literal block", "    when: |\n      ticket.id == \"x\" &&\n        ticket.foo", "13:16"},
		{"folded block", "    when: >\n      ticket.id == \"x\" &&\n      ticket.foo", "13:14"},
		{"block with a blank line", "    when: |\n      ticket.id == \"x\"\n\n      && ticket.foo", "14:17"},
		{"an error with no position", `    when: ticket.id`, "11:11"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("p.yaml", []byte(head+tt.when+"\n"))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			pos := strings.SplitN(strings.TrimPrefix(err.Error(), "p.yaml:"), ":", 3)
			if got := pos[0] + ":" + pos[1]; got != tt.want {
				t.Errorf("reported at %s, want %s: %v", got, tt.want, err)
			}
		})
	}
}

func TestRulesAndSignals(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("testdata/product-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pol, err := Parse("product-example.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	wantSignals := SignalsConfig{Keywords: []KeywordList{
		{ID: "legal", Phrases: []string{"lawyer", "legal action", "attorney", "sue"}, Line: 40, Column: 5},
		{ID: "churn", Phrases: []string{"cancel my subscription", "switch to another provider"}, Line: 41, Column: 5},
	}}
	if !reflect.DeepEqual(pol.Signals, wantSignals) {
		t.Errorf("Signals = %+v", pol.Signals)
	}
	if k, ok := pol.Signals.Keyword("churn"); !ok || k.Phrases[0] != "cancel my subscription" {
		t.Errorf("Keyword(churn) = %+v, %v", k, ok)
	}
	if !slices.Equal(pol.ChannelIDs, []string{"legal-alerts", "ops", "tier2-mail"}) {
		t.Errorf("ChannelIDs = %v", pol.ChannelIDs)
	}
	if len(pol.Rules) != 4 {
		t.Fatalf("%d rules", len(pol.Rules))
	}
	legal := pol.Rules[1]
	if legal.ID != "legal-threat" || legal.Line != 48 || legal.Column != 5 || !slices.Equal(legal.On, []string{"message.added"}) || legal.Stop {
		t.Errorf("rule = %+v", legal)
	}
	if c := legal.When; c == nil || c.Text != `message.author == "customer" && "legal" in message.keywords` || c.Line != 50 || c.Column != 11 {
		t.Errorf("condition = %+v", c)
	}
	wantDo := []Action{
		{Kind: ActionSet, Set: map[string]any{"priority": "urgent"}, Line: 52, Column: 9},
		{Kind: ActionEscalate, To: "next_tier", Reason: "dissatisfaction", Note: "Customer mentions legal action", Line: 53, Column: 9},
		{Kind: ActionNotify, Channel: "legal-alerts", Line: 54, Column: 9},
	}
	if !reflect.DeepEqual(legal.Do, wantDo) {
		t.Errorf("actions:\n got %+v\nwant %+v", legal.Do, wantDo)
	}
	if r := pol.Rules[3]; r.When != nil || !r.Listens("escalation.unacknowledged") || r.Listens("message.added") {
		t.Errorf("rule without a condition = %+v", r)
	}
	if got := legal.DescribeOn(); got != "listens only to message.added" {
		t.Errorf("DescribeOn = %q", got)
	}
	if got := legal.DescribeStop(); got != `rule "legal-threat" (line 48) fired and says stop: true` {
		t.Errorf("DescribeStop = %q", got)
	}
}

func TestLint(t *testing.T) {
	t.Parallel()
	// org has two paths that form a cycle, a team without a calendar, an account team, SLA
	// plans without an acknowledge target, and two keyword lists; lines 1-23.
	const org = `calendars:
  - {id: c, timezone: UTC, hours: {mon-sun: "00:00-24:00"}}
tiers:
  - {id: t1, level: 1}
  - {id: t2, level: 2}
  - {id: t3, level: 3}
teams:
  - {id: a, tier: t1, calendar: c}
  - {id: b, tier: t2, calendar: c}
  - {id: c, tier: t3}
  - {id: d, tier: t2, calendar: c, kind: account_team, accounts: [acme]}
  - {id: e, tier: t2, calendar: c}
paths:
  - {from: a, to: [b]}
  - {from: b, to: [c]}
  - {from: c, to: [b]}
sla:
  - {id: s, targets: {first_response: 1h}}
signals:
  keywords:
    legal: [lawyer]
    churn: [cancel]
rules:
`
	tests := []struct {
		name  string
		src   string
		rules string
		want  []string
	}{
		{"organisation", org, `  - {id: r, on: [message.added], when: '"legal" in message.keywords', do: [{tag: x}]}
`, []string{
			`p.yaml:10:10: teams[2]: team "c" has no calendar, so its SLA clocks run around the clock (add calendar: <id> if it keeps business hours)`,
			`p.yaml:15:20: paths[1].to[0]: path cycle b -> c -> b: a ticket can be escalated round in a circle (the ping-pong guard will refuse or flag it)`,
			`p.yaml:22:5: signals.keywords.churn: keyword list "churn" is not read by any rule (a rule reads it with a condition like "churn" in message.keywords)`,
		}},
		{"rules that can never fire", org, `  - {id: r1, on: [message.added], when: 'false', do: [{tag: x}]}
  - {id: r2, on: [message.added], when: '1 > 2 || 3 < 2 && "churn" != ""', do: [{tag: x}]}
  - {id: r3, on: [message.added], when: '[1][3] == 1', do: [{tag: x}]}
  - {id: r4, on: [escalation.unacknowledged, message.added], when: '"legal" in message.keywords', do: [{tag: x}]}
  - {id: stopper, on: [message.added, ticket.created], when: '1 < 2', stop: true, do: [{tag: x}]}
  - {id: r5, on: [ticket.created], do: [{tag: x}]}
  - {id: r6, on: [ticket.created, ticket.updated], do: [{tag: x}]}
`, []string{
			`p.yaml:10:10: teams[2]: team "c" has no calendar, so its SLA clocks run around the clock (add calendar: <id> if it keeps business hours)`,
			`p.yaml:15:20: paths[1].to[0]: path cycle b -> c -> b: a ticket can be escalated round in a circle (the ping-pong guard will refuse or flag it)`,
			`p.yaml:22:5: signals.keywords.churn: keyword list "churn" is not read by any rule (a rule reads it with a condition like "churn" in message.keywords)`,
			`p.yaml:24:41: rules[0].when: the condition is always false, so the rule never fires`,
			`p.yaml:25:41: rules[1].when: the condition is always false, so the rule never fires`,
			`p.yaml:26:41: rules[2].when: the condition always fails (index out of range: 3 (array length is 1) (at character 4)), so the rule never fires`,
			`p.yaml:27:19: rules[3].on[0]: escalation.unacknowledged never happens: no sla plan sets an acknowledge target`,
			`p.yaml:29:10: rules[5]: rule "r5" can never fire: rule "stopper" (line 28) matches every event it listens to and says stop: true`,
		}},
		{"escalations that are always refused", org, `  - id: r
    on: [message.added]
    when: '"legal" in message.keywords || "churn" in message.keywords'
    do:
      - escalate: {to: a, reason: other}
      - escalate: {to: e, reason: other}
      - escalate: {to: d, reason: other}
      - escalate: {to: b, reason: other}
`, []string{
			`p.yaml:10:10: teams[2]: team "c" has no calendar, so its SLA clocks run around the clock (add calendar: <id> if it keeps business hours)`,
			`p.yaml:15:20: paths[1].to[0]: path cycle b -> c -> b: a ticket can be escalated round in a circle (the ping-pong guard will refuse or flag it)`,
			`p.yaml:28:24: rules[0].do[0].escalate.to: no path leads to team "a", so this escalation is always refused (add a path to it)`,
			`p.yaml:29:9: rules[0].do[1].escalate: only the first escalate of a rule can apply (one event escalates a ticket at most once); remove this one or move it to its own rule`,
			`p.yaml:29:24: rules[0].do[1].escalate.to: no path leads to team "e", so this escalation is always refused (add a path to it)`,
		}},
		{"one warning per group of teams that reach each other", base + "  - {id: c, tier: t2}\npaths:\n  - {from: a, to: [b]}\n  - {from: b, to: [a, c]}\n  - {from: c, to: [b]}\nrules:\n", "", []string{
			`p.yaml:5:10: teams[0]: team "a" has no calendar, so its SLA clocks run around the clock (add calendar: <id> if it keeps business hours)`,
			`p.yaml:6:10: teams[1]: team "b" has no calendar, so its SLA clocks run around the clock (add calendar: <id> if it keeps business hours)`,
			`p.yaml:7:10: teams[2]: team "c" has no calendar, so its SLA clocks run around the clock (add calendar: <id> if it keeps business hours)`,
			`p.yaml:9:20: paths[0].to[0]: path cycle a -> b -> a: a ticket can be escalated round in a circle (the ping-pong guard will refuse or flag it)`,
		}},
		{"targets that need paths and account teams", base + "rules:\n", `  - {id: r, on: [sla.breached], do: [{escalate: {to: next_tier, reason: sla}}]}
  - {id: s, on: [sla.warning], do: [{escalate: {to: account_team, reason: sla}}]}
`, []string{
			`p.yaml:5:10: teams[0]: team "a" has no calendar, so its SLA clocks run around the clock (add calendar: <id> if it keeps business hours)`,
			`p.yaml:6:10: teams[1]: team "b" has no calendar, so its SLA clocks run around the clock (add calendar: <id> if it keeps business hours)`,
			`p.yaml:8:18: rules[0].on[0]: sla.breached never happens: the policy has no sla plans, so no SLA clock runs`,
			`p.yaml:8:54: rules[0].do[0].escalate.to: no path leads from a team to a team of a higher tier, so next_tier is always refused (add paths)`,
			`p.yaml:9:18: rules[1].on[0]: sla.warning never happens: the policy has no sla plans, so no SLA clock runs`,
			`p.yaml:9:53: rules[1].do[0].escalate.to: no team is of kind account_team, so this escalation is always refused`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pol, err := Parse("p.yaml", []byte(tt.src+tt.rules))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := make([]string, len(pol.Warnings))
			for i, w := range pol.Warnings {
				got[i] = w.Error()
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("warnings:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(tt.want, "\n      "))
			}
		})
	}
}

// TestShippedPoliciesLint pins the warnings of the policies the project ships, so that a new
// lint does not start flagging them unnoticed.
func TestShippedPoliciesLint(t *testing.T) {
	t.Parallel()
	for file, want := range map[string][]string{
		"testdata/product-example.yaml": {`product-example.yaml:41:5: signals.keywords.churn: keyword list "churn" is not read by any rule (a rule reads it with a condition like "churn" in message.keywords)`},
		"testdata/minimal.yaml": {
			`minimal.yaml:6:10: teams[0]: team "frontline" has no calendar, so its SLA clocks run around the clock (add calendar: <id> if it keeps business hours)`,
			`minimal.yaml:7:10: teams[1]: team "specialists" has no calendar, so its SLA clocks run around the clock (add calendar: <id> if it keeps business hours)`,
		},
	} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		pol, err := Parse(strings.TrimPrefix(file, "testdata/"), src)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, w := range pol.Warnings {
			got = append(got, w.Error())
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s warnings:\n got: %s\nwant: %s", file, strings.Join(got, "\n      "), strings.Join(want, "\n      "))
		}
	}
}

// sampleEnv is an Env with every section filled, for evaluating conditions in tests.
func sampleEnv() *Env {
	t0 := time.Date(2026, 11, 28, 10, 30, 0, 0, time.UTC)
	return &Env{
		Ticket: TicketEnv{ID: "tkt_1", Subject: "Refund please", Status: "open", Priority: "high", Channel: "chat",
			IssueType: "refund", Tags: []string{"vip", "billing"}, Language: "en", Team: "a", Tier: "t1", TierLevel: 1,
			CustomFields: map[string]any{"plan": "gold", "seats": 40}, Reopens: 1, Messages: 4, CustomerContacts: 2,
			CreatedAt: t0.Add(-90 * time.Minute), AgeMinutes: 90},
		Account:    AccountEnv{ID: "acme", Name: "Acme", Tier: "enterprise", Attributes: map[string]any{"arr": 250000, "region": "eu"}},
		Customer:   CustomerEnv{ID: "c1", Name: "Kim", Email: "kim@acme.test"},
		Message:    MessageEnv{ID: "m1", Author: "customer", AuthorID: "c1", Body: "I WANT A HUMAN, my lawyer says", Keywords: []string{"legal"}, Sentiment: -0.8, WantsHuman: true, Shouting: true},
		Signals:    SignalsEnv{Sentiment: -0.8, Trend: []float64{0.1, -0.4, -0.8}, Keywords: []string{"legal"}, WantsHuman: true, Frustration: 0.7},
		SLA:        SLAEnv{Target: "first_response", State: "breached", DueAt: t0.Add(-time.Minute), Breached: true},
		Escalation: EscalationEnv{ID: "esc_1", FromTeam: "a", ToTeam: "b", Reason: "sla", Trigger: "rule", State: "pending"},
		Event:      EventEnv{Type: "ticket.updated", Actor: "agent:ana", Changed: []string{"priority", "tags"}},
		Now:        t0,
	}
}

func TestConditionEval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cond string
		want bool
		err  string
	}{
		{cond: `ticket.priority in ["high", "urgent"] && account.tier == "enterprise"`, want: true},
		{cond: `"legal" in message.keywords && not ("churn" in signals.keywords)`, want: true},
		{cond: `"priority" in event.changed && event.type == "ticket.updated"`, want: true},
		{cond: `ticket.custom_fields.plan == "gold" && ticket.custom_fields.seats >= 40 && ticket.custom_fields.nope == nil`, want: true},
		{cond: `account.attributes.arr > 100000 && "region" in account.attributes`, want: true},
		{cond: `now - ticket.created_at > duration("1h") && ticket.age_minutes == 90 && now.Hour() == 10`, want: true},
		{cond: `sla.breached && sla.target == "first_response" && now > sla.due_at`, want: true},
		{cond: `escalation.state == "pending" && escalation.to_team == "b"`, want: true},
		{cond: `all(signals.trend, # < 0.5) && count(signals.trend, # < 0) == 2 && signals.trend[-1] < -0.5`, want: true},
		{cond: `mean(signals.trend) < 0 && len(ticket.tags) == 2 && lower(message.body) contains "lawyer"`, want: true},
		{cond: `message.body matches "(?i)human" && customer.email endsWith "@acme.test"`, want: true},
		{cond: `ticket.reopens in 1..3 && ticket.tier_level < 2`, want: true},
		{cond: `message.shouting && message.wants_human && !message.profanity && !message.internal`, want: true},
		{cond: `signals.frustration > 0.9`, want: false},
		{cond: `ticket.reopens % (ticket.reopens - 1) == 0`, err: "runtime error: integer divide by zero (at character 16)"},
		{cond: `ticket.custom_fields.owner.name == "x"`, err: "cannot fetch name from <nil> (at character 28)"},
		{cond: `ticket.custom_fields.plan`, err: "the condition gave a string, not true or false"},
		{cond: `any(1..999, len([#, #, #, #, #, #, #, #, #, #, #, #]) > 20)`, err: "memory budget exceeded (at character 17)"},
	}
	env := sampleEnv()
	for _, tt := range tests {
		c, err := CompileCondition(tt.cond)
		if err != nil {
			t.Errorf("%s: %v", tt.cond, err)
			continue
		}
		var e Evaluator
		e.Reset(env)
		got, err := c.Eval(&e)
		switch {
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("%s: error %v, want %q", tt.cond, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("%s = %v, %v; want %v", tt.cond, got, err, tt.want)
		}
	}
}

func TestExplain(t *testing.T) {
	t.Parallel()
	c, err := CompileCondition(`account.tier == "pro" && "x" in ticket.tags && signals.trend[0] > 0 && ticket.custom_fields.plan == "x" && message.sentiment > 0 && now.Hour() > 1`)
	if err != nil {
		t.Fatal(err)
	}
	var e Evaluator
	e.Reset(sampleEnv())
	want := `account.tier = "enterprise", ticket.tags = ["vip", "billing"], signals.trend = [0.1, -0.4, -0.8], ticket.custom_fields.plan = "gold"`
	if got := c.Explain(&e); got != want {
		t.Errorf("Explain = %s\nwant      %s", got, want)
	}
	if got := c.Describe(false); got != "condition `account.tier == \"pro\" && \"x\" in ticket.tags && signals.trend[0] > 0 && ticket.custom_fields.plan == \"x\" && message.senti...` was false" {
		t.Errorf("Describe = %s", got)
	}
}

func TestCompileConditionNode(t *testing.T) {
	t.Parallel()
	src := []byte("sla:\n  - id: x\n    when: account.tire == \"enterprise\"\n")
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	n := doc.Content[0].Content[1].Content[0].Content[3]
	_, perr := CompileConditionNode("s.yaml", src, n, "sla[0].when")
	if perr == nil || perr.Error() != "s.yaml:3:19: sla[0].when: unknown field account.tire (account has: id, name, tier, attributes)" {
		t.Errorf("error = %v", perr)
	}
	n.Value = `account.tier == "enterprise"`
	c, perr := CompileConditionNode("s.yaml", src, n, "sla[0].when")
	if perr != nil || c.Line != 3 || c.Column != 11 {
		t.Fatalf("condition %+v, %v", c, perr)
	}
	var e Evaluator
	e.Reset(sampleEnv())
	if ok, err := c.Eval(&e); !ok || err != nil {
		t.Errorf("Eval = %v, %v", ok, err)
	}
	if _, err := CompileCondition("ticket.nope"); err == nil || err.Error() != "unknown field ticket.nope (ticket has: id, subject, status, priority, channel, issue_type, tags, language, team, tier, tier_level, assignee, custom_fields, reopens, reassignments, customer_contacts, messages, escalations, created_at, age_minutes) (at character 8)" {
		t.Errorf("CompileCondition error = %v", err)
	}
}

// TestEnvNames checks that every field of Env and of its sections has a unique expr name, as
// the checker and the docs assume.
func TestEnvNames(t *testing.T) {
	t.Parallel()
	var check func(typ reflect.Type)
	check = func(typ reflect.Type) {
		seen := map[string]bool{}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name := f.Tag.Get("expr")
			if name == "" || seen[name] || strings.ToLower(name) != name {
				t.Errorf("%s.%s: expr name %q", typ.Name(), f.Name, name)
			}
			seen[name] = true
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Time]() {
				check(f.Type)
			}
		}
	}
	check(reflect.TypeFor[Env]())
}

// TestBatchAgreesWithEachCondition is a property test of the batch (one VM run per event):
// over many environments, including ones that make conditions fail at run time, Match gives
// exactly what evaluating each condition alone gives.
func TestBatchAgreesWithEachCondition(t *testing.T) {
	t.Parallel()
	conds := []string{
		`account.tier == "enterprise" && ticket.priority == "urgent"`, `"legal" in message.keywords`,
		`ticket.custom_fields.plan == "gold"`, `ticket.custom_fields.owner.name == "x"`, `ticket.reopens % ticket.messages == 0`,
		`any(signals.trend, # < -0.5)`, `signals.trend[1] < 0`, `ticket.custom_fields.flag`, `now.Hour() > 9 // late enough`,
		`account.attributes.arr > 100000 || account.attributes.region == "eu"`, `ticket.tags[0] == "vip"`,
		`message.sentiment < -0.5 && signals.frustration > 0.5`, `true`, `1 > 2`,
	}
	var b strings.Builder
	b.WriteString(base + "rules:\n")
	for i, c := range conds {
		b.WriteString("  - id: r" + string(rune('a'+i)) + "\n    on: [message.added]\n    when: '" + strings.ReplaceAll(c, "'", "''") + "'\n    do: [{tag: x}]\n")
	}
	pol := mustParse(t, b.String())
	if pol.batches["message.added"] == nil {
		t.Fatal("no batch for message.added")
	}
	envs := []*Env{sampleEnv(), {}}
	for i := range 50 {
		e := sampleEnv()
		e.Ticket.Messages = i % 3
		e.Ticket.Priority = []string{"urgent", "low"}[i%2]
		e.Signals.Trend = e.Signals.Trend[:i%4]
		e.Ticket.Tags = e.Ticket.Tags[:i%3]
		if i%5 == 0 {
			e.Ticket.CustomFields = map[string]any{"flag": i%2 == 0, "owner": map[string]any{"name": "x"}}
		}
		e.Account.Attributes["arr"] = i * 10000
		envs = append(envs, e)
	}
	for k, env := range envs {
		var batch, single Evaluator
		batch.Reset(env)
		batch.Prepare(pol, "message.added")
		single.Reset(env)
		for i, r := range pol.Rules {
			got, gerr := batch.Match(pol, i)
			want, werr := r.When.Eval(&single)
			if got != want || (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
				t.Fatalf("env %d, rule %s: batch %v %v, alone %v %v", k, r.ID, got, gerr, want, werr)
			}
		}
	}
}

// FuzzCondition compiles arbitrary condition texts and evaluates the ones that compile against
// a full Env: nothing may panic, and no evaluation may take long, whatever the text.
func FuzzCondition(f *testing.F) {
	for _, s := range []string{
		`account.tier == "enterprise" && ticket.priority == "urgent"`,
		`"legal" in message.keywords && message.author == "customer"`,
		`any(signals.trend, # < -0.5) && count(ticket.tags, # startsWith "v") > 0`,
		`ticket.custom_fields.plan == "gold" || account.attributes.arr > 100000`,
		`now - ticket.created_at > duration("2h") && now.Hour() in 9..17`,
		`map(1..999, # * 2)[998] > 0`, `filter(ticket.tags, len(#) > 2) == ["vip"]`,
		`lower(upper(message.body)) matches "(?i)law+yer" ? true : false`,
		`ticket.reopens % 0 == 1`, `ticket.custom_fields.a.b.c`, `1..999 | all(# > 0)`,
		`(((((((((((ticket.reopens)))))))))))) > 1`, `[1, 2, 3][5] == 1`, `{"a": 1}.a == 1`,
		`let x = 1; x`, `ticket?.tags?.[0] ?? "none" == "vip"`, `sum(1..999) > 0 and max(1, 2) == 2`,
		`string(account.attributes) contains "eu"`, `keys(ticket.custom_fields)[0] == "plan"`,
	} {
		f.Add(s)
	}
	env := sampleEnv()
	f.Fuzz(func(t *testing.T, text string) {
		done := make(chan error, 1)
		go func() {
			c, err := CompileCondition(text)
			if err != nil {
				done <- err
				return
			}
			var e Evaluator
			e.Reset(env)
			_, _ = c.Eval(&e)
			_ = c.Explain(&e)
			done <- nil
		}()
		select {
		case err := <-done:
			var ce *ConditionError
			if err != nil && (!errors.As(err, &ce) || ce.Msg == "" || ce.Offset < 0) {
				t.Fatalf("error %T %v", err, err)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("compiling and evaluating %q took more than 2s", text)
		}
	})
}
