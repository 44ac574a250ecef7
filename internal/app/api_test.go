package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/escalated/escalated"
)

const (
	admin = escalated.RoleAdmin
	// agent is the token most tests work tickets with: an integration's, which speaks for any
	// agent of the policy with by (a supervisor token). A token of role agent is one person's,
	// limited to their teams and to speaking as themselves: scope_test.go tests those.
	agent    = escalated.RoleSupervisor
	bot      = escalated.RoleBot
	readonly = escalated.RoleReadonly
)

// TestEscalationLifecycle walks one ticket through every transition a person can make and checks
// what the ticket, its history and the audit trail say after each.
func TestEscalationLifecycle(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *testServer) {

		created := s.do(agent, "POST", "/v1/tickets", newTicket(1)).must(t, http.StatusCreated)
		id := created.str("id")
		if created.str("status") != "new" || created.str("team") != "frontline" || created.str("tier") != "t1" {
			t.Fatalf("new ticket: %s", created.Raw)
		}
		// Routed in frontline: ana and tom are level, ana comes first in the policy.
		if created.str("assignee") != "ana" {
			t.Fatalf("assignee should be ana: %s", created.Raw)
		}
		if h, _ := created.Body["history"].([]any); len(h) != 3 {
			t.Fatalf("history of a new ticket should be ticket.created + ticket.routed + message.added: %s", created.Raw)
		}

		s.do(agent, "POST", "/v1/tickets/"+id+"/messages", map[string]any{
			"author": map[string]any{"kind": "agent", "id": "ana"}, "body": "Checked the key, it is valid. Looking deeper.",
		}).must(t, http.StatusCreated)
		s.do(agent, "POST", "/v1/tickets/"+id+"/messages", map[string]any{
			"author": map[string]any{"kind": "agent", "id": "ana"}, "body": "Suspect a regional gateway issue.", "internal": true,
		}).must(t, http.StatusCreated)

		esc := s.do(agent, "POST", "/v1/tickets/"+id+"/escalations", map[string]any{
			"to": "integrations", "reason": "complexity", "note": longNote, "by": "ana",
		}).must(t, http.StatusCreated)
		escID := esc.str("id")
		for k, want := range map[string]string{
			"state": "pending", "from_team": "frontline", "to_team": "integrations", "from_tier": "t1",
			"to_tier": "t2", "trigger": "manual", "by": "ana", "reason": "complexity",
			"package.original_message.body": "Our API key is rejected with 401 since this morning.",
			"package.customer_tier":         "pro", "package.account.id": "globex", "package.escalated_by.id": "ana",
			"package.note": longNote,
		} {
			if got := esc.str(k); got != want {
				t.Errorf("escalation %s = %q, want %q", k, got, want)
			}
		}
		if c := get(esc.Body, "package.completeness"); c != 1.0 {
			t.Errorf("completeness %v, want 1", c)
		}
		if conv, _ := get(esc.Body, "package.conversation").([]any); len(conv) != 3 {
			t.Errorf("conversation should quote all 3 messages: %v", conv)
		}
		if get(esc.Body, "policy_version") != 1.0 {
			t.Errorf("policy_version %v, want 1", get(esc.Body, "policy_version"))
		}

		tk := s.do(readonly, "GET", "/v1/tickets/"+id, nil).must(t, http.StatusOK)
		if tk.str("team") != "integrations" || tk.str("tier") != "t2" || tk.str("status") != "open" || tk.str("active_escalation") != escID {
			t.Fatalf("after escalation: %s", tk.Raw)
		}

		// A pending escalation must be acknowledged before anything else happens to it.
		s.do(agent, "POST", "/v1/escalations/"+escID+"/resolve", map[string]any{"by": "ben", "resolution": "done"}).refused(t, 409, "conflict", "")
		s.do(agent, "POST", "/v1/tickets/"+id+"/escalations", map[string]any{"to": "engineering", "reason": "complexity", "note": longNote}).refused(t, 409, "conflict", "")
		s.do(agent, "POST", "/v1/escalations/"+escID+"/acknowledge", map[string]any{"by": "ana"}).refused(t, 400, "invalid", "by")

		ack := s.do(agent, "POST", "/v1/escalations/"+escID+"/acknowledge", map[string]any{"by": "ben"}).must(t, http.StatusOK)
		if ack.str("state") != "acknowledged" || ack.str("acknowledged_at") == "" {
			t.Fatalf("acknowledge: %s", ack.Raw)
		}
		s.do(agent, "POST", "/v1/escalations/"+escID+"/acknowledge", map[string]any{"by": "ben"}).refused(t, 409, "conflict", "")
		if s.do(readonly, "GET", "/v1/tickets/"+id, nil).str("assignee") != "ben" {
			t.Fatal("acknowledging agent should be assigned")
		}

		// Escalate further: the first escalation is superseded.
		esc2 := s.do(agent, "POST", "/v1/tickets/"+id+"/escalations", map[string]any{"to": "next_tier", "reason": "complexity", "note": "Gateway returns 401 for valid keys; looks like a platform bug.", "by": "ben"}).must(t, 201)
		if esc2.str("to_team") != "engineering" || esc2.str("from_team") != "integrations" {
			t.Fatalf("next_tier from integrations: %s", esc2.Raw)
		}
		if prior, _ := get(esc2.Body, "package.prior_escalations").([]any); len(prior) != 1 {
			t.Fatalf("second package should list the first escalation: %s", esc2.Raw)
		}
		first := s.do(readonly, "GET", "/v1/escalations/"+escID, nil).must(t, 200)
		if first.str("state") != "escalated" || first.str("next_id") != esc2.str("id") {
			t.Fatalf("first escalation after escalating further: %s", first.Raw)
		}
		s.do(agent, "POST", "/v1/escalations/"+escID+"/acknowledge", map[string]any{}).refused(t, 409, "conflict", "")

		esc2ID := esc2.str("id")
		s.do(agent, "POST", "/v1/escalations/"+esc2ID+"/acknowledge", nil).must(t, 200)
		s.do(agent, "POST", "/v1/escalations/"+esc2ID+"/return", map[string]any{"by": "eve", "reason": "Not a bug"}).refused(t, 400, "invalid", "necessary")
		ret := s.do(agent, "POST", "/v1/escalations/"+esc2ID+"/return", map[string]any{"by": "eve", "reason": "Key was for the sandbox; integrations can explain.", "necessary": false}).must(t, 200)
		if ret.str("state") != "returned" || get(ret.Body, "necessary") != false {
			t.Fatalf("return: %s", ret.Raw)
		}
		s.do(agent, "POST", "/v1/escalations/"+esc2ID+"/acknowledge", nil).refused(t, 409, "conflict", "")

		back := s.do(readonly, "GET", "/v1/tickets/"+id, nil).must(t, 200)
		if back.str("team") != "integrations" || back.str("assignee") != "ben" || back.str("active_escalation") != "" {
			t.Fatalf("after return the ticket is back with integrations, assigned to ben: %s", back.Raw)
		}

		// History: contiguous sequence numbers, every transition recorded, in order.
		hist, _ := back.Body["history"].([]any)
		var types []string
		for i, h := range hist {
			e := h.(map[string]any)
			if e["seq"] != float64(i+1) {
				t.Fatalf("history seq %v at position %d", e["seq"], i)
			}
			types = append(types, e["type"].(string))
		}
		want := []string{"ticket.created", "ticket.routed", "message.added", "message.added", "ticket.updated", "message.added",
			"escalation.created", "ticket.routed", "ticket.updated", "escalation.acknowledged",
			"escalation.escalated", "escalation.created", "ticket.routed", "ticket.updated", "escalation.acknowledged",
			"escalation.returned", "ticket.routed", "ticket.updated"}
		if strings.Join(types, ",") != strings.Join(want, ",") {
			t.Fatalf("history types\n got %v\nwant %v", types, want)
		}
		if esc := back.Body["escalations"].([]any); len(esc) != 2 {
			t.Fatalf("ticket should list 2 escalations, got %d", len(esc))
		}

		audit := s.do(admin, "GET", "/v1/audit?object_kind=escalation", nil).must(t, 200)
		var actions []string
		for _, a := range items(audit) {
			actions = append(actions, a["action"].(string))
		}
		wantAudit := "escalation.returned,escalation.acknowledged,escalation.created,escalation.escalated,escalation.acknowledged,escalation.created"
		if strings.Join(actions, ",") != wantAudit {
			t.Fatalf("audit (newest first)\n got %v\nwant %s", actions, wantAudit)
		}
		if a := items(s.do(admin, "GET", "/v1/audit?action=policy.loaded", nil)); len(a) != 1 {
			t.Fatalf("policy load should be audited once, got %d", len(a))
		}
		s.do(escalated.RoleAgent, "GET", "/v1/audit", nil).refused(t, 403, "forbidden", "")
	})
}

func TestResolveSolvesTicket(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *testServer) {
		id := s.do(agent, "POST", "/v1/tickets", newTicket(2)).must(t, 201).str("id")
		esc := s.do(agent, "POST", "/v1/tickets/"+id+"/escalations", map[string]any{"to": "billing", "reason": "other", "note": longNote, "by": "tom"}).must(t, 201).str("id")
		s.do(agent, "POST", "/v1/escalations/"+esc+"/acknowledge", map[string]any{"by": "bea"}).must(t, 200)
		s.do(agent, "POST", "/v1/escalations/"+esc+"/resolve", map[string]any{"by": "bea"}).refused(t, 400, "invalid", "resolution")
		r := s.do(agent, "POST", "/v1/escalations/"+esc+"/resolve", map[string]any{"by": "bea", "resolution": "Refunded the double charge."}).must(t, 200)
		if r.str("state") != "resolved" || r.str("resolution") != "Refunded the double charge." || r.str("closed_at") == "" {
			t.Fatalf("resolve: %s", r.Raw)
		}
		tk := s.do(agent, "GET", "/v1/tickets/"+id, nil)
		if tk.str("status") != "solved" || tk.str("active_escalation") != "" {
			t.Fatalf("ticket after resolve: %s", tk.Raw)
		}
		s.do(agent, "POST", "/v1/escalations/"+esc+"/return", map[string]any{"reason": "x", "necessary": true}).refused(t, 409, "conflict", "")
		// A solved ticket cannot be escalated; a customer reply reopens it.
		s.do(agent, "POST", "/v1/tickets/"+id+"/escalations", map[string]any{"to": "engineering", "reason": "other", "note": longNote}).refused(t, 409, "conflict", "")
		s.do(agent, "POST", "/v1/tickets/"+id+"/messages", map[string]any{"author": map[string]any{"kind": "customer"}, "body": "It happened again."}).must(t, 201)
		tk = s.do(agent, "GET", "/v1/tickets/"+id, nil)
		if tk.str("status") != "open" || get(tk.Body, "counters.reopens") != 1.0 {
			t.Fatalf("customer reply should reopen: %s", tk.Raw)
		}
	})
}

func TestEscalationRefusals(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *testServer) {
		id := s.do(agent, "POST", "/v1/tickets", newTicket(3)).must(t, 201).str("id")
		path := "/v1/tickets/" + id + "/escalations"
		cases := []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"not on a path", map[string]any{"to": "engineering", "reason": "complexity", "note": longNote}, "to"},
			{"unknown team", map[string]any{"to": "legal", "reason": "complexity", "note": longNote}, "to"},
			{"account team of another account", map[string]any{"to": "account_team", "reason": "customer_tier", "note": longNote}, "to"},
			{"note too short", map[string]any{"to": "billing", "reason": "complexity", "note": "pls help"}, "note"},
			{"missing note", map[string]any{"to": "billing", "reason": "complexity"}, "note"},
			{"bad reason", map[string]any{"to": "billing", "reason": "boredom", "note": longNote}, "reason"},
			{"missing target", map[string]any{"reason": "complexity", "note": longNote}, "to"},
			{"unknown agent", map[string]any{"to": "billing", "reason": "complexity", "note": longNote, "by": "zed"}, "by"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s.do(agent, "POST", path, c.body).refused(t, 400, "invalid", c.field)
			})
		}
		s.do(agent, "POST", "/v1/tickets/tkt_nope/escalations", map[string]any{"to": "billing", "reason": "complexity", "note": longNote}).refused(t, 404, "not_found", "")
		s.do(agent, "POST", "/v1/escalations/esc_nope/acknowledge", nil).refused(t, 404, "not_found", "")

		// max_per_ticket is 3 in the test policy: up, down, up, up, then the fourth is refused.
		e1 := s.do(agent, "POST", path, map[string]any{"to": "integrations", "reason": "complexity", "note": longNote}).must(t, 201).str("id")
		s.do(agent, "POST", "/v1/escalations/"+e1+"/acknowledge", nil).must(t, 200)
		s.do(agent, "POST", "/v1/escalations/"+e1+"/return", map[string]any{"reason": "config issue", "necessary": true}).must(t, 200)
		// Straight back to the team that just returned it is ping-pong: refused, with the reason.
		pp := s.do(agent, "POST", path, map[string]any{"to": "integrations", "reason": "complexity", "note": longNote})
		pp.refused(t, 400, "invalid", "to")
		if !strings.Contains(pp.Raw2(), "ping-pong") {
			t.Fatalf("refusal should say ping-pong: %s", pp.Raw)
		}
		e2 := s.do(agent, "POST", path, map[string]any{"to": "billing", "reason": "complexity", "note": longNote}).must(t, 201).str("id")
		s.do(agent, "POST", "/v1/escalations/"+e2+"/acknowledge", nil).must(t, 200)
		s.do(agent, "POST", path, map[string]any{"to": "engineering", "reason": "complexity", "note": longNote}).must(t, 201)
		r := s.do(agent, "POST", path, map[string]any{"to": "engineering", "reason": "complexity", "note": longNote})
		r.refused(t, 400, "invalid", "to")
		if !strings.Contains(r.Raw2(), "max_per_ticket") {
			t.Fatalf("refusal should name max_per_ticket: %s", r.Raw)
		}

		// The enterprise account's team is reachable through account_team.
		tk := newTicket(4)
		tk["account"] = map[string]any{"id": "acme", "name": "Acme", "tier": "enterprise"}
		acme := s.do(agent, "POST", "/v1/tickets", tk).must(t, 201).str("id")
		r = s.do(agent, "POST", "/v1/tickets/"+acme+"/escalations", map[string]any{"to": "account_team", "reason": "customer_tier", "note": longNote}).must(t, 201)
		if r.str("to_team") != "enterprise-desk" {
			t.Fatalf("account_team for acme: %s", r.Raw)
		}
	})
}

func TestAccountDataIsMergedNotErased(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.do(agent, "POST", "/v1/tickets", newTicket(1)).must(t, 201)
	tk := newTicket(2)
	tk["account"] = map[string]any{"id": "globex", "attributes": map[string]any{"region": "eu"}}
	tk["customer"] = map[string]any{"id": "c1"}
	r := s.do(agent, "POST", "/v1/tickets", tk).must(t, 201)
	if r.str("account.tier") != "pro" || r.str("account.name") != "Globex" || get(r.Body, "account.attributes.arr") != 12000.0 || r.str("account.attributes.region") != "eu" {
		t.Fatalf("account should keep what earlier tickets said and add the new attribute: %s", r.Raw)
	}
	if r.str("customer.email") != "jo@example.test" {
		t.Fatalf("customer email erased: %s", r.Raw)
	}
}

func (r reply) Raw2() string { return string(r.Raw) }

func TestRequestValidation(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.do(agent, "POST", "/v1/tickets", `{"subject":"x","colour":"red","message":{"body":"hi"}}`).refused(t, 400, "invalid", "colour")
	s.do(agent, "POST", "/v1/tickets", `{"subject":42,"message":{"body":"hi"}}`).refused(t, 400, "invalid", "subject")
	s.do(agent, "POST", "/v1/tickets", `{"subject":"x","message":{"body":"hi","author":{"kind":"customer","idd":"x"}}}`).refused(t, 400, "invalid", "message.author.idd")
	s.do(agent, "POST", "/v1/tickets", `{"tags":"api","message":{"body":"hi"}}`).refused(t, 400, "invalid", "tags")
	s.do(agent, "POST", "/v1/tickets", `{"subject":"x"`).refused(t, 400, "invalid", "")
	s.do(agent, "POST", "/v1/tickets", `{} {}`).refused(t, 400, "invalid", "")
	s.do(agent, "POST", "/v1/tickets", ``).refused(t, 400, "invalid", "")
	s.do(agent, "POST", "/v1/tickets", map[string]any{"subject": "x"}).refused(t, 400, "invalid", "message")
	s.do(agent, "POST", "/v1/tickets", map[string]any{"priority": "asap", "channel": "fax", "message": map[string]any{"body": "hi"}}).refused(t, 400, "invalid", "priority")
	s.do(agent, "POST", "/v1/tickets", map[string]any{"team": "nowhere", "message": map[string]any{"body": "hi"}}).refused(t, 400, "invalid", "team")
	s.do(agent, "POST", "/v1/tickets", map[string]any{"message": map[string]any{"body": "  "}}).refused(t, 400, "invalid", "message.body")
	s.do(agent, "POST", "/v1/tickets", map[string]any{"message": map[string]any{"body": "note", "internal": true}}).refused(t, 400, "invalid", "message.internal")
	s.do(agent, "POST", "/v1/tickets", map[string]any{"message": map[string]any{"body": "nul \u0000 byte"}}).refused(t, 400, "invalid", "message.body")
	s.do(agent, "GET", "/v1/tickets?limit=0", nil).refused(t, 400, "invalid", "limit")
	s.do(agent, "GET", "/v1/tickets?status=lost", nil).refused(t, 400, "invalid", "status")

	big := `{"subject":"x","message":{"body":"` + strings.Repeat("a", 1<<20) + `"}}`
	s.do(agent, "POST", "/v1/tickets", big).refused(t, 413, "too_large", "")
	// A body under the API limit but over the field limit is a field error, not a 413.
	s.do(agent, "POST", "/v1/tickets", map[string]any{"message": map[string]any{"body": strings.Repeat("a", 70000)}}).refused(t, 400, "invalid", "message.body")

	// Chat tickets without a subject get one from the first line.
	r := s.do(agent, "POST", "/v1/tickets", map[string]any{"channel": "chat", "message": map[string]any{"author": map[string]any{"kind": "customer"}, "body": "where is my order\nit is late"}}).must(t, 201)
	if r.str("subject") != "where is my order" {
		t.Fatalf("derived subject: %q", r.str("subject"))
	}
	s.do(agent, "GET", "/v1/nothing", nil).refused(t, 404, "not_found", "")
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.do("", "GET", "/v1/tickets", nil).refused(t, 401, "unauthorized", "")
	s.tokens["forged"] = "esctok_" + strings.Repeat("A", 43)
	s.do("forged", "GET", "/v1/tickets", nil).refused(t, 401, "unauthorized", "")
	s.tokens["junk"] = "hello"
	s.do("junk", "GET", "/v1/tickets", nil).refused(t, 401, "unauthorized", "")
	s.do("", "GET", "/healthz", nil).must(t, 200)
	s.do("", "GET", "/readyz", nil).must(t, 200)

	id := s.do(agent, "POST", "/v1/tickets", newTicket(5)).must(t, 201).str("id")
	s.do(readonly, "GET", "/v1/tickets/"+id, nil).must(t, 200)
	// A bot hands off and evaluates, nothing else (docs/security.md).
	s.do(bot, "POST", "/v1/tickets", newTicket(6)).refused(t, 403, "forbidden", "")
	s.do(bot, "GET", "/v1/tickets/"+id, nil).refused(t, 403, "forbidden", "")
	s.do(readonly, "POST", "/v1/tickets", newTicket(6)).refused(t, 403, "forbidden", "")
	s.do(readonly, "POST", "/v1/tickets/"+id+"/messages", map[string]any{"author": map[string]any{"kind": "customer"}, "body": "x"}).refused(t, 403, "forbidden", "")
	s.do(readonly, "PATCH", "/v1/tickets/"+id, map[string]any{"priority": "low"}).refused(t, 403, "forbidden", "")
	s.do(readonly, "POST", "/v1/tickets/"+id+"/escalations", map[string]any{"to": "billing", "reason": "other", "note": longNote}).refused(t, 403, "forbidden", "")
	s.do(bot, "POST", "/v1/tickets/"+id+"/escalations", map[string]any{"to": "billing", "reason": "bot_handoff", "note": longNote}).refused(t, 403, "forbidden", "")
	esc := s.do(agent, "POST", "/v1/tickets/"+id+"/escalations", map[string]any{"to": "billing", "reason": "other", "note": longNote}).must(t, 201).str("id")
	s.do(bot, "POST", "/v1/escalations/"+esc+"/acknowledge", nil).refused(t, 403, "forbidden", "")
	s.do(readonly, "POST", "/v1/escalations/"+esc+"/acknowledge", nil).refused(t, 403, "forbidden", "")
	s.do(escalated.RoleSupervisor, "POST", "/v1/escalations/"+esc+"/acknowledge", nil).must(t, 200)
}

func TestPatchTicket(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *testServer) {
		id := s.do(agent, "POST", "/v1/tickets", newTicket(7)).must(t, 201).str("id")
		r := s.do(agent, "PATCH", "/v1/tickets/"+id, map[string]any{"priority": "urgent", "assignee": "ana", "tags": []string{"API", "vip"}, "custom_fields": map[string]any{"order": "A-1"}}).must(t, 200)
		if r.str("priority") != "urgent" || r.str("assignee") != "ana" || get(r.Body, "custom_fields.order") != "A-1" {
			t.Fatalf("patch: %s", r.Raw)
		}
		if tags := fmt.Sprint(r.Body["tags"]); tags != "[api vip]" {
			t.Fatalf("tags normalised: %s", tags)
		}
		s.do(agent, "PATCH", "/v1/tickets/"+id, map[string]any{"assignee": "ben"}).refused(t, 400, "invalid", "assignee")
		r = s.do(agent, "PATCH", "/v1/tickets/"+id, map[string]any{"assignee": "tom"}).must(t, 200)
		if get(r.Body, "counters.reassignments") != 1.0 {
			t.Fatalf("reassignment not counted: %s", r.Raw)
		}
		r = s.do(agent, "PATCH", "/v1/tickets/"+id, `{"assignee": null}`).must(t, 200)
		if get(r.Body, "assignee") != nil {
			t.Fatalf("null assignee should unassign: %s", r.Raw)
		}
		s.do(agent, "PATCH", "/v1/tickets/"+id, map[string]any{"status": "new"}).refused(t, 400, "invalid", "status")

		// Solving with a pending escalation is refused; with an acknowledged one it resolves it.
		esc := s.do(agent, "POST", "/v1/tickets/"+id+"/escalations", map[string]any{"to": "integrations", "reason": "complexity", "note": longNote}).must(t, 201).str("id")
		s.do(agent, "PATCH", "/v1/tickets/"+id, map[string]any{"status": "solved"}).refused(t, 409, "conflict", "")
		s.do(agent, "POST", "/v1/escalations/"+esc+"/acknowledge", map[string]any{"by": "ben"}).must(t, 200)
		s.do(agent, "PATCH", "/v1/tickets/"+id, map[string]any{"status": "solved"}).must(t, 200)
		if st := s.do(agent, "GET", "/v1/escalations/"+esc, nil).str("state"); st != "resolved" {
			t.Fatalf("solving should resolve the acknowledged escalation, state %s", st)
		}
		s.do(agent, "PATCH", "/v1/tickets/"+id, map[string]any{"status": "closed"}).must(t, 200)
		s.do(agent, "PATCH", "/v1/tickets/"+id, map[string]any{"status": "open"}).refused(t, 409, "conflict", "")
		s.do(agent, "POST", "/v1/tickets/"+id+"/messages", map[string]any{"author": map[string]any{"kind": "customer"}, "body": "hello?"}).refused(t, 409, "conflict", "")
		s.do(agent, "PATCH", "/v1/tickets/tkt_missing", map[string]any{"priority": "low"}).refused(t, 404, "not_found", "")
	})
}

// TestPaginationWhileWriting pages through tickets while others are being created: every ticket
// that existed before the first page appears exactly once.
func TestPaginationWhileWriting(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *testServer) {
		before := map[string]bool{}
		for i := 0; i < 60; i++ {
			before[s.do(agent, "POST", "/v1/tickets", newTicket(i)).must(t, 201).str("id")] = true
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		during := map[string]bool{}
		stop := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Not s.do: a goroutine other than the test's may not call t.Fatal.
				if code, err := s.post(agent, "/v1/tickets", newTicket(1000+i)); err != nil || code != 201 {
					t.Errorf("create during paging: %d %v", code, err)
					return
				}
				mu.Lock()
				during[fmt.Sprint(i)] = true
				mu.Unlock()
			}
		}()
		seen := map[string]int{}
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 200 {
				t.Fatal("pagination does not end")
			}
			r := s.do(readonly, "GET", "/v1/tickets?limit=7&cursor="+cursor, nil).must(t, 200)
			for _, it := range items(r) {
				seen[it["id"].(string)]++
			}
			cursor = r.str("next_cursor")
			if cursor == "" {
				break
			}
		}
		close(stop)
		wg.Wait()
		if len(during) == 0 {
			t.Fatal("no ticket was created while paging; the test proves nothing")
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("ticket %s seen %d times", id, n)
			}
		}
		for id := range before {
			if seen[id] != 1 {
				t.Errorf("ticket %s that existed before paging was not seen", id)
			}
		}
	})
}

func TestListFilters(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *testServer) {
		a := s.do(agent, "POST", "/v1/tickets", newTicket(1)).must(t, 201).str("id")
		b := newTicket(2)
		b["priority"] = "low"
		b["team"] = "billing"
		bID := s.do(agent, "POST", "/v1/tickets", b).must(t, 201).str("id")
		esc := s.do(agent, "POST", "/v1/tickets/"+a+"/escalations", map[string]any{"to": "integrations", "reason": "complexity", "note": longNote}).must(t, 201).str("id")

		ids := func(path string) string {
			var out []string
			for _, it := range items(s.do(readonly, "GET", path, nil).must(t, 200)) {
				out = append(out, it["id"].(string))
			}
			return strings.Join(out, ",")
		}
		for path, want := range map[string]string{
			"/v1/tickets?team=billing":       bID,
			"/v1/tickets?team=integrations":  a,
			"/v1/tickets?tier=t2":            bID + "," + a,
			"/v1/tickets?priority=low":       bID,
			"/v1/tickets?escalated=true":     a,
			"/v1/tickets?escalated=false":    bID,
			"/v1/tickets?account=globex":     bID + "," + a,
			"/v1/tickets?status=open":        a,
			"/v1/escalations?ticket=" + a:    esc,
			"/v1/escalations?team=frontline": esc,
			"/v1/escalations?state=pending":  esc,
			"/v1/escalations?state=resolved": "",
		} {
			if got := ids(path); got != want {
				t.Errorf("%s: got %s, want %s", path, got, want)
			}
		}
	})
}

func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.do("", "GET", "/v1/nothing", nil).refused(t, 401, "unauthorized", "")
	s.do(readonly, "GET", "/v1/nothing", nil).refused(t, 404, "not_found", "")
	s.do("", "GET", "/nothing", nil).refused(t, 404, "not_found", "")
	r := s.do(agent, "DELETE", "/v1/tickets", nil)
	if r.Status != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE /v1/tickets: status %d, want 405: %s", r.Status, r.Raw)
	}
	s.do("", "DELETE", "/v1/tickets", nil).refused(t, 401, "unauthorized", "")
}
