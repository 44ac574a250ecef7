package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/app"
)

// The web console over a real node (SQLite file, loopback HTTP), signed in as the demo
// policy's people: handler-level checks of every page and form. The browser tests drive the
// same pages in Chromium (internal/web/browser_test.go).

// consoleServer starts a node on the demo policy with passwords for ana (frontline agent),
// priya (billing agent) and maya (supervisor).
func consoleServer(t *testing.T) *testServer {
	t.Helper()
	db := "sqlite:" + filepath.Join(t.TempDir(), "escalated.db")
	s := startServerWith(t, db, "../demo/policy.yaml")
	for _, id := range []string{"ana", "priya", "maya"} {
		if err := app.SetPassword(context.Background(), db, id, id+"-secret-pass", io.Discard, nil); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// browser is a client with a cookie jar that does not follow redirects, so tests see them.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the form token a page carries.
func csrf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field in the page:\n%.400s", page)
	}
	return m[1]
}

// signIn signs the browser in as id and returns a page's CSRF token.
func (b *browser) signIn(id string) string {
	b.t.Helper()
	_, page := b.get("/login")
	resp, body := b.post("/login", url.Values{"csrf": {csrf(b.t, page)}, "user": {id}, "password": {id + "-secret-pass"}, "next": {"/"}})
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("sign in as %s: %d\n%.400s", id, resp.StatusCode, body)
	}
	_, home := b.get("/tickets/none")
	return csrf(b.t, home)
}

func wantStatus(t *testing.T, what string, resp *http.Response, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Errorf("%s: status %d, want %d", what, resp.StatusCode, want)
	}
}

func TestConsoleSignIn(t *testing.T) {
	s := consoleServer(t)
	b := newBrowser(t, s.base)

	// Not signed in: a page sends to the sign-in and back.
	resp, _ := b.get("/queue/frontline")
	wantStatus(t, "queue without a session", resp, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/login?next=%2Fqueue%2Ffrontline" {
		t.Errorf("redirect to %q", loc)
	}
	resp, page := b.get("/login")
	wantStatus(t, "sign-in page", resp, http.StatusOK)
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("sign-in page without %s", h)
		}
	}
	token := csrf(t, page)

	// The form's token must match its cookie; a wrong password and an unknown id get the same
	// refusal.
	resp, _ = b.post("/login", url.Values{"csrf": {"forged"}, "user": {"ana"}, "password": {"ana-secret-pass"}})
	wantStatus(t, "sign-in with a forged token", resp, http.StatusForbidden)
	_, page = b.get("/login")
	resp, wrong := b.post("/login", url.Values{"csrf": {csrf(t, page)}, "user": {"ana"}, "password": {"nope-nope-nope"}})
	wantStatus(t, "wrong password", resp, http.StatusUnauthorized)
	_, page = b.get("/login")
	resp, unknown := b.post("/login", url.Values{"csrf": {csrf(t, page)}, "user": {"mallory"}, "password": {"nope-nope-nope"}})
	wantStatus(t, "unknown id", resp, http.StatusUnauthorized)
	msg := "That id and password do not match a person in the policy."
	if !strings.Contains(wrong, msg) || !strings.Contains(unknown, msg) {
		t.Errorf("refusals do not say %q", msg)
	}
	_ = token

	// Signed in: the session cookie is HttpOnly and SameSite; an external next is ignored.
	_, page = b.get("/login")
	resp, _ = b.post("/login", url.Values{"csrf": {csrf(t, page)}, "user": {"ana"}, "password": {"ana-secret-pass"}, "next": {"//evil.example/x"}})
	wantStatus(t, "sign in", resp, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/" {
		t.Errorf("after sign-in, redirect to %q, want /", loc)
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "escalated_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" {
		t.Fatalf("session cookie %+v, want HttpOnly, SameSite=Lax, Path=/", session)
	}
	resp, _ = b.get("/")
	if loc := resp.Header.Get("Location"); loc != "/queue/frontline" {
		t.Errorf("an agent's start page is %q, want her team's queue", loc)
	}

	// Signing out ends the session server-side: the old cookie no longer works.
	_, q := b.get("/queue/frontline")
	resp, _ = b.post("/logout", url.Values{"csrf": {csrf(t, q)}})
	wantStatus(t, "sign out", resp, http.StatusSeeOther)
	replay := newBrowser(t, s.base)
	u, _ := url.Parse(s.base)
	replay.c.Jar.SetCookies(u, []*http.Cookie{{Name: "escalated_session", Value: session.Value}})
	resp, _ = replay.get("/queue/frontline")
	wantStatus(t, "old session cookie after sign-out", resp, http.StatusSeeOther)
}

func TestConsoleQueueAndTicket(t *testing.T) {
	s := consoleServer(t)
	created := s.do(escalated.RoleAdmin, "POST", "/v1/tickets", map[string]any{"subject": "Parcel for order 1182 not delivered", "priority": "high",
		"issue_type": "delivery", "channel": "chat", "team": "frontline",
		"customer": map[string]any{"id": "cus_c1", "name": "Lena"},
		"message":  map[string]any{"body": "My parcel has not arrived and the tracking page shows nothing for a week"}})
	if created.Status != http.StatusCreated {
		t.Fatalf("create ticket: %d %s", created.Status, created.Raw)
	}
	tk := created.Body["id"].(string)

	ana := newBrowser(t, s.base)
	token := ana.signIn("ana")
	resp, q := ana.get("/queue/frontline")
	wantStatus(t, "frontline queue", resp, http.StatusOK)
	for _, want := range []string{"Parcel for order 1182 not delivered", `href="/tickets/` + tk, "prio-high", "data-due="} {
		if !strings.Contains(q, want) {
			t.Errorf("queue page lacks %q", want)
		}
	}
	resp, rows := ana.get("/queue/frontline/rows?priority=low")
	wantStatus(t, "queue rows", resp, http.StatusOK)
	if strings.Contains(rows, tk) || !strings.Contains(rows, "match these filters") {
		t.Errorf("the low-priority filter kept the high ticket:\n%.300s", rows)
	}
	resp, _ = ana.get("/queue/billing")
	wantStatus(t, "another team's queue", resp, http.StatusForbidden)
	resp, _ = ana.get("/console/events?team=billing")
	wantStatus(t, "another team's event stream", resp, http.StatusForbidden)

	resp, page := ana.get("/tickets/" + tk)
	wantStatus(t, "ticket page", resp, http.StatusOK)
	for _, want := range []string{"tracking page shows nothing", `action="/tickets/` + tk + `/escalate"`, `data-minlength="20"`, "Billing &amp; Payments"} {
		if !strings.Contains(page, want) {
			t.Errorf("ticket page lacks %q", want)
		}
	}

	// Every form needs the session's token.
	resp, _ = ana.post("/tickets/"+tk+"/note", url.Values{"body": {"checked the payment log"}})
	wantStatus(t, "note without a token", resp, http.StatusForbidden)
	resp, _ = ana.post("/tickets/"+tk+"/note", url.Values{"csrf": {"wrong"}, "body": {"checked the payment log"}})
	wantStatus(t, "note with a wrong token", resp, http.StatusForbidden)
	resp, _ = ana.post("/tickets/"+tk+"/note", url.Values{"csrf": {token}, "body": {"checked the payment log"}})
	wantStatus(t, "note", resp, http.StatusSeeOther)
	resp, _ = ana.post("/tickets/"+tk+"/reply", url.Values{"csrf": {token}, "body": {"  "}})
	wantStatus(t, "empty reply", resp, http.StatusBadRequest)

	// Escalating with a short note: refused, the message next to the note, the form kept.
	resp, page = ana.post("/tickets/"+tk+"/escalate", url.Values{"csrf": {token}, "to": {"billing"}, "reason": {"complexity"}, "note": {"pls help"}})
	wantStatus(t, "escalation with a short note", resp, http.StatusBadRequest)
	if !strings.Contains(page, `id="esc-note-err">`) || !strings.Contains(page, ">pls help</textarea>") {
		t.Errorf("the refused form lacks the note's error or its text:\n%s", excerpt(page, "esc-note"))
	}
	resp, _ = ana.post("/tickets/"+tk+"/escalate", url.Values{"csrf": {token}, "to": {"billing"}, "reason": {"complexity"},
		"note": {"Carrier lost parcel 1182; needs a refund or a reshipment from billing."}})
	wantStatus(t, "escalation", resp, http.StatusSeeOther)
	_, page = ana.get("/tickets/" + tk)
	if !strings.Contains(page, "Escalated") || !strings.Contains(page, "checked the payment log") {
		t.Errorf("ticket page after the escalation lacks its history")
	}

	// Billing's agent sees it arrive and acknowledges it; the acknowledge form needs an answer.
	priya := newBrowser(t, s.base)
	ptoken := priya.signIn("priya")
	_, q = priya.get("/queue/billing")
	if !strings.Contains(q, tk) || !strings.Contains(q, "badge-pending") {
		t.Errorf("billing queue lacks the pending escalation")
	}
	_, page = priya.get("/tickets/" + tk)
	esc := regexp.MustCompile(`name="escalation" value="([^"]+)"`).FindStringSubmatch(page)
	if esc == nil {
		t.Fatalf("billing's ticket page has no acknowledge form")
	}
	resp, page = priya.post("/tickets/"+tk+"/acknowledge", url.Values{"csrf": {ptoken}, "escalation": {esc[1]}})
	wantStatus(t, "acknowledge without the context answer", resp, http.StatusBadRequest)
	if !strings.Contains(page, "say whether the handoff told you what you needed") {
		t.Errorf("acknowledge refusal not shown")
	}
	resp, _ = priya.post("/tickets/"+tk+"/acknowledge", url.Values{"csrf": {ptoken}, "escalation": {esc[1]}, "context_sufficient": {"no"}})
	wantStatus(t, "acknowledge", resp, http.StatusSeeOther)
	_, q = priya.get("/queue/billing")
	if !strings.Contains(q, "badge-acknowledged") {
		t.Errorf("billing queue does not show the escalation acknowledged")
	}
	resp, _ = priya.post("/tickets/"+tk+"/resolve", url.Values{"csrf": {ptoken}, "escalation": {esc[1]}, "resolution": {"refunded the duplicate charge"}})
	wantStatus(t, "resolve", resp, http.StatusSeeOther)
	resp, _ = priya.post("/tickets/"+tk+"/shout", url.Values{"csrf": {ptoken}})
	wantStatus(t, "unknown action", resp, http.StatusNotFound)
}

func TestConsoleRoles(t *testing.T) {
	s := consoleServer(t)
	ana := newBrowser(t, s.base)
	ana.signIn("ana")
	for _, path := range []string{"/dashboard", "/policy"} {
		resp, _ := ana.get(path)
		wantStatus(t, "agent opening "+path, resp, http.StatusForbidden)
	}
	maya := newBrowser(t, s.base)
	maya.signIn("maya")
	resp, _ := maya.get("/")
	if loc := resp.Header.Get("Location"); loc != "/dashboard" {
		t.Errorf("a supervisor's start page is %q, want /dashboard", loc)
	}
	for _, path := range []string{"/dashboard", "/policy", "/queue/billing", "/queue/engineering"} {
		resp, _ := maya.get(path)
		wantStatus(t, "supervisor opening "+path, resp, http.StatusOK)
	}
	// The API is still the API.
	resp, _ = maya.get("/v1/tickets")
	wantStatus(t, "API without a token", resp, http.StatusUnauthorized)
	resp, _ = maya.get("/static/console.css")
	wantStatus(t, "stylesheet", resp, http.StatusOK)
}

func excerpt(page, near string) string {
	i := strings.Index(page, near)
	if i < 0 {
		return "(" + near + " not in the page)"
	}
	return page[max(0, i-200):min(len(page), i+400)]
}
