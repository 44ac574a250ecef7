package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
)

// TestTokenLifecycle: a token that expires stops working at its expiry (with a message that
// says so), a revoked one at once on this node, both audited; listing shows every token's
// state and never a secret.
func TestTokenLifecycle(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	admin := escalated.WithPrincipal(ctx, escalated.Principal{Name: "t", Role: escalated.RoleAdmin})

	short, tok, err := s.app.Access.CreateExpiringToken(ctx, "short-lived", escalated.RoleReadonly, 1500*time.Millisecond, "test")
	if err != nil {
		t.Fatal(err)
	}
	if tok.ExpiresAt == nil {
		t.Fatal("the token has no expiry")
	}
	get := func(secret string) reply {
		req, _ := http.NewRequest("GET", s.base+"/v1/tickets", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := s.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return reply{Status: resp.StatusCode}
	}
	if r := get(short); r.Status != http.StatusOK {
		t.Fatalf("a fresh expiring token: %d", r.Status)
	}
	time.Sleep(time.Until(*tok.ExpiresAt) + 100*time.Millisecond)
	r := s.doAs(short, "GET", "/v1/tickets")
	if r.Status != http.StatusUnauthorized || !strings.Contains(string(r.Raw), "expired") {
		t.Errorf("an expired token: %d %s, want 401 saying it expired", r.Status, r.Raw)
	}

	long, ltok, err := s.app.Access.CreateToken(ctx, "to-revoke", escalated.RoleAgent, "test")
	if err != nil {
		t.Fatal(err)
	}
	if r := get(long); r.Status != http.StatusOK {
		t.Fatalf("a new token: %d", r.Status)
	}
	if _, err := s.app.Access.RevokeToken(ctx, ltok.ID, "test:revoker"); err != nil {
		t.Fatal(err)
	}
	if r := get(long); r.Status != http.StatusUnauthorized {
		t.Errorf("a revoked token (used a moment before, so remembered): %d, want 401 at once", r.Status)
	}
	if _, err := s.app.Access.RevokeToken(ctx, ltok.ID, "test:revoker"); escalated.ErrorCode(err) != escalated.ECONFLICT {
		t.Errorf("revoking twice: %v, want a conflict", err)
	}

	toks, err := s.app.Access.ListTokens(admin)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, tk := range toks {
		switch {
		case tk.RevokedAt != nil:
			states[tk.Name] = "revoked"
		case tk.ExpiresAt != nil:
			states[tk.Name] = "expires"
		default:
			states[tk.Name] = "active"
		}
		if tk.Hash != "" && strings.Contains(tk.Hash, "esctok_") {
			t.Errorf("token %s lists something like a secret", tk.Name)
		}
	}
	if states["to-revoke"] != "revoked" || states["short-lived"] != "expires" || states["test-admin"] != "active" {
		t.Errorf("listed states %v", states)
	}
	agent := escalated.WithPrincipal(ctx, escalated.Principal{Name: "a", Role: escalated.RoleAgent})
	if _, err := s.app.Access.ListTokens(agent); escalated.ErrorCode(err) != escalated.EFORBIDDEN {
		t.Errorf("an agent listing tokens: %v, want forbidden", err)
	}
	audit := s.do(escalated.RoleAdmin, "GET", "/v1/audit?object_id="+ltok.ID, nil)
	if !strings.Contains(string(audit.Raw), "token.revoked") || !strings.Contains(string(audit.Raw), "test:revoker") {
		t.Errorf("the revocation is not in the audit trail: %s", audit.Raw)
	}
}

func (s *testServer) doAs(secret, method, path string) reply {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b [4096]byte
	n, _ := resp.Body.Read(b[:])
	return reply{Status: resp.StatusCode, Raw: b[:n]}
}
