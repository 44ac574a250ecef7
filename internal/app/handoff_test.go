package app_test

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/handoff/handofftest"
)

// handoffBody is a complete new-ticket handoff: the customer's lines, the bot's attempts, the
// account, a note and the bot's recommendation.
func handoffBody(id string) map[string]any {
	at := time.Now().UTC().Add(-3 * time.Minute)
	return map[string]any{
		"handoff_id": id,
		"subject":    "Charged twice for order 4417",
		"priority":   "high",
		"channel":    "chat",
		"issue_type": "payments",
		"customer":   map[string]any{"id": "cus_" + id, "name": "Jo Doe", "email": "jo@example.test"},
		"account":    map[string]any{"id": "globex", "name": "Globex", "tier": "pro"},
		"transcript": []map[string]any{
			{"author": "customer", "body": "I was charged twice for order 4417.", "at": at.Format(time.RFC3339Nano)},
			{"author": "bot", "body": "I can see two payments. Let me try to refund one.", "at": at.Add(time.Minute).Format(time.RFC3339Nano)},
			{"author": "customer", "body": "It still shows twice. I want to talk to a person!", "at": at.Add(2 * time.Minute).Format(time.RFC3339Nano)},
		},
		"bot_steps": []map[string]any{
			{"intent": "refund_request", "action": "looked up order 4417", "outcome": "resolved", "confidence": 0.93},
			{"intent": "refund_request", "action": "issued refund via payments API", "outcome": "failed", "confidence": 0.71},
		},
		"recommendation": "Refund the duplicate charge manually in the payments console.",
		"note":           "Duplicate charge confirmed; automatic refund failed with a gateway error.",
	}
}

// TestHandoffNewTicket: a handoff opens the ticket with the transcript as history, escalates it
// (trigger handoff, reason bot_handoff) into the intake team when no rule and no requested team
// say otherwise, answers with its place in line, and its package validates against the schema
// and carries the bot's steps and recommendation. A retry with the same handoff_id gets the
// same answer and creates nothing; the same id with another body is a conflict.
func TestHandoffNewTicket(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *testServer) {
		body := handoffBody("h-1")
		first := s.do(bot, "POST", "/v1/handoffs", body).must(t, 201)
		tk, esc := first.str("ticket_id"), first.str("escalation_id")
		if first.str("team") != "frontline" || first.Body["position"] != float64(1) || first.Body["new_ticket"] != true ||
			first.str("state") != "pending" || first.Body["completeness"] != float64(1) || first.Body["flagged"] != false {
			t.Fatalf("answer: %s", first.Raw)
		}
		// No acknowledgements yet: the estimate is the acknowledge target (1h in the policy).
		if first.Body["estimated_wait_seconds"] != float64(3600) || first.str("estimate_basis") != "sla_acknowledge_target" {
			t.Errorf("estimate: %s", first.Raw)
		}
		again := s.do(bot, "POST", "/v1/handoffs", body).must(t, 201)
		if string(again.Raw) != string(first.Raw) {
			t.Errorf("retry answered differently:\n%s\n%s", again.Raw, first.Raw)
		}
		changed := handoffBody("h-1")
		changed["transcript"] = body["transcript"]
		changed["note"] = "A different handoff reusing the id, which must not pass as a retry."
		s.do(bot, "POST", "/v1/handoffs", changed).refused(t, 409, "conflict", "")
		if n := len(items(s.do(agent, "GET", "/v1/tickets?limit=100", nil).must(t, 200))); n != 1 {
			t.Fatalf("%d tickets after a retry, want 1", n)
		}

		d := s.do(agent, "GET", "/v1/tickets/"+tk, nil).must(t, 200)
		var kinds []string
		for _, h := range d.Body["history"].([]any) {
			e := h.(map[string]any)
			if m, ok := e["message"].(map[string]any); ok {
				kinds = append(kinds, "message:"+m["author"].(map[string]any)["kind"].(string))
			} else if e["type"] != "ticket.routed" && e["type"] != "rule.fired" {
				kinds = append(kinds, e["type"].(string))
			}
		}
		want := "ticket.created message:customer message:bot message:customer handoff.received escalation.created"
		if got := strings.Join(kinds, " "); !strings.HasPrefix(got, want) {
			t.Errorf("history %q, want it to start %q", got, want)
		}
		if get(d.Body, "ticket.bot.steps") == nil && get(d.Body, "bot.steps") == nil {
			t.Errorf("ticket does not show the bot's handoff: %s", d.Raw)
		}
		e := s.do(agent, "GET", "/v1/escalations/"+esc, nil).must(t, 200)
		for k, want := range map[string]any{"trigger": "handoff", "reason": "bot_handoff", "from_team": "frontline", "to_team": "frontline", "state": "pending"} {
			if e.Body[k] != want {
				t.Errorf("escalation %s = %v, want %v", k, e.Body[k], want)
			}
		}
		pkg := e.Body["package"].(map[string]any)
		handofftest.Validate(t, handofftest.Schema(t), pkg)
		if steps := pkg["bot_steps"].([]any); len(steps) != 2 || get(pkg, "original_message.body") != "I was charged twice for order 4417." {
			t.Errorf("package: bot_steps %v, original message %v", steps, get(pkg, "original_message.body"))
		}
		if get(pkg, "recommendation.bot") != "Refund the duplicate charge manually in the payments console." ||
			get(pkg, "escalated_by.kind") != "bot" || get(pkg, "note") != "Duplicate charge confirmed; automatic refund failed with a gateway error." {
			t.Errorf("package recommendation/escalated_by/note: %v", pkg)
		}
		text := s.raw(agent, "GET", "/v1/escalations/"+esc+"?format=text")
		for _, want := range []string{"What the bot tried:", "issued refund via payments API -> failed", "Original message", "I was charged twice", "The bot suggests: Refund"} {
			if !strings.Contains(text, want) {
				t.Errorf("text rendering lacks %q:\n%s", want, text)
			}
		}
		got := s.do(bot, "GET", "/v1/handoffs/h-1", nil).must(t, 200)
		if got.str("escalation_id") != esc || got.Body["position"] != float64(1) {
			t.Errorf("GET handoff: %s", got.Raw)
		}
		s.do(escalated.RoleAgent, "GET", "/v1/handoffs/h-1", nil).refused(t, 403, "forbidden", "")
		// Another bot's handoff_id space is its own: the same id is a new handoff there.
		other, _, err := s.app.Access.CreateToken(t.Context(), access.NewToken{Name: "other-bot", Role: bot}, "test")
		if err != nil {
			t.Fatal(err)
		}
		s.tokens["other"] = other
		if r := s.do("other", "POST", "/v1/handoffs", changed).must(t, 201); r.str("ticket_id") == tk {
			t.Errorf("another bot's h-1 answered with the first bot's ticket: %s", r.Raw)
		}
		s.do("other", "GET", "/v1/handoffs/h-1", nil).must(t, 200)
		s.do(bot, "GET", "/v1/handoffs/nope", nil).refused(t, 404, "not_found", "")
	})
}

// TestHandoffRouting: a rule on handoff.received chooses the team (and its recommendation goes
// into the package); without a rule the requested team is honoured when the paths allow it and
// refused with the allowed targets when not.
func TestHandoffRouting(t *testing.T) {
	onBothStoresWith(t, "testdata/handoff-policy.yaml", func(t *testing.T, s *testServer) {
		b := handoffBody("rule-1")
		b["issue_type"] = "billing"
		r := s.do(bot, "POST", "/v1/handoffs", b).must(t, 201)
		if r.str("team") != "billing" || fmt.Sprint(r.Body["rules"]) != "[billing-handoffs]" {
			t.Fatalf("billing handoff: %s", r.Raw)
		}
		e := s.do(agent, "GET", "/v1/escalations/"+r.str("escalation_id"), nil).must(t, 200)
		if e.str("trigger") != "handoff" || e.str("rule_id") != "billing-handoffs" || e.str("from_team") != "frontline" {
			t.Errorf("rule's handoff escalation: %s", e.Raw)
		}
		if get(e.Body, "package.recommendation.rule_text") != "Check the invoice history before asking the customer anything." ||
			get(e.Body, "package.recommendation.bot") == nil || get(e.Body, "package.note") != b["note"] {
			t.Errorf("package recommendation/note: %v", e.Body["package"])
		}

		// A rule reading the bot's steps: it gave up on an API key rotation with low confidence.
		b = handoffBody("rule-2")
		b["requested_team"] = "billing"
		b["bot_steps"] = []map[string]any{{"intent": "api_key_rotation", "action": "explained self-service", "outcome": "abandoned", "confidence": 0.3}}
		r = s.do(bot, "POST", "/v1/handoffs", b).must(t, 201)
		if r.str("team") != "integrations" || fmt.Sprint(r.Body["rules"]) != "[api-bot-gave-up]" {
			t.Fatalf("rule on handoff.intents: %s", r.Raw)
		}
		if e := s.do(agent, "GET", "/v1/escalations/"+r.str("escalation_id"), nil).must(t, 200); get(e.Body, "package.note") != "The bot could not rotate the API key; the customer needs integrations." {
			t.Errorf("rule's own note: %v", get(e.Body, "package.note"))
		}

		b = handoffBody("req-1")
		b["requested_team"] = "integrations"
		if r := s.do(bot, "POST", "/v1/handoffs", b).must(t, 201); r.str("team") != "integrations" {
			t.Errorf("requested team: %s", r.Raw)
		}
		b = handoffBody("req-2")
		b["requested_team"] = "engineering"
		s.do(bot, "POST", "/v1/handoffs", b).refused(t, 400, "invalid", "requested_team")
		b["requested_team"] = "nosuchteam"
		s.do(bot, "POST", "/v1/handoffs", b).refused(t, 400, "invalid", "requested_team")
	})
}

// TestHandoffExistingTicket: a handoff on an existing ticket appends the transcript and
// escalates it; a second one while people hold it is a conflict; a bot may not do it.
func TestHandoffExistingTicket(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *testServer) {
		nt := newTicket(1)
		id := s.do(agent, "POST", "/v1/tickets", nt).must(t, 201).str("id")
		b := map[string]any{
			"handoff_id": "ex-1", "ticket_id": id, "note": "Customer wants the API key rotated; bot cannot do it.",
			"transcript": []map[string]any{{"author": "customer", "body": "Can a human rotate my key please?"}},
			"bot_steps":  []map[string]any{{"intent": "rotate_key", "action": "explained self-service", "outcome": "abandoned", "confidence": 0.4}},
		}
		// A bot hands off new conversations; adding to an existing ticket needs the right to
		// change tickets (an integration's supervisor or admin token).
		s.do(bot, "POST", "/v1/handoffs", b).refused(t, 403, "forbidden", "")
		r := s.do(escalated.RoleSupervisor, "POST", "/v1/handoffs", b).must(t, 201)
		if r.str("ticket_id") != id || r.Body["new_ticket"] != false {
			t.Fatalf("existing ticket handoff: %s", r.Raw)
		}
		b["handoff_id"] = "ex-2"
		s.do(escalated.RoleSupervisor, "POST", "/v1/handoffs", b).refused(t, 409, "conflict", "")
		b["subject"] = "not allowed with ticket_id"
		s.do(escalated.RoleSupervisor, "POST", "/v1/handoffs", b).refused(t, 400, "invalid", "ticket_id")
	})
}

// TestHandoffIncomplete: the policy requires original_message, account and note; a handoff
// missing them is refused naming each, and nothing is written. With on_incomplete:
// accept_flagged it is accepted, flagged, with its completeness.
func TestHandoffIncomplete(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *testServer) {
		b := handoffBody("inc-1")
		delete(b, "account")
		delete(b, "note")
		r := s.do(bot, "POST", "/v1/handoffs", b)
		r.refused(t, 400, "invalid", "account")
		r.refused(t, 400, "invalid", "note")
		if n := len(items(s.do(agent, "GET", "/v1/tickets", nil).must(t, 200))); n != 0 {
			t.Fatalf("a refused handoff left %d tickets", n)
		}
		for field, body := range map[string]map[string]any{
			"transcript":              {"handoff_id": "x", "transcript": []map[string]any{{"author": "bot", "body": "hi"}}},
			"transcript[0].author":    {"transcript": []map[string]any{{"author": "agent", "body": "hi"}}},
			"transcript[0].at":        {"transcript": []map[string]any{{"author": "customer", "body": "hi", "at": "yesterday"}}},
			"bot_steps[0].outcome":    {"transcript": []map[string]any{{"author": "customer", "body": "hi"}}, "bot_steps": []map[string]any{{"intent": "a", "action": "b", "outcome": "maybe", "confidence": 0.5}}},
			"bot_steps[0].confidence": {"transcript": []map[string]any{{"author": "customer", "body": "hi"}}, "bot_steps": []map[string]any{{"intent": "a", "action": "b", "outcome": "failed", "confidence": 1.5}}},
			"message":                 {"transcript": []map[string]any{{"author": "customer", "body": "hi"}}, "message": map[string]any{"body": "hi"}},
			"handoff_id":              {"handoff_id": "has spaces", "transcript": []map[string]any{{"author": "customer", "body": "hi"}}},
			"transcrpt":               {"transcrpt": []map[string]any{{"author": "customer", "body": "hi"}}},
		} {
			s.do(bot, "POST", "/v1/handoffs", body).refused(t, 400, "invalid", field)
		}
		s.do(escalated.RoleAgent, "POST", "/v1/handoffs", handoffBody("role")).refused(t, 403, "forbidden", "")

		src, err := os.ReadFile("testdata/policy.yaml")
		if err != nil {
			t.Fatal(err)
		}
		flagged := strings.Replace(string(src), "max_per_ticket: 3", "max_per_ticket: 3\n  on_incomplete: accept_flagged", 1)
		s.doRaw(escalated.RoleAdmin, "PUT", "/v1/policy", flagged).must(t, 200)
		r = s.do(bot, "POST", "/v1/handoffs", b).must(t, 201)
		if r.Body["flagged"] != true || fmt.Sprint(r.Body["missing"]) != "[account note]" || r.Body["completeness"].(float64) > 0.34 {
			t.Errorf("flagged handoff: %s", r.Raw)
		}
	})
}

// TestHandoffQueuePosition: handoffs to one team line up; acknowledging the first moves the
// others up, and once enough acknowledgements exist the estimate is the median time to
// acknowledge.
func TestHandoffQueuePosition(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *testServer) {
		var escs []string
		for i := range 7 {
			b := handoffBody(fmt.Sprintf("q-%d", i))
			b["requested_team"] = "billing"
			r := s.do(bot, "POST", "/v1/handoffs", b).must(t, 201)
			if r.Body["position"] != float64(i+1) {
				t.Fatalf("handoff %d at position %v, want %d", i, r.Body["position"], i+1)
			}
			escs = append(escs, r.str("escalation_id"))
		}
		s.do(agent, "POST", "/v1/escalations/"+escs[0]+"/acknowledge", map[string]any{"by": "bea", "context_sufficient": false}).must(t, 200)
		if r := s.do(bot, "GET", "/v1/handoffs/q-2", nil).must(t, 200); r.Body["position"] != float64(2) {
			t.Errorf("after the first was acknowledged, the third is at %v, want 2: %s", r.Body["position"], r.Raw)
		}
		if r := s.do(bot, "GET", "/v1/handoffs/q-0", nil).must(t, 200); r.Body["position"] != float64(0) || r.str("state") != "acknowledged" {
			t.Errorf("acknowledged handoff: %s", r.Raw)
		}
		e := s.do(agent, "GET", "/v1/escalations/"+escs[0], nil).must(t, 200)
		if e.Body["context_sufficient"] != false {
			t.Errorf("context_sufficient not stored: %s", e.Raw)
		}
		for _, id := range escs[1:5] {
			s.do(agent, "POST", "/v1/escalations/"+id+"/acknowledge", map[string]any{"by": "bea", "context_sufficient": true}).must(t, 200)
		}
		r := s.do(bot, "GET", "/v1/handoffs/q-6", nil).must(t, 200)
		// Five acknowledgements: the median (a few ms here) times the rounds ahead (position 2,
		// one online agent in billing).
		if r.Body["position"] != float64(2) || r.str("estimate_basis") != "median_acknowledge_7d" {
			t.Errorf("estimate from acknowledgements: %s", r.Raw)
		}
	})
}

// TestEvaluateWritesNothing: evaluate answers what the policy would do with a ticket and with a
// handoff, and the database file is byte-for-byte the same table contents afterwards.
func TestEvaluateWritesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "escalated.db")
	s := startServerWith(t, "sqlite:"+path, "testdata/handoff-policy.yaml")
	s.do(agent, "POST", "/v1/tickets", newTicket(1)).must(t, 201)
	before := dbDigest(t, path)

	b := handoffBody("ev-1")
	b["issue_type"] = "billing"
	r := s.do(bot, "POST", "/v1/evaluate", b).must(t, 200)
	if r.Body["escalate"] != true || r.str("to") != "billing" || fmt.Sprint(r.Body["rules"]) != "[billing-handoffs]" ||
		get(r.Body, "handoff.position") != float64(1) || r.str("trigger") != "handoff" {
		t.Errorf("evaluate handoff: %s", r.Raw)
	}
	if tr, _ := r.Body["trace"].([]any); len(tr) == 0 {
		t.Errorf("evaluate without a trace: %s", r.Raw)
	}
	plain := s.do(bot, "POST", "/v1/evaluate", newTicket(2)).must(t, 200)
	if plain.Body["escalate"] != false || plain.Body["to"] != nil || plain.str("team") != "frontline" {
		t.Errorf("evaluate ticket: %s", plain.Raw)
	}
	inc := handoffBody("ev-2")
	delete(inc, "account")
	if r := s.do(bot, "POST", "/v1/evaluate", inc).must(t, 200); get(r.Body, "refused.account") == nil {
		t.Errorf("evaluate of an incomplete handoff does not say it would be refused: %s", r.Raw)
	}
	s.do(bot, "POST", "/v1/evaluate", map[string]any{"transcript": []map[string]any{{"author": "nobody", "body": "x"}}}).refused(t, 400, "invalid", "transcript[0].author")
	s.do(escalated.RoleReadonly, "POST", "/v1/evaluate", newTicket(3)).refused(t, 403, "forbidden", "")

	if after := dbDigest(t, path); after != before {
		t.Fatalf("evaluate changed the database:\nbefore %s\nafter  %s", before, after)
	}
	// And the same handoff for real does write.
	s.do(bot, "POST", "/v1/handoffs", b).must(t, 201)
	if dbDigest(t, path) == before {
		t.Fatal("the digest did not notice a real handoff: the comparison proves nothing")
	}
}

// dbDigest hashes every row of every table of a SQLite file, read through a second connection
// (WAL readers see what is committed).
func dbDigest(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	h := sha256.New()
	counts := []string{}
	for _, tb := range tables {
		q := `SELECT * FROM "` + tb + `"`
		if tb == "tokens" {
			// Authenticating a request records when its token was last used: that is the
			// request's write, not evaluate's.
			q = `SELECT id, name, role, hash, created_at, revoked_at FROM tokens`
		}
		rs, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", tb, err)
		}
		cols, _ := rs.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		n := 0
		for rs.Next() {
			rs.Scan(ptrs...)
			fmt.Fprintf(h, "%s|%v\n", tb, vals)
			n++
		}
		rs.Close()
		counts = append(counts, fmt.Sprintf("%s=%d", tb, n))
	}
	return hex.EncodeToString(h.Sum(nil))[:16] + " " + strings.Join(counts, " ")
}

// raw answers a request's body as text (non-JSON answers).
func (s *testServer) raw(role escalated.Role, method, path string) string {
	s.t.Helper()
	r := s.doRaw(role, method, path, "")
	if r.Status != 200 {
		s.t.Fatalf("%s %s: status %d: %s", method, path, r.Status, r.Raw)
	}
	return string(r.Raw)
}

// doRaw sends body as it is and returns the answer without decoding it.
func (s *testServer) doRaw(role escalated.Role, method, path, body string) reply {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if tok, ok := s.tokens[role]; ok {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{Status: resp.StatusCode, Raw: raw}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

// TestRecommendationCitesSimilarResolved: a solved ticket enters the similar-ticket index with
// how it was resolved (the last public agent reply), and a later handoff about the same problem
// gets it in its package's recommendation with a link; reopening the ticket takes it out again.
func TestRecommendationCitesSimilarResolved(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *testServer) {
		old := s.do(agent, "POST", "/v1/tickets", map[string]any{
			"subject": "Charged twice for my order", "issue_type": "payments", "tags": []string{"refund"},
			"message": map[string]any{"body": "My card was charged twice for the same order, please refund the duplicate payment."},
		}).must(t, 201).str("id")
		other := s.do(agent, "POST", "/v1/tickets", map[string]any{
			"subject": "Cannot reset my password", "issue_type": "login",
			"message": map[string]any{"body": "The password reset link never arrives in my inbox."},
		}).must(t, 201).str("id")
		for id, reply := range map[string]string{old: "Refunded the duplicate payment in the payments console; it shows in 3-5 days.", other: "Whitelisted our mail domain; the reset link arrives now."} {
			s.do(agent, "POST", "/v1/tickets/"+id+"/messages", map[string]any{"author": map[string]any{"kind": "agent", "id": "ana"}, "body": reply}).must(t, 201)
			s.do(agent, "PATCH", "/v1/tickets/"+id, map[string]any{"status": "solved"}).must(t, 200)
		}
		r := s.do(bot, "POST", "/v1/handoffs", handoffBody("sim-1")).must(t, 201)
		e := s.do(agent, "GET", "/v1/escalations/"+r.str("escalation_id"), nil).must(t, 200)
		sim, _ := get(e.Body, "package.recommendation.similar").([]any)
		if len(sim) == 0 {
			t.Fatalf("no similar tickets in the recommendation: %v", get(e.Body, "package.recommendation"))
		}
		top := sim[0].(map[string]any)
		if top["ticket_id"] != old || !strings.Contains(top["resolution"].(string), "Refunded the duplicate payment") ||
			!strings.HasSuffix(top["url"].(string), "/v1/tickets/"+old) {
			t.Errorf("top similar ticket: %v, want %s with its resolution and link", top, old)
		}
		if !strings.Contains(get(e.Body, "package.recommendation.text").(string), old) {
			t.Errorf("recommendation text does not cite %s: %v", old, get(e.Body, "package.recommendation.text"))
		}
		handofftest.Validate(t, handofftest.Schema(t), e.Body["package"])

		// The customer writes again: the ticket reopens and leaves the index.
		s.do(agent, "POST", "/v1/tickets/"+old+"/messages", map[string]any{"author": map[string]any{"kind": "customer"}, "body": "The refund never came."}).must(t, 201)
		r = s.do(bot, "POST", "/v1/handoffs", handoffBody("sim-2")).must(t, 201)
		e = s.do(agent, "GET", "/v1/escalations/"+r.str("escalation_id"), nil).must(t, 200)
		sim, _ = get(e.Body, "package.recommendation.similar").([]any)
		for _, x := range sim {
			if x.(map[string]any)["ticket_id"] == old {
				t.Errorf("a reopened ticket is still cited as resolved: %v", sim)
			}
		}
	})
}

// TestEveryHandoffPackageMatchesSchema produces packages along every handoff path (a rule's
// choice with its recommendation, the requested team, the ticket's own team, an existing
// ticket, an incomplete one accepted flagged, with similar resolved tickets cited) and checks
// that every package stored validates against docs/schema/handoff-v1.json.
func TestEveryHandoffPackageMatchesSchema(t *testing.T) {
	onBothStoresWith(t, "testdata/handoff-policy.yaml", func(t *testing.T, s *testServer) {
		solved := s.do(agent, "POST", "/v1/tickets", map[string]any{"subject": "Charged twice", "message": map[string]any{"body": "I was charged twice for one order."}}).must(t, 201).str("id")
		s.do(agent, "POST", "/v1/tickets/"+solved+"/messages", map[string]any{"author": map[string]any{"kind": "agent", "id": "ana"}, "body": "Refunded the second charge."}).must(t, 201)
		s.do(agent, "PATCH", "/v1/tickets/"+solved, map[string]any{"status": "solved"}).must(t, 200)

		b := handoffBody("p-rule")
		b["issue_type"] = "billing"
		s.do(bot, "POST", "/v1/handoffs", b).must(t, 201)
		b = handoffBody("p-req")
		b["requested_team"] = "integrations"
		s.do(bot, "POST", "/v1/handoffs", b).must(t, 201)
		s.do(bot, "POST", "/v1/handoffs", handoffBody("p-own")).must(t, 201)
		existing := s.do(agent, "POST", "/v1/tickets", newTicket(7)).must(t, 201).str("id")
		s.do(escalated.RoleSupervisor, "POST", "/v1/handoffs", map[string]any{"ticket_id": existing, "note": "Existing ticket handed off by an integration.",
			"transcript": []map[string]any{{"author": "customer", "body": "Still broken."}}}).must(t, 201)

		src, err := os.ReadFile("testdata/handoff-policy.yaml")
		if err != nil {
			t.Fatal(err)
		}
		s.doRaw(escalated.RoleAdmin, "PUT", "/v1/policy", strings.Replace(string(src), "max_per_ticket: 3", "max_per_ticket: 3\n  on_incomplete: accept_flagged", 1)).must(t, 200)
		inc := handoffBody("p-inc")
		delete(inc, "account")
		delete(inc, "note")
		delete(inc, "bot_steps")
		delete(inc, "recommendation")
		s.do(bot, "POST", "/v1/handoffs", inc).must(t, 201)

		sch := handofftest.Schema(t)
		escs := items(s.do(agent, "GET", "/v1/escalations?limit=100", nil).must(t, 200))
		if len(escs) != 5 {
			t.Fatalf("%d escalations, want 5", len(escs))
		}
		cited := false
		for _, e := range escs {
			if err := handofftest.Check(sch, e["package"]); err != nil {
				t.Errorf("package of %s (%s to %s) does not match the schema: %v", e["id"], e["trigger"], e["to_team"], err)
			}
			if sim, _ := get(e, "package.recommendation.similar").([]any); len(sim) > 0 {
				cited = true
			}
		}
		if !cited {
			t.Error("no package cited a similar resolved ticket")
		}
	})
}

// TestHandoffReviewCases covers what a review found: a transcript time before 1970 or long ago
// is a 400 and the node keeps working (it once poisoned id generation for the whole process);
// concurrent identical requests all get the first answer (SQLite batches them into one
// transaction); a rule escalating on the transcript's message.added is held so the handoff's
// own rules decide; explain after a handoff shows handoff.received; the text rendering shows
// due times; whitespace does not make a retry a different request.
func TestHandoffReviewCases(t *testing.T) {
	onBothStoresWith(t, "testdata/handoff-policy.yaml", func(t *testing.T, s *testServer) {
		for i, at := range []string{"1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2001-01-01T00:00:00Z"} {
			b := handoffBody(fmt.Sprintf("old-%d", i))
			b["transcript"] = []map[string]any{{"author": "customer", "body": "hi", "at": at}}
			s.do(bot, "POST", "/v1/handoffs", b).refused(t, 400, "invalid", "transcript[0].at")
			s.do(bot, "POST", "/v1/evaluate", b).refused(t, 400, "invalid", "transcript[0].at")
		}
		s.do(agent, "POST", "/v1/tickets", newTicket(1)).must(t, 201)

		body := handoffBody("race")
		const n = 16
		answers := make(chan string, n)
		for range n {
			go func() {
				r, err := s.postAsyncAs(bot, "/v1/handoffs", body)
				if err != nil {
					answers <- "error: " + err.Error()
					return
				}
				answers <- r
			}()
		}
		first := <-answers
		for range n - 1 {
			if a := <-answers; a != first {
				t.Fatalf("concurrent identical handoffs answered differently:\n%s\n%s", first, a)
			}
		}
		if strings.HasPrefix(first, "error") {
			t.Fatal(first)
		}

		// A retry whose strings differ only in surrounding whitespace is the same request.
		padded := handoffBody("race")
		padded["transcript"], padded["note"] = body["transcript"], "  "+body["note"].(string)+"  "
		if r := s.do(bot, "POST", "/v1/handoffs", padded).must(t, 201); !strings.Contains(first, r.str("escalation_id")) {
			t.Errorf("a padded retry was not answered with the first answer: %s", r.Raw)
		}

		// The rule escalating billing tickets fires on handoff.received; a policy rule on
		// message.added that would escalate is held during the handoff.
		src, err := os.ReadFile("testdata/handoff-policy.yaml")
		if err != nil {
			t.Fatal(err)
		}
		held := strings.Replace(string(src), "rules:\n", `rules:
  - id: wants-a-person
    on: [message.added]
    when: message.author == "customer" && message.wants_human
    do:
      - escalate: {to: integrations, reason: dissatisfaction}
`, 1)
		s.doRaw(escalated.RoleAdmin, "PUT", "/v1/policy", held).must(t, 200)
		b := handoffBody("held")
		b["issue_type"] = "billing"
		r := s.do(bot, "POST", "/v1/handoffs", b).must(t, 201)
		e := s.do(agent, "GET", "/v1/escalations/"+r.str("escalation_id"), nil).must(t, 200)
		if r.str("team") != "billing" || e.str("trigger") != "handoff" || get(e.Body, "package.note") != b["note"] {
			t.Errorf("handoff with a message.added rule: answer %s, escalation trigger %v note %v", r.Raw, e.Body["trigger"], get(e.Body, "package.note"))
		}
		ex := s.do(agent, "GET", "/v1/tickets/"+r.str("ticket_id")+"/explain", nil).must(t, 200)
		if !strings.Contains(string(ex.Raw), "handoff.received") || !strings.Contains(string(ex.Raw), "escalation held") {
			t.Errorf("explain after a handoff lacks handoff.received or the held escalation: %s", ex.Raw)
		}
		text := s.raw(agent, "GET", "/v1/escalations/"+r.str("escalation_id")+"?format=text")
		if strings.Contains(text, "%!") || !strings.Contains(text, "first_response: running, due 20") {
			t.Errorf("text rendering of the SLA clocks:\n%s", text)
		}
	})
}

// postAsyncAs posts body with role's token from any goroutine and returns the raw answer, or
// an error naming a status other than 201.
func (s *testServer) postAsyncAs(role escalated.Role, path string, body any) (string, error) {
	j, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", s.base+path, strings.NewReader(string(j)))
	req.Header.Set("Authorization", "Bearer "+s.tokens[role])
	resp, err := s.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, raw)
	}
	return string(raw), nil
}

// TestHandoffFollowsEscalationThatMovedOn: nobody in integrations acknowledges within the 2 s
// target, the policy moves the escalation on to engineering, and GET /v1/handoffs/{id} reports
// the line the customer is in now (engineering, pending), not "picked up".
func TestHandoffFollowsEscalationThatMovedOn(t *testing.T) {
	onBothStoresWith(t, "testdata/sla-short.yaml", func(t *testing.T, s *testServer) {
		b := handoffBody("moved")
		b["requested_team"] = "integrations"
		r := s.do(bot, "POST", "/v1/handoffs", b).must(t, 201)
		if r.str("team") != "integrations" {
			t.Fatalf("handoff: %s", r.Raw)
		}
		s.waitFor(t, r.str("ticket_id"), 15*time.Second, func(tk map[string]any) bool { return tk["team"] == "engineering" })
		got := s.do(bot, "GET", "/v1/handoffs/moved", nil).must(t, 200)
		if got.str("team") != "engineering" || got.str("state") != "pending" || got.Body["position"] != float64(1) ||
			got.str("escalation_id") == r.str("escalation_id") {
			t.Errorf("after the escalation moved on: %s", got.Raw)
		}
	})
}
