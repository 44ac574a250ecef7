package bench

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/demo"
	"github.com/escalated/escalated/internal/history"
)

// GenerateHistory makes a history of about n events for docs/examples/policy.yaml (its teams
// and agents): tickets every 40 s on average, each with customer and agent messages, a share
// escalated by hand to integrations and acknowledged, most solved. The same n and seed give
// the same history.
func GenerateHistory(n int, seed uint64) []history.Event {
	r := rand.New(rand.NewPCG(seed, 1))
	// Texts from the demo's tickets (the Bitext sample): the similar-ticket search a package's
	// recommendation runs costs what real, varied text costs, not what one sentence repeated
	// a million times would.
	demoTickets, err := demo.Tickets()
	if err != nil {
		panic(err)
	}
	var customer, agent, subjects, issues []string
	for _, dt := range demoTickets {
		subjects, issues = append(subjects, dt.Subject), append(issues, dt.IssueType)
		for _, m := range dt.Messages {
			if m.Author.Kind == escalated.AuthorCustomer {
				customer = append(customer, m.Body)
			} else {
				agent = append(agent, m.Body)
			}
		}
	}
	at := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
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
		k := r.IntN(len(subjects))
		evs = append(evs, history.Event{Type: history.TicketCreated, At: at, Ticket: id,
			New: &history.NewTicket{Subject: subjects[k], IssueType: issues[k],
				Account:  &escalated.Account{ID: acct, Name: acct, Tier: tier},
				Customer: &escalated.Customer{ID: fmt.Sprintf("c%05d", r.IntN(20000)), Name: "Customer"}},
			Message: &history.Message{Author: escalated.Author{Kind: escalated.AuthorCustomer}, Body: customer[r.IntN(len(customer))]}})
		t := at
		for m := range 2 + r.IntN(6) {
			t = t.Add(time.Duration(1+r.IntN(90)) * time.Minute)
			a := escalated.Author{Kind: escalated.AuthorCustomer}
			body := customer[r.IntN(len(customer))]
			if m%2 == 0 {
				a, body = escalated.Author{Kind: escalated.AuthorAgent, ID: agents[0]}, agent[r.IntN(len(agent))]
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
