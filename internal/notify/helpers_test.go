package notify_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/notify"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/pgtest"
	"github.com/escalated/escalated/internal/store/postgres"
	"github.com/escalated/escalated/internal/store/sqlite"
)

// waitFor bounds every wait in these tests.
const waitFor = 20 * time.Second

func openStore(t testing.TB, path string) *sqlite.DB {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "escalated.db")
	}
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open SQLite store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// The stores the dispatcher is tested on. The outbox claim is written twice (SQLite's single
// writer, PostgreSQL's SKIP LOCKED), so the delivery guarantees are checked on both.
const (
	kindSQLite   = "sqlite"
	kindPostgres = "postgres"
)

var storeKinds = []string{kindSQLite, kindPostgres}

// onBothStores runs fn as a parallel subtest "sqlite" on a SQLite file and "postgres" on a
// PostgreSQL schema; the latter skips unless ESCALATED_TEST_POSTGRES is set. Every call of open
// returns a fresh, empty store that closes when its test ends.
func onBothStores(t *testing.T, fn func(t *testing.T, open func(t *testing.T) store.Store)) {
	t.Helper()
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			if kind == kindPostgres {
				postgresURL(t) // skip before fn starts receivers and dispatchers
			}
			t.Parallel()
			fn(t, func(t *testing.T) store.Store { return freshStore(t, kind).open(t) })
		})
	}
}

// storeAt says where a test's store lives, so that it can be opened again: by the test after a
// restart, or by a child process given kind and place in its environment.
type storeAt struct {
	kind string
	// place is the SQLite file, or the PostgreSQL schema on ESCALATED_TEST_POSTGRES.
	place string
}

// freshStore returns an unused place of kind, removed when the test ends (the schema is dropped
// after the stores opened on it closed: cleanups run last-in first-out).
func freshStore(t testing.TB, kind string) storeAt {
	t.Helper()
	if kind == kindPostgres {
		return storeAt{kind, freshSchema(t)}
	}
	return storeAt{kind, filepath.Join(t.TempDir(), "escalated.db")}
}

// open opens (creating if need be) the store at a and closes it when the test ends.
func (a storeAt) open(t testing.TB) store.Store {
	t.Helper()
	switch a.kind {
	case kindSQLite:
		return openStore(t, a.place)
	case kindPostgres:
		db, err := postgres.Open(context.Background(), postgresURL(t), postgres.WithSchema(a.place))
		if err != nil {
			t.Fatalf("open PostgreSQL store on schema %s: %v", a.place, err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	t.Fatalf("unknown store kind %q", a.kind)
	return nil
}

// createTicket stores a ticket, which deliveries reference.
func createTicket(t testing.TB, s store.Store) *escalated.Ticket {
	t.Helper()
	now := escalated.Truncate(time.Now())
	tk := &escalated.Ticket{
		ID: escalated.NewID(escalated.PrefixTicket, now), Subject: "SSO login loops", Status: escalated.StatusOpen,
		Priority: escalated.PriorityHigh, Channel: escalated.ChannelChat, Team: "integrations", Tier: "t2",
		Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.Update(context.Background(), func(tx store.Tx) error { return tx.CreateTicket(context.Background(), tk) }); err != nil {
		t.Fatalf("create ticket: %v", err)
	}
	return tk
}

// escalationEvent is an escalation.created event of tk with a handoff summary in its payload.
func escalationPayload(t testing.TB, tk *escalated.Ticket, seq int64) (*escalated.Event, []byte) {
	t.Helper()
	now := escalated.Truncate(time.Now())
	ev := &escalated.Event{ID: escalated.NewID(escalated.PrefixEvent, now), TicketID: tk.ID, Seq: seq,
		Type: escalated.EventEscalationCreated, Actor: "agent:ana", CreatedAt: now,
		Data: map[string]any{"escalation_id": "esc_1", "from_team": "frontline", "to_team": "integrations",
			"reason": "complexity", "note": "Customer's SSO loops after the IdP change; logs attached", "seq": seq}}
	esc := &escalated.Escalation{ID: "esc_1", TicketID: tk.ID, FromTeam: "frontline", ToTeam: "integrations",
		Reason: escalated.ReasonComplexity, Trigger: escalated.TriggerManual,
		Note: "Customer's SSO loops after the IdP change; logs attached",
		Package: &escalated.Package{CustomerTier: "enterprise", Completeness: 0.75,
			Account:         &escalated.Account{ID: "acc_1", Name: "Globex"},
			OriginalMessage: &escalated.PackageMessage{Body: "Every login sends me back to the start <again> & again"},
			Recommendation:  &escalated.Recommendation{Text: "Check the SAML audience URI"}}}
	b, err := notify.BuildPayload(ev, tk, esc)
	if err != nil {
		t.Fatal(err)
	}
	return ev, b
}

// enqueue commits one pending delivery of ev to channel and returns it.
func enqueue(t testing.TB, s store.Store, tk *escalated.Ticket, channel string, seq int64) *store.Delivery {
	t.Helper()
	ev, payload := escalationPayload(t, tk, seq)
	now := escalated.Truncate(time.Now())
	d := &store.Delivery{ID: escalated.NewID(escalated.PrefixDelivery, now), TicketID: tk.ID, Seq: seq, Channel: channel,
		EventType: ev.Type, EventID: ev.ID, Payload: payload, State: store.DeliveryPending,
		NextAttemptAt: now, CreatedAt: now, QueuedAt: now}
	// As the ticket service does: the delivery is written with the event that causes it, whose
	// announcement after the commit is what wakes the dispatcher.
	if err := s.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.AppendEvent(context.Background(), ev); err != nil {
			return err
		}
		return tx.EnqueueDelivery(context.Background(), d)
	}); err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	return d
}

func getDelivery(t testing.TB, s store.Store, id string) *store.Delivery {
	t.Helper()
	var d *store.Delivery
	if err := s.View(context.Background(), func(tx store.Tx) error {
		var err error
		d, err = tx.GetDelivery(context.Background(), id)
		return err
	}); err != nil {
		t.Fatalf("get delivery: %v", err)
	}
	return d
}

// waitState waits until the delivery reaches state.
func waitState(t testing.TB, s store.Store, id string, state store.DeliveryState) *store.Delivery {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		d := getDelivery(t, s, id)
		if d.State == state {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s is %s after %s (attempts %d, last error %q), want %s", id, d.State, waitFor, d.Attempts, d.LastError, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startDispatcher runs a dispatcher for cfg until the test ends.
func startDispatcher(t testing.TB, cfg notify.Config) *notify.Dispatcher {
	t.Helper()
	d, err := notify.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after its context was cancelled, want nil", err)
			}
		case <-time.After(waitFor):
			t.Errorf("Run did not return within %s of its context being cancelled", waitFor)
		}
	})
	return d
}

func channels(cs ...notify.Channel) func() []notify.Channel {
	return func() []notify.Channel { return cs }
}

// receiver is a real HTTP server on a loopback port that records every request.
type receiver struct {
	URL string
	mu  sync.Mutex
	got []received
	// answer decides the response to the n-th request (0-based).
	answer func(n int, r received, w http.ResponseWriter)
	srv    *http.Server
}

type received struct {
	Header http.Header
	Body   []byte
	At     time.Time
}

func startReceiver(t testing.TB, answer func(n int, r received, w http.ResponseWriter)) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{URL: "http://" + ln.Addr().String() + "/hook", answer: answer}
	rc.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 0, 1024)
		buf := make([]byte, 4096)
		for {
			n, err := r.Body.Read(buf)
			body = append(body, buf[:n]...)
			if err != nil {
				break
			}
		}
		rec := received{Header: r.Header.Clone(), Body: body, At: time.Now()}
		rc.mu.Lock()
		n := len(rc.got)
		rc.got = append(rc.got, rec)
		rc.mu.Unlock()
		if rc.answer == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		rc.answer(n, rec, w)
	})}
	go rc.srv.Serve(ln)
	t.Cleanup(func() { rc.srv.Close() })
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// waitRequests waits until the receiver has had n requests.
func (rc *receiver) waitRequests(t testing.TB, n int) []received {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		got := rc.requests()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("receiver got %d requests in %s, want %d", len(got), waitFor, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func decodeJSON(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, b)
	}
	return m
}

// freshSchema is a schema of the test's own on the test server (skipping without one).
func freshSchema(t testing.TB) string {
	return pgtest.FreshSchema(t, "the dispatcher tests", "escalated_notify_test")
}

// postgresURL is the test server's URL (skipping without one).
func postgresURL(t testing.TB) string { return pgtest.URL(t, "these tests") }
