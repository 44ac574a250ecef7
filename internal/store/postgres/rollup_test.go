package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/escalated/escalated/internal/store"
)

// Concurrent writers on PostgreSQL add to the same report cells: these tests check that the
// cells they leave are the ones a rebuild computes from the rows they leave, and that they do
// not deadlock over them.

var rollDay = time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)

// shardZero returns an id with the prefix in shard 0 of the cells (fnv-1a modulo shards, as
// store.TicketDelta does): two such tickets share their cells of a day.
func shardZero(prefix string) string {
	for i := 0; ; i++ {
		id := fmt.Sprintf("%s_%d", prefix, i)
		h := fnv.New32a()
		h.Write([]byte(id))
		if h.Sum32()%shards == 0 {
			return id
		}
	}
}

func rollReport(t *testing.T, db *DB, g string) []store.ReportGroup {
	t.Helper()
	var out []store.ReportGroup
	if err := db.View(t.Context(), func(tx store.Tx) error {
		var err error
		out, err = tx.ReportGroups(t.Context(), store.ReportQuery{GroupBy: g, Since: rollDay, Until: rollDay.Add(72 * time.Hour)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkKeptEqualsRebuilt compares the reports read from the cells the writers kept with the
// reports after the cells are recomputed from the rows.
func checkKeptEqualsRebuilt(t *testing.T, db *DB, groupBys ...string) {
	t.Helper()
	kept := map[string][]store.ReportGroup{}
	for _, g := range groupBys {
		kept[g] = rollReport(t, db, g)
	}
	if err := db.Update(t.Context(), func(tx store.Tx) error { return tx.RebuildRollups(t.Context()) }); err != nil {
		t.Fatal(err)
	}
	for _, g := range groupBys {
		if rebuilt := rollReport(t, db, g); !reflect.DeepEqual(kept[g], rebuilt) {
			t.Errorf("by %s the cells drifted from the rows:\n kept    %+v\n rebuilt %+v", g, kept[g], rebuilt)
		}
	}
}

func saveTickets(t *testing.T, db *DB, fs ...*store.TicketFact) {
	t.Helper()
	if err := db.Update(t.Context(), func(tx store.Tx) error {
		for _, f := range fs {
			if err := tx.SaveTicketFact(t.Context(), f); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestRollupSaveWaitsForAccountTier: an account's new tier rewrites a ticket's row (and moves
// its counts) while another node changes the same ticket; the change works out its delta from
// the row the tier change left, not the one before it.
func TestRollupSaveWaitsForAccountTier(t *testing.T) {
	schema := freshSchema(t)
	n1, n2 := mustOpen(t, schema), mustOpen(t, schema)
	y := &store.TicketFact{TicketID: shardZero("tkt_y"), CreatedAt: rollDay.Add(time.Hour), IssueType: "a", Channel: "chat",
		CustomerTier: "gold", AccountID: "acme", IntakeTeam: "support"}
	saveTickets(t, n1, y)
	moved, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 2)
	go func() {
		var once sync.Once
		done <- n1.Update(context.Background(), func(tx store.Tx) error {
			if err := tx.SetAccountTier(context.Background(), "acme", "silver"); err != nil {
				return err
			}
			once.Do(func() { close(moved); <-release })
			return nil
		})
	}()
	<-moved
	go func() {
		y2 := *y
		y2.Reopens = 1 // an agent's change, made with the tier the ticket was loaded with
		done <- n2.Update(context.Background(), func(tx store.Tx) error { return tx.SaveTicketFact(context.Background(), &y2) })
	}()
	time.Sleep(200 * time.Millisecond) // the save is waiting for the tier change's lock
	close(release)
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	checkKeptEqualsRebuilt(t, n1, store.GroupCustomerTier)
}

// TestRollupNoDeadlockAcrossSaves: two transactions each save a ticket's row and then an
// escalation's whose cells cross (each escalates as the other's first agent). Applied per save
// they would lock the agents' cells in opposite orders; applied at commit, in one order.
func TestRollupNoDeadlockAcrossSaves(t *testing.T) {
	schema := freshSchema(t)
	n1, n2 := mustOpen(t, schema), mustOpen(t, schema)
	ctx := context.Background()
	x := &store.TicketFact{TicketID: shardZero("tkt_x"), CreatedAt: rollDay.Add(time.Hour), IssueType: "a", Channel: "chat", IntakeTeam: "support"}
	y := &store.TicketFact{TicketID: shardZero("tkt_y"), CreatedAt: rollDay.Add(time.Hour), IssueType: "a", Channel: "chat", IntakeTeam: "support"}
	saveTickets(t, n1, x, y)
	var both sync.WaitGroup
	both.Add(2)
	run := func(db *DB, tf *store.TicketFact, first, by string) error {
		var once sync.Once
		return db.Update(ctx, func(tx store.Tx) error {
			f := *tf
			f.FirstAgent = first
			if err := tx.SaveTicketFact(ctx, &f); err != nil {
				return err
			}
			once.Do(func() { both.Done(); both.Wait() })
			e := &store.EscalationFact{EscalationID: "esc_" + tf.TicketID, TicketID: tf.TicketID, CreatedAt: rollDay.Add(2 * time.Hour),
				FromTeam: "support", ToTeam: "platform", FromTier: "t1", ToTier: "t2", ByAgent: by, IssueType: "a", Channel: "chat"}
			return tx.SaveEscalationFact(ctx, e)
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- run(n1, x, "ana", "bob") }()
	go func() { errs <- run(n2, y, "bob", "ana") }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if r := n1.Retries() + n2.Retries(); r > 0 {
		t.Errorf("%d transactions were retried: a deadlock over the cells", r)
	}
	checkKeptEqualsRebuilt(t, n1, store.GroupAgent)
}

// TestRollupConcurrentWriters: eight writers on two nodes change tickets and escalations whose
// cells overlap (a few issue types, teams and days; counts moving between cells, cells coming
// to count nothing and counting again), one of them changing accounts' tiers, while a rebuild
// runs once in the middle. At the end the cells are what the rows say.
func TestRollupConcurrentWriters(t *testing.T) {
	schema := freshSchema(t)
	nodes := []*DB{mustOpen(t, schema), mustOpen(t, schema)}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 3))
			db := nodes[w%2]
			one := func(xs ...string) string { return xs[r.IntN(len(xs))] }
			for i := range 40 {
				id := fmt.Sprintf("tkt_%d", r.IntN(30))
				at := rollDay.Add(time.Duration(r.IntN(60)) * time.Hour)
				err := db.Update(ctx, func(tx store.Tx) error {
					if w == 0 && i%5 == 0 {
						if err := tx.SetAccountTier(ctx, one("acme", "globex"), one("free", "pro", "enterprise")); err != nil {
							return err
						}
					}
					f := &store.TicketFact{TicketID: id, CreatedAt: at, IssueType: one("a", "b"), Channel: "chat",
						CustomerTier: one("free", "pro"), AccountID: one("acme", "globex"), IntakeTeam: one("support", "billing"),
						FirstAgent: one("", "ana", "bob"), Escalations: r.IntN(2), MaxFrustration: float64(r.IntN(10)) / 10}
					if err := tx.SaveTicketFact(ctx, f); err != nil {
						return err
					}
					e := &store.EscalationFact{EscalationID: fmt.Sprintf("esc_%d", r.IntN(20)), TicketID: id, CreatedAt: at.Add(time.Hour),
						FromTeam: one("support", "billing"), ToTeam: one("platform", "support"), FromTier: "t1", ToTier: one("t1", "t2"),
						ByAgent: one("", "cy"), IssueType: one("a", "b"), TimeToEscalate: time.Duration(r.IntN(90)) * time.Minute,
						Returned: r.IntN(2) == 0, Completeness: 0.5}
					return tx.SaveEscalationFact(ctx, e)
				})
				if err != nil {
					errs <- err
					return
				}
				if w == 1 && i == 20 {
					if err := db.Update(ctx, func(tx store.Tx) error { return tx.RebuildRollups(ctx) }); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("transactions retried after a deadlock or serialization failure: %d", nodes[0].Retries()+nodes[1].Retries())
	checkKeptEqualsRebuilt(t, nodes[0], store.GroupIssueType, store.GroupCustomerTier, store.GroupAgent, store.GroupTeam,
		store.GroupAccount, store.GroupDay)
}

// TestRollupSameNewFactConcurrently: transactions on two nodes saving the same new ticket's and
// escalation's fact rows at once count each row once in the cells (a row that does not exist yet
// locks nothing, so both had counted it as new: saveFact).
func TestRollupSameNewFactConcurrently(t *testing.T) {
	schema := freshSchema(t)
	nodes := []*DB{mustOpen(t, schema), mustOpen(t, schema)}
	ctx := context.Background()
	for round := range 40 {
		id := fmt.Sprintf("tkt_new_%d", round)
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		start := make(chan struct{})
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs <- nodes[w%2].Update(ctx, func(tx store.Tx) error {
					f := &store.TicketFact{TicketID: id, CreatedAt: rollDay.Add(time.Duration(round) * time.Hour),
						IssueType: []string{"a", "b"}[w%2], Channel: "chat", IntakeTeam: "support"}
					if err := tx.SaveTicketFact(ctx, f); err != nil {
						return err
					}
					return tx.SaveEscalationFact(ctx, &store.EscalationFact{EscalationID: "esc_" + id, TicketID: id,
						CreatedAt: f.CreatedAt.Add(time.Hour), FromTeam: "support", ToTeam: []string{"platform", "billing"}[w%2],
						FromTier: "t1", ToTier: "t2", IssueType: f.IssueType, TimeToEscalate: time.Hour})
				})
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	checkKeptEqualsRebuilt(t, nodes[0], store.GroupIssueType, store.GroupTeam, store.GroupDay)
}
