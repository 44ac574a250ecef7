package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

var outboxTests = []test{
	{"RoundTrip", testDeliveryRoundTrip},
	{"Errors", testDeliveryErrors},
	{"EnqueueRolledBack", testDeliveryRolledBack},
	{"ClaimInOrderPerTicketAndChannel", testDeliveryClaimOrder},
	{"NotDueAndNext", testDeliveryNotDue},
	{"LeaseExpires", testDeliveryLease},
	{"Retry", testDeliveryRetry},
	{"ListByState", testDeliveryList},
	{"ConcurrentClaimers", testDeliveryConcurrentClaimers},
}

// delivery returns a pending delivery of ticketID at seq for channel, due at due, with every
// field set.
func (f *fx) delivery(ticketID string, seq int64, channel string, due time.Time) *store.Delivery {
	now := f.tick()
	id := escalated.NewID(escalated.PrefixDelivery, now)
	return &store.Delivery{
		ID: id, TicketID: ticketID, Seq: seq, Channel: channel, EventType: "escalation.created",
		EventID: "evt_1", Payload: []byte(`{"id":"` + id + `","type":"escalation.created","data":{"note":"ünïcode ok"}}`),
		State: store.DeliveryPending, NextAttemptAt: due, CreatedAt: now, QueuedAt: now,
		Log: []store.Attempt{},
	}
}

func wantDelivery(d *store.Delivery) *store.Delivery {
	w := *d
	w.NextAttemptAt, w.CreatedAt, w.QueuedAt = escalated.Truncate(w.NextAttemptAt), escalated.Truncate(w.CreatedAt), escalated.Truncate(w.QueuedAt)
	w.DeliveredAt = tp(w.DeliveredAt)
	w.Log = make([]store.Attempt, len(d.Log))
	for i, a := range d.Log {
		a.At = escalated.Truncate(a.At)
		w.Log[i] = a
	}
	return &w
}

func deliveryID(d *store.Delivery) string { return d.ID }

func (f *fx) enqueue(ds ...*store.Delivery) {
	f.t.Helper()
	f.update(func(tx store.Tx) error {
		for _, d := range ds {
			if err := tx.EnqueueDelivery(f.ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
}

func (f *fx) getDelivery(id string) *store.Delivery {
	f.t.Helper()
	var d *store.Delivery
	f.view(func(tx store.Tx) error {
		var err error
		d, err = tx.GetDelivery(f.ctx, id)
		return err
	})
	return d
}

func (f *fx) claimDeliveries(now, lease time.Time, n int) []*store.Delivery {
	f.t.Helper()
	var got []*store.Delivery
	f.update(func(tx store.Tx) error {
		var err error
		got, err = tx.ClaimDeliveries(f.ctx, now, lease, n)
		return err
	})
	return got
}

func (f *fx) saveDelivery(d *store.Delivery) {
	f.t.Helper()
	f.update(func(tx store.Tx) error { return tx.UpdateDelivery(f.ctx, d) })
}

func (f *fx) nextDelivery() time.Time {
	f.t.Helper()
	var next time.Time
	f.view(func(tx store.Tx) error {
		var err error
		next, err = tx.NextDeliveryAt(f.ctx)
		return err
	})
	return next
}

func testDeliveryRoundTrip(t *testing.T, f *fx) {
	tk := f.ticket()
	f.createTickets(tk)
	d := f.delivery(tk.ID, 3, "ops", base)
	f.enqueue(d)
	equal(t, "enqueued delivery", f.getDelivery(d.ID), wantDelivery(d))

	at := base.Add(time.Minute)
	d.State, d.Attempts, d.LastStatus, d.LastError = store.DeliveryDelivered, 2, 200, ""
	d.NextAttemptAt, d.DeliveredAt = at, &at
	d.Log = []store.Attempt{{At: base.Add(time.Second), Status: 503, Error: "503 Service Unavailable"}, {At: at, Status: 200}}
	f.saveDelivery(d)
	equal(t, "updated delivery", f.getDelivery(d.ID), wantDelivery(d))
}

func testDeliveryErrors(t *testing.T, f *fx) {
	tk := f.ticket()
	f.createTickets(tk)
	d := f.delivery(tk.ID, 1, "ops", base)
	f.enqueue(d)
	err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.EnqueueDelivery(f.ctx, d) })
	wantCode(t, err, escalated.ECONFLICT)

	orphan := f.delivery("tkt_missing", 1, "ops", base)
	err = f.s.Update(f.ctx, func(tx store.Tx) error { return tx.EnqueueDelivery(f.ctx, orphan) })
	wantCode(t, err, escalated.ENOTFOUND)
	wantMessageNames(t, err, "tkt_missing")

	err = f.s.View(f.ctx, func(tx store.Tx) error { _, err := tx.GetDelivery(f.ctx, "dlv_missing"); return err })
	wantCode(t, err, escalated.ENOTFOUND)
	wantMessageNames(t, err, "dlv_missing")

	missing := f.delivery(tk.ID, 2, "ops", base)
	err = f.s.Update(f.ctx, func(tx store.Tx) error { return tx.UpdateDelivery(f.ctx, missing) })
	wantCode(t, err, escalated.ENOTFOUND)
	err = f.s.Update(f.ctx, func(tx store.Tx) error { _, err := tx.RetryDelivery(f.ctx, missing.ID, base); return err })
	wantCode(t, err, escalated.ENOTFOUND)
}

// testDeliveryRolledBack: a delivery enqueued by a transaction that fails does not exist, so
// the dispatcher can never send it.
func testDeliveryRolledBack(t *testing.T, f *fx) {
	tk := f.ticket()
	f.createTickets(tk)
	d := f.delivery(tk.ID, 1, "ops", base)
	err := f.s.Update(f.ctx, func(tx store.Tx) error {
		if err := tx.EnqueueDelivery(f.ctx, d); err != nil {
			return err
		}
		return errBoom
	})
	if err == nil {
		t.Fatal("Update returned nil, want the fn's error")
	}
	if got := f.claimDeliveries(base.Add(time.Hour), base.Add(2*time.Hour), 10); len(got) != 0 {
		t.Errorf("claimed %v after a rolled-back enqueue, want nothing", ids(got, deliveryID))
	}
	if next := f.nextDelivery(); !next.IsZero() {
		t.Errorf("NextDeliveryAt = %s after a rolled-back enqueue, want zero", next)
	}
}

// testDeliveryClaimOrder: only the first pending delivery of each ticket and channel is
// claimable, so a ticket's deliveries reach a receiver one at a time and in order, while
// other tickets and channels do not wait for them.
func testDeliveryClaimOrder(t *testing.T, f *fx) {
	a, b := f.ticket(), f.ticket()
	f.createTickets(a, b)
	// Enqueued out of seq order, and the later ones due earlier: order still follows seq.
	a3 := f.delivery(a.ID, 3, "ops", base)
	a1 := f.delivery(a.ID, 1, "ops", base.Add(2*time.Second))
	a2 := f.delivery(a.ID, 2, "ops", base)
	aSlack := f.delivery(a.ID, 2, "slack", base)
	b1 := f.delivery(b.ID, 1, "ops", base)
	f.enqueue(a3, a1, a2, aSlack, b1)

	now := base.Add(time.Minute)
	lease := now.Add(time.Minute)
	got := f.claimDeliveries(now, lease, 10)
	equalIDs(t, "first claim", sortedIDs(got), sortedIDs([]*store.Delivery{a1, aSlack, b1}))
	for _, d := range got {
		if !d.NextAttemptAt.Equal(escalated.Truncate(lease)) {
			t.Errorf("claimed %s NextAttemptAt = %s, want the lease end %s", d.ID, d.NextAttemptAt, lease)
		}
	}
	if again := f.claimDeliveries(now, lease, 10); len(again) != 0 {
		t.Errorf("second claim under the lease = %v, want nothing", ids(again, deliveryID))
	}
	// a1 delivered: a2 is next in line, a3 still waits.
	d := f.getDelivery(a1.ID)
	d.State, d.DeliveredAt = store.DeliveryDelivered, &now
	f.saveDelivery(d)
	equalIDs(t, "claim after a1 delivered", ids(f.claimDeliveries(now, lease, 10), deliveryID), []string{a2.ID})
	// a2 failed for good: it no longer holds the line.
	d = f.getDelivery(a2.ID)
	d.State = store.DeliveryFailed
	f.saveDelivery(d)
	equalIDs(t, "claim after a2 failed", ids(f.claimDeliveries(now, lease, 10), deliveryID), []string{a3.ID})
}

func sortedIDs(ds []*store.Delivery) []string {
	out := ids(ds, deliveryID)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func testDeliveryNotDue(t *testing.T, f *fx) {
	tk := f.ticket()
	f.createTickets(tk)
	if next := f.nextDelivery(); !next.IsZero() {
		t.Errorf("NextDeliveryAt on an empty outbox = %s, want zero", next)
	}
	later := f.delivery(tk.ID, 1, "ops", base.Add(time.Hour))
	f.enqueue(later)
	if got := f.claimDeliveries(base, base.Add(time.Minute), 10); len(got) != 0 {
		t.Errorf("claimed %v before it was due", ids(got, deliveryID))
	}
	if next := f.nextDelivery(); !next.Equal(escalated.Truncate(later.NextAttemptAt)) {
		t.Errorf("NextDeliveryAt = %s, want %s", next, later.NextAttemptAt)
	}
	// A later delivery of the same line due earlier does not make the line due earlier.
	behind := f.delivery(tk.ID, 2, "ops", base)
	f.enqueue(behind)
	if next := f.nextDelivery(); !next.Equal(escalated.Truncate(later.NextAttemptAt)) {
		t.Errorf("NextDeliveryAt with a due delivery behind a later one = %s, want %s", next, later.NextAttemptAt)
	}
	got := f.claimDeliveries(base.Add(time.Hour), base.Add(2*time.Hour), 10)
	equalIDs(t, "claim at the due time", ids(got, deliveryID), []string{later.ID})
}

// testDeliveryLease: a claimed delivery whose outcome was never written (the process died
// mid-send) is claimable again once its lease ends, with the same id.
func testDeliveryLease(t *testing.T, f *fx) {
	tk := f.ticket()
	f.createTickets(tk)
	d := f.delivery(tk.ID, 1, "ops", base)
	f.enqueue(d)
	lease := base.Add(time.Minute)
	equalIDs(t, "claim", ids(f.claimDeliveries(base, lease, 1), deliveryID), []string{d.ID})
	if next := f.nextDelivery(); !next.Equal(escalated.Truncate(lease)) {
		t.Errorf("NextDeliveryAt under the lease = %s, want its end %s", next, lease)
	}
	if got := f.claimDeliveries(lease.Add(-time.Second), lease.Add(time.Hour), 1); len(got) != 0 {
		t.Errorf("claimed %v before the lease ended", ids(got, deliveryID))
	}
	equalIDs(t, "claim after the lease", ids(f.claimDeliveries(lease, lease.Add(time.Minute), 1), deliveryID), []string{d.ID})
}

func testDeliveryRetry(t *testing.T, f *fx) {
	tk := f.ticket()
	f.createTickets(tk)
	d := f.delivery(tk.ID, 1, "ops", base)
	f.enqueue(d)
	err := f.s.Update(f.ctx, func(tx store.Tx) error { _, err := tx.RetryDelivery(f.ctx, d.ID, base); return err })
	wantCode(t, err, escalated.ECONFLICT)

	d.State, d.Attempts, d.LastStatus, d.LastError = store.DeliveryDead, 12, 503, "503 Service Unavailable"
	d.Log = []store.Attempt{{At: base, Status: 503, Error: "503 Service Unavailable"}}
	f.saveDelivery(d)
	now := base.Add(48 * time.Hour)
	var got *store.Delivery
	f.update(func(tx store.Tx) error {
		var err error
		got, err = tx.RetryDelivery(f.ctx, d.ID, now)
		return err
	})
	w := wantDelivery(d)
	w.State, w.Attempts, w.NextAttemptAt, w.QueuedAt = store.DeliveryPending, 0, escalated.Truncate(now), escalated.Truncate(now)
	equal(t, "retried delivery", got, w)
	equal(t, "retried delivery read back", f.getDelivery(d.ID), w)
	equalIDs(t, "claim after retry", ids(f.claimDeliveries(now, now.Add(time.Minute), 1), deliveryID), []string{d.ID})

	delivered := f.getDelivery(d.ID)
	delivered.State = store.DeliveryDelivered
	f.saveDelivery(delivered)
	err = f.s.Update(f.ctx, func(tx store.Tx) error { _, err := tx.RetryDelivery(f.ctx, d.ID, now); return err })
	wantCode(t, err, escalated.ECONFLICT)
}

func testDeliveryList(t *testing.T, f *fx) {
	tk := f.ticket()
	f.createTickets(tk)
	var all []*store.Delivery
	for i := range 5 {
		all = append(all, f.delivery(tk.ID, int64(i+1), "ops", base))
	}
	f.enqueue(all...)
	for _, i := range []int{1, 3} {
		d := f.getDelivery(all[i].ID)
		d.State = store.DeliveryDead
		f.saveDelivery(d)
	}
	var page1, page2 []*store.Delivery
	var next, end string
	f.view(func(tx store.Tx) error {
		var err error
		if page1, next, err = tx.ListDeliveries(f.ctx, store.DeliveryFilter{Limit: 3}); err != nil {
			return err
		}
		page2, end, err = tx.ListDeliveries(f.ctx, store.DeliveryFilter{Limit: 3, Cursor: next})
		return err
	})
	equalIDs(t, "first page", ids(page1, deliveryID), newestFirst(all[2].ID, all[3].ID, all[4].ID))
	equalIDs(t, "second page", ids(page2, deliveryID), newestFirst(all[0].ID, all[1].ID))
	if next == "" || end != "" {
		t.Errorf("cursors = %q, %q; want one after the first page and none after the last", next, end)
	}
	var dead []*store.Delivery
	f.view(func(tx store.Tx) error {
		var err error
		dead, _, err = tx.ListDeliveries(f.ctx, store.DeliveryFilter{State: store.DeliveryDead})
		return err
	})
	equalIDs(t, "dead deliveries", ids(dead, deliveryID), newestFirst(all[1].ID, all[3].ID))
	var counts map[store.DeliveryState]int64
	f.view(func(tx store.Tx) error {
		var err error
		counts, err = tx.CountDeliveries(f.ctx)
		return err
	})
	want := map[store.DeliveryState]int64{store.DeliveryPending: 3, store.DeliveryFailed: 0, store.DeliveryDead: 2}
	for st, n := range want {
		if counts[st] != n {
			t.Errorf("CountDeliveries()[%s] = %d, want %d (all: %v)", st, counts[st], n, counts)
		}
	}
}

func testDeliveryConcurrentClaimers(t *testing.T, f *fx) {
	const total, claimers, batch = 60, 6, 4
	var all []*store.Delivery
	for range total / 2 {
		tk := f.ticket()
		f.createTickets(tk)
		all = append(all, f.delivery(tk.ID, 1, "ops", base), f.delivery(tk.ID, 2, "ops", base))
	}
	f.enqueue(all...)
	now := base.Add(time.Minute)
	var (
		mu      sync.Mutex
		claimed = map[string]int{}
		wg      sync.WaitGroup
	)
	for range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var got []*store.Delivery
				err := f.s.Update(f.ctx, func(tx store.Tx) error {
					var err error
					got, err = tx.ClaimDeliveries(f.ctx, now, now.Add(time.Hour), batch)
					return err
				})
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				// Deliver what was claimed, so the next in line becomes claimable.
				for _, d := range got {
					d.State = store.DeliveryDelivered
					if err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.UpdateDelivery(f.ctx, d) }); err != nil {
						t.Errorf("update: %v", err)
						return
					}
					mu.Lock()
					claimed[d.ID]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	for _, d := range all {
		if n := claimed[d.ID]; n != 1 {
			t.Errorf("delivery %s (seq %d) was claimed %d times, want once", d.ID, d.Seq, n)
		}
	}
}
