package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/sqlite"
	"github.com/escalated/escalated/internal/ticket"
)

// CaseFile is a file of policy test cases (escalated policy test).
type CaseFile struct {
	Cases []Case `yaml:"cases"`
}

// Case is one scenario: a ticket as it arrives, what happens to it, and what the policy must
// have done by the end.
type Case struct {
	Name   string      `yaml:"name"`
	Ticket CaseTicket  `yaml:"ticket"`
	Events []CaseEvent `yaml:"events"`
	Expect CaseExpect  `yaml:"expect"`
}

// CaseTicket is the new ticket, with its first message.
type CaseTicket struct {
	Subject      string              `yaml:"subject"`
	Priority     escalated.Priority  `yaml:"priority"`
	Channel      escalated.Channel   `yaml:"channel"`
	IssueType    string              `yaml:"issue_type"`
	Language     string              `yaml:"language"`
	Tags         []string            `yaml:"tags"`
	Team         string              `yaml:"team"`
	Customer     *escalated.Customer `yaml:"customer"`
	Account      *CaseAccount        `yaml:"account"`
	CustomFields map[string]any      `yaml:"custom_fields"`
	Message      string              `yaml:"message"`
	// Author of the first message: customer (default) or bot.
	Author escalated.AuthorKind `yaml:"author"`
}

// CaseAccount is the ticket's account.
type CaseAccount struct {
	ID         string         `yaml:"id"`
	Name       string         `yaml:"name"`
	Tier       string         `yaml:"tier"`
	Attributes map[string]any `yaml:"attributes"`
}

// CaseEvent is one thing that happens after the ticket arrives; exactly one field is set.
type CaseEvent struct {
	Message  *CaseMessage          `yaml:"message"`
	Update   *CaseUpdate           `yaml:"update"`
	Escalate *ticket.EscalateInput `yaml:"escalate"`
	// Wait advances the virtual clock, e.g. 30m; SLA deadlines that fall due meanwhile fire at
	// their due times, as the deadline engine would fire them.
	Wait  string                 `yaml:"wait"`
	Extra map[string]interface{} `yaml:",inline"`
}

// CaseMessage is a message added to the ticket.
type CaseMessage struct {
	Author   escalated.AuthorKind `yaml:"author"`
	ID       string               `yaml:"id"`
	Body     string               `yaml:"body"`
	Internal bool                 `yaml:"internal"`
}

// CaseUpdate is a change to the ticket's fields.
type CaseUpdate struct {
	Status    *escalated.Status   `yaml:"status"`
	Priority  *escalated.Priority `yaml:"priority"`
	IssueType *string             `yaml:"issue_type"`
	Tags      *[]string           `yaml:"tags"`
}

// CaseExpect is what must hold at the end. Empty fields are not checked.
type CaseExpect struct {
	// Escalation is the last escalation a rule made (on any event, SLA ones included): {to,
	// reason, rule, trigger}, or the word none.
	Escalation *CaseEscalation `yaml:"escalation"`
	Ticket     CaseTicketState `yaml:"ticket"`
	// RulesFired lists rules that must have fired at some point, in any order.
	RulesFired []string `yaml:"rules_fired"`
	// RulesNotFired lists rules that must not have fired.
	RulesNotFired []string `yaml:"rules_not_fired"`
}

// CaseEscalation is an expected escalation; None means no rule may have escalated.
type CaseEscalation struct {
	None   bool
	To     string `yaml:"to"`
	Reason string `yaml:"reason"`
	Rule   string `yaml:"rule"`
	// Trigger is rule (a ticket event), sla (a warning or breach) or unacknowledged.
	Trigger string `yaml:"trigger"`
}

// UnmarshalYAML accepts `none` as well as a mapping.
func (c *CaseEscalation) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Value == "none" {
		c.None = true
		return nil
	}
	type plain CaseEscalation
	return n.Decode((*plain)(c))
}

// CaseTicketState is the expected end state of the ticket.
type CaseTicketState struct {
	Status      string   `yaml:"status"`
	Priority    string   `yaml:"priority"`
	Team        string   `yaml:"team"`
	IssueType   string   `yaml:"issue_type"`
	Assignee    string   `yaml:"assignee"`
	TagsInclude []string `yaml:"tags_include"`
	TagsExclude []string `yaml:"tags_exclude"`
	Recommends  string   `yaml:"recommendation_contains"`
}

// CaseResult is one case's outcome.
type CaseResult struct {
	File, Name string
	Failures   []string
}

// RunPolicyTests runs every case of the case files against the policy in policyPath, through the
// real ticket service on a scratch SQLite database and a virtual clock, and writes a line per
// case (and the differences of failing ones) to w. It returns the results; any failure means
// the command exits 1.
func RunPolicyTests(ctx context.Context, policyPath string, caseFiles []string, w io.Writer) ([]CaseResult, error) {
	src, err := os.ReadFile(policyPath)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	p, err := policy.Parse(policyPath, src)
	if err != nil {
		return nil, fmt.Errorf("policy %s is not valid:\n%w", policyPath, err)
	}
	dir, err := os.MkdirTemp("", "escalated-policy-test")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ctx = escalated.WithPrincipal(ctx, escalated.Principal{Name: "policy-test", Role: escalated.RoleAdmin})
	ruleIDs := map[string]bool{}
	for _, r := range p.Rules {
		ruleIDs[r.ID] = true
	}
	n := 0
	var results []CaseResult
	for _, file := range caseFiles {
		raw, err := os.ReadFile(file)
		if err != nil {
			return results, fmt.Errorf("read cases: %w", err)
		}
		var cf CaseFile
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(&cf); err != nil {
			return results, fmt.Errorf("%s: %w", file, err)
		}
		if len(cf.Cases) == 0 {
			return results, fmt.Errorf("%s: no cases (expected a top-level `cases:` list)", file)
		}
		for i, c := range cf.Cases {
			if c.Name == "" {
				c.Name = fmt.Sprintf("case %d", i+1)
			}
			for _, id := range append(slices.Clone(c.Expect.RulesFired), c.Expect.RulesNotFired...) {
				if !ruleIDs[id] {
					return results, fmt.Errorf("%s: case %q names rule %q, which the policy does not define", file, c.Name, id)
				}
			}
			// Every case starts from an empty database, so no case depends on the ones before it.
			n++
			st, err := sqlite.Open(ctx, filepath.Join(dir, fmt.Sprintf("case-%d.db", n)))
			if err != nil {
				return results, err
			}
			clock := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) // a Monday morning, inside business hours
			svc := ticket.New(st, func() time.Time { return clock }, slog.New(slog.DiscardHandler))
			if _, err := svc.LoadPolicy(ctx, p, "policy-test"); err != nil {
				st.Close()
				return results, err
			}
			r := CaseResult{File: file, Name: c.Name, Failures: runCase(ctx, svc, st, c, &clock)}
			st.Close()
			results = append(results, r)
			if len(r.Failures) == 0 {
				fmt.Fprintf(w, "PASS %s: %s\n", file, c.Name)
			} else {
				fmt.Fprintf(w, "FAIL %s: %s\n", file, c.Name)
				for _, f := range r.Failures {
					fmt.Fprintf(w, "    %s\n", f)
				}
			}
		}
	}
	failed := 0
	for _, r := range results {
		if len(r.Failures) > 0 {
			failed++
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", len(results)-failed, failed)
	return results, nil
}

func runCase(ctx context.Context, svc *ticket.Service, st store.Store, c Case, clock *time.Time) []string {
	var fails []string
	tk := c.Ticket
	if tk.Message == "" {
		tk.Message = "(test case " + c.Name + ")"
	}
	if tk.Author == "" {
		tk.Author = escalated.AuthorCustomer
	}
	in := ticket.CreateInput{Subject: tk.Subject, Priority: tk.Priority, Channel: tk.Channel, IssueType: tk.IssueType,
		Language: tk.Language, Tags: tk.Tags, Team: tk.Team, Customer: tk.Customer, CustomFields: tk.CustomFields,
		Message: &ticket.MessageInput{Author: escalated.Author{Kind: tk.Author}, Body: tk.Message}}
	if tk.Account != nil {
		in.Account = &escalated.Account{ID: tk.Account.ID, Name: tk.Account.Name, Tier: tk.Account.Tier, Attributes: tk.Account.Attributes}
	}
	d, err := svc.CreateTicket(ctx, in)
	if err != nil {
		return []string{"creating the ticket: " + err.Error()}
	}
	id := d.Ticket.ID
	for i, ev := range c.Events {
		*clock = clock.Add(time.Minute)
		// Each event happens a minute after the one before; what fell due in between fires first.
		if err := replayDeadlines(ctx, st, svc, *clock); err != nil {
			return append(fails, fmt.Sprintf("event %d: firing deadlines: %v", i+1, err))
		}
		var err error
		switch {
		case len(ev.Extra) > 0:
			keys := make([]string, 0, len(ev.Extra))
			for k := range ev.Extra {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			err = fmt.Errorf("unknown event %v (allowed: message, update, escalate, wait)", keys)
		case ev.Message != nil:
			m := ev.Message
			if m.Author == "" {
				m.Author = escalated.AuthorCustomer
			}
			_, err = svc.AddMessage(ctx, id, ticket.MessageInput{Author: escalated.Author{Kind: m.Author, ID: m.ID}, Body: m.Body, Internal: m.Internal})
		case ev.Update != nil:
			_, err = svc.PatchTicket(ctx, id, ticket.Patch{Status: ev.Update.Status, Priority: ev.Update.Priority, IssueType: ev.Update.IssueType, Tags: ev.Update.Tags})
		case ev.Escalate != nil:
			_, err = svc.Escalate(ctx, id, *ev.Escalate)
		case ev.Wait != "":
			var dur time.Duration
			if dur, err = policy.ParseDuration(ev.Wait); err == nil {
				*clock = clock.Add(dur)
				err = replayDeadlines(ctx, st, svc, *clock)
			}
		default:
			err = fmt.Errorf("empty event (allowed: message, update, escalate, wait)")
		}
		if err != nil {
			fails = append(fails, fmt.Sprintf("event %d: %v", i+1, err))
			return fails
		}
	}
	got, err := svc.GetTicket(ctx, id)
	if err != nil {
		return append(fails, err.Error())
	}
	t := got.Ticket
	want := c.Expect.Ticket
	check := func(field, want, got string) {
		if want != "" && want != got {
			fails = append(fails, fmt.Sprintf("ticket.%s: want %q, got %q", field, want, got))
		}
	}
	check("status", want.Status, string(t.Status))
	check("priority", want.Priority, string(t.Priority))
	check("team", want.Team, t.Team)
	check("issue_type", want.IssueType, t.IssueType)
	check("assignee", want.Assignee, t.Assignee)
	for _, tag := range want.TagsInclude {
		if !slices.Contains(t.Tags, tag) {
			fails = append(fails, fmt.Sprintf("ticket.tags: want %q among %v", tag, t.Tags))
		}
	}
	for _, tag := range want.TagsExclude {
		if slices.Contains(t.Tags, tag) {
			fails = append(fails, fmt.Sprintf("ticket.tags: %q must not be among %v", tag, t.Tags))
		}
	}
	if want.Recommends != "" && (t.Recommendation == nil || !strings.Contains(t.Recommendation.Text, want.Recommends)) {
		fails = append(fails, fmt.Sprintf("ticket.recommendation: want text containing %q, got %+v", want.Recommends, t.Recommendation))
	}
	var byRule *escalated.Escalation
	for _, e := range got.Escalations {
		if e.RuleID != "" {
			byRule = e
		}
	}
	if x := c.Expect.Escalation; x != nil {
		switch {
		case x.None && byRule != nil:
			fails = append(fails, fmt.Sprintf("escalation: want none, rule %s escalated to %s (%s)", byRule.RuleID, byRule.ToTeam, byRule.Reason))
		case !x.None && byRule == nil:
			fails = append(fails, fmt.Sprintf("escalation: want one to %q, no rule escalated", x.To))
		case !x.None:
			check2 := func(field, want, got string) {
				if want != "" && want != got {
					fails = append(fails, fmt.Sprintf("escalation.%s: want %q, got %q", field, want, got))
				}
			}
			check2("to", x.To, byRule.ToTeam)
			check2("reason", x.Reason, string(byRule.Reason))
			check2("rule", x.Rule, byRule.RuleID)
			check2("trigger", x.Trigger, string(byRule.Trigger))
		}
	}
	fired := map[string]bool{}
	for _, h := range got.History {
		if h.Type == escalated.EventRuleFired {
			if r, ok := h.Data["rule"].(string); ok {
				fired[r] = true
			}
		}
	}
	for _, r := range c.Expect.RulesFired {
		if !fired[r] {
			fails = append(fails, fmt.Sprintf("rules_fired: %q did not fire (fired: %v)", r, keysOf(fired)))
		}
	}
	for _, r := range c.Expect.RulesNotFired {
		if fired[r] {
			fails = append(fails, fmt.Sprintf("rules_not_fired: %q fired", r))
		}
	}
	return fails
}

func keysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
