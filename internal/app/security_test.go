package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/app"
	"github.com/escalated/escalated/internal/config"
	"github.com/escalated/escalated/internal/handoff/handofftest"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/web"
)

// TestAgentCannotResolveAnotherTeamsEscalationThroughPatch: solving a ticket resolves its
// escalation, which only an agent of the team holding it may do, and a bot may not touch a
// ticket at all.
func TestAgentCannotResolveAnotherTeamsEscalationThroughPatch(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	id := s.do(agent, "POST", "/v1/tickets", newTicket(1)).must(t, 201).str("id")
	esc := s.do(agent, "POST", "/v1/tickets/"+id+"/escalations", map[string]any{"to": "billing", "reason": "other", "note": longNote}).must(t, 201).str("id")
	s.do(agent, "POST", "/v1/escalations/"+esc+"/acknowledge", map[string]any{"by": "bea"}).must(t, 200)
	s.do(bot, "PATCH", "/v1/tickets/"+id, map[string]any{"status": "solved"}).refused(t, 403, "forbidden", "")
	if st := s.do(readonly, "GET", "/v1/escalations/"+esc, nil).str("state"); st != "acknowledged" {
		t.Fatalf("escalation state %s after a refused solve", st)
	}
	s.do(agent, "PATCH", "/v1/tickets/"+id, map[string]any{"status": "solved", "by": "ana"}).refused(t, 400, "invalid", "by")
	s.do(agent, "PATCH", "/v1/tickets/"+id, map[string]any{"status": "solved", "by": "bea"}).must(t, 200)
}

// TestActorIsTheToken: `by` is a claim; history and audit keep the token that made it.
func TestActorIsTheToken(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	id := s.do(agent, "POST", "/v1/tickets", newTicket(1)).must(t, 201).str("id")
	// by must belong to the team holding the ticket.
	s.do(agent, "POST", "/v1/tickets/"+id+"/escalations", map[string]any{"to": "billing", "reason": "other", "note": longNote, "by": "ben"}).refused(t, 400, "invalid", "by")
	e := s.do(agent, "POST", "/v1/tickets/"+id+"/escalations", map[string]any{"to": "billing", "reason": "other", "note": longNote, "by": "ana"}).must(t, 201)
	if e.str("actor") != "token:test-supervisor" || e.str("by") != "ana" {
		t.Fatalf("escalation actor %q by %q", e.str("actor"), e.str("by"))
	}
	for _, a := range items(s.do(admin, "GET", "/v1/audit?object_id="+e.str("id"), nil).must(t, 200)) {
		if a["actor"] != "token:test-supervisor" {
			t.Fatalf("audit actor %v, want the integration's token", a["actor"])
		}
	}
	for _, h := range s.do(readonly, "GET", "/v1/tickets/"+id, nil).Body["history"].([]any) {
		if h.(map[string]any)["actor"] != "token:test-supervisor" {
			t.Fatalf("history entry %v not attributed to the token", h)
		}
	}
}

func TestAccountTeamOnlyForItsAccounts(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	id := s.do(agent, "POST", "/v1/tickets", newTicket(1)).must(t, 201).str("id") // account globex
	s.do(agent, "POST", "/v1/tickets/"+id+"/escalations", map[string]any{"to": "enterprise-desk", "reason": "customer_tier", "note": longNote}).refused(t, 400, "invalid", "to")
}

func TestPolicySourceOnlyForManagers(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	if r := s.do(readonly, "GET", "/v1/policy", nil).must(t, 200); r.Body["source"] != nil || r.str("summary") == "" {
		t.Fatalf("readonly sees: %s", r.Raw)
	}
	if r := s.do(escalated.RoleSupervisor, "GET", "/v1/policy", nil).must(t, 200); r.str("source") == "" {
		t.Fatalf("supervisor should see the source: %s", r.Raw)
	}
}

// TestSupersededEscalationInPackage: escalating further reports the earlier escalation as
// escalated in the new package, and both packages match the schema.
func TestSupersededEscalationInPackage(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	id := s.do(agent, "POST", "/v1/tickets", newTicket(1)).must(t, 201).str("id")
	e1 := s.do(agent, "POST", "/v1/tickets/"+id+"/escalations", map[string]any{"to": "integrations", "reason": "complexity", "note": longNote}).must(t, 201)
	s.do(agent, "POST", "/v1/escalations/"+e1.str("id")+"/acknowledge", nil).must(t, 200)
	e2 := s.do(agent, "POST", "/v1/tickets/"+id+"/escalations", map[string]any{"to": "engineering", "reason": "complexity", "note": longNote}).must(t, 201)
	prior := get(e2.Body, "package.prior_escalations").([]any)[0].(map[string]any)
	if prior["state"] != "escalated" || prior["outcome"] != "escalated further" {
		t.Fatalf("prior escalation in the package: %v", prior)
	}
	sch := handofftest.Schema(t)
	handofftest.Validate(t, sch, e1.Body["package"])
	handofftest.Validate(t, sch, e2.Body["package"])
}

// TestDemoPackagesMatchSchema loads the demo (about a hundred escalations made by the real
// services, including acknowledged, resolved and returned ones) and validates every package.
func TestDemoPackagesMatchSchema(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 300 demo tickets")
	}
	t.Parallel()
	cfg := config.Default()
	cfg.DB = "sqlite:" + filepath.Join(t.TempDir(), "demo.db")
	cfg.Addr = "127.0.0.1:0"
	cfg.Demo = true
	ctx := context.Background()
	a, err := app.New(ctx, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Store.Close()
	if err := a.LoadPolicy(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := a.SeedDemo(ctx, &out); err != nil {
		t.Fatal(err)
	}
	// Every person of the demo policy can sign in to the console with the demo password, and
	// the output says so.
	for _, id := range []string{"ana", "priya", "maya"} {
		var c *store.Credential
		if err := a.Store.View(ctx, func(tx store.Tx) error {
			var err error
			c, err = tx.GetCredential(ctx, id)
			return err
		}); err != nil {
			t.Fatalf("demo password of %s: %v", id, err)
		}
		if ok, err := web.VerifyPassword(c.Hash, app.DemoPassword); !ok || err != nil {
			t.Errorf("%s cannot sign in with the demo password (%v)", id, err)
		}
	}
	if !strings.Contains(out.String(), "/login as ana") || !strings.Contains(out.String(), app.DemoPassword) {
		t.Errorf("the demo output does not say how to sign in to the console:\n%s", out.String())
	}
	sch := handofftest.Schema(t)
	actx := escalated.WithPrincipal(ctx, escalated.Principal{Name: "t", Role: escalated.RoleAdmin})
	n, states := 0, map[string]int{}
	f := store.EscalationFilter{Limit: 100}
	for {
		page, next, err := a.Tickets.ListEscalations(actx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			handofftest.Validate(t, sch, e.Package)
			n++
			states[string(e.State)]++
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	if n < 50 || states["resolved"] == 0 || states["returned"] == 0 || states["pending"] == 0 {
		t.Fatalf("demo escalations: %d, states %v", n, states)
	}
}

// post is a client call that reports failure instead of failing the test, for goroutines.
func (s *testServer) post(role escalated.Role, path string, body any) (int, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", s.base+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+s.tokens[role])
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
