package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/escalated/escalated/internal/store"
)

// TestTwoNodesFireEachDeadlineOnce runs two engines on two stores sharing one PostgreSQL schema
// (two nodes) over 2,000 due deadlines: every deadline fires exactly once, counted by the
// durable rows the Firer wrote, and none is left pending.
func TestTwoNodesFireEachDeadlineOnce(t *testing.T) {
	schema := freshSchema(t)
	nodes := []store.Store{openPostgres(t, schema), openPostgres(t, schema)}
	const n, perTicket = 2000, 20
	tks := createTickets(t, nodes[0], n/perTicket)
	now := time.Now()
	ds := make([]*store.Deadline, n)
	ids := make([]string, n)
	for i := range ds {
		ids[i] = dlID(i)
		ds[i] = deadline(ids[i], tks[i/perTicket].ID, fmt.Sprint("target_", i%perTicket), now.Add(-time.Duration(n-i)*time.Millisecond))
	}
	schedule(t, nodes[0], ds...)

	var total atomic.Int64
	allFired := make(chan struct{})
	var once sync.Once
	onFired := func(*store.Deadline, time.Duration) {
		if total.Add(1) == n {
			once.Do(func() { close(allFired) })
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	engines := make([]*Engine, len(nodes))
	var wg sync.WaitGroup
	for i, s := range nodes {
		engines[i] = newEngine(t, Config{Store: s, Firer: &auditFirer{}, Batch: 25, OnFired: onFired})
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := engines[i].Run(ctx); err != nil {
				t.Errorf("node %d: Run = %v", i, err)
			}
		}()
	}
	select {
	case <-allFired:
	case <-time.After(waitFor * 2):
		t.Fatalf("%d of %d deadlines fired", total.Load(), n)
	}
	cancel()
	wg.Wait()

	wantFiredOnce(t, nodes[1], ids)
	if next := nextDue(t, nodes[0]); !next.IsZero() {
		t.Errorf("NextDue = %s after everything fired, want none pending", next)
	}
	a, b := engines[0].Stats(), engines[1].Stats()
	if a.Fired+b.Fired != n || a.Failed+b.Failed != 0 {
		t.Errorf("the nodes fired %d + %d (failed %d + %d), want %d in all and no failure", a.Fired, b.Fired, a.Failed, b.Failed, n)
	}
	t.Logf("node 0 fired %d, node 1 fired %d; mean lateness %s and %s", a.Fired, b.Fired, a.MeanLateness(), b.MeanLateness())
}

// TestAnnouncementWakesOtherNode: a deadline scheduled through one node wakes the engine of
// the other, which was sleeping with nothing pending, through PostgreSQL's NOTIFY.
func TestAnnouncementWakesOtherNode(t *testing.T) {
	schema := freshSchema(t)
	a, b := openPostgres(t, schema), openPostgres(t, schema)
	tk := createTickets(t, a, 1)[0].ID
	e := newEngine(t, Config{Store: b, Firer: &auditFirer{}})
	sleeps := sleepWatcher(e)
	startRun(t, e)
	expectSleep(t, sleeps, time.Time{})

	due := time.Now().Add(time.Hour).Truncate(time.Millisecond).UTC()
	schedule(t, a, deadline("dl_1", tk, "resolution", due))
	expectSleep(t, sleeps, due)
}

// ticketFirer fires like the ticket service does as far as locks go: it reads (and on
// PostgreSQL locks) the deadline's ticket and cancels the ticket's other deadline (a fired
// clock's sibling, target_0 or target_1), and it fails the deadlines fail names.
type ticketFirer struct {
	auditFirer
}

func (f *ticketFirer) FireDeadline(ctx context.Context, tx store.Tx, d *store.Deadline, firedAt time.Time) (bool, error) {
	if _, err := tx.GetTicket(ctx, d.TicketID); err != nil {
		return false, err
	}
	other := "target_0"
	if d.Target == other {
		other = "target_1"
	}
	if err := tx.CancelDeadlines(ctx, d.TicketID, other); err != nil {
		return false, err
	}
	return f.auditFirer.FireDeadline(ctx, tx, d, firedAt)
}

// TestClaimersDoNotDeadlockOnHeldDeadlines: with a deadline on hold after a failure, claims
// go through ClaimDeadline by id; several claimers of one node firing tickets' deadlines (which
// locks the ticket and rewrites its other deadlines) must not stall each other. Claims by id
// used to take a deadline without its ticket and deadlocked with a claimer firing that ticket
// in most runs; now a claim of either kind skips a ticket another transaction holds. A rare
// deadlock remains possible (a claim that skips a joined row may keep the lock on its other
// half until commit): the store retries it, and what must hold is that no FireDue fails on it
// and every deadline fires once.
func TestClaimersDoNotDeadlockOnHeldDeadlines(t *testing.T) {
	db := openPostgres(t, freshSchema(t))
	const n, perTicket = 600, 2
	tks := createTickets(t, db, n/perTicket)
	now := time.Now()
	ds := make([]*store.Deadline, n)
	for i := range ds {
		ds[i] = deadline(dlID(i), tks[i/perTicket].ID, fmt.Sprint("target_", i%perTicket), now.Add(-time.Duration(n-i)*time.Millisecond))
	}
	schedule(t, db, ds...)
	firer := &ticketFirer{}
	failing := ds[3].ID
	firer.setFail(func(d *store.Deadline) error {
		if d.ID == failing {
			return errPoison
		}
		return nil
	})
	e := newEngine(t, Config{Store: db, Firer: firer, Batch: 8, Claimers: 4})
	for range 3 {
		// The held deadline sends every claim that returns it through ClaimDeadline by id.
		e.hold([]string{failing}, now.Add(time.Hour))
		if _, err := e.FireDue(t.Context()); err != nil && !errors.Is(err, errPoison) {
			t.Fatalf("FireDue: %v; want no error but the failing deadline's", err)
		}
	}
	if r := db.Retries(); r > 2 {
		t.Errorf("the store retried %d transactions: claimers deadlock each other", r)
	}
	t.Logf("%d transactions retried", db.Retries())
	// A deadline fired alone cancels its ticket's other one; two claimed in one batch both
	// fire. Either way none fires twice, and the failing one never.
	counts := firedCounts(t, db)
	if len(counts) < n/perTicket || counts[failing] != 0 {
		t.Errorf("fired %d deadlines (the failing one %d times); want at least one per ticket (%d), not it", len(counts), counts[failing], n/perTicket)
	}
	for id, c := range counts {
		if c != 1 {
			t.Errorf("%s fired %d times", id, c)
		}
	}
	if next := nextDue(t, db); !next.IsZero() && !next.Equal(ds[3].DueAt) {
		t.Errorf("NextDue = %s; want nothing pending but the failing deadline", next)
	}
}
