package notify_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/notify"
	"github.com/escalated/escalated/internal/notify/webhook"
	"github.com/escalated/escalated/internal/store"
)

// TestReceiverDownForAnHour is PRODUCT.md's reliability bar on the default retry policy (fake
// clock): a webhook receiver that answers 503 for an hour gets every delivery afterwards, none
// given up as dead, each within the backoff's cap (10 min) of coming back.
func TestReceiverDownForAnHour(t *testing.T) {
	t.Parallel()
	s := openStore(t, "")
	// Ahead of the real clock, so deliveries enqueued on the real clock are due at once.
	clock := clockwork.NewFakeClockAt(time.Now().Add(time.Second))
	// Whole milliseconds, as the stores keep a delivery's times: a delivery sent at up is logged
	// at up, not a fraction of a millisecond before it.
	up := escalated.Truncate(clock.Now().Add(time.Hour))
	rc := startReceiver(t, func(n int, r received, w http.ResponseWriter) {
		if clock.Now().Before(up) {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	startDispatcher(t, notify.Config{Store: s, Channels: channels(opsChannel(rc.URL)), Clock: clock,
		Senders: map[string]notify.Sender{notify.TypeWebhook: webhook.New(webhook.WithEnv(env), webhook.WithClock(clock.Now))}})
	var ids []string
	for i := range 3 {
		ids = append(ids, enqueue(t, s, createTicket(t, s), "ops", int64(i+1)).ID)
	}
	// Step the clock a minute at a time, each time letting the dispatcher try what is due,
	// until every delivery is settled or two hours have passed.
	settled := func() (delivered, dead int) {
		for _, id := range ids {
			switch getDelivery(t, s, id).State {
			case store.DeliveryDelivered:
				delivered++
			case store.DeliveryDead, store.DeliveryFailed:
				dead++
			}
		}
		return delivered, dead
	}
	for clock.Now().Before(up.Add(time.Hour)) {
		// Wait until nothing due at the clock's now is left untried.
		for end := time.Now().Add(waitFor); ; {
			due := false
			for _, id := range ids {
				d := getDelivery(t, s, id)
				if d.State == store.DeliveryPending && !d.NextAttemptAt.After(clock.Now()) {
					due = true
				}
			}
			if !due {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("deliveries due at %s were not tried within %s", clock.Now(), waitFor)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if delivered, dead := settled(); delivered+dead == len(ids) {
			break
		}
		clock.Advance(time.Minute)
	}
	for _, id := range ids {
		d := getDelivery(t, s, id)
		if d.State != store.DeliveryDelivered {
			t.Errorf("delivery %s is %s after %d attempts (next %s, %q); want delivered after the receiver came back",
				id, d.State, d.Attempts, d.NextAttemptAt, d.LastError)
			continue
		}
		last := d.Log[len(d.Log)-1].At
		if last.Before(up) || last.Sub(up) > notify.DefaultMaxDelay+time.Minute {
			t.Errorf("delivery %s delivered at %s, %s after the receiver came back; want within the backoff cap %s",
				id, last, last.Sub(up), notify.DefaultMaxDelay)
		}
	}
}
