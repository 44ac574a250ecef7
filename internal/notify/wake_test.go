package notify_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/notify"
	"github.com/escalated/escalated/internal/notify/webhook"
	"github.com/escalated/escalated/internal/store"
)

// countingStore counts the dispatcher's writes (its claims and its sends' outcomes) and can
// hide the store's delivery announcements, as a store that makes none would.
type countingStore struct {
	store.Store
	updates    atomic.Int64
	hideQueued bool
}

func (s *countingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	s.updates.Add(1)
	return s.Store.Update(ctx, fn)
}

func (s *countingStore) Subscribe(ctx context.Context) (<-chan store.Change, error) {
	in, err := s.Store.Subscribe(ctx)
	if err != nil || !s.hideQueued {
		return in, err
	}
	out := make(chan store.Change, store.SubscriberBuffer)
	go func() {
		defer close(out)
		for c := range in {
			if c.Type != store.ChangeDelivery {
				out <- c
			}
		}
	}()
	return out, nil
}

// appendEvents commits n history events on tk, one per transaction, queuing no delivery.
func appendEvents(t *testing.T, s store.Store, tk *escalated.Ticket, from int64, n int) {
	t.Helper()
	for seq := from; seq < from+int64(n); seq++ {
		ev, _ := escalationPayload(t, tk, seq)
		if err := s.Update(context.Background(), func(tx store.Tx) error { return tx.AppendEvent(context.Background(), ev) }); err != nil {
			t.Fatal(err)
		}
	}
}

// settle waits until the dispatcher has written nothing for a while and returns its count.
func (s *countingStore) settle() int64 {
	last := s.updates.Load()
	for {
		time.Sleep(150 * time.Millisecond)
		n := s.updates.Load()
		if n == last {
			return n
		}
		last = n
	}
}

// TestDispatcherClaimsOnlyWhenADeliveryIsQueued: on a store that announces queued deliveries,
// commits that queue none cost the dispatcher no claim (each claim is a write through the
// store's single writer), and a delivery queued later is still sent at once. The clock is
// frozen, so no timer can stand in for the announcement.
func TestDispatcherClaimsOnlyWhenADeliveryIsQueued(t *testing.T) {
	onBothStores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		s := open(t)
		cs := &countingStore{Store: s}
		clock := clockwork.NewFakeClockAt(time.Now().Add(time.Second))
		rc := startReceiver(t, func(n int, _ received, w http.ResponseWriter) {
			if n == 2 {
				w.WriteHeader(http.StatusBadRequest) // the third delivery fails, for good
			}
		})
		startDispatcher(t, notify.Config{Store: cs, Channels: channels(opsChannel(rc.URL)), Clock: clock,
			Senders: map[string]notify.Sender{notify.TypeWebhook: webhook.New(webhook.WithEnv(env), webhook.WithClock(clock.Now))}})
		tk := createTicket(t, s)
		// The first delivery may be queued before the dispatcher's subscription exists (Run
		// subscribes in its own goroutine; it then claims it at start, unannounced); the
		// second is queued while it runs, so its announcement is heard.
		waitState(t, s, enqueue(t, s, tk, "ops", 1).ID, store.DeliveryDelivered)
		waitState(t, s, enqueue(t, s, tk, "ops", 2).ID, store.DeliveryDelivered)
		before := cs.settle()
		appendEvents(t, s, tk, 3, 30)
		if after := cs.settle(); after != before {
			t.Fatalf("30 commits that queued no delivery cost the dispatcher %d writes, want none", after-before)
		}
		d := enqueue(t, s, tk, "ops", 40)
		waitState(t, s, d.ID, store.DeliveryFailed)
		// A retry requested on another node (no Kick here) is announced by the store too.
		if err := s.Update(context.Background(), func(tx store.Tx) error {
			_, err := tx.RetryDelivery(context.Background(), d.ID, time.Now())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		waitState(t, s, d.ID, store.DeliveryDelivered)
	})
}

// TestDispatcherWakesForEventsWithoutAnnouncements: a store that never announces queued
// deliveries (memstore) still gets them sent at once, the dispatcher waking for every event.
func TestDispatcherWakesForEventsWithoutAnnouncements(t *testing.T) {
	t.Parallel()
	s := openStore(t, "")
	cs := &countingStore{Store: s, hideQueued: true}
	clock := clockwork.NewFakeClockAt(time.Now().Add(time.Second))
	rc := startReceiver(t, func(int, received, http.ResponseWriter) {})
	startDispatcher(t, notify.Config{Store: cs, Channels: channels(opsChannel(rc.URL)), Clock: clock,
		Senders: map[string]notify.Sender{notify.TypeWebhook: webhook.New(webhook.WithEnv(env), webhook.WithClock(clock.Now))}})
	tk := createTicket(t, s)
	for seq := int64(1); seq <= 3; seq++ {
		waitState(t, s, enqueue(t, s, tk, "ops", seq).ID, store.DeliveryDelivered)
	}
}
