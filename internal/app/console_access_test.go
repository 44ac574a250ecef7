package app_test

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/web"
)

// What a person may see and do in the console, beyond the pages' role checks: tickets of their
// teams' work only, actions by the agents of the team holding the ticket, a team's stream only,
// sign-in limits.

func createParcelTicket(t *testing.T, s *testServer, team string) string {
	t.Helper()
	r := s.do(escalated.RoleAdmin, "POST", "/v1/tickets", map[string]any{"subject": "Parcel not delivered", "priority": "normal",
		"issue_type": "delivery", "channel": "email", "team": team, "customer": map[string]any{"id": "cus_" + team, "name": "Kim"},
		"message": map[string]any{"body": "The parcel has not arrived yet and the tracking page is empty"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create ticket: %d %s", r.Status, r.Raw)
	}
	return r.Body["id"].(string)
}

func TestConsoleTicketsOfMyTeamsOnly(t *testing.T) {
	s := consoleServer(t)
	billing := createParcelTicket(t, s, "billing")
	frontline := createParcelTicket(t, s, "frontline")
	ana := newBrowser(t, s.base)
	token := ana.signIn("ana")

	// Another team's ticket is not there for her, to read or to act on.
	resp, _ := ana.get("/tickets/" + billing)
	wantStatus(t, "another team's ticket", resp, http.StatusNotFound)
	resp, _ = ana.post("/tickets/"+billing+"/note", url.Values{"csrf": {token}, "body": {"peeking"}})
	wantStatus(t, "a note on another team's ticket", resp, http.StatusNotFound)
	resp, _ = ana.post("/tickets/"+billing+"/resolve", url.Values{"csrf": {token}})
	wantStatus(t, "solving another team's ticket", resp, http.StatusNotFound)
	if r := s.do(escalated.RoleAdmin, "GET", "/v1/tickets/"+billing, nil); r.Body["status"] == "solved" {
		t.Errorf("ana solved billing's ticket")
	}

	// A ticket she escalated stays readable, but it is billing's to work now.
	resp, _ = ana.post("/tickets/"+frontline+"/escalate", url.Values{"csrf": {token}, "to": {"billing"}, "reason": {"complexity"},
		"note": {"Carrier lost it; billing decides on the refund or a new parcel."}})
	wantStatus(t, "escalate", resp, http.StatusSeeOther)
	resp, page := ana.get("/tickets/" + frontline)
	wantStatus(t, "the ticket she escalated", resp, http.StatusOK)
	if strings.Contains(page, `action="/tickets/`+frontline+`/note"`) || !strings.Contains(page, "you can follow it here") {
		t.Errorf("the escalated ticket still offers ana its forms")
	}
	resp, _ = ana.post("/tickets/"+frontline+"/note", url.Values{"csrf": {token}, "body": {"still mine?"}})
	wantStatus(t, "a note on the ticket now with billing", resp, http.StatusForbidden)
	resp, _ = ana.post("/tickets/"+frontline+"/acknowledge", url.Values{"csrf": {token}, "context_sufficient": {"yes"}})
	wantStatus(t, "acknowledging her own escalation", resp, http.StatusForbidden)

	// The supervisor looks on: pages, no forms, and a form posted anyway is refused with a reason.
	maya := newBrowser(t, s.base)
	mtoken := maya.signIn("maya")
	resp, page = maya.get("/tickets/" + frontline)
	wantStatus(t, "supervisor on a ticket", resp, http.StatusOK)
	if strings.Contains(page, `action="/tickets/`+frontline+`/acknowledge"`) || !strings.Contains(page, "Supervisors look on") {
		t.Errorf("the supervisor is offered an agent's forms")
	}
	resp, page = maya.post("/tickets/"+frontline+"/note", url.Values{"csrf": {mtoken}, "body": {"a supervisor's note"}})
	wantStatus(t, "a supervisor's note", resp, http.StatusForbidden)
	if !strings.Contains(page, "only an agent of the team holding the ticket") {
		t.Errorf("the refusal does not say why:\n%s", excerpt(page, "alert"))
	}

	// An escalation is handled through its own ticket: acknowledging "via" another ticket
	// that holds none is refused, and the escalation stays pending.
	priya := newBrowser(t, s.base)
	ptoken := priya.signIn("priya")
	resp, _ = priya.post("/tickets/"+billing+"/acknowledge", url.Values{"csrf": {ptoken}, "context_sufficient": {"yes"}})
	wantStatus(t, "acknowledge on a ticket without an escalation", resp, http.StatusForbidden)
	if r := s.do(escalated.RoleAdmin, "GET", "/v1/tickets/"+frontline, nil); len(r.Body["escalations"].([]any)) != 1 ||
		r.Body["escalations"].([]any)[0].(map[string]any)["state"] != "pending" {
		t.Errorf("the escalation is not pending any more: %v", r.Body["escalations"])
	}
}

func TestConsoleStreamIsATeams(t *testing.T) {
	old := web.SetStreamRecheck(100 * time.Millisecond)
	defer web.SetStreamRecheck(old)
	s := consoleServer(t)
	ana := newBrowser(t, s.base)
	token := ana.signIn("ana")
	for path, want := range map[string]int{
		"/console/events":                          http.StatusBadRequest,
		"/console/events?team=frontline&ticket=x":  http.StatusBadRequest,
		"/console/events?team=billing":             http.StatusForbidden,
		"/console/events?team=billing&ticket=tkt1": http.StatusBadRequest,
	} {
		resp, _ := ana.get(path)
		wantStatus(t, path, resp, want)
	}
	// An open stream ends once its session does.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/console/events?team=frontline", nil)
	resp, err := ana.c.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("open the stream: %v %v", resp, err)
	}
	ended := make(chan time.Time, 1)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
		}
		ended <- time.Now()
	}()
	signout := newBrowser(t, s.base)
	signout.c.Jar = ana.c.Jar
	out, _ := signout.post("/logout", url.Values{"csrf": {token}})
	wantStatus(t, "sign out", out, http.StatusSeeOther)
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Errorf("the stream stayed open 5 s after its session ended")
	}
	resp.Body.Close()
}

func TestConsoleSignInLimits(t *testing.T) {
	s := consoleServer(t)
	b := newBrowser(t, s.base)
	try := func(password string) *http.Response {
		_, page := b.get("/login")
		resp, _ := b.post("/login", url.Values{"csrf": {csrf(t, page)}, "user": {"ana"}, "password": {password}})
		return resp
	}
	for i := range 5 {
		wantStatus(t, "wrong password "+string(rune('1'+i)), try("wrong-password-x"), http.StatusUnauthorized)
	}
	resp := try("ana-secret-pass")
	wantStatus(t, "the right password after five failures", resp, http.StatusTooManyRequests)
	if resp.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// An id longer than any policy id is refused before any work.
	_, page := b.get("/login")
	resp, _ = b.post("/login", url.Values{"csrf": {csrf(t, page)}, "user": {strings.Repeat("a", 200)}, "password": {"x"}})
	wantStatus(t, "an id of 200 characters", resp, http.StatusBadRequest)
}
