package handoff

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/escalated/escalated"
)

// Text renders an escalation and its package as plain text for a person: what the receiving
// agent reads before touching the ticket (GET /v1/escalations/{id}?format=text, and the
// summary notifications quote). Sections without content are left out rather than shown empty.
func Text(e *escalated.Escalation) string {
	var b strings.Builder
	p := e.Package
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	subject := e.TicketID
	if p != nil {
		subject = fmt.Sprintf("%s %q", p.Ticket.ID, p.Ticket.Subject)
	}
	line("Escalation %s of ticket %s", e.ID, subject)
	line("%s (%s) -> %s (%s), reason %s, trigger %s%s, state %s", e.FromTeam, e.FromTier, e.ToTeam, e.ToTier,
		e.Reason, e.Trigger, ruleSuffix(e.RuleID), e.State)
	line("Created %s", escalated.FormatTime(e.CreatedAt))
	if p == nil {
		return b.String()
	}
	t := p.Ticket
	line("Priority %s, channel %s, language %s%s%s", t.Priority, t.Channel, t.Language,
		labelled(", issue type ", t.IssueType), labelled(", tags ", strings.Join(t.Tags, ", ")))
	line("Package %d%% complete%s", int(p.Completeness*100+0.5), labelled("; missing: ", strings.Join(p.Missing, ", ")))

	if p.Note != "" {
		line("")
		by := ""
		if a := p.EscalatedBy; a != nil {
			by = " (" + strings.TrimSpace(string(a.Kind)+" "+firstNonEmpty(a.Name, a.ID)) + ")"
		}
		line("Note%s:", by)
		indent(&b, p.Note)
	}
	if p.Account != nil || p.Customer != nil {
		line("")
		if a := p.Account; a != nil {
			line("Account: %s%s%s", firstNonEmpty(a.Name, a.ID), labelled(", tier ", a.Tier), attrs(a.Attributes))
		}
		if c := p.Customer; c != nil {
			line("Customer: %s%s", firstNonEmpty(c.Name, c.ID), labelled(" <", c.Email, ">"))
		}
	}
	if m := p.OriginalMessage; m != nil {
		line("")
		line("Original message (%s):", m.At)
		indent(&b, m.Body)
	}
	if len(p.BotSteps) > 0 {
		line("")
		line("What the bot tried:")
		for i, s := range p.BotSteps {
			line("  %d. %s: %s -> %s (confidence %s)", i+1, s.Intent, s.Action, s.Outcome, strconv.FormatFloat(s.Confidence, 'f', -1, 64))
		}
	}
	if s := p.Signals; s != nil {
		line("")
		line("Signals: frustration %.2f%s%s", s.Frustration, labelled(", keywords ", strings.Join(s.Keywords, ", ")), yes(s.WantsHuman, ", asked for a person"))
	}
	if len(p.SLA) > 0 {
		line("")
		line("SLA:")
		for _, c := range p.SLA {
			due := "not counting (paused or stopped)"
			if c.DueAt != nil {
				due = "due " + *c.DueAt
			}
			line("  %s: %s, %s", c.Target, c.State, due)
		}
	}
	if len(p.PriorEscalations) > 0 {
		line("")
		line("Earlier escalations:")
		for _, pe := range p.PriorEscalations {
			line("  %s -> %s (%s): %s", pe.FromTeam, pe.ToTeam, pe.Reason, pe.Outcome)
		}
	}
	if r := p.Recommendation; r != nil {
		line("")
		line("Recommended next action (%s):", r.Source)
		indent(&b, r.Text)
		for _, s := range r.Similar {
			if s.URL != "" {
				line("  %s: %s", s.TicketID, s.URL)
			}
		}
	}
	if len(p.Conversation) > 0 {
		line("")
		line("Conversation (latest %d):", len(p.Conversation))
		for _, m := range p.Conversation {
			who := string(m.Author.Kind)
			if n := firstNonEmpty(m.Author.Name, m.Author.ID); n != "" {
				who += " " + n
			}
			if m.Internal {
				who += ", internal note"
			}
			line("  [%s] %s:", m.At, who)
			indentBy(&b, m.Body, "    ")
		}
	}
	return b.String()
}

func ruleSuffix(id string) string {
	if id == "" {
		return ""
	}
	return " (rule " + id + ")"
}

// labelled returns prefix+v+suffix, or "" when v is empty.
func labelled(prefix, v string, suffix ...string) string {
	if v == "" {
		return ""
	}
	return prefix + v + strings.Join(suffix, "")
}

func yes(b bool, s string) string {
	if b {
		return s
	}
	return ""
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func attrs(m map[string]any) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, m[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func indent(b *strings.Builder, text string) { indentBy(b, text, "  ") }

func indentBy(b *strings.Builder, text, pad string) {
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		b.WriteString(pad + strings.TrimRight(l, " \t\r") + "\n")
	}
}
