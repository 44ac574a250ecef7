package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store/sqlite"
)

// TestBreachEscalatesOnTheRealServer runs the whole loop on a real node: a ticket arrives, its
// 2-second first-response target passes with no answer, the deadline engine fires the breach,
// the policy escalates, and 2 seconds later the unacknowledged escalation moves on to the next
// tier. The test waits on the ticket's history, never on a fixed sleep.
func TestBreachEscalatesOnTheRealServer(t *testing.T) {
	onBothStoresWith(t, "testdata/sla-short.yaml", func(t *testing.T, s *testServer) {
		id := s.do(escalated.RoleAgent, "POST", "/v1/tickets", newTicket(1)).must(t, 201).str("id")
		d := s.waitFor(t, id, 20*time.Second, func(d map[string]any) bool {
			return len(list(d["escalations"])) >= 2
		})
		var types []string
		var breach, unack map[string]any
		for _, h := range list(d["history"]) {
			e := h.(map[string]any)
			typ := e["type"].(string)
			types = append(types, typ)
			switch {
			case typ == escalated.EventSLABreached && breach == nil:
				breach = e["data"].(map[string]any)
			case typ == escalated.EventEscalationUnacknowledged && unack == nil:
				unack = e["data"].(map[string]any)
			}
		}
		if breach == nil || unack == nil {
			t.Fatalf("history lacks the breach or the timeout: %v", types)
		}
		if breach["target"] != "first_response" || breach["lateness_ms"].(float64) < 0 {
			t.Fatalf("breach event data = %v", breach)
		}
		escs := list(d["escalations"])
		first, second := escs[0].(map[string]any), escs[1].(map[string]any)
		if first["trigger"] != "sla" || first["to_team"] != "integrations" || first["state"] != "escalated" {
			t.Fatalf("first escalation = %v", first)
		}
		if second["trigger"] != "unacknowledged" || second["to_team"] != "engineering" || unack["escalation_id"] != first["id"] {
			t.Fatalf("second escalation = %v after %v", second, unack)
		}
		t.Logf("breach fired %vms late; timeout %vms late", breach["lateness_ms"], unack["lateness_ms"])
		clocks := map[string]string{}
		for _, c := range list(d["sla"]) {
			m := c.(map[string]any)
			clocks[m["target"].(string)] = m["state"].(string)
		}
		if clocks["first_response"] != "breached" || clocks["resolution"] != "running" {
			t.Fatalf("clocks = %v", clocks)
		}
		// The firings are counted on /metrics, which needs no token. The engine counts a firing
		// once its commit is synced, and readers (the history above) can see a commit a moment
		// before that (docs/adr/0006), so the counters get a few seconds to catch up.
		var raw []byte
		for end := time.Now().Add(5 * time.Second); ; {
			resp, err := http.Get(s.base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			raw, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
			}
			if strings.Contains(string(raw), `escalated_deadlines_fired_total{kind="escalation.unacknowledged"}`) &&
				strings.Contains(string(raw), `escalated_escalations_total{reason="sla",trigger="unacknowledged"}`) || time.Now().After(end) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		for _, want := range []string{
			`escalated_deadlines_fired_total{kind="sla.breached"} 1`,
			`escalated_deadlines_fired_total{kind="escalation.unacknowledged"}`,
			`escalated_deadline_lateness_seconds_count`,
			`escalated_deadlines_pending `,
			`escalated_delivery_attempts_total{outcome="delivered"} 0`,
			// F20: events by type, escalations by trigger and reason, request latency by
			// route, store errors (none), deliveries by state.
			`escalated_events_committed_total{type="ticket.created"} 1`,
			`escalated_events_committed_total{type="sla.breached"} 1`,
			`escalated_escalations_total{reason="sla",trigger="sla"} 1`,
			`escalated_escalations_total{reason="sla",trigger="unacknowledged"}`,
			`escalated_http_request_duration_seconds_count{code="201",route="POST /v1/tickets"} 1`,
			`escalated_deliveries{state="pending"} 0`,
		} {
			if !strings.Contains(string(raw), want) {
				t.Fatalf("/metrics lacks %q:\n%s", want, raw)
			}
		}
		// The SQLite store's own: the log's syncs (one at least per write so far) and its writer.
		if _, ok := s.app.Store.(*sqlite.DB); ok {
			for _, want := range []string{"escalated_sqlite_sync_seconds_count ", "escalated_sqlite_commit_seconds_count ", "escalated_sqlite_commits_total ",
				"escalated_sqlite_updates_total ", "escalated_sqlite_batches_undone_total 0"} {
				if !strings.Contains(string(raw), want) {
					t.Fatalf("/metrics lacks %q:\n%s", want, raw)
				}
			}
		}
	})
}

// waitFor polls a ticket until cond holds or the timeout passes.
func (s *testServer) waitFor(t *testing.T, id string, timeout time.Duration, cond func(map[string]any) bool) map[string]any {
	t.Helper()
	end := time.Now().Add(timeout)
	for {
		d := s.do(escalated.RoleAgent, "GET", "/v1/tickets/"+id, nil).must(t, 200).Body
		if cond(d) {
			return d
		}
		if time.Now().After(end) {
			t.Fatalf("ticket %s did not reach the expected state within %v: %s", id, timeout, s.do(escalated.RoleAgent, "GET", "/v1/tickets/"+id, nil).Raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}
