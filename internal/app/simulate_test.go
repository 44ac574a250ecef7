package app_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/app"
	"github.com/escalated/escalated/internal/history"
	"github.com/escalated/escalated/internal/simulate"
)

// TestSimulationReproducesTheServer: a live run on a real node (rules at ticket creation and on
// messages, an SLA breach, a manual escalation acknowledged and one nobody picks up, solves),
// exported with app.Export and replayed through the same policy by simulate.Run, must make the
// same escalations on every ticket, for the same causes, as the server did.
func TestSimulationReproducesTheServer(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for live SLA deadlines (about 7 s)")
	}
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "live.db")
	s := startServerWith(t, db, "testdata/sim-policy.yaml")
	open := func(i int, account map[string]any, body string) string {
		tk := newTicket(i)
		tk["account"], tk["message"] = account, map[string]any{"author": map[string]any{"kind": "customer"}, "body": body}
		return s.do(agent, "POST", "/v1/tickets", tk).must(t, http.StatusCreated).str("id")
	}
	plain := map[string]any{"id": "globex", "name": "Globex", "tier": "pro"}
	reply := func(id, who, body string) {
		s.do(agent, "POST", "/v1/tickets/"+id+"/messages", map[string]any{"author": map[string]any{"kind": "agent", "id": who}, "body": body}).must(t, http.StatusCreated)
	}

	enterprise := open(1, map[string]any{"id": "acme", "name": "Acme", "tier": "enterprise"}, "Our SSO stopped working.")
	breach := open(2, plain, "The API answers 500 on every call.") // nobody answers: first response breaches
	refund := open(3, plain, "Hello, a question about my invoice.")
	manual := open(4, plain, "Webhooks arrive twice.")
	solved := open(5, plain, "How do I export my data?")
	unpicked := open(6, plain, "The invoice shows the wrong VAT number.")
	for _, id := range []string{refund, manual, solved, unpicked} {
		reply(id, "ana", "Thanks, looking into it now.")
	}
	s.do(agent, "POST", "/v1/tickets/"+refund+"/messages", map[string]any{"author": map[string]any{"kind": "customer"}, "body": "I want a refund please."}).must(t, http.StatusCreated)
	esc := s.do(agent, "POST", "/v1/tickets/"+manual+"/escalations", map[string]any{"to": "integrations", "reason": "complexity", "note": longNote, "by": "ana"}).
		must(t, http.StatusCreated).str("id")
	s.do(agent, "POST", "/v1/tickets/"+unpicked+"/escalations", map[string]any{"to": "billing", "reason": "complexity", "note": longNote, "by": "ana"}).must(t, http.StatusCreated)
	time.Sleep(400 * time.Millisecond)
	s.do(agent, "POST", "/v1/escalations/"+esc+"/acknowledge", map[string]any{"by": "ben", "context_sufficient": true}).must(t, http.StatusOK)
	s.do(agent, "PATCH", "/v1/tickets/"+solved, map[string]any{"status": "solved", "by": "ana"}).must(t, http.StatusOK)

	// Wait for the breach (3 s), the escalations nobody acknowledged (2 s: the manual one to
	// billing and the rules' at creation and on the refund message) and what the rules make of
	// them. The breach's own escalation is left pending: its acknowledge clock ends after the
	// export.
	deadline := time.Now().Add(20 * time.Second)
	for {
		b := s.do(agent, "GET", "/v1/tickets/"+breach, nil).must(t, http.StatusOK)
		u := s.do(agent, "GET", "/v1/tickets/"+unpicked, nil).must(t, http.StatusOK)
		e := s.do(agent, "GET", "/v1/tickets/"+enterprise, nil).must(t, http.StatusOK)
		r := s.do(agent, "GET", "/v1/tickets/"+refund, nil).must(t, http.StatusOK)
		if b.str("team") == "integrations" && u.str("team") == "engineering" && e.str("team") == "engineering" && r.str("team") == "engineering" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the live deadlines did not fire: %s / %s", b.str("team"), u.str("team"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	exported := time.Now()

	var buf bytes.Buffer
	tickets, _, err := app.Export(context.Background(), db, exported.Add(-time.Hour), &buf, nil)
	if err != nil || tickets != 6 {
		t.Fatalf("export: %d tickets, %v", tickets, err)
	}
	events, err := history.Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("the export does not read back: %v\n%s", err, buf.String())
	}
	// What the server did, from the export's record of every escalation.
	live := map[string][]string{}
	for _, e := range events {
		if e.Type == history.EscalationCreated {
			cause := e.Rule
			if cause == "" {
				cause = e.Trigger
			}
			live[e.Ticket] = append(live[e.Ticket], fmt.Sprintf("%s -> %s (%s)", e.From, e.To, cause))
		}
	}
	src, err := os.ReadFile("testdata/sim-policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := simulate.Run(context.Background(), "sim-policy.yaml", src, events, simulate.Options{Until: exported})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		enterprise: {"frontline -> enterprise-desk (enterprise-to-account-team)", "enterprise-desk -> engineering (nobody-picked-it-up)"},
		breach:     {"frontline -> integrations (first-response-breach)"},
		refund:     {"frontline -> billing (refund-to-billing)", "billing -> engineering (nobody-picked-it-up)"},
		manual:     {"frontline -> integrations (manual)"},
		unpicked:   {"frontline -> billing (manual)", "billing -> engineering (nobody-picked-it-up)"},
	}
	for _, id := range []string{enterprise, breach, refund, manual, solved, unpicked} {
		var sim []string
		for _, e := range res.PerTicket[id] {
			sim = append(sim, e.String())
		}
		// On a slow machine the export may come late enough for more deadlines to have fired:
		// what the test expects must be where the server's escalations start.
		if len(live[id]) < len(want[id]) || !slices.Equal(live[id][:len(want[id])], want[id]) {
			t.Errorf("ticket %s: the server made %v; the test expects %v first", id, live[id], want[id])
		}
		if !slices.Equal(sim, live[id]) {
			t.Errorf("ticket %s: the replay made %v, the server %v", id, sim, live[id])
		}
	}
	if res.Tickets != 6 || res.Escalations.Total < 8 {
		t.Errorf("replay: %d tickets, %d escalations; want 6 and at least 8", res.Tickets, res.Escalations.Total)
	}
	if len(res.Skipped) != 0 {
		t.Errorf("the replay refused history events: %+v", res.Skipped)
	}
}

// TestSimulationIsDeterministic: the same history, policies and options give byte-identical
// reports in every format, with a baseline and without.
func TestSimulationIsDeterministic(t *testing.T) {
	events := syntheticHistory(t, 60)
	draft, err := os.ReadFile("testdata/sim-policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The baseline sends refunds to integrations: those tickets escalate differently.
	base := []byte(strings.Replace(string(draft), `escalate: {to: billing, reason: complexity, note: "Customer asks for a refund"}`,
		`escalate: {to: integrations, reason: complexity, note: "Customer asks for a refund"}`, 1))
	if bytes.Equal(base, draft) {
		t.Fatal("the baseline is the draft: the refund rule's action moved")
	}
	render := func() [][]byte {
		var out [][]byte
		d, err := simulate.Run(context.Background(), "draft.yaml", draft, events, simulate.Options{Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		b, err := simulate.Run(context.Background(), "baseline.yaml", base, events, simulate.Options{Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range simulate.Formats {
			var one, two bytes.Buffer
			if err := simulate.WriteResult(&one, d, f); err != nil {
				t.Fatal(err)
			}
			if err := simulate.WriteComparison(&two, simulate.Compare(b, d), f); err != nil {
				t.Fatal(err)
			}
			out = append(out, one.Bytes(), two.Bytes())
		}
		return out
	}
	first, second := render(), render()
	for i := range first {
		if !bytes.Equal(first[i], second[i]) {
			t.Errorf("output %d (%s) differs between two runs", i, simulate.Formats[i/2])
		}
	}
	if !bytes.Contains(first[1], []byte("TICKETS ESCALATED DIFFERENTLY")) || bytes.Contains(first[1], []byte("TICKETS ESCALATED DIFFERENTLY: 0")) {
		t.Errorf("the comparison should list the refund tickets:\n%s", first[1])
	}
}

// syntheticHistory makes a history of n tickets over a day: some enterprise, some asking for
// refunds, some escalated by hand and acknowledged or not, some answered and solved.
func syntheticHistory(t *testing.T, n int) []history.Event {
	t.Helper()
	start := time.Date(2026, 10, 5, 8, 0, 0, 0, time.UTC)
	var evs []history.Event
	for i := range n {
		id := fmt.Sprintf("T%03d", i)
		at := start.Add(time.Duration(i) * 7 * time.Minute)
		tier := "pro"
		if i%9 == 0 {
			tier = "enterprise"
		}
		acct := "globex"
		if tier == "enterprise" {
			acct = "acme"
		}
		evs = append(evs, history.Event{Type: history.TicketCreated, At: at, Ticket: id,
			New:     &history.NewTicket{Subject: "Ticket " + id, Account: accountOf(acct, tier)},
			Message: &history.Message{Author: author("customer", ""), Body: "Something is wrong with my account."}})
		switch i % 5 {
		case 0: // refund request
			evs = append(evs, history.Event{Type: history.MessageAdded, At: at.Add(2 * time.Second), Ticket: id,
				Message: &history.Message{Author: author("customer", ""), Body: "I would like a refund."}})
		case 1: // answered and solved
			evs = append(evs, history.Event{Type: history.MessageAdded, At: at.Add(time.Second), Ticket: id, Message: &history.Message{Author: author("agent", "tom"), Body: "Done, see the settings page."}},
				history.Event{Type: history.TicketUpdated, At: at.Add(30 * time.Minute), Ticket: id, Update: &history.Update{Status: "solved"}})
		case 2: // escalated by hand, acknowledged
			evs = append(evs, history.Event{Type: history.MessageAdded, At: at.Add(time.Second), Ticket: id, Message: &history.Message{Author: author("agent", "ana"), Body: "Checking."}},
				history.Event{Type: history.EscalationCreated, At: at.Add(1500 * time.Millisecond), Ticket: id, Escalation: 1, To: "integrations", Reason: "complexity", Note: longNote, By: "ana", Trigger: "manual"},
				history.Event{Type: history.EscalationAcknowledged, At: at.Add(1800 * time.Millisecond), Ticket: id, Escalation: 1, By: "ben"})
		case 3: // escalated by hand, never picked up
			evs = append(evs, history.Event{Type: history.MessageAdded, At: at.Add(time.Second), Ticket: id, Message: &history.Message{Author: author("agent", "ana"), Body: "Checking."}},
				history.Event{Type: history.EscalationCreated, At: at.Add(1500 * time.Millisecond), Ticket: id, Escalation: 1, To: "billing", Reason: "complexity", Note: longNote, By: "ana", Trigger: "manual"})
		}
	}
	history.Sort(evs)
	var buf bytes.Buffer
	w := history.NewWriter(&buf)
	for _, e := range evs {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	out, err := history.Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func accountOf(id, tier string) *escalated.Account {
	return &escalated.Account{ID: id, Name: strings.ToUpper(id[:1]) + id[1:], Tier: tier}
}

func author(kind, id string) escalated.Author {
	return escalated.Author{Kind: escalated.AuthorKind(kind), ID: id}
}

// TestSimulationSameOnBothStores: a replay in memory (memstore) and one on a scratch SQLite
// database give the same report, byte for byte: the in-memory store behaves as the real one.
func TestSimulationSameOnBothStores(t *testing.T) {
	events := syntheticHistory(t, 80)
	src, err := os.ReadFile("../../docs/examples/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out [2]bytes.Buffer
	for i, onDisk := range []bool{false, true} {
		res, err := simulate.Run(context.Background(), "policy.yaml", src, events, simulate.Options{OnDisk: onDisk, Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if err := simulate.WriteResult(&out[i], res, "json"); err != nil {
			t.Fatal(err)
		}
		if res.Escalations.Total == 0 || res.DeadlinesFired == 0 {
			t.Fatalf("the history should make escalations and fire deadlines: %+v", res)
		}
	}
	if !bytes.Equal(out[0].Bytes(), out[1].Bytes()) {
		t.Errorf("in memory and on SQLite the reports differ:\n%s\n---\n%s", out[0].String(), out[1].String())
	}
}

// TestSimulationUntilBeforeHistory: an end before the history begins is refused, not a panic.
func TestSimulationUntilBeforeHistory(t *testing.T) {
	events := syntheticHistory(t, 3)
	src, err := os.ReadFile("testdata/sim-policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = simulate.Run(context.Background(), "p", src, events, simulate.Options{Until: events[0].At.Add(-time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "before the history's first event") {
		t.Errorf("until before the history: %v", err)
	}
}

// TestSimulationEdges: lateness goes to the row of the team that held the ticket when its
// clock breached; a handoff into a ticket the policy refused to open is refused too (it used to
// open an unlinked ticket).
func TestSimulationEdges(t *testing.T) {
	src, err := os.ReadFile("../../docs/examples/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	read := func(lines string) []history.Event {
		evs, err := history.Read(strings.NewReader(lines))
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	evs := read(`{"type":"ticket.created","at":"2026-10-05T09:00:00Z","ticket":"T1","new":{"subject":"Hello"},"message":{"author":{"kind":"customer"},"body":"Nobody answers me."}}` + "\n")
	res, err := simulate.Run(context.Background(), "p", src, evs, simulate.Options{Until: evs[0].At.Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.SLA {
		if f.LatenessMax > 0 && f.Breaches == 0 {
			t.Errorf("lateness without a breach in its row: %+v (all: %+v)", f, res.SLA)
		}
	}
	evs = read(`{"type":"ticket.created","at":"2026-10-05T09:00:00Z","ticket":"T1","new":{"subject":"Hello","team":"nosuch"},"message":{"author":{"kind":"customer"},"body":"Hi."}}
{"type":"handoff.received","at":"2026-10-05T09:01:00Z","ticket":"T1","handoff":{"transcript":[{"author":"customer","body":"A person please."}]}}
`)
	res, err = simulate.Run(context.Background(), "p", src, evs, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	refused := fmt.Sprint(res.Skipped)
	if res.Tickets != 0 || res.Escalations.Total != 0 || len(res.Skipped) != 2 || !strings.Contains(refused, "was not opened in this replay") {
		t.Errorf("a refused ticket and a handoff into it: %d tickets, %d escalations, refused %s", res.Tickets, res.Escalations.Total, refused)
	}
}
