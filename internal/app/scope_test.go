package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/store"
)

// TestAgentsSeeTheirTeamsTickets: a token acting for an agent sees and works the tickets of the
// agent's teams (and of the teams the policy's sees grants), follows a ticket it escalated away,
// and gets not_found for everything else, through every route that reads or writes a ticket.
// testdata/policy.yaml: tom works in frontline, ben in integrations, bea in billing; max works
// in enterprise-desk and sees billing.
func TestAgentsSeeTheirTeamsTickets(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		tok := map[string]string{}
		for _, a := range []string{"tom", "ben", "bea", "max"} {
			secret, _, err := s.app.Access.CreateToken(ctx, access.NewToken{Name: a, Role: escalated.RoleAgent, Agent: a}, "test")
			if err != nil {
				t.Fatal(err)
			}
			tok[a] = secret
		}
		as := func(who, method, path string, body any) reply {
			t.Helper()
			return s.doWith(tok[who], method, path, body)
		}

		front := s.do(escalated.RoleSupervisor, "POST", "/v1/tickets", newTicket(1)).must(t, http.StatusCreated).str("id")
		billingTicket := newTicket(2)
		billingTicket["team"] = "billing"
		bill := s.do(escalated.RoleSupervisor, "POST", "/v1/tickets", billingTicket).must(t, http.StatusCreated).str("id")

		// Reads of one ticket.
		as("tom", "GET", "/v1/tickets/"+front, nil).must(t, http.StatusOK)
		for _, path := range []string{"/v1/tickets/" + bill, "/v1/tickets/" + bill + "/explain", "/v1/escalations?ticket=" + bill} {
			r := as("tom", "GET", path, nil)
			r.refused(t, http.StatusNotFound, "not_found", "")
			if !strings.Contains(string(r.Raw), "frontline") {
				t.Errorf("GET %s: the refusal should name the teams the agent sees: %s", path, r.Raw)
			}
		}
		as("bea", "GET", "/v1/tickets/"+bill, nil).must(t, http.StatusOK)
		as("max", "GET", "/v1/tickets/"+bill, nil).must(t, http.StatusOK) // sees: [billing]
		as("max", "GET", "/v1/tickets/"+front, nil).refused(t, http.StatusNotFound, "not_found", "")

		// Lists: one team (the agent's only one by default), never another's.
		if items := listIDs(t, as("tom", "GET", "/v1/tickets", nil)); len(items) != 1 || items[0] != front {
			t.Errorf("tom's ticket list = %v, want [%s]", items, front)
		}
		as("tom", "GET", "/v1/tickets?team=billing", nil).refused(t, http.StatusForbidden, "forbidden", "")
		as("tom", "GET", "/v1/teams/billing/queue", nil).refused(t, http.StatusForbidden, "forbidden", "")
		as("tom", "GET", "/v1/teams/frontline/queue", nil).must(t, http.StatusOK)
		as("tom", "GET", "/v1/escalations?team=billing", nil).refused(t, http.StatusForbidden, "forbidden", "")
		as("max", "GET", "/v1/tickets", nil).refused(t, http.StatusBadRequest, "invalid", "team") // two teams: name one
		if items := listIDs(t, as("max", "GET", "/v1/tickets?team=billing", nil)); len(items) != 1 || items[0] != bill {
			t.Errorf("max's billing list = %v, want [%s]", items, bill)
		}

		// Writes to a ticket out of scope are not found, and change nothing.
		msg := map[string]any{"author": map[string]any{"kind": "agent", "id": "tom"}, "body": "Looking at it."}
		as("tom", "POST", "/v1/tickets/"+bill+"/messages", msg).refused(t, http.StatusNotFound, "not_found", "")
		as("tom", "PATCH", "/v1/tickets/"+bill, map[string]any{"priority": "urgent"}).refused(t, http.StatusNotFound, "not_found", "")
		as("tom", "POST", "/v1/tickets/"+bill+"/escalations", map[string]any{"to": "engineering", "reason": "complexity", "note": longNote}).
			refused(t, http.StatusNotFound, "not_found", "")
		handoff := map[string]any{"ticket_id": bill, "handoff_id": "h-1", "note": "Customer wants a person to look at it.",
			"transcript": []map[string]any{{"author": "customer", "body": "A person please"}}}
		as("tom", "POST", "/v1/evaluate", handoff).refused(t, http.StatusNotFound, "not_found", "")
		// The same through a supervisor token (agents do not hand off) shows the body is sound.
		s.do(escalated.RoleSupervisor, "POST", "/v1/evaluate", handoff).must(t, http.StatusOK)
		if got := s.do(escalated.RoleSupervisor, "GET", "/v1/tickets/"+bill, nil).must(t, http.StatusOK); got.str("priority") != "high" || len(got.Body["history"].([]any)) != 3 {
			t.Errorf("a refused write changed the ticket: %s", got.Raw)
		}

		// Escalated from frontline to integrations: ben now sees it and handles it; tom still
		// follows it; bea never sees it.
		as("tom", "POST", "/v1/tickets/"+front+"/messages", msg).must(t, http.StatusCreated)
		esc := as("tom", "POST", "/v1/tickets/"+front+"/escalations", map[string]any{"to": "integrations", "reason": "complexity", "note": longNote, "by": "tom"}).
			must(t, http.StatusCreated).str("id")
		as("ben", "GET", "/v1/tickets/"+front, nil).must(t, http.StatusOK)
		as("ben", "GET", "/v1/escalations/"+esc, nil).must(t, http.StatusOK)
		as("tom", "GET", "/v1/tickets/"+front, nil).must(t, http.StatusOK)
		as("bea", "GET", "/v1/tickets/"+front, nil).refused(t, http.StatusNotFound, "not_found", "")
		as("bea", "GET", "/v1/escalations/"+esc, nil).refused(t, http.StatusNotFound, "not_found", "")
		as("bea", "POST", "/v1/escalations/"+esc+"/acknowledge", map[string]any{}).refused(t, http.StatusNotFound, "not_found", "")
		as("ben", "POST", "/v1/escalations/"+esc+"/acknowledge", map[string]any{"by": "ben"}).must(t, http.StatusOK)
		if items := listIDs(t, as("ben", "GET", "/v1/escalations", nil)); len(items) != 1 || items[0] != esc {
			t.Errorf("ben's escalations = %v, want [%s]", items, esc)
		}
		if items := listIDs(t, as("bea", "GET", "/v1/escalations", nil)); len(items) != 0 {
			t.Errorf("bea's escalations = %v, want none", items)
		}

		// Following is reading: tom, who escalated it, neither handles the escalation nor
		// speaks for ben; ben handles it as himself only.
		as("tom", "POST", "/v1/escalations/"+esc+"/return", map[string]any{"reason": "not ours", "necessary": false}).refused(t, http.StatusForbidden, "forbidden", "")
		as("ben", "POST", "/v1/escalations/"+esc+"/resolve", map[string]any{"by": "eve", "resolution": "Fixed the key."}).refused(t, http.StatusForbidden, "forbidden", "")
		// Speaking as oneself only: no other agent in by, no other author of a message.
		as("ben", "POST", "/v1/tickets/"+front+"/messages", map[string]any{"author": map[string]any{"kind": "agent", "id": "tom"}, "body": "x"}).
			refused(t, http.StatusForbidden, "forbidden", "")
		as("ben", "POST", "/v1/tickets/"+front+"/messages", map[string]any{"author": map[string]any{"kind": "customer"}, "body": "x"}).
			refused(t, http.StatusForbidden, "forbidden", "")
		note := as("ben", "POST", "/v1/tickets/"+front+"/messages", map[string]any{"body": "Checking the gateway logs.", "internal": true}).must(t, http.StatusCreated)
		if note.str("author.kind") != "agent" || note.str("author.id") != "ben" {
			t.Errorf("a message without author from ben's token: %s", note.Raw)
		}
		// Returned to frontline: ben still follows the ticket and may no longer change it.
		as("ben", "POST", "/v1/escalations/"+esc+"/return", map[string]any{"reason": "Frontline can rotate the key.", "necessary": false}).must(t, http.StatusOK)
		as("ben", "GET", "/v1/tickets/"+front, nil).must(t, http.StatusOK)
		as("ben", "PATCH", "/v1/tickets/"+front, map[string]any{"status": "solved"}).refused(t, http.StatusForbidden, "forbidden", "")
		as("tom", "PATCH", "/v1/tickets/"+front, map[string]any{"priority": "urgent"}).must(t, http.StatusOK)

		// A ticket out of scope answers exactly as one that does not exist.
		missing := "tkt_01M8HEH34FCPK9PCSVYJ0RP7GR"
		for _, path := range []string{"/v1/tickets/%s", "/v1/tickets/%s/explain"} {
			a, b := as("tom", "GET", fmt.Sprintf(path, bill), nil), as("tom", "GET", fmt.Sprintf(path, missing), nil)
			ma, mb := strings.ReplaceAll(a.str("error.message"), bill, "ID"), strings.ReplaceAll(b.str("error.message"), missing, "ID")
			if a.Status != http.StatusNotFound || b.Status != http.StatusNotFound || ma != mb {
				t.Errorf("GET %s: out of scope %d %q, missing %d %q: want the same 404", path, a.Status, ma, b.Status, mb)
			}
		}
		billEsc := s.do(escalated.RoleSupervisor, "POST", "/v1/tickets/"+bill+"/escalations", map[string]any{"to": "engineering", "reason": "complexity", "note": longNote}).
			must(t, http.StatusCreated).str("id")
		a, b := as("tom", "GET", "/v1/escalations/"+billEsc, nil), as("tom", "GET", "/v1/escalations/esc_01M8HEH34FCPK9PCSVYJ0RP7GR", nil)
		if a.Status != http.StatusNotFound || b.Status != http.StatusNotFound ||
			strings.ReplaceAll(a.str("error.message"), billEsc, "ID") != strings.ReplaceAll(b.str("error.message"), "esc_01M8HEH34FCPK9PCSVYJ0RP7GR", "ID") {
			t.Errorf("an escalation out of scope (%d %s) and a missing one (%d %s) answer differently", a.Status, a.Raw, b.Status, b.Raw)
		}

		// Agents open tickets in their own teams.
		elsewhere := newTicket(3)
		elsewhere["team"] = "engineering"
		as("tom", "POST", "/v1/tickets", elsewhere).refused(t, http.StatusForbidden, "forbidden", "")
		as("tom", "POST", "/v1/evaluate", elsewhere).refused(t, http.StatusForbidden, "forbidden", "")
		as("tom", "POST", "/v1/tickets", newTicket(4)).must(t, http.StatusCreated) // the intake team, frontline

		// Agents change their own status only.
		as("tom", "PATCH", "/v1/agents/tom", map[string]any{"status": "away"}).must(t, http.StatusOK)
		as("tom", "PATCH", "/v1/agents/ben", map[string]any{"status": "away"}).refused(t, http.StatusForbidden, "forbidden", "")

		// The event stream: one of the agent's teams, or one ticket it sees.
		for path, want := range map[string]int{
			"/v1/events?team=billing":         http.StatusForbidden,
			"/v1/events?ticket=" + bill:       http.StatusNotFound,
			"/v1/events?ticket=tkt_missing00": http.StatusNotFound,
		} {
			if got := streamStatus(t, s.base+path, tok["tom"]); got != want {
				t.Errorf("GET %s as tom: %d, want %d", path, got, want)
			}
		}
		if got := streamStatus(t, s.base+"/v1/events?team=frontline", tok["tom"]); got != http.StatusOK {
			t.Errorf("tom's own team's stream: %d", got)
		}

		// A token of role agent made before tokens named their agent sees nothing, and says why.
		legacy := "esctok_legacy-agent-token-made-before-migration-14"
		now := escalated.Truncate(time.Now())
		err := s.app.Store.Update(ctx, func(tx store.Tx) error {
			return tx.CreateToken(ctx, &escalated.Token{ID: escalated.NewID(escalated.PrefixToken, now), Name: "old-agent",
				Role: escalated.RoleAgent, Hash: access.HashToken(legacy), CreatedAt: now})
		})
		if err != nil {
			t.Fatal(err)
		}
		r := s.doWith(legacy, "GET", "/v1/tickets", nil)
		r.refused(t, http.StatusForbidden, "forbidden", "")
		if !strings.Contains(string(r.Raw), "--agent") {
			t.Errorf("the legacy token's refusal should say how to get a new one: %s", r.Raw)
		}
		s.doWith(legacy, "GET", "/v1/tickets/"+front, nil).refused(t, http.StatusNotFound, "not_found", "")
		s.doWith(legacy, "PATCH", "/v1/agents/tom", map[string]any{"status": "online"}).refused(t, http.StatusForbidden, "forbidden", "")
	})
}

// listIDs returns the ids of a list answer's items.
func listIDs(t *testing.T, r reply) []string {
	t.Helper()
	r.must(t, http.StatusOK)
	items, _ := r.Body["items"].([]any)
	ids := []string{}
	for _, it := range items {
		ids = append(ids, it.(map[string]any)["id"].(string))
	}
	return ids
}

// streamStatus opens an event stream and returns its status, closing it at once.
func streamStatus(t *testing.T, url, secret string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
