package simulate_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/demo"
	"github.com/escalated/escalated/internal/history"
	"github.com/escalated/escalated/internal/simulate"
)

// BenchmarkReplay replays a generated history through docs/examples/policy.yaml (rules on
// creation, messages, breaches and unacknowledged escalations; real SLA plans) in memory and
// reports replayed events per second and the heap. ESCALATED_SIM_EVENTS sets the history's size
// (default 100,000 events; the E10 figure is for 1,000,000).
//
//	ESCALATED_SIM_EVENTS=1000000 go test ./internal/simulate -run '^$' -bench 'Replay$' -benchtime 1x
func BenchmarkReplay(b *testing.B) { benchReplay(b, false, 100_000) }

// BenchmarkReplayOnDisk is the same replay on a scratch SQLite database (synchronous=OFF), the
// simulator's first store: the baseline the in-memory store is measured against. Its default
// history is 20,000 events (it replays a few hundred a second).
func BenchmarkReplayOnDisk(b *testing.B) { benchReplay(b, true, 20_000) }

func benchReplay(b *testing.B, onDisk bool, n int) {
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
	runtime.GC()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		peak := watchHeap()
		res, err := simulate.Run(context.Background(), "policy.yaml", src, events, simulate.Options{OnDisk: onDisk, Dir: b.TempDir()})
		heap := peak()
		if err != nil {
			b.Fatal(err)
		}
		secs := time.Since(start).Seconds()
		b.ReportMetric(float64(len(events))/secs, "events/s")
		b.ReportMetric(float64(res.EventsReplayed+res.DeadlinesFired+res.AgentActions)/secs, "actions/s")
		b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MiB")
		b.Logf("%d events, %d tickets: %d replayed, %d deadlines fired, %d agent actions, %d escalations, %d kinds refused; %.1f s, peak heap %d MiB, peak RSS %d MiB",
			len(events), res.Tickets, res.EventsReplayed, res.DeadlinesFired, res.AgentActions, res.Escalations.Total, len(res.Skipped), secs, heap>>20, peakRSS()>>20)
	}
}

// watchHeap samples the live heap every 50 ms until the returned function is called, which
// returns the largest sample (the history itself included, and garbage not yet collected).
func watchHeap() func() uint64 {
	stop, done := make(chan struct{}), make(chan uint64)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stop:
				done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(stop); return <-done }
}

// peakRSS is the process's peak resident memory (VmHWM) in bytes, 0 where /proc has none.
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// generate makes a history of about n events: tickets every 40 s on average, each with
// customer and agent messages, a share escalated by hand and acknowledged, most solved.
func generate(n int, seed uint64) []history.Event {
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
