package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/analytics"
	"github.com/escalated/escalated/internal/app"
)

// TestReportEscalations: a small history made through the API, reported by issue type through
// GET /v1/reports/escalations, with the numbers worked out by hand:
//
//	api_integration: 3 tickets, 2 escalated (to integrations), one returned as unnecessary
//	billing:         1 ticket, escalated once (to billing), acknowledged
//	rate 2/3 = 0.6667 and 1/1; share 2/3 and 1/3 of 3 escalations; returned 1/2 and 0.
func TestReportEscalations(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *testServer) {
		var api []string
		for i := range 3 {
			api = append(api, s.do(agent, "POST", "/v1/tickets", newTicket(i)).must(t, 201).str("id"))
		}
		b := newTicket(9)
		b["issue_type"] = "billing"
		bill := s.do(agent, "POST", "/v1/tickets", b).must(t, 201).str("id")
		var escs []string
		for _, id := range api[:2] {
			escs = append(escs, s.do(agent, "POST", "/v1/tickets/"+id+"/escalations", map[string]any{"to": "integrations", "reason": "complexity", "note": longNote, "by": "ana"}).must(t, 201).str("id"))
		}
		be := s.do(agent, "POST", "/v1/tickets/"+bill+"/escalations", map[string]any{"to": "billing", "reason": "other", "note": longNote, "by": "tom"}).must(t, 201).str("id")
		s.do(agent, "POST", "/v1/escalations/"+be+"/acknowledge", map[string]any{"by": "bea", "context_sufficient": false}).must(t, 200)
		s.do(agent, "POST", "/v1/escalations/"+escs[0]+"/acknowledge", map[string]any{"by": "ben"}).must(t, 200)
		s.do(agent, "POST", "/v1/escalations/"+escs[0]+"/return", map[string]any{"by": "ben", "reason": "Frontline can rotate keys itself.", "necessary": false}).must(t, 200)

		r := s.do(escalated.RoleReadonly, "GET", "/v1/reports/escalations?group_by=issue_type&since=1d", nil).must(t, 200)
		if r.str("group_by") != "issue_type" {
			t.Fatalf("report: %s", r.Raw)
		}
		groups := items(r)
		if len(groups) != 2 {
			t.Fatalf("%d groups, want 2: %s", len(groups), r.Raw)
		}
		want := []map[string]any{
			{"key": "api_integration", "tickets": 3.0, "escalated_tickets": 2.0, "escalations": 2.0, "rate": 0.6667, "share": 0.6667,
				"returned_share": 0.5, "returned_unnecessary_share": 0.5, "resolved_at_target_share": 0.0, "context_insufficient_share": 0.0},
			{"key": "billing", "tickets": 1.0, "escalated_tickets": 1.0, "escalations": 1.0, "rate": 1.0, "share": 0.3333,
				"returned_share": 0.0, "context_insufficient_share": 1.0},
		}
		for i, w := range want {
			for k, v := range w {
				if groups[i][k] != v {
					t.Errorf("group %d %s = %v, want %v", i, k, groups[i][k], v)
				}
			}
		}
		if get(r.Body, "outcomes.tickets") != 4.0 || get(r.Body, "outcomes.escalations") != 3.0 || get(r.Body, "outcomes.returned_unnecessary") != 1.0 {
			t.Errorf("outcomes: %v", r.Body["outcomes"])
		}
		s.do(escalated.RoleReadonly, "GET", "/v1/reports/escalations?group_by=colour", nil).refused(t, 400, "invalid", "group_by")
		s.do(escalated.RoleReadonly, "GET", "/v1/reports/escalations?group_by=agent&since=yesterday", nil).refused(t, 400, "invalid", "since")
		s.do(escalated.RoleReadonly, "GET", "/v1/reports/escalations?group_by=agent&team=nope", nil).refused(t, 400, "invalid", "team")
		s.do(bot, "GET", "/v1/reports/escalations?group_by=agent", nil).refused(t, 403, "forbidden", "")
		if a := items(s.do(escalated.RoleReadonly, "GET", "/v1/reports/escalations?group_by=agent&since=1d", nil).must(t, 200)); len(a) == 0 {
			t.Error("no agent groups")
		}
		// Too few tickets for any finding: the list is empty, and says from how many it would speak.
		ins := s.do(escalated.RoleReadonly, "GET", "/v1/insights?since=7d", nil).must(t, 200)
		if l, ok := ins.Body["items"].([]any); !ok || len(l) != 0 || get(ins.Body, "thresholds.min_sample") != 20.0 {
			t.Errorf("insights over four tickets: %s", ins.Raw)
		}
		s.do(escalated.RoleReadonly, "GET", "/v1/insights?group_by=agent", nil).refused(t, 400, "invalid", "group_by")
		s.do(escalated.RoleReadonly, "GET", "/v1/insights?transition=x", nil).refused(t, 400, "invalid", "transition")
		// Thresholds per request: with a sample of 1, billing's one escalation (of one ticket)
		// is a concentration in t1 -> t2.
		loose := s.do(escalated.RoleReadonly, "GET", "/v1/insights?since=7d&min_sample=1&concentration=0.3", nil).must(t, 200)
		if get(loose.Body, "thresholds.min_sample") != 1.0 || !strings.Contains(string(loose.Raw), "billing is 33% (1 of 3)") {
			t.Errorf("insights with min_sample=1: %s", loose.Raw)
		}
		for _, bad := range []string{"min_sample=0", "concentration=2", "agent_ratio=1", "quick_solve=soon", "high_frustration=-1"} {
			name, _, _ := strings.Cut(bad, "=")
			s.do(escalated.RoleReadonly, "GET", "/v1/insights?"+bad, nil).refused(t, 400, "invalid", name)
		}
		s.do(escalated.RoleReadonly, "GET", "/v1/reports/escalations?group_by=agent&transition=bogus", nil).refused(t, 400, "invalid", "transition")
		s.do(escalated.RoleReadonly, "GET", "/v1/reports/escalations?group_by=agent&since=0001-01-01", nil).refused(t, 400, "invalid", "since")
		s.do(bot, "GET", "/v1/insights", nil).refused(t, 403, "forbidden", "")
	})
}

// TestReportCommand: `escalated report` (app.Report) reads the same file as a running node,
// in each format.
func TestReportCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "escalated.db")
	s := startServerWith(t, "sqlite:"+path, "testdata/policy.yaml")
	id := s.do(agent, "POST", "/v1/tickets", newTicket(1)).must(t, 201).str("id")
	s.do(agent, "POST", "/v1/tickets/"+id+"/escalations", map[string]any{"to": "integrations", "reason": "complexity", "note": longNote, "by": "ana"}).must(t, 201)
	if err := app.Report(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "missing.db"), analytics.Query{GroupBy: "agent"}, "table", io.Discard, nil); err == nil ||
		!strings.Contains(err.Error(), "no database at") {
		t.Errorf("report on a missing database file: %v", err)
	}
	var rb bytes.Buffer
	if err := app.RebuildFacts(context.Background(), "sqlite:"+path, &rb, nil); err != nil || !strings.Contains(rb.String(), "rebuilt the analytics of 1 tickets") {
		t.Errorf("facts rebuild: %v\n%s", err, rb.String())
	}
	var ins bytes.Buffer
	if err := app.ReportInsights(context.Background(), "sqlite:"+path, analytics.Query{}, "table", &ins, nil); err != nil ||
		!strings.Contains(ins.String(), "nothing stands out") {
		t.Errorf("report insights: %v\n%s", err, ins.String())
	}
	for _, format := range analytics.Formats {
		var out bytes.Buffer
		q := analytics.Query{GroupBy: "transition"}
		if err := app.Report(context.Background(), "sqlite:"+path, q, format, &out, nil); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		text := out.String()
		switch format {
		case "json":
			var rep analytics.Report
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Items) != 1 || rep.Items[0].Key != "t1 -> t2" {
				t.Errorf("json report: %v\n%s", err, text)
			}
		case "csv":
			if !strings.HasPrefix(text, "transition,tickets,escalations,") || !strings.Contains(text, "t1 -> t2,0,1,") {
				t.Errorf("csv report:\n%s", text)
			}
		case "table":
			if !strings.Contains(text, "t1 -> t2") || !strings.Contains(text, "first contact resolution") {
				t.Errorf("table report:\n%s", text)
			}
		}
	}
}
