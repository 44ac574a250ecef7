package ticket_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/demo"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/sqlite"
	"github.com/escalated/escalated/internal/ticket"
)

// TestMessagesDecidedAheadUnderLoad sends messages to a few tickets from many goroutines at
// once through the service on SQLite, where they are decided ahead of the store's writer
// (docs/adr/0005), with the demo policy's rules reacting to them. However the writes queued
// behind each other, every ticket must end with each message counted once and its history
// consecutive, and the report rollups the writes moved must be what a rebuild from the
// analytics rows gives.
func TestMessagesDecidedAheadUnderLoad(t *testing.T) {
	ctx := escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "test", Role: escalated.RoleAdmin})
	path := filepath.Join(t.TempDir(), "ahead.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pol, err := policy.Parse("demo.yaml", demo.Policy())
	if err != nil {
		t.Fatal(err)
	}
	svc := ticket.New(st, time.Now, nil)
	if _, err := svc.LoadPolicy(ctx, pol, "test"); err != nil {
		t.Fatal(err)
	}
	const tickets, writers, each = 3, 8, 25
	ids := make([]string, tickets)
	for i := range ids {
		d, err := svc.CreateTicket(ctx, ticket.CreateInput{Subject: "Refund not received", Channel: escalated.ChannelChat,
			Message: &ticket.MessageInput{Author: escalated.Author{Kind: escalated.AuthorCustomer, Name: "Kim"}, Body: "Where is my refund?"}})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = d.Ticket.ID
	}
	bodies := []string{
		"Any news on my refund?",
		"This is the third time I write. This is ridiculous, I want to speak to a manager NOW!",
		"Thanks, that helps.",
		"I am cancelling my account if this is not fixed today. Terrible service.",
	}
	st0 := st.Stats()
	sent := make([]int, tickets)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := (w + i) % tickets
				_, err := svc.AddMessage(ctx, ids[id], ticket.MessageInput{Author: escalated.Author{Kind: escalated.AuthorCustomer, Name: "Kim"},
					Body: bodies[(w*each+i)%len(bodies)]})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				sent[id]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	s := st.Stats()
	if s.SpecApplied-st0.SpecApplied == 0 || s.SpecRestarted != st0.SpecRestarted {
		t.Errorf("want messages applied as decided ahead and none restarted: %+v", s)
	}
	for i, id := range ids {
		d, err := svc.GetTicket(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := d.Ticket.Counters.Messages, sent[i]+1; got != want {
			t.Errorf("ticket %s counts %d messages, %d were added", id, got, want)
		}
		for j, e := range d.History {
			if e.Seq != int64(j+1) {
				t.Fatalf("ticket %s: history seq %d at %d", id, e.Seq, j)
			}
		}
		if d.Ticket.Version != int64(len(d.History)) {
			t.Errorf("ticket %s: version %d with %d events", id, d.Ticket.Version, len(d.History))
		}
		var msgs []*escalated.Message
		if err := st.View(ctx, func(tx store.Tx) error { msgs, err = tx.ListMessages(ctx, id); return err }); err != nil {
			t.Fatal(err)
		}
		if len(msgs) != sent[i]+1 {
			t.Errorf("ticket %s lists %d messages, %d were added", id, len(msgs), sent[i]+1)
		}
	}
	// The rollups the writes kept are what rebuilding them from the analytics rows gives, and
	// those rows are what rebuilding them from the tickets' histories gives, but for the
	// highest frustration, which a rebuild cannot replay: it is at least the ticket's present one.
	keptCells := tableRows(t, path, cellsQuery)
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.RebuildRollups(ctx) }); err != nil {
		t.Fatal(err)
	}
	if rebuilt := tableRows(t, path, cellsQuery); len(keptCells) == 0 || !reflect.DeepEqual(keptCells, rebuilt) {
		t.Errorf("report cells kept by the writes differ from a rebuild from the analytics rows:\n%v\n%v", keptCells, rebuilt)
	}
	for _, id := range ids {
		d, err := svc.GetTicket(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var f *store.TicketFact
		if err := st.View(ctx, func(tx store.Tx) error { f, err = tx.GetTicketFact(ctx, id); return err }); err != nil {
			t.Fatal(err)
		}
		if f.MaxFrustration < d.Ticket.Signals.Frustration || f.MaxFrustration == 0 {
			t.Errorf("ticket %s: highest frustration %v kept, present %v", id, f.MaxFrustration, d.Ticket.Signals.Frustration)
		}
	}
	keptFacts := tableRows(t, path, factsQuery)
	if _, err := svc.RebuildFacts(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if rebuilt := tableRows(t, path, factsQuery); !reflect.DeepEqual(keptFacts, rebuilt) {
		t.Errorf("ticket facts kept by the writes differ from a rebuild:\n%v\n%v", keptFacts, rebuilt)
	}
}

const (
	factsQuery = `SELECT ticket_id, created_at, issue_type, channel, customer_tier, account_id, intake_team, intake_tier,
		first_agent, solved, solved_at, escalations, first_escalated_at, reopens, breaches_before_escalation,
		reopened_after_t1_solve, ping_pongs FROM ticket_facts ORDER BY ticket_id`
	cellsQuery = `SELECT scope, dim, day, key, shard, hex(counts) FROM report_cells ORDER BY scope, dim, day, key, shard`
)

// tableRows reads query's rows from the database file at path, on a connection of its own,
// each row's columns joined.
func tableRows(t *testing.T, path, query string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
