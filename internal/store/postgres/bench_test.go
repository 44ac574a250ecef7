package postgres

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// benchCallers is how many goroutines call Update at once, as behind an HTTP server.
const benchCallers = 16

// benchTickets creates n tickets (with their ticket.created event) to write history into.
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

// addMessage is what adding a message costs a service: read and lock the ticket, write it back
// with the new version and counter, insert the message and its event (which notifies).
func addMessage(ctx context.Context, tx store.Tx, ticketID string) error {
	tk, err := tx.GetTicket(ctx, ticketID)
	if err != nil {
		return err
	}
	prev := tk.Version
	tk.Version++
	tk.Counters.Messages++
	tk.UpdatedAt = time.Now()
	if err := tx.UpdateTicket(ctx, tk, prev); err != nil {
		return err
	}
	m := benchMessage(ticketID, tk.Version)
	if err := tx.AddMessage(ctx, m); err != nil {
		return err
	}
	return tx.AppendEvent(ctx, &escalated.Event{ID: escalated.NewID(escalated.PrefixEvent, m.CreatedAt),
		TicketID: ticketID, Seq: tk.Version, Type: escalated.EventMessageAdded, Actor: "customer:c1", Message: m, CreatedAt: m.CreatedAt})
}

// BenchmarkUpdateMessage measures the real write path: 16 concurrent callers, each on its own
// ticket, each Update reading and locking the ticket, updating it, and inserting one message and
// its event. Every Update is its own transaction and commit; PostgreSQL flushes the WAL of
// concurrent commits together. Compare msgs/s with BenchmarkRawInsertMessages. The sub-
// benchmarks vary the pool size (the number of transactions that can be open at once) and the
// number of nodes (pools) sharing the schema.
func BenchmarkUpdateMessage(b *testing.B) {
	for _, tc := range []struct{ nodes, conns int }{{1, 4}, {1, 16}, {2, 8}} {
		b.Run(fmt.Sprintf("nodes=%d/conns=%d", tc.nodes, tc.conns), func(b *testing.B) {
			schema := freshSchema(b)
			var nodes []*DB
			for range tc.nodes {
				nodes = append(nodes, mustOpen(b, schema, WithMaxConns(tc.conns)))
			}
			tickets := benchTickets(b, nodes[0], benchCallers)
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for c := range benchCallers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx := context.Background()
					db, id := nodes[c%len(nodes)], tickets[c].ID
					for next.Add(1) <= int64(b.N) {
						if err := db.Update(ctx, func(tx store.Tx) error { return addMessage(ctx, tx, id) }); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			var retries int64
			for _, db := range nodes {
				retries += db.Retries()
			}
			b.ReportMetric(float64(retries), "retries")
		})
	}
}

// BenchmarkRawInsertMessages is the baseline: the same message and event rows, without the
// ticket read and update, inserted by one caller in transactions of 100, each transaction one
// pipelined pgx.Batch.
func BenchmarkRawInsertMessages(b *testing.B) {
	db := mustOpen(b, freshSchema(b))
	tickets := benchTickets(b, db, benchCallers)
	msgs := make([]*escalated.Message, b.N)
	for i := range msgs {
		msgs[i] = benchMessage(tickets[i%len(tickets)].ID, int64(i+2))
	}
	b.ResetTimer()
	if err := db.RawInsertMessages(b.Context(), msgs, 100); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
