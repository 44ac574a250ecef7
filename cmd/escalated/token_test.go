package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTokenListAndRevoke: create (one expiring), list with states and no secret, revoke once,
// refuse a second revocation and an unknown id.
func TestTokenListAndRevoke(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "tokens.db")
	code, out, errOut := runCLI(t, "token", "create", "--role", "bot", "--name", "chatbot", "--expires", "90d", "--db", db)
	if code != 0 || !strings.Contains(out, "expires 20") {
		t.Fatalf("create expiring: %d %q %q", code, out, errOut)
	}
	secret := regexp.MustCompile(`esctok_\S+`).FindString(out)
	code, out, _ = runCLI(t, "token", "create", "--role", "readonly", "--name", "dash", "--db", db)
	if code != 0 || !strings.Contains(out, "does not expire") {
		t.Fatalf("create: %d %q", code, out)
	}
	id := regexp.MustCompile(`\(tok_[0-9A-Z]+`).FindString(out)[1:]
	if code, _, errOut := runCLI(t, "token", "create", "--role", "bot", "--name", "x", "--expires", "soon", "--db", db); code != 2 || !strings.Contains(errOut, "90d") {
		t.Errorf("a bad --expires: %d %q", code, errOut)
	}
	code, out, _ = runCLI(t, "token", "list", "--db", db)
	if code != 0 || !strings.Contains(out, "chatbot") || !strings.Contains(out, "dash") || strings.Contains(out, secret) || strings.Contains(out, "esctok_") {
		t.Fatalf("list: %d\n%s", code, out)
	}
	if code, out, errOut := runCLI(t, "token", "revoke", id, "--db", db); code != 0 || !strings.Contains(out, "revoked readonly token \"dash\"") {
		t.Fatalf("revoke: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "token", "revoke", id, "--db", db); code != 1 || !strings.Contains(errOut, "was revoked at") {
		t.Errorf("revoke twice: %d %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "token", "revoke", "tok_nope", "--db", db); code != 1 || !strings.Contains(errOut, "tok_nope") {
		t.Errorf("revoke unknown: %d %q", code, errOut)
	}
	_, out, _ = runCLI(t, "token", "list", "--db", db)
	if !strings.Contains(out, "revoked ") {
		t.Errorf("list after revoke lacks the state:\n%s", out)
	}
	if code, _, _ := runCLI(t, "token", "burn", "--db", db); code != 2 {
		t.Errorf("unknown token subcommand: %d, want 2", code)
	}
}

// TestTokenForAgent: a token of role agent names an agent of the stored policy; no other role
// names one; the list shows whom each acts for.
func TestTokenForAgent(t *testing.T) {
	empty := "sqlite:" + filepath.Join(t.TempDir(), "empty.db")
	if code, _, errOut := runCLI(t, "token", "create", "--role", "agent", "--name", "ana", "--db", empty); code != 2 || !strings.Contains(errOut, "--agent") {
		t.Errorf("agent token without --agent: %d %q, want usage naming --agent", code, errOut)
	}
	if code, _, errOut := runCLI(t, "token", "create", "--role", "agent", "--name", "ana", "--agent", "ana", "--db", empty); code != 1 || !strings.Contains(errOut, "no policy yet") {
		t.Errorf("agent token on a database without a policy: %d %q", code, errOut)
	}

	db := dbWithPolicy(t, "agents.db", "../../internal/demo/policy.yaml")
	code, out, errOut := runCLI(t, "token", "create", "--role", "agent", "--name", "ana-laptop", "--agent", "ana", "--db", db)
	if code != 0 || !strings.Contains(out, "agent (acting for ana) token") {
		t.Fatalf("agent token: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "token", "create", "--role", "agent", "--name", "x", "--agent", "nobody", "--db", db); code != 1 || !strings.Contains(errOut, `no agent "nobody"`) {
		t.Errorf("unknown agent: %d %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "token", "create", "--role", "bot", "--name", "x", "--agent", "ana", "--db", db); code != 1 || !strings.Contains(errOut, "only a token of role agent") {
		t.Errorf("bot token naming an agent: %d %q", code, errOut)
	}
	code, out, _ = runCLI(t, "token", "list", "--db", db)
	if code != 0 || !regexp.MustCompile(`ana-laptop\s+agent\s+ana\s`).MatchString(out) {
		t.Errorf("list does not show whom the token acts for:\n%s", out)
	}
}
