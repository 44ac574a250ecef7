package app_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/config"
	"github.com/escalated/escalated/internal/httpapi"
)

// TestTokenLifecycle: a token that expires stops working at its expiry (with a message that
// says so), a revoked one at once on this node, both audited; listing shows every token's
// state and never a secret.
func TestTokenLifecycle(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	admin := escalated.WithPrincipal(ctx, escalated.Principal{Name: "t", Role: escalated.RoleAdmin})

	short, tok, err := s.app.Access.CreateToken(ctx, access.NewToken{Name: "short-lived", Role: escalated.RoleReadonly, TTL: 1500 * time.Millisecond}, "test")
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

	long, ltok, err := s.app.Access.CreateToken(ctx, access.NewToken{Name: "to-revoke", Role: escalated.RoleAgent, Agent: "ana"}, "test")
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

// TestTokenRoutes: the lifecycle over the API, for admins only; the secret is in the creating
// answer and nowhere else.
func TestTokenRoutes(t *testing.T) {
	s := startServer(t)
	r := s.do(escalated.RoleAdmin, "POST", "/v1/tokens", map[string]any{"name": "ben-laptop", "role": "agent", "agent": "ben", "expires": "30d"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	secret, _ := r.Body["secret"].(string)
	tok, _ := r.Body["token"].(map[string]any)
	if !strings.HasPrefix(secret, "esctok_") || tok["expires_at"] == nil || tok["agent"] != "ben" {
		t.Fatalf("create answer %s", r.Raw)
	}
	// An agent token names its agent, an agent of the live policy; no other role names one.
	for _, body := range []map[string]any{
		{"name": "x", "role": "agent"},
		{"name": "x", "role": "agent", "agent": "nobody"},
		{"name": "x", "role": "bot", "agent": "ben"},
	} {
		r := s.do(escalated.RoleAdmin, "POST", "/v1/tokens", body)
		if f, _ := r.Body["error"].(map[string]any)["fields"].(map[string]any); r.Status != http.StatusBadRequest || f["agent"] == nil {
			t.Errorf("create %v: %d %s, want 400 naming agent", body, r.Status, r.Raw)
		}
	}
	id := tok["id"].(string)
	if got := s.doAs(secret, "GET", "/v1/tickets"); got.Status != http.StatusOK {
		t.Errorf("the new token: %d", got.Status)
	}
	if r := s.do(escalated.RoleAdmin, "POST", "/v1/tokens", map[string]any{"name": "x", "role": "agent", "agent": "ben", "expires": "soon"}); r.Status != http.StatusBadRequest {
		t.Errorf("a bad expires: %d", r.Status)
	}
	list := s.do(escalated.RoleAdmin, "GET", "/v1/tokens", nil)
	if list.Status != http.StatusOK || !strings.Contains(string(list.Raw), "ben-laptop") || strings.Contains(string(list.Raw), "esctok_") {
		t.Errorf("list: %d %s", list.Status, list.Raw)
	}
	for _, role := range []escalated.Role{escalated.RoleSupervisor, escalated.RoleAgent, escalated.RoleBot, escalated.RoleReadonly} {
		if r := s.do(role, "GET", "/v1/tokens", nil); r.Status != http.StatusForbidden {
			t.Errorf("%s listing tokens: %d", role, r.Status)
		}
		if r := s.do(role, "DELETE", "/v1/tokens/"+id, nil); r.Status != http.StatusForbidden {
			t.Errorf("%s revoking: %d", role, r.Status)
		}
	}
	if r := s.do(escalated.RoleAdmin, "DELETE", "/v1/tokens/"+id, nil); r.Status != http.StatusOK || r.Body["revoked_at"] == nil {
		t.Fatalf("revoke: %d %s", r.Status, r.Raw)
	}
	if got := s.doAs(secret, "GET", "/v1/tickets"); got.Status != http.StatusUnauthorized {
		t.Errorf("the revoked token: %d", got.Status)
	}
	if r := s.do(escalated.RoleAdmin, "DELETE", "/v1/tokens/"+id, nil); r.Status != http.StatusConflict {
		t.Errorf("revoke twice: %d", r.Status)
	}
	if r := s.do(escalated.RoleAdmin, "DELETE", "/v1/tokens/tok_nope", nil); r.Status != http.StatusNotFound {
		t.Errorf("revoke unknown: %d", r.Status)
	}
}

// TestBadTokenLoopIsSlowed: 20 requests with a wrong token get 401, then 429 with Retry-After;
// a valid token from the same address still works.
func TestBadTokenLoopIsSlowed(t *testing.T) {
	s := startServer(t)
	bad := "esctok_" + strings.Repeat("B", 43)
	for i := range 20 {
		if r := s.doAs(bad, "GET", "/v1/tickets"); r.Status != http.StatusUnauthorized {
			t.Fatalf("wrong token, request %d: %d", i+1, r.Status)
		}
	}
	req, _ := http.NewRequest("GET", s.base+"/v1/tickets", nil)
	req.Header.Set("Authorization", "Bearer "+bad)
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("the 21st wrong token: %d (Retry-After %q), want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if r := s.do(escalated.RoleAgent, "GET", "/v1/tickets", nil); r.Status != http.StatusOK {
		t.Errorf("a valid token from the same address: %d", r.Status)
	}
}

// TestStreamEndsWithItsToken: an open event stream ends once its token is revoked; one token
// holds at most httpapi.MaxStreamsPerToken streams.
func TestStreamEndsWithItsToken(t *testing.T) {
	old := httpapi.SetStreamRecheck(100 * time.Millisecond)
	defer httpapi.SetStreamRecheck(old)
	s := startServer(t)
	ctx := context.Background()
	secret, tok, err := s.app.Access.CreateToken(ctx, access.NewToken{Name: "watcher", Role: escalated.RoleReadonly}, "test")
	if err != nil {
		t.Fatal(err)
	}
	open := func() *http.Response {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/v1/events", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := (&http.Client{}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	var streams []*http.Response
	for range httpapi.MaxStreamsPerToken {
		resp := open()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream: %d", resp.StatusCode)
		}
		streams = append(streams, resp)
	}
	if resp := open(); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("stream %d of one token: %d, want 429", httpapi.MaxStreamsPerToken+1, resp.StatusCode)
		resp.Body.Close()
	}
	ended := make(chan struct{})
	go func() {
		io.Copy(io.Discard, streams[0].Body)
		close(ended)
	}()
	if _, err := s.app.Access.RevokeToken(ctx, tok.ID, "test"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Error("the stream stayed open 5 s after its token was revoked")
	}
	for _, r := range streams {
		r.Body.Close()
	}
}

// TestBadTokenLoopBehindProxy: behind a trusted proxy the bad-token allowance is each client's
// (X-Forwarded-For), not the proxy's; from an untrusted peer the header counts for nothing.
func TestBadTokenLoopBehindProxy(t *testing.T) {
	bad := "esctok_" + strings.Repeat("C", 43)
	try := func(s *testServer, client string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", s.base+"/v1/tickets", nil)
		req.Header.Set("Authorization", "Bearer "+bad)
		req.Header.Set("X-Forwarded-For", client)
		resp, err := s.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, trusted := range []bool{true, false} {
		s := startNode(t, "sqlite:"+filepath.Join(t.TempDir(), "proxy.db"), "testdata/policy.yaml", func(cfg *config.Config) {
			cfg.RateLimit = 0
			if trusted {
				cfg.TrustedProxies = "127.0.0.1/32, ::1"
			}
		}, nil)
		for range 20 {
			try(s, "198.51.100.1")
		}
		if got := try(s, "198.51.100.1"); got != http.StatusTooManyRequests {
			t.Errorf("trusted=%v: the guessing client's 21st bad token: %d, want 429", trusted, got)
		}
		want := http.StatusUnauthorized // another client behind the proxy keeps its allowance
		if !trusted {
			want = http.StatusTooManyRequests // one peer: the header is not believed
		}
		if got := try(s, "198.51.100.2"); got != want {
			t.Errorf("trusted=%v: another client's first bad token: %d, want %d", trusted, got, want)
		}
	}
}
