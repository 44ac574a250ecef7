package app_test

import (
	"net/http"
	"testing"

	"github.com/escalated/escalated"
)

// agentItem returns one agent of GET /v1/agents.
func agentItem(t *testing.T, s *testServer, id string) map[string]any {
	t.Helper()
	for _, a := range items(s.do(readonly, "GET", "/v1/agents", nil).must(t, http.StatusOK)) {
		if a["id"] == id {
			return a
		}
	}
	t.Fatalf("agent %s not listed", id)
	return nil
}

func TestPatchAgentSteersRouting(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *testServer) {
		ana := agentItem(t, s, "ana")
		if ana["status"] != "online" || ana["capacity"] != 8.0 || ana["open"] != 0.0 || ana["policy_capacity"] != 8.0 || ana["updated_at"] != nil {
			t.Fatalf("ana before any change: %v", ana)
		}
		first := s.do(agent, "POST", "/v1/tickets", newTicket(1)).must(t, http.StatusCreated)
		if first.str("assignee") != "ana" {
			t.Fatalf("first ticket: %s", first.Raw)
		}
		if got := agentItem(t, s, "ana")["open"]; got != 1.0 {
			t.Fatalf("ana's open tickets %v, want 1", got)
		}

		// An agent token sets a status and gets the agent as they now are.
		r := s.do(agent, "PATCH", "/v1/agents/ana", map[string]any{"status": "away"}).must(t, http.StatusOK)
		if r.str("status") != "away" || get(r.Body, "capacity") != 8.0 || get(r.Body, "open") != 1.0 ||
			r.str("policy_status") != "online" || r.str("updated_at") == "" {
			t.Fatalf("PATCH answer: %s", r.Raw)
		}
		if got := agentItem(t, s, "ana")["status"]; got != "away" {
			t.Fatalf("listed status %v, want away", got)
		}
		if got := s.do(agent, "POST", "/v1/tickets", newTicket(2)).must(t, 201).str("assignee"); got != "tom" {
			t.Fatalf("with ana away the ticket went to %q, want tom", got)
		}

		// tom full at one ticket, ana away: nobody qualifies and frontline has no fallback, so the
		// ticket waits unassigned, and history says why.
		s.do(escalated.RoleSupervisor, "PATCH", "/v1/agents/tom", map[string]any{"capacity": 1}).must(t, http.StatusOK)
		queued := s.do(agent, "POST", "/v1/tickets", newTicket(3)).must(t, 201)
		if get(queued.Body, "assignee") != nil {
			t.Fatalf("ticket should wait unassigned: %s", queued.Raw)
		}
		var routed map[string]any
		for _, h := range queued.Body["history"].([]any) {
			if e := h.(map[string]any); e["type"] == "ticket.routed" {
				routed = e
			}
		}
		if get(routed, "data.outcome") != "queued" || get(routed, "data.agent") != nil ||
			get(routed, "data.reason") != "nobody in team frontline can take it now; it waits in the queue" {
			t.Fatalf("ticket.routed: %v", routed)
		}
		if passed, _ := get(routed, "data.passed").([]any); len(passed) != 2 {
			t.Fatalf("both agents should be listed as passed over: %v", routed)
		}

		// Refusals.
		s.do(bot, "PATCH", "/v1/agents/ana", map[string]any{"status": "online"}).refused(t, 403, "forbidden", "")
		s.do(readonly, "PATCH", "/v1/agents/ana", map[string]any{"status": "online"}).refused(t, 403, "forbidden", "")
		s.do(agent, "PATCH", "/v1/agents/zed", map[string]any{"status": "online"}).refused(t, 404, "not_found", "")
		s.do(agent, "PATCH", "/v1/agents/ana", map[string]any{"status": "asleep"}).refused(t, 400, "invalid", "status")
		s.do(agent, "PATCH", "/v1/agents/ana", map[string]any{"capacity": -1}).refused(t, 400, "invalid", "capacity")
		s.do(agent, "PATCH", "/v1/agents/ana", map[string]any{"capacity": "many"}).refused(t, 400, "invalid", "capacity")
		s.do(agent, "PATCH", "/v1/agents/ana", map[string]any{}).refused(t, 400, "invalid", "status")
		s.do(agent, "PATCH", "/v1/agents/ana", map[string]any{"state": "online"}).refused(t, 400, "invalid", "state")

		// Back to the policy's values.
		r = s.do(admin, "PATCH", "/v1/agents/ana", map[string]any{"status": "", "capacity": 0}).must(t, http.StatusOK)
		if r.str("status") != "online" || get(r.Body, "capacity") != 8.0 {
			t.Fatalf("reset: %s", r.Raw)
		}
		if n := len(items(s.do(admin, "GET", "/v1/audit?action=agent.updated", nil).must(t, 200))); n != 3 {
			t.Fatalf("%d agent.updated audit records, want 3", n)
		}
	})
}

func TestTeamQueue(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *testServer) {
		assigned := s.do(agent, "POST", "/v1/tickets", newTicket(1)).must(t, 201).str("id")
		solved := s.do(agent, "POST", "/v1/tickets", newTicket(2)).must(t, 201).str("id")
		for _, a := range []string{"ana", "tom"} {
			s.do(admin, "PATCH", "/v1/agents/"+a, map[string]any{"status": "offline"}).must(t, 200)
		}
		waiting := s.do(agent, "POST", "/v1/tickets", newTicket(3)).must(t, 201).str("id")
		urgent := newTicket(4)
		urgent["priority"] = "urgent"
		urgentID := s.do(agent, "POST", "/v1/tickets", urgent).must(t, 201).str("id")
		s.do(agent, "PATCH", "/v1/tickets/"+solved, map[string]any{"status": "solved"}).must(t, 200)
		elsewhere := newTicket(5)
		elsewhere["team"] = "billing"
		s.do(agent, "POST", "/v1/tickets", elsewhere).must(t, 201)

		q := s.do(readonly, "GET", "/v1/teams/frontline/queue", nil).must(t, http.StatusOK)
		got := items(q)
		if len(got) != 3 || got[0]["id"] != assigned || got[1]["id"] != waiting || got[2]["id"] != urgentID || q.str("next_cursor") != "" {
			t.Fatalf("frontline queue should hold the three open tickets, oldest first: %s", q.Raw)
		}
		if got[0]["assignee"] != "ana" || got[0]["unassigned"] != false {
			t.Fatalf("assigned item: %v", got[0])
		}
		if got[1]["assignee"] != nil || got[1]["unassigned"] != true || got[2]["priority"] != "urgent" || got[1]["status"] != "new" {
			t.Fatalf("waiting items: %v, %v", got[1], got[2])
		}
		// The clock due first: first_response (4h) before resolution (72h).
		if get(got[1], "sla.target") != "first_response" || get(got[1], "sla.due_at") == nil {
			t.Fatalf("queue item's SLA: %v", got[1])
		}

		// Paged like the other lists.
		p1 := s.do(readonly, "GET", "/v1/teams/frontline/queue?limit=2", nil).must(t, 200)
		if len(items(p1)) != 2 || p1.str("next_cursor") == "" {
			t.Fatalf("first page: %s", p1.Raw)
		}
		p2 := s.do(readonly, "GET", "/v1/teams/frontline/queue?limit=2&cursor="+p1.str("next_cursor"), nil).must(t, 200)
		if p := items(p2); len(p) != 1 || p[0]["id"] != urgentID || p2.str("next_cursor") != "" {
			t.Fatalf("second page: %s", p2.Raw)
		}

		s.do(readonly, "GET", "/v1/teams/legal/queue", nil).refused(t, 404, "not_found", "")
		s.do(readonly, "GET", "/v1/teams/frontline/queue?limit=0", nil).refused(t, 400, "invalid", "limit")
	})
}
