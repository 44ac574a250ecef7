package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/app"
	"github.com/escalated/escalated/internal/config"
	"github.com/escalated/escalated/internal/history"
	"github.com/escalated/escalated/internal/ticket"
)

// TestSimulateCommands: a CSV becomes a history, the history is simulated in each format, a
// database's tickets are exported; bad input is refused saying what and where.
func TestSimulateCommands(t *testing.T) {
	dir := t.TempDir()
	csvPath, hist := filepath.Join(dir, "tickets.csv"), filepath.Join(dir, "history.jsonl")
	csv := "id,created_at,subject,body,priority,account_id,account_tier,assignee,first_response_at,escalated_at,escalated_to,escalated_by,acknowledged_at,solved_at\n" +
		"T-1,2026-10-01 09:00,API key rejected,Our key gets 401.,high,acme,enterprise,,,,,,,\n" +
		"T-2,2026-10-01 09:10,Refund,Where is my refund?,normal,globex,pro,ana,2026-10-01 09:20,2026-10-01 09:30,billing,ana,2026-10-01 09:40,2026-10-01 12:00\n" +
		"T-3,2026-10-01 09:15,Login,Cannot log in.,normal,globex,pro,,,,,,,\n"
	if err := os.WriteFile(csvPath, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "history", "from-csv", csvPath, "--out", hist); code != 0 || !strings.Contains(errOut, "wrote") {
		t.Fatalf("from-csv: %d %s", code, errOut)
	}
	policy := "../../docs/examples/policy.yaml"
	code, out, errOut := runCLI(t, "simulate", "--policy", policy, "--history", hist, "--format", "json")
	if code != 0 {
		t.Fatalf("simulate: %d %s", code, errOut)
	}
	var res struct {
		Tickets     int `json:"tickets"`
		Escalations struct {
			Total  int `json:"total"`
			ByRule []struct {
				Key   string `json:"key"`
				Count int    `json:"count"`
			} `json:"by_rule"`
		} `json:"escalations"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Tickets != 3 || res.Escalations.Total == 0 {
		t.Fatalf("simulate json: %v %+v\n%s", err, res, out)
	}
	rules := map[string]int{}
	for _, r := range res.Escalations.ByRule {
		rules[r.Key] = r.Count
	}
	if rules["enterprise-to-account-team"] != 1 || rules["manual"] != 1 {
		t.Errorf("escalations by rule %v: want acme's ticket to its account team and T-2's manual one", rules)
	}
	for _, format := range []string{"table", "html"} {
		file := filepath.Join(dir, "report."+format)
		if code, _, errOut := runCLI(t, "simulate", "--policy", policy, "--baseline", policy, "--history", hist, "--format", format, "--out", file); code != 0 {
			t.Fatalf("simulate --format %s: %d %s", format, code, errOut)
		}
		b, _ := os.ReadFile(file)
		if !bytes.Contains(b, []byte("0 of 3 tickets escalate differently")) && !bytes.Contains(b, []byte("TICKETS ESCALATED DIFFERENTLY: 0")) {
			t.Errorf("%s report of a policy against itself should show no difference:\n%.600s", format, b)
		}
	}

	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"type":"message.added","at":"2026-10-01T09:00:00Z","ticket":"X","message":{"author":{"kind":"agent"},"body":"x"}}`+"\n"), 0o600)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"simulate", "--history", hist}, 2, "usage: escalated simulate --policy"},
		{[]string{"simulate", "--policy", policy, "--history", hist, "--format", "pdf"}, 2, `--format "pdf"`},
		{[]string{"simulate", "--policy", policy, "--history", hist, "--ack-median", "2h", "--ack-p90", "1h"}, 1, "ack"},
		{[]string{"simulate", "--policy", policy, "--history", bad}, 1, "history line 1: message.added for ticket X, which no earlier ticket.created"},
		{[]string{"simulate", "--policy", "missing.yaml", "--history", hist}, 1, "missing.yaml"},
		{[]string{"history", "to-csv"}, 2, "usage: escalated history from-csv"},
		{[]string{"export", "--since", "soon"}, 2, "--since"},
	} {
		if code, _, errOut := runCLI(t, c.args...); code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d %q, want %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}

	// export: two tickets of a real database, one escalated by hand and acknowledged.
	db := "sqlite:" + filepath.Join(dir, "live.db")
	ctx := escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "test", Role: escalated.RoleAdmin})
	cfg := config.Default()
	cfg.DB, cfg.PolicyPath = db, policy
	a, err := app.New(ctx, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.LoadPolicy(ctx); err != nil {
		t.Fatal(err)
	}
	for i, body := range []string{"The API answers 500.", "My invoice is wrong."} {
		d, err := a.Tickets.CreateTicket(ctx, ticket.CreateInput{Subject: "Ticket", Message: &ticket.MessageInput{Author: escalated.Author{Kind: escalated.AuthorCustomer}, Body: body}})
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			e, err := a.Tickets.Escalate(ctx, d.Ticket.ID, ticket.EscalateInput{To: "billing", Reason: escalated.ReasonComplexity, Note: "The VAT number on the invoice is wrong.", By: "ana"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Tickets.Acknowledge(ctx, e.ID, "bea"); err != nil {
				t.Fatal(err)
			}
		}
	}
	a.Store.Close()
	code, out, errOut = runCLI(t, "export", "--db", db, "--since", "1h")
	if code != 0 || !strings.Contains(errOut, "of 2 tickets") {
		t.Fatalf("export: %d %s", code, errOut)
	}
	evs, err := history.Read(strings.NewReader(out))
	if err != nil {
		t.Fatalf("the export does not read back: %v\n%s", err, out)
	}
	types := map[string]int{}
	for _, e := range evs {
		types[e.Type]++
	}
	if types[history.TicketCreated] != 2 || types[history.EscalationCreated] != 1 || types[history.EscalationAcknowledged] != 1 {
		t.Errorf("exported %v", types)
	}
}
