package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/analytics"
	"github.com/escalated/escalated/internal/app"
)

// TestReportEscalations: a small history made through the API, reported by issue type through
// GET /v1/reports/escalations, with the numbers worked out by hand:
//
//	api_integration: 3 tickets, 2 escalated (to integrations), one returned as unnecessary
//	billing:         1 ticket, escalated once (to billing), acknowledged
//	rate 2/3 = 0.6667 and 1/1; share 2/3 and 1/3 of 3 escalations; returned 1/2 and 0.
func TestReportEscalations(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *testServer) {
		var api []string
		for i := range 3 {
			api = append(api, s.do(agent, "POST", "/v1/tickets", newTicket(i)).must(t, 201).str("id"))
		}
		b := newTicket(9)
		b["issue_type"] = "billing"
		bill := s.do(agent, "POST", "/v1/tickets", b).must(t, 201).str("id")
		var escs []string
		for _, id := range api[:2] {
			escs = append(escs, s.do(agent, "POST", "/v1/tickets/"+id+"/escalations", map[string]any{"to": "integrations", "reason": "complexity", "note": longNote, "by": "ana"}).must(t, 201).str("id"))
		}
		be := s.do(agent, "POST", "/v1/tickets/"+bill+"/escalations", map[string]any{"to": "billing", "reason": "other", "note": longNote, "by": "tom"}).must(t, 201).str("id")
		s.do(agent, "POST", "/v1/escalations/"+be+"/acknowledge", map[string]any{"by": "bea", "context_sufficient": false}).must(t, 200)
		s.do(agent, "POST", "/v1/escalations/"+escs[0]+"/acknowledge", map[string]any{"by": "ben"}).must(t, 200)
		s.do(agent, "POST", "/v1/escalations/"+escs[0]+"/return", map[string]any{"by": "ben", "reason": "Frontline can rotate keys itself.", "necessary": false}).must(t, 200)

		r := s.do(escalated.RoleReadonly, "GET", "/v1/reports/escalations?group_by=issue_type&since=1d", nil).must(t, 200)
		if r.str("group_by") != "issue_type" {
			t.Fatalf("report: %s", r.Raw)
		}
		groups := items(r)
		if len(groups) != 2 {
			t.Fatalf("%d groups, want 2: %s", len(groups), r.Raw)
		}
		want := []map[string]any{
			{"key": "api_integration", "tickets": 3.0, "escalated_tickets": 2.0, "escalations": 2.0, "rate": 0.6667, "share": 0.6667,
				"returned_share": 0.5, "returned_unnecessary_share": 0.5, "resolved_at_target_share": 0.0, "context_insufficient_share": 0.0},
			{"key": "billing", "tickets": 1.0, "escalated_tickets": 1.0, "escalations": 1.0, "rate": 1.0, "share": 0.3333,
				"returned_share": 0.0, "context_insufficient_share": 1.0},
		}
		for i, w := range want {
			for k, v := range w {
				if groups[i][k] != v {
					t.Errorf("group %d %s = %v, want %v", i, k, groups[i][k], v)
				}
			}
		}
		if get(r.Body, "outcomes.tickets") != 4.0 || get(r.Body, "outcomes.escalations") != 3.0 || get(r.Body, "outcomes.returned_unnecessary") != 1.0 {
			t.Errorf("outcomes: %v", r.Body["outcomes"])
		}
		s.do(escalated.RoleReadonly, "GET", "/v1/reports/escalations?group_by=colour", nil).refused(t, 400, "invalid", "group_by")
		s.do(escalated.RoleReadonly, "GET", "/v1/reports/escalations?group_by=agent&since=yesterday", nil).refused(t, 400, "invalid", "since")
		s.do(escalated.RoleReadonly, "GET", "/v1/reports/escalations?group_by=agent&team=nope", nil).refused(t, 400, "invalid", "team")
		s.do(bot, "GET", "/v1/reports/escalations?group_by=agent", nil).refused(t, 403, "forbidden", "")
		if a := items(s.do(escalated.RoleReadonly, "GET", "/v1/reports/escalations?group_by=agent&since=1d", nil).must(t, 200)); len(a) == 0 {
			t.Error("no agent groups")
		}
		// Too few tickets for any finding: the list is empty, and says from how many it would speak.
		ins := s.do(escalated.RoleReadonly, "GET", "/v1/insights?since=7d", nil).must(t, 200)
		if l, ok := ins.Body["items"].([]any); !ok || len(l) != 0 || get(ins.Body, "thresholds.min_sample") != 20.0 {
			t.Errorf("insights over four tickets: %s", ins.Raw)
		}
		s.do(escalated.RoleReadonly, "GET", "/v1/insights?group_by=agent", nil).refused(t, 400, "invalid", "group_by")
		s.do(escalated.RoleReadonly, "GET", "/v1/insights?transition=x", nil).refused(t, 400, "invalid", "transition")
		// Thresholds per request: with a sample of 1, billing's one escalation (of one ticket)
		// is a concentration in t1 -> t2.
		loose := s.do(escalated.RoleReadonly, "GET", "/v1/insights?since=7d&min_sample=1&concentration=0.3", nil).must(t, 200)
		if get(loose.Body, "thresholds.min_sample") != 1.0 || !strings.Contains(string(loose.Raw), "billing is 33% (1 of 3)") {
			t.Errorf("insights with min_sample=1: %s", loose.Raw)
		}
		for _, bad := range []string{"min_sample=0", "concentration=2", "agent_ratio=1", "quick_solve=soon", "high_frustration=-1"} {
			name, _, _ := strings.Cut(bad, "=")
			s.do(escalated.RoleReadonly, "GET", "/v1/insights?"+bad, nil).refused(t, 400, "invalid", name)
		}
		s.do(escalated.RoleReadonly, "GET", "/v1/reports/escalations?group_by=agent&transition=bogus", nil).refused(t, 400, "invalid", "transition")
		s.do(escalated.RoleReadonly, "GET", "/v1/reports/escalations?group_by=agent&since=0001-01-01", nil).refused(t, 400, "invalid", "since")
		s.do(bot, "GET", "/v1/insights", nil).refused(t, 403, "forbidden", "")
	})
}

// TestReportCommand: `escalated report` (app.Report) reads the same file as a running node,
// in each format.
func TestReportCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "escalated.db")
	s := startServerWith(t, "sqlite:"+path, "testdata/policy.yaml")
	id := s.do(agent, "POST", "/v1/tickets", newTicket(1)).must(t, 201).str("id")
	s.do(agent, "POST", "/v1/tickets/"+id+"/escalations", map[string]any{"to": "integrations", "reason": "complexity", "note": longNote, "by": "ana"}).must(t, 201)
	if err := app.Report(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "missing.db"), analytics.Query{GroupBy: "agent"}, "table", io.Discard, nil); err == nil ||
		!strings.Contains(err.Error(), "no database at") {
		t.Errorf("report on a missing database file: %v", err)
	}
	var rb bytes.Buffer
	if err := app.RebuildFacts(context.Background(), "sqlite:"+path, &rb, nil); err != nil || !strings.Contains(rb.String(), "rebuilt the analytics of 1 tickets") {
		t.Errorf("facts rebuild: %v\n%s", err, rb.String())
	}
	var ins bytes.Buffer
	if err := app.ReportInsights(context.Background(), "sqlite:"+path, analytics.Query{}, "table", &ins, nil); err != nil ||
		!strings.Contains(ins.String(), "nothing stands out") {
		t.Errorf("report insights: %v\n%s", err, ins.String())
	}
	for _, format := range analytics.Formats {
		var out bytes.Buffer
		q := analytics.Query{GroupBy: "transition"}
		if err := app.Report(context.Background(), "sqlite:"+path, q, format, &out, nil); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		text := out.String()
		switch format {
		case "json":
			var rep analytics.Report
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Items) != 1 || rep.Items[0].Key != "t1 -> t2" {
				t.Errorf("json report: %v\n%s", err, text)
			}
		case "csv":
			if !strings.HasPrefix(text, "transition,tickets,escalations,") || !strings.Contains(text, "t1 -> t2,0,1,") {
				t.Errorf("csv report:\n%s", text)
			}
		case "table":
			if !strings.Contains(text, "t1 -> t2") || !strings.Contains(text, "first contact resolution") {
				t.Errorf("table report:\n%s", text)
			}
		}
	}
}

// outcomesPolicy is testdata/policy.yaml's organisation cut down for the outcome measures: a
// ticket tagged breach has a 1-second first-response target (nothing escalates on the breach),
// billing and integrations may hand tickets to each other, and a customer writing on a
// bounce-tagged ticket that integrations holds makes a rule send it to billing.
const outcomesPolicy = `version: 1
intake: frontline
tiers:
  - {id: t1, name: Frontline, level: 1}
  - {id: t2, name: Specialists, level: 2}
teams:
  - {id: frontline, tier: t1}
  - {id: billing, tier: t2}
  - {id: integrations, tier: t2}
agents:
  - {id: ana, name: Ana Silva, teams: [frontline], sees: ["*"]}
  - {id: bea, name: Bea Lund, teams: [billing]}
  - {id: ben, name: Ben Okafor, teams: [integrations]}
paths:
  - {from: frontline, to: [billing, integrations]}
  - {from: billing, to: integrations}
  - {from: integrations, to: billing}
escalation:
  note_min_length: 20
  max_per_ticket: 5
sla:
  - id: breach
    when: '"breach" in ticket.tags'
    targets: {first_response: 1s, resolution: 72h, acknowledge: 1h}
  - id: default
    targets: {first_response: 4h, resolution: 72h, acknowledge: 1h}
rules:
  - id: bounce-back
    on: [message.added]
    when: ticket.team == "integrations" && "bounce" in ticket.tags && message.author == "customer"
    do:
      - escalate: {to: billing, reason: other, note: "Billing owns the refunds of this account."}
`

// TestReportOutcomes: every outcome measure of GET /v1/reports/escalations over a scripted
// history of eleven tickets, with the numbers worked out by hand:
//
//	plain      open, untouched
//	fcr        answered and solved in frontline: first contact resolution (1 of 11 = 0.0909)
//	twice      solved in frontline, reopened, solved again, never escalated: not first contact
//	breach     first response breached (1 s), then escalated: breached before escalation
//	reopened   solved in frontline, reopened by the customer, escalated: reopened after tier-1 solve
//	           (twice was reopened too, but never escalated)
//	angry      three furious customer messages, never escalated: high frustration never escalated
//	angry-back as furious, escalated and returned as unnecessary: escalated, so not counted above
//	needed     escalated and returned as necessary: not unnecessary
//	quick      escalated, acknowledged and resolved at once without a note: solved quickly without a note
//	noted      the same with an internal note while billing held it: not counted
//	bounce     frontline -> billing -> integrations, then the rule sends it back to billing
//	           minutes after billing let it go: one ping-pong
//
// Escalations: breach 1, reopened 1, angry-back 1, needed 1, quick 1, noted 1, bounce 3 = 9.
func TestReportOutcomes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outcomes.yaml")
	if err := os.WriteFile(path, []byte(outcomesPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	onBothStoresWith(t, path, func(t *testing.T, s *testServer) {
		open := func(tags []string, body string) string {
			tk := newTicket(0)
			tk["tags"] = tags
			tk["message"] = map[string]any{"author": map[string]any{"kind": "customer"}, "body": body}
			return s.do(agent, "POST", "/v1/tickets", tk).must(t, 201).str("id")
		}
		say := func(id, kind, by, body string, internal bool) {
			author := map[string]any{"kind": kind}
			if by != "" {
				author["id"] = by
			}
			s.do(agent, "POST", "/v1/tickets/"+id+"/messages", map[string]any{"author": author, "body": body, "internal": internal}).must(t, 201)
		}
		escalate := func(id, to, by string) string {
			return s.do(agent, "POST", "/v1/tickets/"+id+"/escalations", map[string]any{"to": to, "reason": "complexity", "note": longNote, "by": by}).must(t, 201).str("id")
		}
		ack := func(esc, by string) {
			s.do(agent, "POST", "/v1/escalations/"+esc+"/acknowledge", map[string]any{"by": by}).must(t, 200)
		}
		resolve := func(esc, by string) {
			s.do(agent, "POST", "/v1/escalations/"+esc+"/resolve", map[string]any{"by": by, "resolution": "Rotated the key for them."}).must(t, 200)
		}
		solve := func(id string) {
			s.do(agent, "PATCH", "/v1/tickets/"+id, map[string]any{"status": "solved"}).must(t, 200)
		}
		const calm = "Our API key is rejected with 401 since this morning."
		furious := []string{
			"This is the worst service ever. I am furious and disgusted!",
			"Still broken. This is terrible, horrible and useless!",
			"I want to speak to a human right now. This is awful!",
		}

		breach := open([]string{"breach"}, calm) // first, so its second runs out meanwhile
		plain := open(nil, calm)
		fcr := open(nil, calm)
		say(fcr, "agent", "ana", "Regenerate the key under Settings > API; that fixes it.", false)
		solve(fcr)

		twice := open(nil, calm)
		solve(twice)
		say(twice, "customer", "", "It happened again.", false)
		solve(twice)

		reopened := open(nil, calm)
		say(reopened, "agent", "ana", "Regenerate the key under Settings > API.", false)
		solve(reopened)
		say(reopened, "customer", "", "It happened again.", false)
		if tk := s.do(agent, "GET", "/v1/tickets/"+reopened, nil); tk.str("status") != "open" {
			t.Fatalf("the customer's reply did not reopen: %s", tk.Raw)
		}
		escalate(reopened, "billing", "ana")

		angry := open(nil, furious[0])
		angryBack := open(nil, furious[0])
		for _, id := range []string{angry, angryBack} {
			for _, m := range furious[1:] {
				say(id, "customer", "", m, false)
			}
			say(id, "agent", "ana", "I am so sorry, this is awful; looking at it now.", false)
		}
		back := escalate(angryBack, "integrations", "ana")
		ack(back, "ben")
		s.do(agent, "POST", "/v1/escalations/"+back+"/return", map[string]any{"by": "ben", "reason": "Frontline can rotate keys itself.", "necessary": false}).must(t, 200)

		needed := open(nil, calm)
		nd := escalate(needed, "integrations", "ana")
		ack(nd, "ben")
		s.do(agent, "POST", "/v1/escalations/"+nd+"/return", map[string]any{"by": "ben", "reason": "Rotated the key; frontline can take it from here.", "necessary": true}).must(t, 200)

		quick := open(nil, calm)
		q := escalate(quick, "billing", "ana")
		ack(q, "bea")
		resolve(q, "bea")
		noted := open(nil, calm)
		n := escalate(noted, "billing", "ana")
		ack(n, "bea")
		say(noted, "agent", "bea", "Checked the gateway logs: the key was revoked by mistake.", true)
		resolve(n, "bea")

		bounce := open([]string{"bounce"}, calm)
		b1 := escalate(bounce, "billing", "ana")
		ack(b1, "bea")
		b2 := escalate(bounce, "integrations", "bea")
		ack(b2, "ben")
		say(bounce, "customer", "", "Any news on this?", false)
		if tk := s.do(agent, "GET", "/v1/tickets/"+bounce, nil); tk.str("team") != "billing" || len(list(tk.Body["escalations"])) != 3 {
			t.Fatalf("the rule did not send the ticket back to billing: %s", tk.Raw)
		}

		s.waitFor(t, breach, 20*time.Second, func(d map[string]any) bool {
			for _, h := range list(d["history"]) {
				if e, _ := h.(map[string]any); e["type"] == escalated.EventSLABreached {
					return true
				}
			}
			return false
		})
		escalate(breach, "integrations", "ana")

		// The frustration threshold sits between the furious tickets and the others.
		const high = 0.6
		for id, furious := range map[string]bool{plain: false, fcr: false, twice: false, needed: false, breach: false, reopened: false, angry: true, angryBack: true, quick: false, noted: false, bounce: false} {
			f, _ := get(s.do(agent, "GET", "/v1/tickets/"+id, nil).must(t, 200).Body, "signals.frustration").(float64)
			if (f >= high) != furious {
				t.Fatalf("ticket %s has frustration %v; the test needs it %s %v", id, f, map[bool]string{true: "at least", false: "below"}[furious], high)
			}
		}

		want := map[string]any{
			"tickets":                                   11.0,
			"first_contact_resolved":                    1.0,
			"first_contact_resolution":                  0.0909,
			"breached_before_escalation":                1.0,
			"reopened_after_tier1_solve_then_escalated": 1.0,
			"high_frustration_never_escalated":          1.0,
			"escalations":                               9.0,
			"returned_unnecessary":                      1.0,
			"solved_quickly_without_note":               1.0,
			"ping_pongs":                                1.0,
			"quick_solve_seconds":                       600.0,
			"high_frustration":                          high,
		}
		check := func(query string, want map[string]any) {
			t.Helper()
			r := s.do(escalated.RoleReadonly, "GET", "/v1/reports/escalations?group_by=issue_type&since=1d&"+query, nil).must(t, 200)
			got, _ := r.Body["outcomes"].(map[string]any)
			if reflect.DeepEqual(got, want) {
				return
			}
			for k := range want {
				if got[k] != want[k] {
					t.Errorf("%s: outcomes.%s = %v, want %v", query, k, got[k], want[k])
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("%s: outcomes.%s = %v is not checked here", query, k, got[k])
				}
			}
		}
		check("high_frustration=0.6", want)
		// Quick means within whole minutes of quick_solve: under a minute, none is quick (the
		// resolution took a few milliseconds, which count as the minute they began).
		want["solved_quickly_without_note"], want["quick_solve_seconds"] = 0.0, 30.0
		check("high_frustration=0.6&quick_solve=30s", want)
	})
}
