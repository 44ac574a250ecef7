package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/app"
	"github.com/escalated/escalated/internal/config"
)

// TestSecretsNeverLeak runs a node with every kind of secret in play — API tokens (good and
// forged), a webhook signing secret, an SMTP password, console passwords and session cookies —
// and drives the paths that log and answer errors about them: deliveries failing against a
// receiver that answers 500 and an SMTP relay that refuses the connection, bad tokens, failed
// and successful sign-ins, a policy check. Then no secret may appear in the debug log or in any
// answer the node gave.
func TestSecretsNeverLeak(t *testing.T) {
	const webhookSecret = "whsec-7f3a9c-never-print-me"
	const smtpPassword = "smtp-pass-3b8e1d-never-print-me"
	t.Setenv("ESCALATED_LEAK_TEST_SECRET", webhookSecret)

	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "receiver down", http.StatusInternalServerError)
	}))
	defer receiver.Close()
	// An address nothing listens on: the SMTP dial fails and the error is logged.
	dead, err := (&net0{}).freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pol := strings.Replace(string(src), "rules: []", "rules: []\nsupervisors:\n  - {id: sam, name: Sam Lee}\nchannels:\n"+
		"  - {id: ops, type: webhook, url: \""+receiver.URL+"/hook\", secret_env: ESCALATED_LEAK_TEST_SECRET, events: [escalation.created, ticket.created]}\n"+
		"  - {id: mail, type: email, to: [\"tier2@example.test\"], events: [escalation.created]}\n", 1)
	dir := t.TempDir()
	policyPath := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policyPath, []byte(pol), 0o600); err != nil {
		t.Fatal(err)
	}

	logs := &lockedBuffer{} // browser_test.go's: safe for the node's goroutines
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := config.Default()
	cfg.DB = "sqlite:" + filepath.Join(dir, "leak.db")
	cfg.Addr = "127.0.0.1:0"
	cfg.PolicyPath = policyPath
	cfg.SMTP = config.SMTP{Addr: dead, From: "escalated@example.test", User: "mailer", Password: smtpPassword}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.LoadPolicy(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	base := "http://" + a.Addr()

	adminToken, _, err := a.Access.CreateToken(ctx, access.NewToken{Name: "leak-admin", Role: escalated.RoleAdmin}, "test")
	if err != nil {
		t.Fatal(err)
	}
	const consolePassword = "console-pass-9d2c-never-print-me"
	if err := app.SetPassword(ctx, cfg.DB, "ana", consolePassword, io.Discard, log); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"admin token": adminToken, "webhook secret": webhookSecret, "SMTP password": smtpPassword,
		"console password": consolePassword}

	var answers strings.Builder
	call := func(method, path, token, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answers.Write(b)
		for k, v := range resp.Header {
			answers.WriteString(k + ": " + strings.Join(v, ",") + "\n")
		}
	}
	// A forged token that looks like a real one, and the real one with a typo.
	forged := "esctok_" + strings.Repeat("A", 43)
	secrets["forged token"] = forged
	call("GET", "/v1/tickets", forged, "")
	call("GET", "/v1/tickets", adminToken+"x", "")
	call("POST", "/v1/tickets", adminToken, `{"subject": "Invoice wrong", "team": "frontline", "customer": {"id": "c1"},
		"account": {"id": "globex", "name": "Globex"}, "message": {"body": "The VAT number on invoice 4411 is wrong"}}`)
	var created struct{ ID string }
	{
		req, _ := http.NewRequest("GET", base+"/v1/tickets?limit=1", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answers.Write(b)
		if i := strings.Index(string(b), `"id":"tkt_`); i >= 0 {
			created.ID = string(b[i+6 : i+6+30])
		}
	}
	if created.ID == "" {
		t.Fatal("no ticket created")
	}
	call("POST", "/v1/tickets/"+created.ID+"/escalations", adminToken,
		`{"to": "billing", "reason": "complexity", "by": "ana", "note": "The invoice template is wrong; billing must reissue it."}`)
	call("POST", "/v1/policy/check", adminToken, "version: 1\nnot: [valid")
	call("GET", "/v1/deliveries", adminToken, "")
	call("GET", "/v1/policy", adminToken, "")
	call("GET", "/v1/audit", adminToken, "")

	// The console: a wrong password, then a real sign-in; the session cookie is a secret too.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	signIn := func(password string) {
		resp, err := browser.Get(base + "/login")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := csrfField.FindStringSubmatch(string(page))
		resp, err = browser.PostForm(base+"/login", url.Values{"csrf": {m[1]}, "user": {"ana"}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answers.Write(b)
		for _, c := range resp.Cookies() {
			if c.Name == "escalated_session" && c.Value != "" {
				secrets["session cookie"] = c.Value
			}
		}
	}
	signIn("not-" + consolePassword)
	signIn(consolePassword)
	if secrets["session cookie"] == "" {
		t.Fatal("no session after signing in")
	}
	u, _ := url.Parse(base)
	for _, path := range []string{"/queue/frontline", "/tickets/" + created.ID} {
		req, _ := http.NewRequest("GET", base+path, nil)
		for _, c := range jar.Cookies(u) {
			req.AddCookie(c)
		}
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answers.Write(b)
	}

	// Let the dispatcher try (and fail) the webhook and the email, logging why.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		l := logs.String()
		if strings.Contains(l, "500") && strings.Contains(strings.ToLower(l), "smtp") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	logged := logs.String()
	if !strings.Contains(logged, "500") {
		t.Errorf("the failing webhook delivery was not logged; the test would prove nothing about its secret:\n%.2000s", logged)
	}
	if !strings.Contains(strings.ToLower(logged), "smtp") {
		t.Errorf("the failing email delivery was not logged; the test would prove nothing about the SMTP password")
	}
	for what, secret := range secrets {
		if strings.Contains(logged, secret) {
			t.Errorf("the log contains the %s", what)
		}
		if strings.Contains(answers.String(), secret) && what != "session cookie" {
			t.Errorf("an API or console answer contains the %s", what)
		}
	}
}

// net0 finds a loopback port nothing listens on.
type net0 struct{}

func (net0) freeAddr() (string, error) {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}
