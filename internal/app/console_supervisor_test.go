package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/escalated/escalated"
)

// The supervisor's pages of the console: the dashboard over a window of real tickets and
// escalations made through the API, and the policy page's check, diff and explain.

// consoleTicket creates a frontline ticket through the API and returns its id.
func consoleTicket(t *testing.T, s *testServer, i int, issue, body string) string {
	t.Helper()
	r := s.do(escalated.RoleAdmin, "POST", "/v1/tickets", map[string]any{"subject": fmt.Sprintf("Order %d: %s", 1000+i, issue), "priority": "normal",
		"issue_type": issue, "channel": "email", "team": "frontline",
		"customer": map[string]any{"id": fmt.Sprintf("cus_%d", i), "name": "Lena"},
		"message":  map[string]any{"body": body}})
	return r.must(t, http.StatusCreated).str("id")
}

// consoleEscalate escalates a ticket through the API as ana and returns the escalation's id.
func consoleEscalate(t *testing.T, s *testServer, ticketID, to string) string {
	t.Helper()
	r := s.do(escalated.RoleAdmin, "POST", "/v1/tickets/"+ticketID+"/escalations", map[string]any{"to": to, "reason": "complexity",
		"note": "Customer needs a specialist; the details are in the first message.", "by": "ana"})
	return r.must(t, http.StatusCreated).str("id")
}

// noInlineCode fails when a page has what the console's CSP would block: inline style
// attributes or inline scripts.
func noInlineCode(t *testing.T, what, page string) {
	t.Helper()
	if strings.Contains(page, " style=") || strings.Contains(page, "<style") {
		t.Errorf("%s has inline style, which the CSP blocks:\n%s", what, excerpt(page, "style"))
	}
	if n := strings.Count(page, "<script"); n != 1 || !strings.Contains(page, `<script src="/static/console.js" defer></script>`) {
		t.Errorf("%s has %d script elements, want only the console's own file", what, n)
	}
}

func TestConsoleDashboard(t *testing.T) {
	s := consoleServer(t)
	maya := newBrowser(t, s.base)
	maya.signIn("maya")

	// No tickets yet: the page says so instead of drawing empty charts.
	resp, page := maya.get("/dashboard")
	wantStatus(t, "empty dashboard", resp, http.StatusOK)
	if !strings.Contains(page, "No escalations in this window.") || strings.Contains(page, "<svg") {
		t.Errorf("an empty window does not say there is nothing to chart:\n%s", excerpt(page, "dash-stats"))
	}
	noInlineCode(t, "the empty dashboard", page)

	// 24 delivery tickets, 20 of them escalated to Accounts & Orders (two acknowledged, one of
	// those returned as unnecessary), and two billing tickets, one escalated to Billing.
	var deliveries []string
	for i := range 24 {
		id := consoleTicket(t, s, i, "delivery", "My parcel has not arrived and the tracking page shows nothing.")
		if i < 20 {
			deliveries = append(deliveries, consoleEscalate(t, s, id, "accounts-orders"))
		}
	}
	bill := consoleTicket(t, s, 30, "billing", "I was billed for an order I cancelled.")
	consoleTicket(t, s, 31, "billing", "Where is my invoice for last month?")
	consoleEscalate(t, s, bill, "billing")
	s.do(escalated.RoleAdmin, "POST", "/v1/escalations/"+deliveries[0]+"/acknowledge", map[string]any{"by": "diego", "context_sufficient": true}).must(t, 200)
	s.do(escalated.RoleAdmin, "POST", "/v1/escalations/"+deliveries[1]+"/acknowledge", map[string]any{"by": "diego", "context_sufficient": true}).must(t, 200)
	s.do(escalated.RoleAdmin, "POST", "/v1/escalations/"+deliveries[1]+"/return",
		map[string]any{"by": "diego", "reason": "Frontline can re-send the tracking link itself.", "necessary": false}).must(t, 200)

	resp, page = maya.get("/dashboard")
	wantStatus(t, "dashboard", resp, http.StatusOK)
	noInlineCode(t, "the dashboard", page)
	if strings.Contains(page, "No escalations in this window.") {
		t.Fatalf("the dashboard says there are no escalations after 21")
	}
	// One chart per view, each an image with a name and a description, its bars with hover
	// text, and a table of the same numbers.
	for _, id := range []string{"chart-issue-type", "chart-agent", "chart-transition", "chart-day", "chart-ack", "chart-returns"} {
		svg := regexp.MustCompile(`<svg [^>]*id="` + id + `"[^>]*>`).FindString(page)
		if svg == "" {
			t.Errorf("no chart %s", id)
			continue
		}
		for _, want := range []string{`role="img"`, `viewBox="0 0 400 `, `width="100%"`, `aria-labelledby="` + id + `-title ` + id + `-desc"`} {
			if !strings.Contains(svg, want) {
				t.Errorf("chart %s lacks %s: %s", id, want, svg)
			}
		}
		if !strings.Contains(page, `<desc id="`+id+`-desc">`) {
			t.Errorf("chart %s has no description", id)
		}
	}
	if n := strings.Count(page, "<table"); n < 6 {
		t.Errorf("the dashboard has %d tables, want one under each of the 6 charts", n)
	}
	for _, want := range []string{
		// Issue types: delivery 20 of 24 tickets escalated, billing 1 of 2.
		"<title>delivery: 83% escalated (20 of 24 tickets of this type); 20 escalations</title>",
		`<th scope="row">delivery</th><td class="num">24</td><td class="num">20</td><td class="num">83%</td><td class="num">20</td><td class="num">95%</td>`,
		"billing: 50% escalated (1 of 2 tickets of this type)",
		// By agent: Ana made all 21 escalations.
		`<th scope="row">Ana Silva</th>`,
		// By transition: all 21 went from tier 1 to tier 2.
		"Frontline → Specialists: 21 escalations, 100% of all escalations",
		// By day: today's column.
		"Escalation rate by day",
		// SLA lateness: time to acknowledge by receiving team.
		"Accounts &amp; Orders acknowledged half of its escalations within",
		// Returned: Accounts & Orders returned 1 of its 20, as unnecessary.
		"Accounts &amp; Orders returned 5% (1 of 20) of the escalations it received, 5% (1) as unnecessary",
		// The outcome measures.
		"Breached an SLA target before escalation", "First contact resolution",
		// The insights: delivery makes up every tier 1 -> tier 2 escalation.
		"delivery is 95% (20 of 21) of t1 (Frontline) -&gt; t2 (Specialists) escalations",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the dashboard lacks %q", want)
		}
	}
	if !strings.Contains(page, `<option value="30d" selected>`) {
		t.Errorf("the dashboard does not open on the last 30 days")
	}

	// The window select.
	resp, page = maya.get("/dashboard?since=7d")
	wantStatus(t, "dashboard, last 7 days", resp, http.StatusOK)
	if !strings.Contains(page, `<option value="7d" selected>`) || !strings.Contains(page, "Escalations, last 7 days") || !strings.Contains(page, "chart-issue-type") {
		t.Errorf("the 7-day window is not selected or not drawn:\n%s", excerpt(page, "dash-since"))
	}
	resp, page = maya.get("/dashboard?since=1y")
	wantStatus(t, "dashboard with a window it does not offer", resp, http.StatusBadRequest)
	if !strings.Contains(page, `id="dash-since-err"`) || !strings.Contains(page, "choose the last 7, 30 or 90 days") {
		t.Errorf("a bad window is not refused by its field:\n%s", excerpt(page, "dash-since"))
	}

	// A team that took on no escalation in the window: the empty message, not broken charts.
	resp, page = maya.get("/dashboard?team=engineering")
	wantStatus(t, "dashboard for engineering", resp, http.StatusOK)
	if !strings.Contains(page, "No escalations in this window.") || strings.Contains(page, "<svg") {
		t.Errorf("engineering's window without escalations is not the empty message")
	}
	if !strings.Contains(page, `<option value="engineering" selected>`) {
		t.Errorf("the team select does not show engineering")
	}

	// Agents do not get the dashboard.
	ana := newBrowser(t, s.base)
	ana.signIn("ana")
	resp, _ = ana.get("/dashboard")
	wantStatus(t, "agent opening the dashboard", resp, http.StatusForbidden)
}

func TestConsolePolicyPage(t *testing.T) {
	s := consoleServer(t)
	src, err := os.ReadFile("../demo/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// A second version through the API, so the page has a history.
	live := string(src) + "# version two: the same rules\n"
	s.doRaw(escalated.RoleAdmin, "PUT", "/v1/policy", live).must(t, 200)

	maya := newBrowser(t, s.base)
	token := maya.signIn("maya")
	resp, page := maya.get("/policy")
	wantStatus(t, "policy page", resp, http.StatusOK)
	noInlineCode(t, "the policy page", page)
	for _, want := range []string{"Live: version 2", `<th scope="row">2 <span class="badge badge-resolved">live</span></th>`,
		`<th scope="row">1</th>`, "# version two: the same rules", "PUT /v1/policy", `name="csrf" value="` + token + `"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the policy page lacks %q", want)
		}
	}
	if strings.Contains(strings.ToLower(page), "make live") {
		t.Errorf("the policy page offers to make a draft live")
	}

	post := func(form url.Values) (*http.Response, string) {
		t.Helper()
		form.Set("csrf", token)
		return maya.post("/policy", form)
	}

	// Check: a broken draft's errors at their line:column, with the line they point at.
	broken := strings.Replace(live, "intake: frontline", "intake: front-desk", 1)
	resp, page = post(url.Values{"action": {"check"}, "draft": {broken}})
	wantStatus(t, "check a broken draft", resp, http.StatusOK)
	loc := regexp.MustCompile(`<span class="loc">line (\d+):(\d+)</span> ([^<]*front-desk[^<]*)`).FindStringSubmatch(page)
	if loc == nil || loc[1] == "0" {
		t.Fatalf("the check does not show the error at its line:column:\n%s", excerpt(page, "problems"))
	}
	if !strings.Contains(page, `<pre class="excerpt">intake: front-desk`) || !strings.Contains(page, "the live policy would refuse it") {
		t.Errorf("the check does not show the line in error:\n%s", excerpt(page, "problems"))
	}
	if !strings.Contains(page, ">"+strings.ReplaceAll(broken[:40], "&", "&amp;")) {
		t.Errorf("the draft is not kept in the form after the check")
	}
	// A YAML syntax error too.
	resp, page = post(url.Values{"action": {"check"}, "draft": {"version: 1\nteams: [\n  {id: a\n"}})
	wantStatus(t, "check a draft that is not YAML", resp, http.StatusOK)
	if !regexp.MustCompile(`<span class="loc">line \d+:\d+</span>`).MatchString(page) {
		t.Errorf("a YAML error has no line:column:\n%s", excerpt(page, "problems"))
	}
	resp, page = post(url.Values{"action": {"check"}, "draft": {strings.ReplaceAll(live, "\n", "\r\n")}})
	wantStatus(t, "check a valid draft (as a browser sends it)", resp, http.StatusOK)
	if !strings.Contains(page, "The draft is valid.") {
		t.Errorf("the live policy does not check as valid:\n%s", excerpt(page, "result"))
	}
	resp, page = post(url.Values{"action": {"check"}, "draft": {"  \n"}})
	wantStatus(t, "check an empty draft", resp, http.StatusBadRequest)
	if !strings.Contains(page, `<p class="fielderr" id="policy-draft-err">Paste a policy draft first`) {
		t.Errorf("an empty draft is not refused by its field:\n%s", excerpt(page, "policy-draft"))
	}

	// Diff against live: the added line marked (html/template writes "+" as &#43;).
	draft := strings.Replace(live, "  note_min_length: 20", "  note_min_length: 30\n  # longer notes from January", 1)
	resp, page = post(url.Values{"action": {"diff"}, "draft": {draft}})
	wantStatus(t, "diff", resp, http.StatusOK)
	for _, want := range []string{`<span class="diff-add">&#43;  # longer notes from January`, `<span class="diff-del">-  note_min_length: 20`,
		`<span class="diff-add">&#43;  note_min_length: 30`, `<span class="diff-head">--- live (version 2)`, "2 lines added, 1 removed", `<span class="diff-hunk">@@ `} {
		if !strings.Contains(page, want) {
			t.Errorf("the diff lacks %q:\n%s", want, excerpt(page, `class="diff"`))
		}
	}
	resp, page = post(url.Values{"action": {"diff"}, "draft": {live}})
	wantStatus(t, "diff of the live policy itself", resp, http.StatusOK)
	if !strings.Contains(page, "The draft is the same as the live policy (version 2).") {
		t.Errorf("a draft equal to the live policy does not say so")
	}

	// Explain: every rule of the live policy on the ticket's latest change, and why.
	tk := consoleTicket(t, s, 1, "delivery", "This is unacceptable, I want to lodge a claim about my parcel.")
	resp, page = post(url.Values{"action": {"explain"}, "ticket": {tk}})
	wantStatus(t, "explain", resp, http.StatusOK)
	for _, want := range []string{"urgent-enterprise-to-account-team", "legal-threat", "tag-complaints", "first-response-breach",
		`<span class="badge outcome-fired">fired</span>`, `<span class="badge outcome-none">no match</span>`, "by policy version 2", "Order 1001: delivery"} {
		if !strings.Contains(page, want) {
			t.Errorf("the explanation lacks %q:\n%s", want, excerpt(page, "h-result"))
		}
	}
	resp, page = post(url.Values{"action": {"explain"}, "ticket": {"tkt_01NOSUCHTICKET0000000000000"}})
	wantStatus(t, "explain an unknown ticket", resp, http.StatusNotFound)
	if !strings.Contains(page, `<p class="fielderr" id="policy-ticket-err">`) || !strings.Contains(page, `value="tkt_01NOSUCHTICKET0000000000000"`) {
		t.Errorf("an unknown ticket is not refused by its field:\n%s", excerpt(page, "policy-ticket"))
	}
	resp, page = post(url.Values{"action": {"explain"}, "ticket": {" "}})
	wantStatus(t, "explain without an id", resp, http.StatusBadRequest)
	if !strings.Contains(page, `id="policy-ticket-err">Give the id of a ticket`) {
		t.Errorf("a missing ticket id is not refused by its field")
	}

	// The forms need the session's token, and the page is the supervisors'.
	resp, _ = maya.post("/policy", url.Values{"action": {"check"}, "draft": {live}})
	wantStatus(t, "policy form without a token", resp, http.StatusForbidden)
	resp, _ = maya.post("/policy", url.Values{"csrf": {"forged"}, "action": {"diff"}, "draft": {live}})
	wantStatus(t, "policy form with a wrong token", resp, http.StatusForbidden)
	ana := newBrowser(t, s.base)
	atoken := ana.signIn("ana")
	resp, _ = ana.get("/policy")
	wantStatus(t, "agent opening the policy page", resp, http.StatusForbidden)
	resp, _ = ana.post("/policy", url.Values{"csrf": {atoken}, "action": {"check"}, "draft": {live}})
	wantStatus(t, "agent checking a draft", resp, http.StatusForbidden)

	// Nothing the page did changed the live policy.
	if v := s.do(escalated.RoleAdmin, "GET", "/v1/policy", nil).must(t, 200).Body["version"]; v != 2.0 {
		t.Errorf("live policy version %v after the policy page's forms, want 2", v)
	}
}
