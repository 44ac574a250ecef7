package simulate_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/history"
	"github.com/escalated/escalated/internal/simulate"
)

// BenchmarkReplay replays a generated history through docs/examples/policy.yaml (rules on
// creation, messages, breaches and unacknowledged escalations; real SLA plans) and reports
// replayed events per second. ESCALATED_SIM_EVENTS sets the history's size (default 100,000
// events; the E10 figure is for 1,000,000).
//
//	ESCALATED_SIM_EVENTS=1000000 go test ./internal/simulate -run '^$' -bench Replay -benchtime 1x
func BenchmarkReplay(b *testing.B) {
	n := 100_000
	if v := os.Getenv("ESCALATED_SIM_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	events := generate(n, 1)
	src, err := os.ReadFile("../../docs/examples/policy.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		res, err := simulate.Run(context.Background(), "policy.yaml", src, events, simulate.Options{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		secs := time.Since(start).Seconds()
		b.ReportMetric(float64(len(events))/secs, "events/s")
		b.ReportMetric(float64(res.EventsReplayed+res.DeadlinesFired+res.AgentActions)/secs, "actions/s")
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heap-sys-MiB")
		b.Logf("%d events, %d tickets: %d replayed, %d deadlines fired, %d agent actions, %d escalations, %d skipped kinds, %.1f s",
			len(events), res.Tickets, res.EventsReplayed, res.DeadlinesFired, res.AgentActions, res.Escalations.Total, len(res.Skipped), secs)
	}
}

// generate makes a history of about n events: tickets every 40 s on average, each with
// customer and agent messages, a share escalated by hand and acknowledged, most solved.
func generate(n int, seed uint64) []history.Event {
	r := rand.New(rand.NewPCG(seed, 1))
	at := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	types := []string{"api_integration", "billing", "login", "order", "refund"}
	agents := []string{"ana"}
	var evs []history.Event
	for i := 0; len(evs) < n; i++ {
		at = at.Add(time.Duration(r.ExpFloat64()*40) * time.Second)
		id := fmt.Sprintf("T%07d", i)
		tier := []string{"free", "pro", "pro", "enterprise"}[r.IntN(4)]
		acct := fmt.Sprintf("acct%04d", r.IntN(3000))
		if tier == "enterprise" {
			acct = "acme"
		}
		evs = append(evs, history.Event{Type: history.TicketCreated, At: at, Ticket: id,
			New: &history.NewTicket{Subject: "Question " + id, IssueType: types[r.IntN(len(types))],
				Account:  &escalated.Account{ID: acct, Name: acct, Tier: tier},
				Customer: &escalated.Customer{ID: fmt.Sprintf("c%05d", r.IntN(20000)), Name: "Customer"}},
			Message: &history.Message{Author: escalated.Author{Kind: escalated.AuthorCustomer}, Body: "Hello, my payment failed twice and I cannot log in."}})
		t := at
		for m := range 2 + r.IntN(6) {
			t = t.Add(time.Duration(1+r.IntN(90)) * time.Minute)
			a := escalated.Author{Kind: escalated.AuthorCustomer}
			body := "Any news? This is urgent for us."
			if m%2 == 0 {
				a, body = escalated.Author{Kind: escalated.AuthorAgent, ID: agents[0]}, "We are looking into it and will reply shortly."
			}
			evs = append(evs, history.Event{Type: history.MessageAdded, At: t, Ticket: id, Message: &history.Message{Author: a, Body: body}})
		}
		if r.IntN(5) == 0 {
			t = t.Add(time.Duration(1+r.IntN(30)) * time.Minute)
			evs = append(evs, history.Event{Type: history.EscalationCreated, At: t, Ticket: id, Escalation: 1, To: "integrations",
				Reason: "complexity", Note: "Customer's API calls fail after the key rotation; logs attached.", By: "ana"})
			t = t.Add(time.Duration(1+r.IntN(60)) * time.Minute)
			evs = append(evs, history.Event{Type: history.EscalationAcknowledged, At: t, Ticket: id, Escalation: 1, By: "ben"})
		}
		if r.IntN(10) < 8 {
			t = t.Add(time.Duration(1+r.IntN(600)) * time.Minute)
			evs = append(evs, history.Event{Type: history.TicketUpdated, At: t, Ticket: id, Update: &history.Update{Status: "solved"}})
		}
	}
	history.Sort(evs)
	return evs
}
