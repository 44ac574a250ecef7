package sqlite

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// benchTickets creates n tickets to write history into.
func benchTickets(b *testing.B, db *DB, n int) []*escalated.Ticket {
	b.Helper()
	ts := make([]*escalated.Ticket, n)
	for i := range ts {
		ts[i] = newTicket(time.Now().Add(time.Duration(i) * time.Millisecond))
		if err := createTicket(b.Context(), db, ts[i]); err != nil {
			b.Fatal(err)
		}
	}
	return ts
}

func benchMessage(ticketID string, seq int64) *escalated.Message {
	now := time.Now()
	return &escalated.Message{ID: escalated.NewID(escalated.PrefixMessage, now), TicketID: ticketID, Seq: seq,
		Author: escalated.Author{Kind: escalated.AuthorCustomer, ID: "c1", Name: "C"}, Body: "my order has not arrived",
		Signals: escalated.Signals{Keywords: []string{"order"}, Sentiment: -0.2}, CreatedAt: now}
}

// BenchmarkUpdateMessage measures the real write path: concurrent callers each adding one
// message and its event through Update, batched by group commit. Compare its ns/op with
// BenchmarkRawInsertMessages, the same rows written with no service-shaped overhead.
func BenchmarkUpdateMessage(b *testing.B) {
	for _, maxBatch := range []int{1, DefaultMaxBatch} {
		b.Run(fmt.Sprintf("max_batch=%d", maxBatch), func(b *testing.B) {
			db := mustOpen(b, WithMaxBatch(maxBatch))
			tickets := benchTickets(b, db, 64)
			var seq atomic.Int64
			seq.Store(1)
			b.SetParallelism(16) // many concurrent callers, as behind an HTTP server
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					s := seq.Add(1)
					tk := tickets[s%int64(len(tickets))]
					m := benchMessage(tk.ID, s)
					err := db.Update(ctx, func(tx store.Tx) error {
						if err := tx.AddMessage(ctx, m); err != nil {
							return err
						}
						return tx.AppendEvent(ctx, &escalated.Event{ID: escalated.NewID(escalated.PrefixEvent, m.CreatedAt),
							TicketID: tk.ID, Seq: s, Type: escalated.EventMessageAdded, Actor: "customer:c1", Message: m, CreatedAt: m.CreatedAt})
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			s := db.Stats()
			b.ReportMetric(float64(s.Updates)/float64(max(s.Commits, 1)), "updates/commit")
		})
	}
}

// BenchmarkRawInsertMessages is the baseline: the same message and event rows inserted in
// transactions of 100 with prepared statements.
func BenchmarkRawInsertMessages(b *testing.B) {
	db := mustOpen(b)
	tickets := benchTickets(b, db, 64)
	msgs := make([]*escalated.Message, b.N)
	for i := range msgs {
		msgs[i] = benchMessage(tickets[i%len(tickets)].ID, int64(i+2))
	}
	b.ResetTimer()
	if err := db.RawInsertMessages(b.Context(), msgs, 100); err != nil {
		b.Fatal(err)
	}
}
