package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
)

// BenchmarkHandoff sends POST /v1/handoffs over loopback, each a new ticket with a 20-line
// transcript (10 customer, 10 bot lines), two bot steps, account, note and recommendation,
// from 1 and from 16 concurrent clients (closed loop: each sends its next handoff when the last
// is answered), on SQLite. Every handoff stores 20 messages with signals, runs the policy, builds
// the package (with the similar-ticket search) and escalates. Reports handoffs/s and the
// latency percentiles. b.N is the number of handoffs.
func BenchmarkHandoff(b *testing.B) {
	for _, clients := range []int{1, 16} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { benchHandoff(b, clients) })
	}
}

func benchHandoff(b *testing.B, clients int) {
	a, ctx, _ := benchApp(b, 0)
	if err := a.Listen(); err != nil {
		b.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Serve(sctx) }()
	defer func() { cancel(); <-done }()
	secret, _, err := a.Access.CreateToken(ctx, access.NewToken{Name: "bench-bot", Role: escalated.RoleBot}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	bodies := make([][]byte, b.N)
	at := time.Now().UTC().Add(-30 * time.Minute)
	for i := range bodies {
		var transcript []map[string]any
		for l := range 20 {
			author, text := "customer", fmt.Sprintf("Line %d: I was charged twice for order %d and the refund has not arrived yet.", l, 4000+i)
			if l%2 == 1 {
				author, text = "bot", fmt.Sprintf("Line %d: I can see the payments for order %d; let me check the refund status.", l, 4000+i)
			}
			transcript = append(transcript, map[string]any{"author": author, "body": text, "at": at.Add(time.Duration(l) * time.Second).Format(time.RFC3339Nano)})
		}
		body := map[string]any{
			"handoff_id": fmt.Sprintf("bench-%d", i), "subject": "Charged twice", "channel": "chat", "issue_type": "billing",
			"customer":   map[string]any{"id": fmt.Sprintf("cus_%d", i), "name": "Jo Doe", "email": "jo@example.test"},
			"account":    map[string]any{"id": "globex", "name": "Globex", "tier": "pro"},
			"transcript": transcript,
			"bot_steps": []map[string]any{
				{"intent": "refund_request", "action": "looked up the order", "outcome": "resolved", "confidence": 0.9},
				{"intent": "refund_request", "action": "issued refund via payments API", "outcome": "failed", "confidence": 0.7},
			},
			"recommendation": "Refund the duplicate charge manually.",
			"note":           "Duplicate charge confirmed; the automatic refund failed.",
		}
		if bodies[i], err = json.Marshal(body); err != nil {
			b.Fatal(err)
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	url := "http://" + a.Addr() + "/v1/handoffs"
	lat := make([]time.Duration, b.N)
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				req, _ := http.NewRequest("POST", url, bytes.NewReader(bodies[i]))
				req.Header.Set("Authorization", "Bearer "+secret)
				resp, err := client.Do(req)
				if err != nil || resp.StatusCode != 201 {
					failed.Add(1)
				}
				if resp != nil {
					resp.Body.Close()
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d handoffs failed", n, b.N)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "handoffs/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
}
