package app_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/app"
	"github.com/escalated/escalated/internal/config"
	"github.com/escalated/escalated/internal/store/postgres"
	"github.com/escalated/escalated/internal/ticket"
)

// pgSchema creates a fresh schema on ESCALATED_TEST_POSTGRES and returns a URL using it; the
// schema is dropped afterwards.
func pgSchema(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("ESCALATED_TEST_POSTGRES")
	if base == "" {
		tb.Skip("ESCALATED_TEST_POSTGRES is not set: set it to a PostgreSQL URL to run the PostgreSQL benchmarks")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "escalated_bench_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		conn.Close(context.Background())
	})
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// pgNodes opens n nodes (each its own pool and services) on one fresh schema.
func pgNodes(b *testing.B, n int) []*app.App {
	db := pgSchema(b)
	var nodes []*app.App
	for i := 0; i < n; i++ {
		cfg := config.Default()
		cfg.DB, cfg.Addr, cfg.PolicyPath = db, "127.0.0.1:0", "testdata/policy.yaml"
		a, err := app.New(context.Background(), cfg, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { a.Store.Close() })
		if err := a.LoadPolicy(context.Background()); err != nil {
			b.Fatal(err)
		}
		nodes = append(nodes, a)
	}
	return nodes
}

// BenchmarkPostgresIngest measures in one run, on fresh schemas: a raw batched insert of
// message and history rows with pgx (the baseline), and messages added through the service by
// 16 concurrent clients on 1 node and on 2 nodes sharing the database. b.N messages per phase;
// run it with -benchtime 20000x.
func BenchmarkPostgresIngest(b *testing.B) {
	raw := pgRaw(b, b.N)
	one := pgIngest(b, b.N, 1)
	two := pgIngest(b, b.N, 2)
	b.ReportMetric(raw, "raw_msgs/s")
	b.ReportMetric(one, "node1_msgs/s")
	b.ReportMetric(two, "nodes2_msgs/s")
	b.ReportMetric(one/raw, "node1/raw")
	b.ReportMetric(two/raw, "nodes2/raw")
}

func pgIngest(b *testing.B, n, nodes int) float64 {
	apps := pgNodes(b, nodes)
	ctx := escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "bench", Role: escalated.RoleAdmin})
	const clients = 16
	ids := make([]string, clients)
	for i := range ids {
		d, err := apps[0].Tickets.CreateTicket(ctx, ticket.CreateInput{Subject: "bench", Message: &ticket.MessageInput{Body: "first"}})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = d.Ticket.ID
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			svc := apps[c%len(apps)].Tickets
			for next.Add(1) <= int64(n) {
				if _, err := svc.AddMessage(ctx, ids[c], ticket.MessageInput{Author: escalated.Author{Kind: escalated.AuthorCustomer}, Body: benchBody}); err != nil {
					b.Error(err)
					return
				}
			}
		}(c)
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}

func pgRaw(b *testing.B, n int) float64 {
	apps := pgNodes(b, 1)
	ctx := escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "bench", Role: escalated.RoleAdmin})
	d, err := apps[0].Tickets.CreateTicket(ctx, ticket.CreateInput{Subject: "bench", Message: &ticket.MessageInput{Body: "first"}})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	msgs := make([]*escalated.Message, n)
	for i := range msgs {
		msgs[i] = &escalated.Message{
			ID: escalated.NewID(escalated.PrefixMessage, now), TicketID: d.Ticket.ID, Seq: int64(i + 10),
			Author: escalated.Author{Kind: escalated.AuthorCustomer}, Body: benchBody, CreatedAt: now,
		}
	}
	start := time.Now()
	if err := apps[0].Store.(*postgres.DB).RawInsertMessages(context.Background(), msgs, 100); err != nil {
		b.Fatal(err)
	}
	return float64(n) / time.Since(start).Seconds()
}
