package app_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/escalated/escalated"
)

func TestRulesEscalateAndExplain(t *testing.T) {
	onBothStoresWith(t, "../../docs/examples/policy.yaml", func(t *testing.T, s *testServer) {
		tk := newTicket(1)
		id := s.do(agent, "POST", "/v1/tickets", tk).must(t, 201).str("id")
		m := s.do(agent, "POST", "/v1/tickets/"+id+"/messages", map[string]any{
			"author": map[string]any{"kind": "customer"}, "body": "My LAWYER will hear about this!!!"}).must(t, 201)
		if kw, _ := get(m.Body, "signals.keywords").([]any); len(kw) != 1 || kw[0] != "legal" {
			t.Fatalf("message signals: %s", m.Raw)
		}
		got := s.do(readonly, "GET", "/v1/tickets/"+id, nil).must(t, 200)
		if got.str("priority") != "urgent" || got.str("team") != "integrations" && got.str("team") != "billing" {
			t.Fatalf("after the legal threat: %s", got.Raw)
		}
		escs, _ := got.Body["escalations"].([]any)
		if len(escs) != 1 || escs[0].(map[string]any)["trigger"] != "rule" || escs[0].(map[string]any)["rule_id"] != "legal-threat" {
			t.Fatalf("escalations: %v", escs)
		}
		var types []string
		for _, h := range got.Body["history"].([]any) {
			types = append(types, h.(map[string]any)["type"].(string))
		}
		if !strings.Contains(strings.Join(types, ","), "rule.fired") || !strings.Contains(strings.Join(types, ","), "notification.requested") {
			t.Fatalf("history should record the firing and the notification: %v", types)
		}
		ex := s.do(readonly, "GET", "/v1/tickets/"+id+"/explain", nil).must(t, 200)
		if !strings.Contains(string(ex.Raw), `"legal-threat"`) || !strings.Contains(string(ex.Raw), `"fired"`) || !strings.Contains(string(ex.Raw), "not subscribed") {
			t.Fatalf("explain: %s", ex.Raw)
		}
		s.do(readonly, "GET", "/v1/tickets/tkt_nope/explain", nil).refused(t, 404, "not_found", "")
	})
}

func TestPolicyReplaceCheckVersions(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *testServer) {
		src, err := os.ReadFile("../../docs/examples/policy.yaml")
		if err != nil {
			t.Fatal(err)
		}
		// A draft with a type error is reported with its position and changes nothing.
		bad := strings.Replace(string(src), `when: account.tier == "enterprise"`, `when: account.tier > 3`, 1)
		chk := s.do(admin, "POST", "/v1/policy/check", bad).must(t, 200)
		if chk.Body["valid"] != false || !strings.Contains(string(chk.Raw), `"line"`) {
			t.Fatalf("check of a bad draft: %s", chk.Raw)
		}
		s.do(admin, "PUT", "/v1/policy", bad).refused(t, 400, "invalid", "")
		if v := s.do(readonly, "GET", "/v1/policy", nil).must(t, 200); get(v.Body, "version") != 1.0 {
			t.Fatalf("a refused policy must not replace the live one: %s", v.Raw)
		}
		s.do(escalated.RoleAgent, "PUT", "/v1/policy", string(src)).refused(t, 403, "forbidden", "")
		put := s.do(admin, "PUT", "/v1/policy", string(src)).must(t, 200)
		if get(put.Body, "version") != 2.0 {
			t.Fatalf("replace: %s", put.Raw)
		}
		vs := items(s.do(readonly, "GET", "/v1/policy/versions", nil).must(t, 200))
		if len(vs) != 2 || vs[0]["version"] != 2.0 || vs[0]["live"] != true || vs[1]["live"] != false {
			t.Fatalf("versions: %v", vs)
		}
		// The new policy decides at once: an enterprise ticket goes to its account team.
		tk := newTicket(2)
		tk["account"] = map[string]any{"id": "acme", "name": "Acme", "tier": "enterprise"}
		r := s.do(agent, "POST", "/v1/tickets", tk).must(t, 201)
		if r.str("team") != "enterprise-desk" {
			t.Fatalf("after PUT the new rules apply: %s", r.Raw)
		}
		esc := s.do(readonly, "GET", "/v1/escalations?ticket="+r.str("id"), nil).must(t, 200)
		if e := items(esc); len(e) != 1 || e[0]["policy_version"] != 2.0 || e[0]["rule_id"] != "enterprise-to-account-team" {
			t.Fatalf("escalation records the deciding version: %s", esc.Raw)
		}
		big := strings.Repeat("#", 1<<20+10)
		s.do(admin, "PUT", "/v1/policy", big).refused(t, http.StatusRequestEntityTooLarge, "too_large", "")
	})
}

// TestRuleSetIsIdempotent: a rule that sets a numeric custom field records a change once, not
// on every event (the policy's 5 equals the stored 5.0), and a tag added and removed in one
// change records nothing.
func TestRuleSetIsIdempotent(t *testing.T) {
	src, err := os.ReadFile("../../docs/examples/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	extra := `
  - id: score
    on: [message.added]
    do:
      - set: {custom_fields: {score: 5}}
      - tag: temp
  - id: untemp
    on: [message.added]
    do:
      - untag: temp
`
	p := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(p, append(src, []byte(extra)...), 0o644)
	s := startServerWith(t, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), p)
	id := s.do(agent, "POST", "/v1/tickets", map[string]any{"message": map[string]any{"body": "hello"}}).must(t, 201).str("id")
	for i := 0; i < 3; i++ {
		s.do(agent, "POST", "/v1/tickets/"+id+"/messages", map[string]any{"author": map[string]any{"kind": "customer"}, "body": "still there?"}).must(t, 201)
	}
	updates := 0
	for _, h := range s.do(readonly, "GET", "/v1/tickets/"+id, nil).Body["history"].([]any) {
		e := h.(map[string]any)
		if e["type"] == "ticket.updated" {
			updates++
			if ch := get(e, "data.changes").(map[string]any); ch["tags"] != nil {
				t.Fatalf("a tag added and removed in one change was recorded: %v", e)
			}
		}
	}
	if updates != 1 {
		t.Fatalf("%d ticket.updated events, want 1 (the first score)", updates)
	}
}
