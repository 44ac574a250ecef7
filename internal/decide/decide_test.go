package decide

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/policy/policybench"
)

// org is the organisation every test policy shares: PRODUCT.md's example, as the rule
// benchmark's.
const org = policybench.Org

func mustPolicy(t testing.TB, rules string) *policy.Policy {
	t.Helper()
	pol, err := policy.Parse("test.yaml", []byte(org+"rules:\n"+rules))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return pol
}

var t0 = policybench.Now // the sample events' time

// sampleEnv is a pro customer's frontline ticket with a customer message that mentions a lawyer
// (the rule benchmark's heavy event, at t0).
func sampleEnv() policy.Env { return policybench.HeavyEnv() }

func input(pol *policy.Policy, event string) Input {
	return Input{Policy: pol, Event: event, Env: sampleEnv()}
}

// outcomes is the trace as "rule=outcome" pairs, for compact comparisons.
func outcomes(d Decision) []string {
	out := make([]string, len(d.Trace))
	for i, tr := range d.Trace {
		out[i] = tr.Rule + "=" + tr.Outcome
	}
	return out
}

func TestActions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		do   string
		want Action
	}{
		{"escalate", `{escalate: {to: next_tier, reason: dissatisfaction, note: "Legal threat"}}`,
			Action{Kind: ActionEscalate, To: "next_tier", Reason: "dissatisfaction", Note: "Legal threat"}},
		{"escalate to a team", `{escalate: {to: billing, reason: priority}}`,
			Action{Kind: ActionEscalate, To: "billing", Reason: "priority"}},
		{"set", `{set: {priority: urgent, status: pending, issue_type: legal, custom_fields: {risk: 3, flagged: true, plan: null, owner: kim}}}`,
			Action{Kind: ActionSet, Set: map[string]any{"priority": "urgent", "status": "pending", "issue_type": "legal",
				"custom_fields.risk": 3, "custom_fields.flagged": true, "custom_fields.plan": nil, "custom_fields.owner": "kim"}}},
		{"tag one", `{tag: legal}`, Action{Kind: ActionTag, Tags: []string{"legal"}}},
		{"tag several", `{tag: [legal, vip]}`, Action{Kind: ActionTag, Tags: []string{"legal", "vip"}}},
		{"untag", `{untag: [billing]}`, Action{Kind: ActionUntag, Tags: []string{"billing"}}},
		{"assign", `{assign: ana}`, Action{Kind: ActionAssign, Agent: "ana"}},
		{"notify", `{notify: {channel: legal-alerts, message: "Legal threat on a ticket"}}`,
			Action{Kind: ActionNotify, Channel: "legal-alerts", Text: "Legal threat on a ticket"}},
		{"notify without message", `{notify: {channel: ops}}`, Action{Kind: ActionNotify, Channel: "ops"}},
		{"recommend", `{recommend: "Offer a call with the account manager"}`,
			Action{Kind: ActionRecommend, Text: "Offer a call with the account manager"}},
		{"recommend as mapping", `{recommend: {text: "Check the invoice"}}`, Action{Kind: ActionRecommend, Text: "Check the invoice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pol := mustPolicy(t, "  - id: r\n    on: [message.added]\n    when: '\"legal\" in message.keywords'\n    do: ["+tt.do+"]\n")
			d := Decide(input(pol, "message.added"))
			tt.want.Rule = "r"
			if len(d.Actions) != 1 || !reflect.DeepEqual(d.Actions[0], tt.want) {
				t.Fatalf("Actions = %+v\nwant [%+v]", d.Actions, tt.want)
			}
			if !slices.Equal(d.Trace[0].Actions, []int{0}) || d.Trace[0].Outcome != OutcomeFired {
				t.Errorf("trace = %+v", d.Trace[0])
			}
			if (tt.want.Kind == ActionEscalate) != (d.Escalate == &d.Actions[0]) {
				t.Errorf("Escalate = %+v", d.Escalate)
			}
		})
	}
}

func TestSemantics(t *testing.T) {
	t.Parallel()
	const legal = `when: '"legal" in message.keywords'`
	tests := []struct {
		name  string
		rules string
		in    func(*Input)
		want  []string // outcomes
		check func(t *testing.T, d Decision)
	}{
		{
			name: "every matching rule fires, in file order",
			rules: `
  - {id: a, on: [message.added], ` + legal + `, do: [{tag: a}]}
  - {id: b, on: [message.added], when: 'ticket.priority == "urgent"', do: [{tag: b}]}
  - {id: c, on: [message.added, ticket.created], do: [{tag: c}, {tag: c2}]}
`,
			want: []string{"a=fired", "b=no match", "c=fired"},
			check: func(t *testing.T, d Decision) {
				if got := tags(d); !slices.Equal(got, []string{"a:a", "c:c", "c:c2"}) {
					t.Errorf("actions %v", got)
				}
				if !slices.Equal(d.Trace[2].Actions, []int{1, 2}) || d.Trace[1].Actions != nil {
					t.Errorf("trace action indexes: %v %v", d.Trace[1].Actions, d.Trace[2].Actions)
				}
				if !slices.Equal(d.Fired(), []string{"a", "c"}) {
					t.Errorf("Fired() = %v", d.Fired())
				}
			},
		},
		{
			name: "stop ends the decision after a rule fires",
			rules: `
  - {id: a, on: [message.added], when: 'ticket.priority == "urgent"', stop: true, do: [{tag: a}]}
  - {id: b, on: [message.added], ` + legal + `, stop: true, do: [{tag: b}]}
  - {id: c, on: [message.added], do: [{tag: c}]}
  - {id: d, on: [ticket.created], do: [{tag: d}]}
`,
			want: []string{"a=no match", "b=fired", "c=skipped after stop", "d=not subscribed"},
			check: func(t *testing.T, d Decision) {
				if got := tags(d); !slices.Equal(got, []string{"b:b"}) {
					t.Errorf("actions %v", got)
				}
				if r := d.Trace[2].Reason; r != `rule "b" (line 35) fired and says stop: true` {
					t.Errorf("skipped reason %q", r)
				}
			},
		},
		{
			name: "not subscribed",
			rules: `
  - {id: a, on: [ticket.created, sla.breached], do: [{tag: a}]}
`,
			want: []string{"a=not subscribed"},
			check: func(t *testing.T, d Decision) {
				if r := d.Trace[0].Reason; r != "listens only to ticket.created, sla.breached" {
					t.Errorf("reason %q", r)
				}
				if d.Actions != nil || d.Escalate != nil {
					t.Errorf("decision %+v", d)
				}
			},
		},
		{
			name: "one escalation per event: the first wins, later ones are suppressed",
			rules: `
  - {id: a, on: [message.added], ` + legal + `, do: [{escalate: {to: billing, reason: dissatisfaction}}, {tag: a}]}
  - {id: b, on: [message.added], do: [{escalate: {to: next_tier, reason: complexity}}]}
`,
			want: []string{"a=fired", "b=fired"},
			check: func(t *testing.T, d Decision) {
				if d.Escalate != &d.Actions[0] || d.Escalate.To != "billing" || d.Escalate.Suppressed != "" {
					t.Fatalf("Escalate = %+v", d.Escalate)
				}
				if s := d.Actions[2].Suppressed; s != "a rule earlier in the file already escalates on this event: a" {
					t.Errorf("suppressed = %q", s)
				}
			},
		},
		{
			name: "max_per_ticket suppresses every escalation",
			rules: `
  - {id: a, on: [message.added], do: [{escalate: {to: billing, reason: dissatisfaction}}]}
  - {id: b, on: [message.added], do: [{escalate: {to: next_tier, reason: complexity}}]}
`,
			in:   func(in *Input) { in.Escalations = 5 },
			want: []string{"a=fired", "b=fired"},
			check: func(t *testing.T, d Decision) {
				if d.Escalate != nil {
					t.Fatalf("Escalate = %+v", d.Escalate)
				}
				for _, a := range d.Actions {
					if a.Suppressed != "max_per_ticket (5) reached" {
						t.Errorf("%s suppressed = %q", a.Rule, a.Suppressed)
					}
				}
			},
		},
		{
			name: "below max_per_ticket an escalation applies",
			rules: `
  - {id: a, on: [message.added], do: [{escalate: {to: billing, reason: dissatisfaction}}]}
`,
			in:   func(in *Input) { in.Escalations = 4 },
			want: []string{"a=fired"},
			check: func(t *testing.T, d Decision) {
				if d.Escalate == nil || d.Escalate.Rule != "a" {
					t.Fatalf("Escalate = %+v", d.Escalate)
				}
			},
		},
		{
			name: "an impossible escalation leaves the event's escalation to a later rule",
			rules: `
  - {id: up, on: [message.added], do: [{escalate: {to: engineering, reason: complexity}}]}
  - {id: desk, on: [message.added], do: [{escalate: {to: account_team, reason: customer_tier}}]}
  - {id: same, on: [message.added], do: [{escalate: {to: frontline, reason: other}}]}
  - {id: next, on: [message.added], do: [{escalate: {to: next_tier, reason: complexity}}]}
  - {id: late, on: [message.added], do: [{escalate: {to: billing, reason: complexity}}]}
`,
			want: []string{"up=fired", "desk=fired", "same=fired", "next=fired", "late=fired"},
			check: func(t *testing.T, d Decision) {
				want := []string{
					`not possible: no path leads from team "frontline" to "engineering"`,
					`not possible: no account team serves account "globex"`,
					`not possible: the ticket is already in team "frontline"`,
					``,
					`a rule earlier in the file already escalates on this event: next`,
				}
				for i, a := range d.Actions {
					if a.Suppressed != want[i] {
						t.Errorf("%s suppressed = %q, want %q", a.Rule, a.Suppressed, want[i])
					}
				}
				if d.Escalate == nil || d.Escalate.Rule != "next" {
					t.Errorf("Escalate = %+v", d.Escalate)
				}
			},
		},
		{
			name: "next_tier from the top and the account team of an account already there",
			rules: `
  - {id: next, on: [message.added], do: [{escalate: {to: next_tier, reason: complexity}}]}
  - {id: desk, on: [message.added], do: [{escalate: {to: account_team, reason: customer_tier}}]}
`,
			in: func(in *Input) {
				in.Env.Ticket.Team, in.Env.Account.ID = "enterprise-desk", "acme"
			},
			want: []string{"next=fired", "desk=fired"},
			check: func(t *testing.T, d Decision) {
				if s := d.Actions[0].Suppressed; s != `not possible: no path leads from team "enterprise-desk" to a higher tier` {
					t.Errorf("next suppressed = %q", s)
				}
				if s := d.Actions[1].Suppressed; s != `not possible: the ticket is already with its account team "enterprise-desk"` {
					t.Errorf("desk suppressed = %q", s)
				}
				if d.Escalate != nil {
					t.Errorf("Escalate = %+v", d.Escalate)
				}
			},
		},
		{
			name: "without a current team the target is not checked",
			rules: `
  - {id: up, on: [message.added], do: [{escalate: {to: engineering, reason: complexity}}]}
`,
			in:   func(in *Input) { in.Env.Ticket.Team = "" },
			want: []string{"up=fired"},
			check: func(t *testing.T, d Decision) {
				if d.Escalate == nil || d.Escalate.To != "engineering" {
					t.Errorf("Escalate = %+v", d.Escalate)
				}
			},
		},
		{
			name: "loop guard: a rule fires once per cascade",
			rules: `
  - {id: a, on: [message.added], stop: true, do: [{tag: a}]}
  - {id: b, on: [message.added], do: [{tag: b}]}
`,
			in:   func(in *Input) { in.Fired = map[string]bool{"a": true} },
			want: []string{"a=loop guard", "b=fired"},
			check: func(t *testing.T, d Decision) {
				if !strings.Contains(d.Trace[0].Reason, "at most once per change") {
					t.Errorf("reason %q", d.Trace[0].Reason)
				}
			},
		},
		{
			name: "condition errors at run time are traced, not panics",
			rules: `
  - {id: div, on: [message.added], when: 'ticket.reopens % ticket.reopens == 0', do: [{tag: a}]}
  - {id: nilmap, on: [message.added], when: 'ticket.custom_fields.owner.name == "kim"', do: [{tag: b}]}
  - {id: index, on: [message.added], when: 'ticket.tags[5] == "x"', do: [{tag: c}]}
  - {id: notbool, on: [message.added], when: 'ticket.custom_fields.plan', do: [{tag: d}]}
  - {id: ok, on: [message.added], stop: true, do: [{tag: e}]}
`,
			want: []string{"div=condition error", "nilmap=condition error", "index=condition error", "notbool=condition error", "ok=fired"},
			check: func(t *testing.T, d Decision) {
				for i, want := range []string{
					"condition error: runtime error: integer divide by zero (at character 16)",
					"condition error: cannot fetch name from <nil> (at character 28)",
					"condition error: index out of range: 5 (array length is 1) (at character 12)",
					"condition error: the condition gave a string, not true or false",
				} {
					if got := d.Trace[i].Reason; got != want {
						t.Errorf("%s: reason %q, want %q", d.Trace[i].Rule, got, want)
					}
				}
				if got := tags(d); !slices.Equal(got, []string{"ok:e"}) {
					t.Errorf("actions %v", got)
				}
			},
		},
		{
			name: "reasons quote the condition, and its values when asked to explain",
			rules: `
  - id: ent
    on: [message.added]
    when: account.tier == "enterprise" && ticket.custom_fields.plan != "gold"
    do: [{tag: a}]
  - {id: legal, on: [message.added], ` + legal + `, do: [{tag: b}]}
`,
			in:   func(in *Input) { in.Explain = true },
			want: []string{"ent=no match", "legal=fired"},
			check: func(t *testing.T, d Decision) {
				if r := d.Trace[0].Reason; r != "condition `account.tier == \"enterprise\" && ticket.custom_fields.plan != \"gold\"` was false (account.tier = \"pro\", ticket.custom_fields.plan = \"gold\")" {
					t.Errorf("reason %q", r)
				}
				if r := d.Trace[1].Reason; r != "condition `\"legal\" in message.keywords` was true" {
					t.Errorf("reason %q", r)
				}
				if d.Trace[0].Line != 34 || d.Trace[1].Line != 38 {
					t.Errorf("lines %d %d", d.Trace[0].Line, d.Trace[1].Line)
				}
			},
		},
		{
			name: "without explain a false condition's reason is the condition alone",
			rules: `
  - {id: ent, on: [message.added], when: account.tier == "enterprise", do: [{tag: a}]}
`,
			want: []string{"ent=no match"},
			check: func(t *testing.T, d Decision) {
				if r := d.Trace[0].Reason; r != "condition `account.tier == \"enterprise\"` was false" {
					t.Errorf("reason %q", r)
				}
			},
		},
		{
			name: "a stop rule that does not fire stops nothing",
			rules: `
  - {id: a, on: [message.added], when: 'ticket.priority == "urgent"', stop: true, do: [{tag: a}]}
  - {id: b, on: [message.added], when: 'ticket.reopens / 0 > 1 || true', do: [{tag: b}]}
`,
			want: []string{"a=no match", "b=fired"},
		},
		{
			name: "conditions read every section of the environment",
			rules: `
  - id: all
    on: [message.added]
    when: >
      ticket.tier_level == 1 && "billing" in ticket.tags && ticket.age_minutes >= 120 &&
      now - ticket.created_at >= duration("2h") && account.attributes.arr < 100000 &&
      customer.email endsWith "@example.test" && message.author == "customer" &&
      message.sentiment < -0.5 && any(signals.trend, # < -0.5) && signals.frustration > 0.5 &&
      sla.target == "" && escalation.id == "" && event.type == "message.added" &&
      event.actor startsWith "token:" && now.Hour() == 10 && lower(message.body) contains "lawyer"
    do: [{tag: a}]
`,
			want: []string{"all=fired"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := input(mustPolicy(t, tt.rules), "message.added")
			if tt.in != nil {
				tt.in(&in)
			}
			d := Decide(in)
			if got := outcomes(d); !slices.Equal(got, tt.want) {
				t.Fatalf("outcomes %v\nwant %v\ntrace %+v", got, tt.want, d.Trace)
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
}

// tags renders the tag actions as "rule:tag".
func tags(d Decision) []string {
	var out []string
	for _, a := range d.Actions {
		for _, tag := range a.Tags {
			out = append(out, a.Rule+":"+tag)
		}
	}
	return out
}

func TestNoPolicy(t *testing.T) {
	t.Parallel()
	if d := Decide(Input{Event: "message.added"}); d.Trace != nil || d.Actions != nil || d.Escalate != nil {
		t.Errorf("Decide without a policy = %+v", d)
	}
}

// conditions, actions and events from which TestDeterministic builds random policies. The
// conditions include ones that fail at run time for some environments.
var (
	randConditions = []string{
		`account.tier == "enterprise"`, `ticket.priority in ["high", "urgent"]`, `"legal" in message.keywords`,
		`message.sentiment < -0.5`, `signals.frustration > 0.6`, `ticket.reopens >= 2`, `"vip" in ticket.tags`,
		`any(signals.trend, # < -0.4)`, `account.attributes.arr > 100000`, `ticket.custom_fields.plan == "gold"`,
		`ticket.reopens % ticket.messages == 0`, `ticket.custom_fields.owner.name == "x"`, `now.Hour() >= 12`,
		`ticket.age_minutes > 60 && message.author == "customer"`, `len(signals.trend) > 2 && signals.trend[2] < 0`,
		`true`, `false`, ``,
	}
	randActions = []string{
		`{escalate: {to: next_tier, reason: complexity}}`, `{escalate: {to: billing, reason: priority}}`,
		`{escalate: {to: account_team, reason: customer_tier}}`, `{escalate: {to: engineering, reason: sla}}`,
		`{set: {priority: urgent}}`, `{tag: [x, y]}`, `{untag: x}`, `{assign: ana}`, `{notify: {channel: ops}}`,
		`{recommend: "call them"}`,
	}
	randEvents = []string{"ticket.created", "message.added", "ticket.updated", "escalation.created", "sla.breached"}
)

func randomPolicy(r *rand.Rand) string {
	var b strings.Builder
	for i := range 1 + r.IntN(12) {
		fmt.Fprintf(&b, "  - id: r%d\n    on: [%s]\n", i, randEvents[r.IntN(len(randEvents))])
		if r.IntN(3) == 0 {
			fmt.Fprintf(&b, "    stop: true\n")
		}
		if c := randConditions[r.IntN(len(randConditions))]; c != "" {
			fmt.Fprintf(&b, "    when: '%s'\n", strings.ReplaceAll(c, "'", "''"))
		}
		b.WriteString("    do:\n")
		for range 1 + r.IntN(3) {
			fmt.Fprintf(&b, "      - %s\n", randActions[r.IntN(len(randActions))])
		}
	}
	return b.String()
}

func randomInput(r *rand.Rand, pol *policy.Policy) Input {
	env := sampleEnv()
	pick := func(s ...string) string { return s[r.IntN(len(s))] }
	env.Ticket.Team = pick("frontline", "billing", "engineering", "enterprise-desk", "")
	env.Ticket.Priority = pick("low", "normal", "high", "urgent")
	env.Ticket.Reopens, env.Ticket.Messages = r.IntN(4), r.IntN(3)
	env.Ticket.Tags = []string{pick("vip", "billing", "x")}
	env.Ticket.AgeMinutes = r.Float64() * 240
	if r.IntN(2) == 0 {
		env.Ticket.CustomFields = nil
	}
	env.Account.Tier, env.Account.ID = pick("free", "pro", "enterprise"), pick("acme", "globex", "")
	env.Account.Attributes = map[string]any{"arr": r.IntN(200000)}
	env.Message.Author = pick("customer", "agent", "bot")
	env.Message.Keywords = []string{pick("legal", "churn", "vip")}
	env.Message.Sentiment = r.Float64()*2 - 1
	env.Signals.Frustration = r.Float64()
	env.Signals.Trend = env.Signals.Trend[:r.IntN(len(env.Signals.Trend)+1)]
	env.Now = t0.Add(time.Duration(r.IntN(24)) * time.Hour)
	in := Input{Policy: pol, Event: pick(randEvents...), Env: env, Escalations: r.IntN(7), Explain: r.IntN(2) == 0}
	if len(pol.Rules) > 0 && r.IntN(3) == 0 {
		in.Fired = map[string]bool{pol.Rules[r.IntN(len(pol.Rules))].ID: true}
	}
	return in
}

// TestDeterministic is a property test: over random policies and inputs (fixed seeds, so a
// failure reproduces), deciding twice gives the same decision, and every decision keeps the
// promises callers rely on.
func TestDeterministic(t *testing.T) {
	t.Parallel()
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 0x5eed))
		src := randomPolicy(r)
		pol := mustPolicy(t, src)
		for range 20 {
			in := randomInput(r, pol)
			d1, d2 := Decide(in), Decide(in)
			if !reflect.DeepEqual(d1, d2) {
				t.Fatalf("seed %d: two decisions differ:\n%+v\n%+v\npolicy:\n%s", seed, d1, d2, src)
			}
			checkInvariants(t, in, d1, fmt.Sprintf("seed %d, event %s, policy:\n%s", seed, in.Event, src))
		}
	}
}

func checkInvariants(t *testing.T, in Input, d Decision, where string) {
	t.Helper()
	if len(d.Trace) != len(in.Policy.Rules) {
		t.Fatalf("%s: %d trace entries for %d rules", where, len(d.Trace), len(in.Policy.Rules))
	}
	stopped, next, winners := false, 0, 0
	for i, tr := range d.Trace {
		r := in.Policy.Rules[i]
		if tr.Rule != r.ID || tr.Line != r.Line || tr.Outcome == "" || tr.Reason == "" {
			t.Fatalf("%s: trace %d = %+v", where, i, tr)
		}
		if !r.Listens(in.Event) && tr.Outcome != OutcomeNotSubscribed {
			t.Fatalf("%s: rule %s does not listen to %s but is %q", where, r.ID, in.Event, tr.Outcome)
		}
		if stopped && tr.Outcome != OutcomeNotSubscribed && tr.Outcome != OutcomeSkippedAfter {
			t.Fatalf("%s: rule %s is %q after a stop", where, r.ID, tr.Outcome)
		}
		if in.Fired[r.ID] && tr.Outcome == OutcomeFired {
			t.Fatalf("%s: rule %s fired twice in one cascade", where, r.ID)
		}
		if tr.Outcome != OutcomeFired {
			if tr.Actions != nil {
				t.Fatalf("%s: rule %s is %q with actions", where, r.ID, tr.Outcome)
			}
			continue
		}
		stopped = stopped || r.Stop
		if len(tr.Actions) != len(r.Do) {
			t.Fatalf("%s: rule %s has %d actions in the trace, %d in the policy", where, r.ID, len(tr.Actions), len(r.Do))
		}
		for j, k := range tr.Actions {
			if k != next || d.Actions[k].Rule != r.ID || d.Actions[k].Kind != r.Do[j].Kind {
				t.Fatalf("%s: rule %s action %d -> %d (%+v)", where, r.ID, j, k, d.Actions[k])
			}
			next++
		}
	}
	if next != len(d.Actions) {
		t.Fatalf("%s: %d actions, %d traced", where, len(d.Actions), next)
	}
	for i := range d.Actions {
		a := &d.Actions[i]
		if a.Kind == ActionEscalate && a.Suppressed == "" {
			winners++
			if d.Escalate != a {
				t.Fatalf("%s: escalation %+v applies but Escalate = %+v", where, a, d.Escalate)
			}
		}
		if a.Kind != ActionEscalate && a.Suppressed != "" {
			t.Fatalf("%s: %+v suppressed", where, a)
		}
	}
	if winners > 1 || winners == 0 && d.Escalate != nil {
		t.Fatalf("%s: %d escalations apply, Escalate = %+v", where, winners, d.Escalate)
	}
	if max := in.Policy.Escalation.MaxPerTicket; max > 0 && in.Escalations >= max && d.Escalate != nil {
		t.Fatalf("%s: escalates beyond max_per_ticket", where)
	}
}

// TestConcurrentDecisions shares one policy between goroutines, as the server does; run with
// -race.
func TestConcurrentDecisions(t *testing.T) {
	t.Parallel()
	pol := benchPolicy(t)
	want := Decide(benchInput(pol))
	done := make(chan Decision)
	for range 8 {
		go func() {
			var d Decision
			for range 50 {
				d = Decide(benchInput(pol))
			}
			done <- d
		}()
	}
	for range 8 {
		if got := <-done; !reflect.DeepEqual(got, want) {
			t.Fatal("concurrent decisions differ")
		}
	}
}
