package handoff

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/handoff/handofftest"
)

var t0 = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

func ticket(account bool) *escalated.Ticket {
	t := &escalated.Ticket{
		ID: escalated.NewID(escalated.PrefixTicket, t0), Subject: "Refund not received", Status: escalated.StatusOpen,
		Priority: escalated.PriorityHigh, Channel: escalated.ChannelEmail, IssueType: "get_refund",
		Tags: []string{"refund"}, Language: "en", CreatedAt: t0,
		Customer: &escalated.Customer{ID: "c1", Name: "Jo", Email: "jo@example.test"},
	}
	if account {
		t.Account = &escalated.Account{ID: "acme", Name: "Acme", Tier: "enterprise", Attributes: map[string]any{"arr": 120000.0}}
	}
	return t
}

func msg(i int, kind escalated.AuthorKind, internal bool) *escalated.Message {
	at := t0.Add(time.Duration(i) * time.Minute)
	return &escalated.Message{ID: escalated.NewID(escalated.PrefixMessage, at), Author: escalated.Author{Kind: kind, ID: fmt.Sprint(kind, i)}, Body: fmt.Sprintf("message %d", i), Internal: internal, CreatedAt: at}
}

func TestBuild(t *testing.T) {
	msgs := []*escalated.Message{msg(0, escalated.AuthorBot, false), msg(1, escalated.AuthorAgent, true), msg(2, escalated.AuthorCustomer, false)}
	for i := 3; i < 15; i++ {
		msgs = append(msgs, msg(i, escalated.AuthorAgent, false))
	}
	p := Build(Input{Ticket: ticket(true), Messages: msgs, Note: "  tried a refund retry  ", Required: []string{"original_message", "account", "note"}})
	if p.OriginalMessage == nil || p.OriginalMessage.Body != "message 2" {
		t.Fatalf("original message should be the first public customer message, got %+v", p.OriginalMessage)
	}
	if len(p.Conversation) != ConversationLength || p.Conversation[0].Body != "message 5" || p.Conversation[9].Body != "message 14" {
		t.Fatalf("conversation should be the last %d messages in order: %+v", ConversationLength, p.Conversation)
	}
	if p.Note != "tried a refund retry" || p.CustomerTier != "enterprise" || p.Completeness != 1 || len(p.Missing) != 0 {
		t.Fatalf("package: %+v", p)
	}
}

func TestScore(t *testing.T) {
	p := Build(Input{Ticket: ticket(false), Messages: []*escalated.Message{msg(0, escalated.AuthorCustomer, false)}})
	cases := []struct {
		required []string
		want     float64
		missing  []string
	}{
		{nil, 1, nil},
		{[]string{"original_message"}, 1, nil},
		{[]string{"original_message", "account", "note"}, 1.0 / 3, []string{"account", "note"}},
		{[]string{"account", "customer_tier", "bot_steps", "sla"}, 0, []string{"account", "customer_tier", "bot_steps", "sla"}},
		{[]string{"customer", "conversation", "prior_escalations", "recommendation"}, 0.5, []string{"prior_escalations", "recommendation"}},
	}
	for _, c := range cases {
		got, missing := Score(p, c.required)
		if got != c.want || !slices.Equal(missing, append([]string{}, c.missing...)) {
			t.Errorf("Score(%v) = %v %v, want %v %v", c.required, got, missing, c.want, c.missing)
		}
	}
}

// TestEveryPackageMatchesSchema builds packages from many generated ticket states, covering
// every optional part, and validates each against the published schema.
func TestEveryPackageMatchesSchema(t *testing.T) {
	sch := handofftest.Schema(t)
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := escalated.AuthorKinds
	for i := 0; i < 500; i++ {
		tk := ticket(rng.IntN(2) == 0)
		if rng.IntN(3) == 0 {
			tk.Customer = nil
		}
		if rng.IntN(4) == 0 {
			tk.Tags = nil
		}
		var msgs []*escalated.Message
		for j := 0; j < rng.IntN(14); j++ {
			k := kinds[rng.IntN(len(kinds))]
			msgs = append(msgs, msg(j, k, k == escalated.AuthorAgent && rng.IntN(2) == 0))
		}
		var prior []*escalated.Escalation
		for j := 0; j < rng.IntN(3); j++ {
			nec := rng.IntN(2) == 0
			prior = append(prior, &escalated.Escalation{
				ID: escalated.NewID(escalated.PrefixEscalation, t0), FromTeam: "frontline", ToTeam: "billing",
				Reason: escalated.Reasons[rng.IntN(len(escalated.Reasons))], State: escalated.EscalationStates[rng.IntN(len(escalated.EscalationStates))],
				Necessary: &nec, ReturnReason: "not needed", CreatedAt: t0,
			})
		}
		in := Input{Ticket: tk, Messages: msgs, Prior: prior, Note: "note", Required: escalated.PackageFields[:rng.IntN(len(escalated.PackageFields))]}
		if rng.IntN(2) == 0 {
			in.EscalatedBy = &escalated.Author{Kind: escalated.AuthorAgent, ID: "ana", Name: "Ana"}
			in.BotSteps = []escalated.BotStep{{Intent: "refund", Action: "lookup_order", Outcome: "failed", Confidence: 0.4}}
			in.SLA = []escalated.ClockStatus{{Target: "first_response", DueAt: escalated.TimePtr(t0), State: "running"}}
			in.Signals = &escalated.PackageSignals{SentimentTrend: []float64{-0.2, -0.6}, Frustration: 0.7, Keywords: []string{"legal"}, WantsHuman: true}
			in.Recommendation = &escalated.Recommendation{Text: "Issue the refund manually", Source: "rule:refunds"}
		}
		p := Build(in)
		handofftest.Validate(t, sch, p)
		if p.Completeness < 0 || p.Completeness > 1 {
			t.Fatalf("completeness %v out of range", p.Completeness)
		}
	}
}

// TestSchemaRejectsBrokenPackages makes sure the schema is strict enough to catch a wrong
// package, so that the test above can fail.
func TestSchemaRejectsBrokenPackages(t *testing.T) {
	sch := handofftest.Schema(t)
	good, _ := json.Marshal(Build(Input{Ticket: ticket(true), Messages: []*escalated.Message{msg(0, escalated.AuthorCustomer, false)}}))
	for name, mutate := range map[string]func(m map[string]any){
		"unknown field":        func(m map[string]any) { m["extra"] = 1 },
		"missing completeness": func(m map[string]any) { delete(m, "completeness") },
		"completeness > 1":     func(m map[string]any) { m["completeness"] = 1.5 },
		"bad time":             func(m map[string]any) { m["ticket"].(map[string]any)["created_at"] = "yesterday" },
		"wrong schema version": func(m map[string]any) { m["schema_version"] = 2 },
	} {
		var m map[string]any
		_ = json.Unmarshal(good, &m)
		mutate(m)
		b, _ := json.Marshal(m)
		var v any
		_ = json.Unmarshal(b, &v)
		if err := handofftest.Check(sch, v); err == nil {
			t.Errorf("%s: schema accepted a broken package", name)
		}
	}
}
