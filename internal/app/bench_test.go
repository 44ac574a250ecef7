package app_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/app"
	"github.com/escalated/escalated/internal/config"
	"github.com/escalated/escalated/internal/store/sqlite"
	"github.com/escalated/escalated/internal/ticket"
)

// benchApp opens a node over a fresh SQLite file with n tickets to write to.
func benchApp(b *testing.B, tickets int) (*app.App, context.Context, []string) {
	b.Helper()
	cfg := config.Default()
	cfg.DB = "sqlite:" + filepath.Join(b.TempDir(), "bench.db")
	cfg.Addr = "127.0.0.1:0"
	cfg.PolicyPath = "testdata/policy.yaml"
	// One token stands for every client here; its rate limit would cap the load offered.
	cfg.RateLimit = 0
	ctx := escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "bench", Role: escalated.RoleAdmin})
	a, err := app.New(ctx, cfg, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Store.Close() })
	if err := a.LoadPolicy(ctx); err != nil {
		b.Fatal(err)
	}
	ids := make([]string, tickets)
	for i := range ids {
		d, err := a.Tickets.CreateTicket(ctx, ticket.CreateInput{Subject: "bench", Message: &ticket.MessageInput{Body: "first"}})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = d.Ticket.ID
	}
	return a, ctx, ids
}

const benchBody = "I was charged twice for my order and nobody answers; please refund the second payment."

// BenchmarkMessageIngest measures, in one run and on fresh SQLite files, how fast messages are
// stored durably: through the service (validation, ticket read-modify-write, message and history
// rows, group commit) with 1 and with 16 concurrent writers, and as the baseline, the same
// message and history rows written by plain batched INSERTs of 100 rows per transaction. b.N is
// the number of messages per phase; run it with -benchtime 20000x.
func BenchmarkMessageIngest(b *testing.B) {
	raw := rawInsert(b, b.N)
	one, _ := serviceIngest(b, b.N, 1)
	sixteen, perCommit := serviceIngest(b, b.N, 16)
	b.ReportMetric(raw, "raw_msgs/s")
	b.ReportMetric(one, "svc1_msgs/s")
	b.ReportMetric(sixteen, "svc16_msgs/s")
	b.ReportMetric(one/raw, "svc1/raw")
	b.ReportMetric(sixteen/raw, "svc16/raw")
	b.ReportMetric(perCommit, "svc16_msgs/commit")
}

// serviceIngest adds n messages through the service from the given number of goroutines, each
// on its own ticket, and returns messages per second and messages per commit.
func serviceIngest(b *testing.B, n, writers int) (float64, float64) {
	a, ctx, ids := benchApp(b, writers)
	st0 := a.Store.(*sqlite.DB).Stats()
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if _, err := a.Tickets.AddMessage(ctx, ids[w], ticket.MessageInput{Author: escalated.Author{Kind: escalated.AuthorCustomer}, Body: benchBody}); err != nil {
					b.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	rate := float64(n) / time.Since(start).Seconds()
	st := a.Store.(*sqlite.DB).Stats()
	return rate, float64(st.Updates-st0.Updates) / float64(st.Commits-st0.Commits)
}

// rawInsert writes n message rows and their history rows with RawInsertMessages and returns
// messages per second.
func rawInsert(b *testing.B, n int) float64 {
	a, _, ids := benchApp(b, 1)
	db := a.Store.(*sqlite.DB)
	now := time.Now().UTC()
	msgs := make([]*escalated.Message, n)
	for i := range msgs {
		msgs[i] = &escalated.Message{
			ID: escalated.NewID(escalated.PrefixMessage, now), TicketID: ids[0], Seq: int64(i + 10),
			Author: escalated.Author{Kind: escalated.AuthorCustomer}, Body: benchBody, CreatedAt: now,
		}
	}
	start := time.Now()
	if err := db.RawInsertMessages(context.Background(), msgs, 100); err != nil {
		b.Fatal(err)
	}
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkPostMessageLatency sends POST /v1/tickets/{id}/messages over loopback at a fixed
// rate (open loop: latency counts from each request's scheduled time, so a stall is not hidden
// by the client waiting) and reports p50/p99. b.N is the number of requests.
func BenchmarkPostMessageLatency(b *testing.B) {
	for _, rate := range []int{1000, 2500, 5000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			a, ctx, ids := benchApp(b, 64)
			if err := a.Listen(); err != nil {
				b.Fatal(err)
			}
			sctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- a.Serve(sctx) }()
			defer func() { cancel(); <-done }()
			secret, _, err := a.Access.CreateToken(ctx, access.NewToken{Name: "bench", Role: escalated.RoleSupervisor}, "bench")
			if err != nil {
				b.Fatal(err)
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512}, Timeout: 10 * time.Second}
			body := []byte(`{"author":{"kind":"customer"},"body":"` + benchBody + `"}`)
			url := "http://" + a.Addr() + "/v1/tickets/"
			lat := make([]time.Duration, b.N)
			var failed atomic.Int64
			var wg sync.WaitGroup
			interval := time.Second / time.Duration(rate)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				due := start.Add(time.Duration(i) * interval)
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				}
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					req, _ := http.NewRequest("POST", url+ids[i%len(ids)]+"/messages", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+secret)
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil || resp.StatusCode != 201 {
						failed.Add(1)
					}
					if resp != nil {
						resp.Body.Close()
					}
					lat[i] = time.Since(due)
				}(i)
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d of %d requests failed", n, b.N)
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
		})
	}
}
