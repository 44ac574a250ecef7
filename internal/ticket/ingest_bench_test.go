package ticket_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store/sqlite"
	"github.com/escalated/escalated/internal/ticket"
)

// BenchmarkAddMessage16 adds b.N customer messages through the service on a fresh SQLite file
// (synchronous=FULL) from 16 goroutines, each on its own ticket, under the API tests' policy:
// the service half of BenchmarkMessageIngest in internal/app, alone, so that a CPU profile
// shows only the service's path. KEEPDB=dir keeps the database file there for inspection. Its
// sub-benchmarks decide the messages ahead of the store's writer (docs/adr/0005) and in it,
// and report the process's CPU per message beside the rate.
func BenchmarkAddMessage16(b *testing.B) {
	for _, ahead := range []bool{true, false} {
		name := "ahead"
		if !ahead {
			name = "in-writer"
		}
		b.Run(name, func(b *testing.B) { benchAddMessage16(b, ahead) })
	}
}

func benchAddMessage16(b *testing.B, ahead bool) {
	ctx := escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "bench", Role: escalated.RoleAdmin})
	dir := b.TempDir()
	if d := os.Getenv("KEEPDB"); d != "" {
		dir = d
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "bench.db"), sqlite.WithSpeculation(ahead))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	src, err := os.ReadFile("../app/testdata/policy.yaml")
	if err != nil {
		b.Fatal(err)
	}
	pol, err := policy.Parse("policy.yaml", src)
	if err != nil {
		b.Fatal(err)
	}
	svc := ticket.New(st, time.Now, nil)
	if _, err := svc.LoadPolicy(ctx, pol, "bench"); err != nil {
		b.Fatal(err)
	}
	const writers = 16
	ids := make([]string, writers)
	for i := range ids {
		d, err := svc.CreateTicket(ctx, ticket.CreateInput{Subject: "bench", Message: &ticket.MessageInput{Body: "first"}})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = d.Ticket.ID
	}
	const body = "I was charged twice for my order and nobody answers; please refund the second payment."
	st0 := st.Stats()
	cpu0 := processCPU()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if _, err := svc.AddMessage(ctx, ids[w], ticket.MessageInput{Author: escalated.Author{Kind: escalated.AuthorCustomer}, Body: body}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	s := st.Stats()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(float64(s.Updates-st0.Updates)/float64(s.Commits-st0.Commits), "msgs/commit")
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu_µs/msg")
	b.ReportMetric(float64(s.SpecApplied-st0.SpecApplied)/float64(b.N), "ahead/msg")
}
