package engine

import (
	"context"
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
