package ticket_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store/sqlite"
	"github.com/escalated/escalated/internal/ticket"
)

// BenchmarkEscalateLongHistory escalates tickets, each once, on a SQLite file, each ticket
// carrying a conversation of the sub-benchmark's number of messages (every other one its
// agent's). An escalation routes the ticket into the receiving team and, with no agent asked for,
// hands it to the agent who last worked it there: what routing reads of the history to find
// that agent is read in the store's one writer, so its cost grows with the conversation and
// every other write waits for it. The figure is the process's CPU per escalation (cpu_µs/op):
// the wall time of one escalation is mostly its wait for the disk. Give -benchtime as a count
// (Nx): the setup writes b.N tickets' conversations, which grows with every attempt otherwise.
//
//	go test ./internal/ticket -run '^$' -bench EscalateLongHistory -benchtime 100x
func BenchmarkEscalateLongHistory(b *testing.B) {
	for _, n := range []int{0, 200} {
		b.Run(fmt.Sprintf("messages=%d", n), func(b *testing.B) { benchEscalateLongHistory(b, n) })
	}
}

// routeBenchPolicy: one path up, routing by load.
const routeBenchPolicy = `version: 1
intake: frontline
calendars:
  - {id: always, timezone: UTC, hours: {mon-sun: "00:00-24:00"}}
tiers:
  - {id: t1, name: Frontline, level: 1}
  - {id: t2, name: Specialists, level: 2}
teams:
  - {id: frontline, tier: t1, calendar: always}
  - {id: billing, tier: t2, calendar: always}
agents:
  - {id: ana, name: Ana Silva, teams: [frontline], capacity: 1000}
  - {id: bea, name: Bea Lund, teams: [billing], capacity: 1000}
  - {id: bob, name: Bob Stone, teams: [billing], capacity: 1000}
paths:
  - {from: frontline, to: [billing]}
rules: []
`

func benchEscalateLongHistory(b *testing.B, messages int) {
	ctx := escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "bench", Role: escalated.RoleAdmin})
	path := filepath.Join(b.TempDir(), "bench.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	pol, err := policy.Parse("policy.yaml", []byte(routeBenchPolicy))
	if err != nil {
		b.Fatal(err)
	}
	svc := ticket.New(st, time.Now, nil)
	if _, err := svc.LoadPolicy(ctx, pol, "bench"); err != nil {
		b.Fatal(err)
	}
	// The tickets and their conversations, written from as many goroutines (group commit).
	ids := make([]string, b.N)
	body := strings.Repeat("Here is what we found in the logs of your account so far. ", 8)
	var wg sync.WaitGroup
	errs := make(chan error, b.N)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := svc.CreateTicket(ctx, ticket.CreateInput{Subject: "a long conversation", Message: &ticket.MessageInput{Body: "It does not work."}})
			if err != nil {
				errs <- err
				return
			}
			ids[i] = d.Ticket.ID
			for m := range messages {
				author := escalated.Author{Kind: escalated.AuthorCustomer}
				if m%2 == 1 {
					author = escalated.Author{Kind: escalated.AuthorAgent, ID: "ana"}
				}
				if _, err := svc.AddMessage(ctx, ids[i], ticket.MessageInput{Author: author, Body: body}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	// Closed and opened again: the log of the conversations' writes is checkpointed now, not
	// during the timed escalations.
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	if st, err = sqlite.Open(ctx, path); err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc = ticket.New(st, time.Now, nil)
	if _, err := svc.LoadPolicy(ctx, pol, "bench"); err != nil {
		b.Fatal(err)
	}
	note := "The customer's invoices need a specialist's look."
	cpu0 := processCPU()
	b.ResetTimer()
	for i := range b.N {
		if _, err := svc.Escalate(ctx, ids[i], ticket.EscalateInput{To: "billing", Reason: escalated.Reason("complexity"), Note: note, By: "ana"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu_µs/op")
}
