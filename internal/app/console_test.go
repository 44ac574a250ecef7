package app_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/app"
)

// The web console over a real node (SQLite file, loopback HTTP), signed in as the demo
// policy's people: handler-level checks of every page and form, as a browser without
// JavaScript sends them. The browser test drives the same pages in Chromium (browser_test.go).

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
	// A browser without the script refuses a short or missing note too (the policy's 20).
	if note := tagOf(page, `id="esc-note"`); !strings.Contains(note, ` minlength="20"`) || !strings.Contains(note, " required") {
		t.Errorf("the escalation note is not required with minlength 20: %s", note)
	}
	describedByResolves(t, "ana's ticket page", page)

	// Every form needs the session's token.
	resp, _ = ana.post("/tickets/"+tk+"/note", url.Values{"body": {"checked the payment log"}})
	wantStatus(t, "note without a token", resp, http.StatusForbidden)
	resp, _ = ana.post("/tickets/"+tk+"/note", url.Values{"csrf": {"wrong"}, "body": {"checked the payment log"}})
	wantStatus(t, "note with a wrong token", resp, http.StatusForbidden)
	resp, _ = ana.post("/tickets/"+tk+"/note", url.Values{"csrf": {token}, "body": {"checked the payment log"}})
	wantStatus(t, "note", resp, http.StatusSeeOther)
	resp, page = ana.post("/tickets/"+tk+"/reply", url.Values{"csrf": {token}, "body": {"  "}})
	wantStatus(t, "empty reply", resp, http.StatusBadRequest)
	nextTo(t, "the empty reply's error", page, `id="reply-body"`, `id="reply-body-err"`, "write the message first")
	describedByResolves(t, "the refused reply's page", page)

	// A reply goes to the customer: back on the page with a notice, in the history, not internal.
	resp, _ = ana.post("/tickets/"+tk+"/reply", url.Values{"csrf": {token}, "body": {"We have asked the carrier where parcel 1182 is."}})
	wantStatus(t, "reply", resp, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/tickets/"+tk+"?done=reply#reply" {
		t.Errorf("after the reply, redirect to %q", loc)
	}
	_, page = ana.get("/tickets/" + tk + "?done=reply")
	if !strings.Contains(page, "Reply sent.") || !strings.Contains(page, "We have asked the carrier where parcel 1182 is.") {
		t.Errorf("the ticket page after the reply lacks its notice or the reply:\n%s", excerpt(page, "alert"))
	}
	if internal, found := messageInternal(t, s, tk, "We have asked the carrier where parcel 1182 is."); !found || internal {
		t.Errorf("the reply is in the history: %v, internal: %v; want a public message", found, internal)
	}

	// Escalating with a short note: refused, the message next to the note, the form kept.
	resp, page = ana.post("/tickets/"+tk+"/escalate", url.Values{"csrf": {token}, "to": {"billing"}, "reason": {"complexity"}, "note": {"pls help"}})
	wantStatus(t, "escalation with a short note", resp, http.StatusBadRequest)
	if !strings.Contains(page, `id="esc-note-err">`) || !strings.Contains(page, ">pls help</textarea>") {
		t.Errorf("the refused form lacks the note's error or its text:\n%s", excerpt(page, "esc-note"))
	}
	if note := tagOf(page, `id="esc-note"`); !strings.Contains(note, `aria-invalid="true"`) || !strings.Contains(note, `aria-describedby="esc-note-err"`) {
		t.Errorf("the refused note is not marked invalid and described by its error: %s", note)
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
	// The answer's radios are a fieldset with its legend, described by the error inside it.
	ack := sectionOf(page, `<form id="acknowledge"`, "</fieldset>")
	if !strings.Contains(ack, `<fieldset aria-describedby="ack-err">`) || !strings.Contains(ack, "<legend>Acknowledge: was the context sufficient?</legend>") ||
		!strings.Contains(ack, `id="ack-err"`) || strings.Count(ack, `name="context_sufficient"`) != 2 || strings.Count(ack, " required") != 2 {
		t.Errorf("the acknowledge form's radios are not a described fieldset of required radios:\n%s", ack)
	}
	describedByResolves(t, "the refused acknowledge's page", page)
	resp, _ = priya.post("/tickets/"+tk+"/acknowledge", url.Values{"csrf": {ptoken}, "escalation": {esc[1]}, "context_sufficient": {"no"}})
	wantStatus(t, "acknowledge", resp, http.StatusSeeOther)
	_, q = priya.get("/queue/billing")
	if !strings.Contains(q, "badge-acknowledged") {
		t.Errorf("billing queue does not show the escalation acknowledged")
	}
	resp, page = priya.post("/tickets/"+tk+"/resolve", url.Values{"csrf": {ptoken}, "escalation": {esc[1]}, "resolution": {" "}})
	wantStatus(t, "resolve without a resolution", resp, http.StatusBadRequest)
	nextTo(t, "the resolution's error", page, `id="res-note"`, `id="res-err"`, "say how the issue was resolved")
	describedByResolves(t, "the refused resolve's page", page)
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

// TestConsoleReturn returns an escalation through the console as a browser without JavaScript
// does: both missing answers are reported at once, each next to its field; only the receiving
// team may return it; a complete form returns it.
func TestConsoleReturn(t *testing.T) {
	s := consoleServer(t)
	tk := consoleTicket(t, s, 1, "billing", "I was billed for an order I cancelled.")
	esc := consoleEscalate(t, s, tk, "billing")
	state := func() (string, any) {
		t.Helper()
		r := s.do(escalated.RoleAdmin, "GET", "/v1/tickets/"+tk, nil).must(t, http.StatusOK)
		escs, _ := r.Body["escalations"].([]any)
		e, _ := escs[0].(map[string]any)
		return e["state"].(string), e["necessary"]
	}

	priya := newBrowser(t, s.base)
	ptoken := priya.signIn("priya")
	// Pending, it can only be acknowledged: no return form to be refused.
	_, page := priya.get("/tickets/" + tk)
	if strings.Contains(page, `<form id="return"`) || !strings.Contains(page, `<form id="acknowledge"`) {
		t.Errorf("a pending escalation's page: want the acknowledge form and no return form:\n%s", excerpt(page, `id="acknowledge"`))
	}
	resp, _ := priya.post("/tickets/"+tk+"/acknowledge", url.Values{"csrf": {ptoken}, "escalation": {esc}, "context_sufficient": {"yes"}})
	wantStatus(t, "acknowledge", resp, http.StatusSeeOther)
	_, page = priya.get("/tickets/" + tk)
	choice := sectionOf(page, `<fieldset class="choice"`, "</fieldset>")
	if !strings.Contains(choice, "<legend>Was the escalation necessary?</legend>") || strings.Count(choice, `type="radio" name="necessary"`) != 2 {
		t.Errorf("the necessary? radios are not a fieldset with its legend:\n%s", excerpt(page, `id="return"`))
	}
	for _, v := range []string{"yes", "no"} {
		if radio := tagOf(choice, `value="`+v+`"`); !strings.Contains(radio, " required") {
			t.Errorf("the necessary? radio %s is not required: %s", v, radio)
		}
	}
	if reason := tagOf(page, `id="ret-reason"`); !strings.Contains(reason, " required") {
		t.Errorf("the return's reason is not required: %s", reason)
	}
	describedByResolves(t, "the receiving team's ticket page", page)

	// Neither answer: both errors, each by its field, the fieldset described by its error.
	resp, page = priya.post("/tickets/"+tk+"/return", url.Values{"csrf": {ptoken}, "escalation": {esc}})
	wantStatus(t, "return without a reason or an answer", resp, http.StatusBadRequest)
	nextTo(t, "the return's reason error", page, `id="ret-reason"`, `id="ret-reason-err"`, "say why the escalation goes back")
	choice = sectionOf(page, `<fieldset class="choice"`, "</fieldset>")
	if !strings.Contains(choice, `aria-describedby="ret-necessary-err"`) ||
		!strings.Contains(choice, `<p class="fielderr" id="ret-necessary-err">say whether the escalation was necessary: yes or no</p>`) {
		t.Errorf("the necessary? error is not in its fieldset, describing it:\n%s", choice)
	}
	describedByResolves(t, "the refused return's page", page)
	if strings.Contains(page, `class="alert error"`) {
		t.Errorf("field errors also shown on top of the page:\n%s", excerpt(page, "alert error"))
	}

	// One answer missing at a time: only its error, and what was given stays in the form.
	resp, page = priya.post("/tickets/"+tk+"/return", url.Values{"csrf": {ptoken}, "escalation": {esc}, "necessary": {"no"}})
	wantStatus(t, "return without a reason", resp, http.StatusBadRequest)
	if !strings.Contains(page, `id="ret-reason-err"`) || strings.Contains(page, `id="ret-necessary-err"`) ||
		!strings.Contains(tagOf(page, `name="necessary" value="no"`), " checked") {
		t.Errorf("a return without a reason: want its error alone and No still checked:\n%s", excerpt(page, `id="return"`))
	}
	resp, page = priya.post("/tickets/"+tk+"/return", url.Values{"csrf": {ptoken}, "escalation": {esc}, "return_reason": {"Frontline can refund this itself."}})
	wantStatus(t, "return without the necessary? answer", resp, http.StatusBadRequest)
	if !strings.Contains(page, `id="ret-necessary-err"`) || strings.Contains(page, `id="ret-reason-err"`) ||
		!strings.Contains(tagOf(page, `id="ret-reason"`), `value="Frontline can refund this itself."`) {
		t.Errorf("a return without the answer: want its error alone and the reason kept:\n%s", excerpt(page, `id="return"`))
	}
	if st, _ := state(); st != "acknowledged" {
		t.Fatalf("refused returns changed the escalation to %s", st)
	}

	// The team that escalated, and a supervisor, may not return it.
	complete := url.Values{"escalation": {esc}, "return_reason": {"Frontline can refund this itself."}, "necessary": {"no"}}
	for _, id := range []string{"ana", "maya"} {
		b := newBrowser(t, s.base)
		form := maps.Clone(complete)
		form.Set("csrf", b.signIn(id))
		resp, page := b.post("/tickets/"+tk+"/return", form)
		wantStatus(t, id+" returning billing's escalation", resp, http.StatusForbidden)
		if !strings.Contains(page, "only an agent of the team the escalation went to may return it") {
			t.Errorf("%s's refusal does not say who may return it:\n%s", id, excerpt(page, "alert"))
		}
	}
	if st, _ := state(); st != "acknowledged" {
		t.Fatalf("a refused person returned the escalation (%s)", st)
	}

	form := maps.Clone(complete)
	form.Set("csrf", ptoken)
	resp, _ = priya.post("/tickets/"+tk+"/return", form)
	wantStatus(t, "return", resp, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/tickets/"+tk+"?done=return#return" {
		t.Errorf("after the return, redirect to %q", loc)
	}
	if st, necessary := state(); st != "returned" || necessary != false {
		t.Errorf("after the return the escalation is %s, necessary %v; want returned, false", st, necessary)
	}
	_, page = priya.get("/tickets/" + tk + "?done=return")
	if !strings.Contains(page, "Escalation returned.") {
		t.Errorf("the page after the return lacks its notice")
	}
}

// TestConsoleFormsNeedTheToken sends every signed-in form of the console without its CSRF
// token and with a wrong one: each is refused with the "form expired" page and changes nothing.
func TestConsoleFormsNeedTheToken(t *testing.T) {
	s := consoleServer(t)
	open := consoleTicket(t, s, 1, "delivery", "My parcel has not arrived and the tracking page shows nothing.")
	held := consoleTicket(t, s, 2, "billing", "I was billed for an order I cancelled.")
	esc := consoleEscalate(t, s, held, "billing")
	ana, priya := newBrowser(t, s.base), newBrowser(t, s.base)
	ana.signIn("ana")
	priya.signIn("priya")
	// ticketState is what the API shows of what a form would change: status, history length and
	// escalation states.
	ticketState := func(id string) string {
		r := s.do(escalated.RoleAdmin, "GET", "/v1/tickets/"+id, nil).must(t, http.StatusOK)
		escs, _ := r.Body["escalations"].([]any)
		hist, _ := r.Body["history"].([]any)
		parts := []string{r.str("status"), strconv.Itoa(len(hist))}
		for _, e := range escs {
			parts = append(parts, e.(map[string]any)["state"].(string))
		}
		return strings.Join(parts, " ")
	}
	for _, c := range []struct {
		form, path string
		as         *browser
		fields     url.Values
		ticket     string
	}{
		{"logout", "/logout", ana, url.Values{}, ""},
		{"reply", "/tickets/" + open + "/reply", ana, url.Values{"body": {"We are on it."}}, open},
		{"escalate", "/tickets/" + open + "/escalate", ana, url.Values{"to": {"billing"}, "reason": {"complexity"},
			"note": {"Carrier lost the parcel; needs a refund from billing."}}, open},
		{"acknowledge", "/tickets/" + held + "/acknowledge", priya, url.Values{"escalation": {esc}, "context_sufficient": {"yes"}}, held},
		{"return", "/tickets/" + held + "/return", priya, url.Values{"escalation": {esc}, "return_reason": {"Frontline can do it."}, "necessary": {"no"}}, held},
		{"resolve", "/tickets/" + held + "/resolve", priya, url.Values{"escalation": {esc}, "resolution": {"Refunded one charge."}}, held},
	} {
		for _, token := range []string{"", "forged-token"} {
			before := ""
			if c.ticket != "" {
				before = ticketState(c.ticket)
			}
			form := maps.Clone(c.fields)
			if token != "" {
				form.Set("csrf", token)
			}
			resp, page := c.as.post(c.path, form)
			what := fmt.Sprintf("%s with csrf %q", c.form, token)
			wantStatus(t, what, resp, http.StatusForbidden)
			if !strings.Contains(page, "<title>Form expired · escalated</title>") {
				t.Errorf("%s: not the form-expired page:\n%.300s", what, page)
			}
			if c.ticket != "" {
				if after := ticketState(c.ticket); after != before {
					t.Errorf("%s changed the ticket: %q -> %q", what, before, after)
				}
			}
			// Still signed in: the refused sign-out ended nothing.
			if resp, _ := c.as.get("/tickets/" + held); resp.StatusCode != http.StatusOK {
				t.Errorf("after %s the ticket page answers %d, want 200 (still signed in)", what, resp.StatusCode)
			}
		}
	}
}

// tagOf is the opening tag of the first element whose tag holds attr (`id="x"`), or "".
func tagOf(page, attr string) string {
	i := strings.Index(page, attr)
	if i < 0 {
		return ""
	}
	start := strings.LastIndex(page[:i], "<")
	end := strings.Index(page[i:], ">")
	if start < 0 || end < 0 {
		return ""
	}
	return page[start : i+end+1]
}

// sectionOf is the text from the first from to the next to after it, or "".
func sectionOf(page, from, to string) string {
	i := strings.Index(page, from)
	if i < 0 {
		return ""
	}
	j := strings.Index(page[i:], to)
	if j < 0 {
		return page[i:]
	}
	return page[i : i+j+len(to)]
}

// nextTo checks that a field's error is right after it (nothing but white space between the
// field's element and the error), says want, and describes the field (aria-describedby).
func nextTo(t *testing.T, what, page, fieldAttr, errAttr, want string) {
	t.Helper()
	field := tagOf(page, fieldAttr)
	if field == "" {
		t.Errorf("%s: no field %s in the page", what, fieldAttr)
		return
	}
	errID := strings.TrimSuffix(strings.TrimPrefix(errAttr, `id="`), `"`)
	if !strings.Contains(field, `aria-describedby="`+errID+`"`) || !strings.Contains(field, `aria-invalid="true"`) {
		t.Errorf("%s: the field is not marked invalid and described by %s: %s", what, errID, field)
	}
	i := strings.Index(page, field) + len(field)
	rest := page[i:]
	// A textarea's content and closing tag come before the error.
	if strings.HasPrefix(field, "<textarea") {
		rest = rest[strings.Index(rest, "</textarea>")+len("</textarea>"):]
	}
	if !strings.HasPrefix(strings.TrimSpace(rest), `<p class="fielderr" `+errAttr+`>`+want+`</p>`) {
		t.Errorf("%s: after the field comes %.200q, want the error %q", what, strings.TrimSpace(rest), want)
	}
}

var describedBy = regexp.MustCompile(`aria-describedby="([^"]*)"`)

// describedByResolves fails when an aria-describedby of the page names an id no element of the
// page has: a screen reader would describe the field with nothing.
func describedByResolves(t *testing.T, what, page string) {
	t.Helper()
	for _, m := range describedBy.FindAllStringSubmatch(page, -1) {
		for _, id := range strings.Fields(m[1]) {
			if !strings.Contains(page, `id="`+id+`"`) {
				t.Errorf("%s: aria-describedby names %q, which no element of the page has", what, id)
			}
		}
	}
}

// messageInternal finds the message with body in the ticket's history (through the API) and
// says whether it is internal.
func messageInternal(t *testing.T, s *testServer, ticketID, body string) (internal, found bool) {
	t.Helper()
	r := s.do(escalated.RoleAdmin, "GET", "/v1/tickets/"+ticketID, nil).must(t, http.StatusOK)
	hist, _ := r.Body["history"].([]any)
	for _, ev := range hist {
		m, _ := get(ev.(map[string]any), "message").(map[string]any)
		if m != nil && m["body"] == body {
			internal, _ := m["internal"].(bool)
			return internal, true
		}
	}
	return false, false
}
