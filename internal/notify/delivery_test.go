package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/notify"
	"github.com/escalated/escalated/internal/notify/webhook"
	"github.com/escalated/escalated/internal/store"
)

const secret = "whsec_test_0123456789"

func env(name string) string {
	if name == "OPS_SECRET" {
		return secret
	}
	return ""
}

func opsChannel(url string) notify.Channel {
	return notify.Channel{ID: "ops", Type: notify.TypeWebhook, URL: url, SecretEnv: "OPS_SECRET"}
}

// fast retries keep the retry tests quick on the real clock.
var fast = notify.RetryPolicy{MinDelay: 10 * time.Millisecond, MaxDelay: 40 * time.Millisecond}

// verifyLikeAReceiver checks a request the way a receiver's own code would, without escalated's
// helpers: recompute HMAC-SHA256 over "<timestamp>.<raw body>" with the shared secret, compare
// in constant time, and check the timestamp is recent.
func verifyLikeAReceiver(h http.Header, body []byte) error {
	ts := h.Get("Escalated-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q is not unix seconds", ts)
	}
	if age := time.Since(time.Unix(sec, 0)); age > 5*time.Minute || age < -5*time.Minute {
		return fmt.Errorf("timestamp %s is %s away from now", ts, age)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := "v1=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(h.Get("Escalated-Signature")), []byte(want)) {
		return errors.New("signature mismatch")
	}
	return nil
}

// TestWebhookSignedDelivery: a loopback receiver gets the PRODUCT body and headers, and the
// signature verifies exactly as a receiver would check it; a wrong secret or a changed body
// does not.
func TestWebhookSignedDelivery(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		s := open(t)
		var verifyErr error
		rc := startReceiver(t, func(n int, r received, w http.ResponseWriter) {
			verifyErr = verifyLikeAReceiver(r.Header, r.Body)
			w.WriteHeader(http.StatusOK)
		})
		startDispatcher(t, notify.Config{Store: s, Channels: channels(opsChannel(rc.URL)),
			Senders: map[string]notify.Sender{notify.TypeWebhook: webhook.New(webhook.WithEnv(env))}})
		tk := createTicket(t, s)
		d := enqueue(t, s, tk, "ops", 3)
		got := waitState(t, s, d.ID, store.DeliveryDelivered)
		req := rc.waitRequests(t, 1)[0]
		if verifyErr != nil {
			t.Fatalf("receiver could not verify the signature: %v", verifyErr)
		}
		if h := req.Header; h.Get("Escalated-Event") != "escalation.created" || h.Get("Escalated-Delivery") != d.ID ||
			h.Get("Content-Type") != "application/json" {
			t.Errorf("headers = %v; want Escalated-Event escalation.created, Escalated-Delivery %s, JSON", h, d.ID)
		}
		if string(req.Body) != string(d.Payload) {
			t.Errorf("body differs from the stored payload:\n got %s\nwant %s", req.Body, d.Payload)
		}
		body := decodeJSON(t, req.Body)
		for _, k := range []string{"id", "type", "occurred_at", "data"} {
			if _, ok := body[k]; !ok {
				t.Errorf("body has no %q: %s", k, req.Body)
			}
		}
		data, _ := body["data"].(map[string]any)
		if data["ticket_id"] != tk.ID || data["team"] != tk.Team || data["tier"] != tk.Tier {
			t.Errorf("data = %v; want ticket_id, team and tier of the ticket", data)
		}
		if h, _ := data["handoff"].(map[string]any); h == nil || h["note"] == "" || h["original_message"] == "" {
			t.Errorf("escalation.created data carries no handoff summary: %v", data)
		}
		if got.Attempts != 1 || got.LastStatus != 200 || got.DeliveredAt == nil || len(got.Log) != 1 {
			t.Errorf("delivered row = %+v", got)
		}
		if err := webhook.Verify(secret, req.Header, req.Body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("webhook.Verify refused a good delivery: %v", err)
		}
		if err := webhook.Verify("another secret", req.Header, req.Body, time.Now(), 5*time.Minute); !errors.Is(err, webhook.ErrBadSignature) {
			t.Errorf("Verify with the wrong secret = %v, want ErrBadSignature", err)
		}
		tampered := append([]byte(nil), req.Body...)
		tampered[len(tampered)-2] ^= 1
		if err := verifyLikeAReceiver(req.Header, tampered); err == nil {
			t.Error("a changed body still verified")
		}
		if err := webhook.Verify(secret, req.Header, req.Body, time.Now().Add(time.Hour), 5*time.Minute); !errors.Is(err, webhook.ErrStale) {
			t.Errorf("Verify an hour later = %v, want ErrStale", err)
		}
	})
}

// TestWebhookRetriedAfter503: a receiver that fails twice with 503 and then recovers gets the
// delivery three times with the same idempotency key; every attempt is kept.
func TestWebhookRetriedAfter503(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		s := open(t)
		rc := startReceiver(t, func(n int, r received, w http.ResponseWriter) {
			if n < 2 {
				http.Error(w, "maintenance", http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusAccepted)
		})
		startDispatcher(t, notify.Config{Store: s, Channels: channels(opsChannel(rc.URL)), Retry: fast,
			Senders: map[string]notify.Sender{notify.TypeWebhook: webhook.New(webhook.WithEnv(env))}})
		d := enqueue(t, s, createTicket(t, s), "ops", 1)
		got := waitState(t, s, d.ID, store.DeliveryDelivered)
		reqs := rc.requests()
		if len(reqs) != 3 {
			t.Fatalf("receiver got %d requests, want 3 (503, 503, 202)", len(reqs))
		}
		for i, r := range reqs {
			if r.Header.Get("Escalated-Delivery") != d.ID {
				t.Errorf("attempt %d carried Escalated-Delivery %q, want %s", i+1, r.Header.Get("Escalated-Delivery"), d.ID)
			}
		}
		var statuses []int
		for _, a := range got.Log {
			statuses = append(statuses, a.Status)
		}
		if !slices.Equal(statuses, []int{503, 503, 202}) || got.Attempts != 3 {
			t.Errorf("attempt log statuses = %v (attempts %d), want [503 503 202]", statuses, got.Attempts)
		}
		if got.Log[0].Error == "" || got.Log[2].Error != "" {
			t.Errorf("attempt errors = %q, %q; want the 503's text kept and none for the success", got.Log[0].Error, got.Log[2].Error)
		}
	})
}

// TestWebhook400FailsForGood: a 400 is the receiver refusing the delivery itself; sending it
// again cannot help, so it is failed after one attempt and never retried.
func TestWebhook400FailsForGood(t *testing.T) {
	t.Parallel()
	s := openStore(t, "")
	rc := startReceiver(t, func(n int, r received, w http.ResponseWriter) {
		http.Error(w, `{"error":"unknown event"}`, http.StatusBadRequest)
	})
	startDispatcher(t, notify.Config{Store: s, Channels: channels(opsChannel(rc.URL)), Retry: fast,
		Senders: map[string]notify.Sender{notify.TypeWebhook: webhook.New(webhook.WithEnv(env))}})
	d := enqueue(t, s, createTicket(t, s), "ops", 1)
	got := waitState(t, s, d.ID, store.DeliveryFailed)
	time.Sleep(300 * time.Millisecond) // many times the retry delay: a retry would have happened
	if n := len(rc.requests()); n != 1 {
		t.Errorf("receiver got %d requests, want 1", n)
	}
	if got.Attempts != 1 || got.LastStatus != 400 || got.LastError == "" {
		t.Errorf("failed row = %+v", got)
	}
}

// TestWebhookDeadAfterMaxAttempts: a receiver that keeps failing makes the delivery dead after
// MaxAttempts, each attempt logged; a retry through the service sends it again.
func TestWebhookDeadAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	s := openStore(t, "")
	var down atomic.Bool
	down.Store(true)
	rc := startReceiver(t, func(n int, r received, w http.ResponseWriter) {
		if down.Load() {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	retry := fast
	retry.MaxAttempts = 4
	disp := startDispatcher(t, notify.Config{Store: s, Channels: channels(opsChannel(rc.URL)), Retry: retry,
		Senders: map[string]notify.Sender{notify.TypeWebhook: webhook.New(webhook.WithEnv(env))}})
	d := enqueue(t, s, createTicket(t, s), "ops", 1)
	got := waitState(t, s, d.ID, store.DeliveryDead)
	if got.Attempts != 4 || len(got.Log) != 4 || got.LastStatus != 502 {
		t.Errorf("dead row: attempts %d, log %d, last status %d; want 4, 4, 502", got.Attempts, len(got.Log), got.LastStatus)
	}
	down.Store(false)
	svc := notify.NewService(s, time.Now, disp.Kick)
	ctx := escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "lead", Role: escalated.RoleSupervisor})
	if _, err := svc.RetryDelivery(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	got = waitState(t, s, d.ID, store.DeliveryDelivered)
	if len(got.Log) != 5 || got.Attempts != 1 {
		t.Errorf("after the retry: log %d, attempts %d; want the 4 old attempts kept plus 1", len(got.Log), got.Attempts)
	}
	agent := escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "ana", Role: escalated.RoleAgent})
	if _, _, err := svc.ListDeliveries(agent, store.DeliveryFilter{}); escalated.ErrorCode(err) != escalated.EFORBIDDEN {
		t.Errorf("an agent listing deliveries got %v, want forbidden", err)
	}
}

// TestWebhook429HonoursRetryAfter (fake clock): a 429 with Retry-After: 120 is tried again
// 120 s later, not sooner, whatever the backoff would have said.
func TestWebhook429HonoursRetryAfter(t *testing.T) {
	t.Parallel()
	s := openStore(t, "")
	// Ahead of the real clock, so the delivery enqueued on the real clock is due at once.
	clock := clockwork.NewFakeClockAt(time.Now().Add(time.Second))
	rc := startReceiver(t, func(n int, r received, w http.ResponseWriter) {
		if n == 0 {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	attempts := make(chan *store.Delivery, 10)
	startDispatcher(t, notify.Config{Store: s, Channels: channels(opsChannel(rc.URL)), Clock: clock,
		Senders:   map[string]notify.Sender{notify.TypeWebhook: webhook.New(webhook.WithEnv(env), webhook.WithClock(clock.Now))},
		OnAttempt: func(d *store.Delivery) { c := *d; attempts <- &c }})
	d := enqueue(t, s, createTicket(t, s), "ops", 1)
	var first *store.Delivery
	select {
	case first = <-attempts:
	case <-time.After(waitFor):
		t.Fatal("no first attempt")
	}
	if first.State != store.DeliveryPending || first.LastStatus != 429 {
		t.Fatalf("after the 429: state %s status %d, want pending 429", first.State, first.LastStatus)
	}
	at := first.Log[0].At
	if want := at.Add(120 * time.Second); !first.NextAttemptAt.Equal(want) {
		t.Errorf("next attempt at %s, want Retry-After's %s", first.NextAttemptAt, want)
	}
	clock.Advance(119 * time.Second)
	time.Sleep(200 * time.Millisecond)
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("receiver got %d requests 119 s after the 429, want 1", n)
	}
	clock.Advance(time.Second)
	got := waitState(t, s, d.ID, store.DeliveryDelivered)
	if len(got.Log) != 2 || got.Log[1].At.Sub(at) != 120*time.Second {
		t.Errorf("attempts at %v, want the second 120 s after the first", got.Log)
	}
}

// TestNoDeliveryBeforeCommit: a delivery enqueued inside a transaction is invisible to the
// dispatcher until the commit, and one whose transaction fails is never sent.
func TestNoDeliveryBeforeCommit(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		s := open(t)
		rc := startReceiver(t, nil)
		disp := startDispatcher(t, notify.Config{Store: s, Channels: channels(opsChannel(rc.URL)),
			Senders: map[string]notify.Sender{notify.TypeWebhook: webhook.New(webhook.WithEnv(env))}})
		tk := createTicket(t, s)
		_, payload := escalationPayload(t, tk, 1)
		now := escalated.Truncate(time.Now())
		rolledBack := &store.Delivery{ID: escalated.NewID(escalated.PrefixDelivery, now), TicketID: tk.ID, Seq: 1, Channel: "ops",
			EventType: "escalation.created", EventID: "evt_1", Payload: payload, State: store.DeliveryPending,
			NextAttemptAt: now, CreatedAt: now, QueuedAt: now}
		errBoom := errors.New("the change failed after enqueueing")
		err := s.Update(context.Background(), func(tx store.Tx) error {
			if err := tx.EnqueueDelivery(context.Background(), rolledBack); err != nil {
				return err
			}
			// The dispatcher is awake and looking while the transaction is open.
			disp.Kick()
			time.Sleep(200 * time.Millisecond)
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("Update = %v, want the fn's error", err)
		}
		disp.Kick()
		time.Sleep(300 * time.Millisecond)
		if n := len(rc.requests()); n != 0 {
			t.Fatalf("receiver got %d requests for a rolled-back delivery, want 0", n)
		}
		// A committed one goes out, and it is the only request.
		d := enqueue(t, s, tk, "ops", 2)
		waitState(t, s, d.ID, store.DeliveryDelivered)
		reqs := rc.requests()
		if len(reqs) != 1 || reqs[0].Header.Get("Escalated-Delivery") != d.ID {
			t.Errorf("receiver got %d requests, want only the committed delivery %s", len(reqs), d.ID)
		}
	})
}

// TestOrderPerTicket: with many workers and a receiver of varying speed, each ticket's
// deliveries to a channel arrive in seq order, one at a time.
func TestOrderPerTicket(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		s := open(t)
		rc := startReceiver(t, func(n int, r received, w http.ResponseWriter) {
			time.Sleep(time.Duration(n%3) * 5 * time.Millisecond)
			if n%7 == 3 {
				w.WriteHeader(http.StatusServiceUnavailable) // a failure must not let a later one overtake
				return
			}
			w.WriteHeader(http.StatusOK)
		})
		startDispatcher(t, notify.Config{Store: s, Channels: channels(opsChannel(rc.URL)), Workers: 8, Retry: fast,
			Senders: map[string]notify.Sender{notify.TypeWebhook: webhook.New(webhook.WithEnv(env))}})
		const tickets, per = 4, 10
		var last []*store.Delivery
		for range tickets {
			tk := createTicket(t, s)
			for seq := int64(1); seq <= per; seq++ {
				last = append(last, enqueue(t, s, tk, "ops", seq))
			}
		}
		for _, d := range last {
			waitState(t, s, d.ID, store.DeliveryDelivered)
		}
		// Requests arrive in the order the receiver saw them; a retried delivery repeats its seq,
		// and the next seq of a ticket may only come after it.
		seen := map[string]float64{}
		for _, r := range rc.requests() {
			data := decodeJSON(t, r.Body)["data"].(map[string]any)
			tk, seq := data["ticket_id"].(string), data["seq"].(float64)
			if seq < seen[tk] || seq > seen[tk]+1 {
				t.Errorf("ticket %s: seq %v arrived right after seq %v", tk, seq, seen[tk])
			}
			seen[tk] = seq
		}
		if len(seen) != tickets {
			t.Errorf("deliveries of %d tickets arrived, want %d", len(seen), tickets)
		}
	})
}
