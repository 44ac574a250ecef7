package notify_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/notify"
	"github.com/escalated/escalated/internal/notify/webhook"
	"github.com/escalated/escalated/internal/store"
)

// BenchmarkWebhookDelivery delivers b.N signed webhooks over 64 tickets to a receiver on
// loopback while 4 writers commit them one transaction each, and reports deliveries per second
// (first commit to last receipt) and the added latency from commit to receipt. SQLite, real
// clock, synchronous=FULL; the receiver answers 204 at once.
//
//	go test ./internal/notify -run '^$' -bench WebhookDelivery -benchtime 5000x
func BenchmarkWebhookDelivery(b *testing.B) {
	s := openStore(b, "")
	var mu sync.Mutex
	arrived := map[string]time.Time{}
	done := make(chan struct{})
	n := b.N
	rc := startReceiver(b, func(_ int, r received, w http.ResponseWriter) {
		w.WriteHeader(http.StatusNoContent)
		mu.Lock()
		if _, dup := arrived[r.Header.Get("Escalated-Delivery")]; !dup {
			arrived[r.Header.Get("Escalated-Delivery")] = r.At
			if len(arrived) == n {
				close(done)
			}
		}
		mu.Unlock()
	})
	const tickets, writers = 64, 4
	tks := make([]*escalated.Ticket, tickets)
	payloads := make([][]byte, tickets)
	for i := range tks {
		tks[i] = createTicket(b, s)
		_, payloads[i] = escalationPayload(b, tks[i], 1)
	}
	startDispatcher(b, notify.Config{Store: s, Channels: channels(opsChannel(rc.URL)),
		Senders: map[string]notify.Sender{notify.TypeWebhook: webhook.New(webhook.WithEnv(env))}})

	committed := make([]time.Time, n)
	ids := make([]string, n)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += writers {
				tk := i % tickets
				now := escalated.Truncate(time.Now())
				d := &store.Delivery{ID: escalated.NewID(escalated.PrefixDelivery, now), TicketID: tks[tk].ID,
					Seq: int64(i/tickets + 1), Channel: "ops", EventType: escalated.EventEscalationCreated, EventID: "evt_bench",
					Payload: payloads[tk], State: store.DeliveryPending, NextAttemptAt: now, CreatedAt: now, QueuedAt: now}
				// With its event, as the ticket service writes it: the event's announcement wakes
				// the dispatcher.
				ev := &escalated.Event{ID: escalated.NewID(escalated.PrefixEvent, now), TicketID: d.TicketID, Seq: d.Seq,
					Type: d.EventType, Actor: "bench", Data: map[string]any{}, CreatedAt: now}
				if err := s.Update(context.Background(), func(tx store.Tx) error {
					if err := tx.AppendEvent(context.Background(), ev); err != nil {
						return err
					}
					return tx.EnqueueDelivery(context.Background(), d)
				}); err != nil {
					b.Error(err)
					return
				}
				committed[i], ids[i] = time.Now(), d.ID
			}
		}()
	}
	wg.Wait()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		mu.Lock()
		got := len(arrived)
		mu.Unlock()
		b.Fatalf("only %d of %d deliveries arrived", got, n)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	lat := make([]time.Duration, n)
	mu.Lock()
	for i, id := range ids {
		lat[i] = max(arrived[id].Sub(committed[i]), 0)
	}
	mu.Unlock()
	slices.Sort(lat)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(lat[n/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[min(n-1, n*99/100)].Microseconds())/1000, "p99_ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkWebhookBacklog measures the dispatcher alone: b.N deliveries over 64 tickets are
// committed first (untimed), then a dispatcher starts and sends them all to a receiver on
// loopback. Each delivery costs the dispatcher a claim (shared by up to Workers deliveries) and
// one write of its outcome.
//
//	go test ./internal/notify -run '^$' -bench WebhookBacklog -benchtime 5000x
func BenchmarkWebhookBacklog(b *testing.B) {
	s := openStore(b, "")
	var mu sync.Mutex
	arrived := map[string]bool{}
	done := make(chan struct{})
	n := b.N
	rc := startReceiver(b, func(_ int, r received, w http.ResponseWriter) {
		w.WriteHeader(http.StatusNoContent)
		mu.Lock()
		if id := r.Header.Get("Escalated-Delivery"); !arrived[id] {
			arrived[id] = true
			if len(arrived) == n {
				close(done)
			}
		}
		mu.Unlock()
	})
	const tickets = 64
	tks := make([]*escalated.Ticket, tickets)
	for i := range tks {
		tks[i] = createTicket(b, s)
	}
	for i := 0; i < n; i += 100 {
		err := s.Update(context.Background(), func(tx store.Tx) error {
			for j := i; j < min(i+100, n); j++ {
				now := escalated.Truncate(time.Now())
				tk := tks[j%tickets]
				_, payload := escalationPayload(b, tk, int64(j/tickets+1))
				d := &store.Delivery{ID: escalated.NewID(escalated.PrefixDelivery, now), TicketID: tk.ID,
					Seq: int64(j/tickets + 1), Channel: "ops", EventType: escalated.EventEscalationCreated, EventID: "evt_bench",
					Payload: payload, State: store.DeliveryPending, NextAttemptAt: now, CreatedAt: now, QueuedAt: now}
				if err := tx.EnqueueDelivery(context.Background(), d); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	startDispatcher(b, notify.Config{Store: s, Channels: channels(opsChannel(rc.URL)),
		Senders: map[string]notify.Sender{notify.TypeWebhook: webhook.New(webhook.WithEnv(env))}})
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatal("not every delivery arrived")
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(n)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(0, "ns/op")
}
