package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/pgtest"
	"github.com/escalated/escalated/internal/store/storetest"
)

// mustOpen opens a store on schema and closes it when the test ends.
func mustOpen(t testing.TB, schema string, opts ...Option) *DB {
	t.Helper()
	db, err := Open(context.Background(), testURL(t), append([]Option{WithSchema(schema)}, opts...)...)
	if err != nil {
		t.Fatalf("Open(schema %s): %v", schema, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	testURL(t)
	storetest.Run(t, func(t *testing.T) store.Store { return mustOpen(t, freshSchema(t)) })
}

func newTicket(now time.Time) *escalated.Ticket {
	return &escalated.Ticket{
		ID: escalated.NewID(escalated.PrefixTicket, now), Subject: "help", Status: escalated.StatusNew,
		Priority: escalated.PriorityNormal, Channel: escalated.ChannelChat, Team: "frontline",
		Version: 1, CreatedAt: now, UpdatedAt: now,
	}
}

// createTicket stores tk with its ticket.created event (seq 1, so tk.Version must be 1).
func createTicket(ctx context.Context, db *DB, tk *escalated.Ticket) error {
	return db.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateTicket(ctx, tk); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, &escalated.Event{ID: escalated.NewID(escalated.PrefixEvent, tk.CreatedAt),
			TicketID: tk.ID, Seq: 1, Type: escalated.EventTicketCreated, Actor: "system", CreatedAt: tk.CreatedAt})
	})
}

func ticketExists(t *testing.T, db *DB, id string) bool {
	t.Helper()
	err := db.View(t.Context(), func(tx store.Tx) error { _, err := tx.GetTicket(t.Context(), id); return err })
	switch escalated.ErrorCode(err) {
	case "":
		return true
	case escalated.ENOTFOUND:
		return false
	}
	t.Fatalf("GetTicket %s: %v", id, err)
	return false
}

// bump is one read-modify-write of a ticket as services do it: read (and lock), change, write
// with the version read, append the event that takes the new version.
func bump(ctx context.Context, tx store.Tx, id string) error {
	tk, err := tx.GetTicket(ctx, id)
	if err != nil {
		return err
	}
	prev := tk.Version
	tk.Version++
	tk.Counters.Messages++
	tk.UpdatedAt = time.Now()
	if err := tx.UpdateTicket(ctx, tk, prev); err != nil {
		return err
	}
	return tx.AppendEvent(ctx, &escalated.Event{ID: escalated.NewID(escalated.PrefixEvent, tk.UpdatedAt),
		TicketID: id, Seq: tk.Version, Type: escalated.EventTicketUpdated, Actor: "system", CreatedAt: tk.UpdatedAt})
}

// receiveWithin reads one change or fails after d.
func receiveWithin(t *testing.T, ch <-chan store.Change, d time.Duration) store.Change {
	t.Helper()
	select {
	case c, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed")
		}
		return c
	case <-time.After(d):
		t.Fatalf("no change received within %s", d)
	}
	return store.Change{}
}

func TestTwoNodesHearEachOther(t *testing.T) {
	schema := freshSchema(t)
	a, b := mustOpen(t, schema), mustOpen(t, schema)
	ctx := t.Context()
	subA, err := a.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	subB, err := b.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tk := newTicket(time.Now())
	if err := createTicket(ctx, a, tk); err != nil {
		t.Fatal(err)
	}
	want := store.Change{TicketID: tk.ID, Seq: 1, Type: escalated.EventTicketCreated}
	// Node b hears a's commit, and a hears its own the same way, through PostgreSQL.
	if got := receiveWithin(t, subB, time.Second); got != want {
		t.Errorf("node b received %+v, want %+v", got, want)
	}
	if got := receiveWithin(t, subA, time.Second); got != want {
		t.Errorf("node a received %+v, want %+v", got, want)
	}
	// And the other way round.
	if err := b.Update(ctx, func(tx store.Tx) error { return bump(ctx, tx, tk.ID) }); err != nil {
		t.Fatal(err)
	}
	want = store.Change{TicketID: tk.ID, Seq: 2, Type: escalated.EventTicketUpdated}
	for name, sub := range map[string]<-chan store.Change{"a": subA, "b": subB} {
		if got := receiveWithin(t, sub, time.Second); got != want {
			t.Errorf("node %s received %+v, want %+v", name, got, want)
		}
	}
}

func TestSchemasDoNotHearEachOther(t *testing.T) {
	a, b := mustOpen(t, freshSchema(t)), mustOpen(t, freshSchema(t))
	if a.channel == b.channel {
		t.Fatalf("two schemas share the channel %s", a.channel)
	}
	ctx := t.Context()
	subB, err := b.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := createTicket(ctx, a, newTicket(time.Now())); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-subB:
		t.Errorf("a store on another schema received %+v", c)
	case <-time.After(300 * time.Millisecond):
	}
}

func TestChannelName(t *testing.T) {
	long := strings.Repeat("x", 60)
	for _, tc := range []struct{ schema, want string }{
		{"public", "escalated_changes_public"},
		{"escalated_test_0a1b", "escalated_changes_escalated_test_0a1b"},
	} {
		if got := channelName(tc.schema); got != tc.want {
			t.Errorf("channelName(%q) = %q, want %q", tc.schema, got, tc.want)
		}
	}
	for _, s := range []string{long, "Tenant A", `we"ird`} {
		got := channelName(s)
		if len(got) > 63 || got != channelName(s) || !plainName.MatchString(got) {
			t.Errorf("channelName(%q) = %q: want a stable plain name of at most 63 bytes", s, got)
		}
	}
	if channelName("Tenant A") == channelName("tenant a") {
		t.Error("schemas that differ in case share a channel")
	}
}

func TestListenerReconnects(t *testing.T) {
	db := mustOpen(t, freshSchema(t))
	ctx := t.Context()
	sub, err := db.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The server ends the listener's session, as a restart or a network cut would.
	if _, err := db.Pool().Exec(ctx, `SELECT pg_terminate_backend($1)`, db.listener.pid()); err != nil {
		t.Fatal(err)
	}
	if got := receiveWithin(t, sub, 5*time.Second); !got.Lagged {
		t.Fatalf("first change after the listener's connection was cut: %+v, want Lagged", got)
	}
	if n := db.listener.reconnects.Load(); n != 1 {
		t.Errorf("%d reconnects, want 1", n)
	}
	tk := newTicket(time.Now())
	if err := createTicket(ctx, db, tk); err != nil {
		t.Fatal(err)
	}
	want := store.Change{TicketID: tk.ID, Seq: 1, Type: escalated.EventTicketCreated}
	if got := receiveWithin(t, sub, time.Second); got != want {
		t.Errorf("after reconnecting: received %+v, want %+v", got, want)
	}
}

// withListenIdleCheck shortens the listener's idle check.
func withListenIdleCheck(d time.Duration) Option { return func(c *config) { c.listenIdle = d } }

func TestListenerSurvivesIdleChecks(t *testing.T) {
	// An idle check interrupts the wait with a deadline and pings; the connection must survive
	// it, or every quiet period would cost a reconnect and a Lagged marker.
	db := mustOpen(t, freshSchema(t), withListenIdleCheck(20*time.Millisecond))
	ctx := t.Context()
	sub, err := db.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // a dozen idle checks
	tk := newTicket(time.Now())
	if err := createTicket(ctx, db, tk); err != nil {
		t.Fatal(err)
	}
	want := store.Change{TicketID: tk.ID, Seq: 1, Type: escalated.EventTicketCreated}
	if got := receiveWithin(t, sub, time.Second); got != want {
		t.Errorf("received %+v, want %+v", got, want)
	}
	if n := db.listener.reconnects.Load(); n != 0 {
		t.Errorf("%d reconnects while idle, want 0", n)
	}
}

func TestConcurrentOpensMigrateOnce(t *testing.T) {
	schema := freshSchema(t) // does not exist yet: every Open wants to create it
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	const nodes = 4
	dbs := make([]*DB, nodes)
	errs := make([]error, nodes)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			dbs[i], errs[i] = Open(context.Background(), testURL(t), WithSchema(schema))
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: Open: %v", i, err)
			continue
		}
		t.Cleanup(func() { dbs[i].Close() })
	}
	if t.Failed() {
		return
	}
	var rows int
	if err := dbs[0].Pool().QueryRow(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d: a migration was applied more than once or not at all", rows, len(ms))
	}
	for i, db := range dbs {
		if v, err := db.SchemaVersion(t.Context()); err != nil || v != len(ms) {
			t.Errorf("node %d: schema version %d (%v), want %d", i, v, err, len(ms))
		}
	}
}

func TestReopenIsIdempotent(t *testing.T) {
	schema := freshSchema(t)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	tk := newTicket(time.Now())
	for round := range 3 {
		db, err := Open(t.Context(), testURL(t), WithSchema(schema))
		if err != nil {
			t.Fatalf("open %d: %v", round, err)
		}
		if err := db.Migrate(t.Context()); err != nil {
			t.Fatalf("explicit Migrate %d: %v", round, err)
		}
		v, err := db.SchemaVersion(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var rows int
		if err := db.Pool().QueryRow(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if v != len(ms) || rows != len(ms) {
			t.Errorf("open %d: schema version %d with %d rows, want %d", round, v, rows, len(ms))
		}
		if round == 0 {
			if err := createTicket(t.Context(), db, tk); err != nil {
				t.Fatal(err)
			}
		} else if !ticketExists(t, db, tk.ID) {
			t.Errorf("open %d: ticket written before reopening is gone", round)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenUsesTheURLsSearchPath(t *testing.T) {
	// Without WithSchema the URL decides, as it does for `escalated serve --db postgres://...`.
	schema := freshSchema(t)
	mustOpen(t, schema) // creates the schema
	db, err := Open(t.Context(), testURL(t)+urlParamSep(testURL(t))+"search_path="+schema)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Schema() != schema || db.channel != channelName(schema) {
		t.Errorf("schema %q channel %q, want %q", db.Schema(), db.channel, schema)
	}
	_, err = Open(t.Context(), testURL(t)+urlParamSep(testURL(t))+"search_path=escalated_no_such_schema")
	if escalated.ErrorCode(err) != escalated.EINVALID || !strings.Contains(err.Error(), "search_path") {
		t.Errorf("Open with a search_path naming no schema: got %v, want invalid naming search_path", err)
	}
}

func urlParamSep(url string) string {
	if strings.Contains(url, "?") {
		return "&"
	}
	return "?"
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	schema := freshSchema(t)
	db := mustOpen(t, schema)
	if _, err := db.Pool().Exec(t.Context(), `INSERT INTO schema_migrations (version) VALUES (999)`); err != nil {
		t.Fatal(err)
	}
	if db, err := Open(t.Context(), testURL(t), WithSchema(schema)); err == nil {
		db.Close()
		t.Fatal("Open accepted a schema migrated by a newer build")
	} else if !strings.Contains(err.Error(), "999") {
		t.Errorf("error %q does not say which version the schema is at", err)
	}
}

func TestOpenRejectsBadInput(t *testing.T) {
	testURL(t)
	for name, open := range map[string]func() error{
		"empty url":   func() error { _, err := Open(t.Context(), ""); return err },
		"bad url":     func() error { _, err := Open(t.Context(), "postgres://a b@/%zz"); return err },
		"long schema": func() error { _, err := Open(t.Context(), testURL(t), WithSchema(strings.Repeat("s", 64))); return err },
	} {
		if err := open(); escalated.ErrorCode(err) != escalated.EINVALID {
			t.Errorf("%s: got %v, want invalid", name, err)
		}
	}
}

func TestTwoNodesReadModifyWriteLoseNoUpdate(t *testing.T) {
	// Two nodes, 20 callers, 200 read-modify-write Updates of one ticket. The row lock taken by
	// GetTicket makes them take turns: none may even see a conflict.
	schema := freshSchema(t)
	nodes := []*DB{mustOpen(t, schema), mustOpen(t, schema)}
	ctx := t.Context()
	tk := newTicket(time.Now())
	if err := createTicket(ctx, nodes[0], tk); err != nil {
		t.Fatal(err)
	}
	const callers, each = 20, 10
	var wg sync.WaitGroup
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := nodes[c%len(nodes)]
			for range each {
				if err := db.Update(ctx, func(tx store.Tx) error { return bump(ctx, tx, tk.ID) }); err != nil {
					t.Errorf("caller %d: %v", c, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	const n = callers * each
	err := nodes[1].View(ctx, func(tx store.Tx) error {
		got, err := tx.GetTicket(ctx, tk.ID)
		if err != nil {
			return err
		}
		if got.Counters.Messages != n || got.Version != 1+n {
			t.Errorf("counter %d version %d after %d updates, want %d and %d", got.Counters.Messages, got.Version, n, n, 1+n)
		}
		evs, err := tx.ListEvents(ctx, tk.ID)
		if err != nil {
			return err
		}
		if len(evs) != 1+n {
			t.Errorf("%d events, want %d", len(evs), 1+n)
		}
		for i, e := range evs {
			if e.Seq != int64(i+1) {
				t.Fatalf("event %d has seq %d: history has a gap or a repeat", i, e.Seq)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDeadlockIsRetried(t *testing.T) {
	// Two nodes lock tickets A and B in opposite orders. PostgreSQL aborts one of them as the
	// deadlock victim; Update runs its fn again and both changes commit.
	schema := freshSchema(t)
	n1, n2 := mustOpen(t, schema), mustOpen(t, schema)
	ctx := t.Context()
	a, b := newTicket(time.Now()), newTicket(time.Now().Add(time.Millisecond))
	for _, tk := range []*escalated.Ticket{a, b} {
		if err := createTicket(ctx, n1, tk); err != nil {
			t.Fatal(err)
		}
	}
	var holding sync.WaitGroup // both transactions hold their first lock
	holding.Add(2)
	var calls atomic.Int64
	run := func(db *DB, first, second string) error {
		var once sync.Once
		return db.Update(ctx, func(tx store.Tx) error {
			calls.Add(1)
			if err := bump(ctx, tx, first); err != nil {
				return err
			}
			// Only the first attempt waits: a retried fn must run straight through.
			once.Do(func() { holding.Done(); holding.Wait() })
			return bump(ctx, tx, second)
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- run(n1, a.ID, b.ID) }()
	go func() { errs <- run(n2, b.ID, a.ID) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("Update: %v", err)
		}
	}
	if got := calls.Load(); got < 3 {
		t.Errorf("fn ran %d times: one of the two should have been the deadlock victim and run again", got)
	}
	if r := n1.Retries() + n2.Retries(); r < 1 {
		t.Errorf("%d retries counted", r)
	}
	// Each ticket took exactly two bumps: the victim's first attempt left nothing behind.
	err := n1.View(ctx, func(tx store.Tx) error {
		for _, tk := range []*escalated.Ticket{a, b} {
			got, err := tx.GetTicket(ctx, tk.ID)
			if err != nil {
				return err
			}
			if got.Version != 3 || got.Counters.Messages != 2 {
				t.Errorf("ticket %s: version %d counter %d, want 3 and 2", tk.ID, got.Version, got.Counters.Messages)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	db := mustOpen(t, freshSchema(t))
	var calls atomic.Int64
	err := db.Update(t.Context(), func(stx store.Tx) error {
		calls.Add(1)
		// Stands for a transaction that is chosen as the deadlock victim every time.
		_, err := stx.(*tx).exec(t.Context(), `DO $$ BEGIN RAISE EXCEPTION 'victim' USING ERRCODE = 'deadlock_detected'; END $$`)
		return err
	})
	if escalated.ErrorCode(err) != escalated.ECONFLICT {
		t.Errorf("got %v, want conflict after the retries", err)
	}
	if got := calls.Load(); got != MaxAttempts {
		t.Errorf("fn ran %d times, want %d", got, MaxAttempts)
	}
}

func TestRetryEvenWhenFnSwallowsTheDeadlock(t *testing.T) {
	db := mustOpen(t, freshSchema(t))
	tk := newTicket(time.Now())
	var calls atomic.Int64
	err := db.Update(t.Context(), func(stx store.Tx) error {
		if calls.Add(1) == 1 {
			// A service that turns every error into its own: the store still knows.
			stx.(*tx).exec(t.Context(), `DO $$ BEGIN RAISE EXCEPTION 'victim' USING ERRCODE = 'serialization_failure'; END $$`)
			return errors.New("something else went wrong")
		}
		return stx.CreateTicket(t.Context(), tk)
	})
	if err != nil || calls.Load() != 2 || !ticketExists(t, db, tk.ID) {
		t.Errorf("Update returned %v after %d calls: want the second call to commit", err, calls.Load())
	}
}

// waitForLockWait waits until the backend pid is waiting for a lock.
func waitForLockWait(ctx context.Context, db *DB, pid uint32) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var wait *string
		if err := db.Pool().QueryRow(ctx, `SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&wait); err != nil {
			return err
		}
		if wait != nil && *wait == "Lock" {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("backend %d never waited for a lock", pid)
}

func TestEscalationAndTicketLockInOneOrder(t *testing.T) {
	// "Escalate further" reads the ticket and then its escalation; "acknowledge" reads the
	// escalation and then its ticket. GetEscalation locks the ticket first, so the two queue
	// behind each other instead of deadlocking: no fn runs twice.
	schema := freshSchema(t)
	n1, n2 := mustOpen(t, schema), mustOpen(t, schema)
	ctx := t.Context()
	tk := newTicket(time.Now())
	esc := &escalated.Escalation{ID: escalated.NewID(escalated.PrefixEscalation, time.Now()), TicketID: tk.ID,
		FromTeam: "frontline", ToTeam: "sso", State: escalated.EscalationPending, Version: 1, CreatedAt: time.Now()}
	if err := createTicket(ctx, n1, tk); err != nil {
		t.Fatal(err)
	}
	if err := n1.Update(ctx, func(tx store.Tx) error { return tx.CreateEscalation(ctx, esc) }); err != nil {
		t.Fatal(err)
	}
	ticketLocked, ackPID := make(chan struct{}), make(chan uint32, 1)
	var calls atomic.Int64
	escErr, ackErr := make(chan error, 1), make(chan error, 1)
	go func() { // escalate further: ticket, then escalation
		var once sync.Once
		escErr <- n1.Update(ctx, func(tx store.Tx) error {
			calls.Add(1)
			if _, err := tx.GetTicket(ctx, tk.ID); err != nil {
				return err
			}
			var waitErr error
			once.Do(func() {
				close(ticketLocked)
				// Let the other transaction ask for its first lock before this one asks for
				// its second.
				waitErr = waitForLockWait(ctx, n1, <-ackPID)
			})
			if waitErr != nil {
				return waitErr
			}
			e, err := tx.GetEscalation(ctx, esc.ID)
			if err != nil {
				return err
			}
			e.State, e.Version = escalated.EscalationEscalated, e.Version+1
			return tx.UpdateEscalation(ctx, e)
		})
	}()
	go func() { // acknowledge: escalation, then ticket
		<-ticketLocked
		var once sync.Once
		ackErr <- n2.Update(ctx, func(stx store.Tx) error {
			calls.Add(1)
			once.Do(func() { ackPID <- stx.(*tx).q.Conn().PgConn().PID() })
			e, err := stx.GetEscalation(ctx, esc.ID)
			if err != nil {
				return err
			}
			if _, err := stx.GetTicket(ctx, tk.ID); err != nil {
				return err
			}
			if e.State != escalated.EscalationPending {
				// What the service does when the other side won: a conflict for the loser.
				return escalated.Errorf(escalated.ECONFLICT, "escalation %s is %s", e.ID, e.State)
			}
			e.State, e.Version = escalated.EscalationAcknowledged, e.Version+1
			return stx.UpdateEscalation(ctx, e)
		})
	}()
	first, second := <-escErr, <-ackErr
	if first != nil {
		t.Errorf("escalate further: %v", first)
	}
	if escalated.ErrorCode(second) != escalated.ECONFLICT {
		t.Errorf("acknowledge after the escalation moved on: got %v, want the service's conflict", second)
	}
	if got := calls.Load(); got != 2 || n1.Retries()+n2.Retries() != 0 {
		t.Errorf("fn ran %d times with %d retries: the lock order should prevent any deadlock", got, n1.Retries()+n2.Retries())
	}
}

func TestSavePolicyFromTwoNodesAgrees(t *testing.T) {
	schema := freshSchema(t)
	nodes := []*DB{mustOpen(t, schema), mustOpen(t, schema)}
	ctx := t.Context()
	const each = 8
	versions := make(chan int64, len(nodes)*each)
	var wg sync.WaitGroup
	for i := range len(nodes) * each {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &escalated.PolicyVersion{Hash: "sha256:same", Source: "version: 1\n", Actor: fmt.Sprint("node-", i%2), CreatedAt: time.Now()}
			if err := nodes[i%2].Update(ctx, func(tx store.Tx) error { return tx.SavePolicy(ctx, p) }); err != nil {
				t.Error(err)
				return
			}
			versions <- p.Version
		}()
	}
	wg.Wait()
	close(versions)
	for v := range versions {
		if v != 1 {
			t.Errorf("a node saved the same text as version %d, want 1", v)
		}
	}
	var rows int
	if err := nodes[0].Pool().QueryRow(ctx, `SELECT count(*) FROM policy_versions`).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("%d policy versions stored (%v), want 1", rows, err)
	}
}

func TestCancelledAfterFnStartedWaitsForCommit(t *testing.T) {
	db := mustOpen(t, freshSchema(t))
	ctx, cancel := context.WithCancel(t.Context())
	tk := newTicket(time.Now())
	err := db.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateTicket(ctx, tk); err != nil {
			return err
		}
		// The caller gives up while its write is in flight; the next statement and the commit
		// must not be interrupted.
		cancel()
		return tx.AppendEvent(ctx, &escalated.Event{ID: escalated.NewID(escalated.PrefixEvent, time.Now()),
			TicketID: tk.ID, Seq: 1, Type: escalated.EventTicketCreated, CreatedAt: time.Now()})
	})
	if err != nil {
		t.Fatalf("Update whose context ended after fn started: %v (its writes committed, so it must report success)", err)
	}
	if !ticketExists(t, db, tk.ID) {
		t.Fatal("write missing")
	}
}

func TestPanicInUpdateIsAnInternalError(t *testing.T) {
	db := mustOpen(t, freshSchema(t))
	tk := newTicket(time.Now())
	err := db.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.CreateTicket(t.Context(), tk); err != nil {
			return err
		}
		panic("bug in a service")
	})
	if escalated.ErrorCode(err) != escalated.EINTERNAL || !strings.Contains(err.Error(), "bug in a service") {
		t.Errorf("got %v, want an internal error naming the panic", err)
	}
	if ticketExists(t, db, tk.ID) {
		t.Error("the panicking Update's write was committed")
	}
	if err := createTicket(t.Context(), db, newTicket(time.Now())); err != nil {
		t.Errorf("Update after the panic: %v", err)
	}
}

func TestClosedStoreRefusesWork(t *testing.T) {
	db := mustOpen(t, freshSchema(t))
	sub, err := db.Subscribe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-sub; ok {
		t.Error("subscription still open after Close")
	}
	for name, err := range map[string]error{
		"Update": db.Update(t.Context(), func(store.Tx) error { return nil }),
		"View":   db.View(t.Context(), func(store.Tx) error { return nil }),
	} {
		if escalated.ErrorCode(err) != escalated.EINTERNAL || !strings.Contains(err.Error(), "store closed") {
			t.Errorf("%s after Close: got %v, want internal \"store closed\"", name, err)
		}
	}
	if _, err := db.Subscribe(t.Context()); err == nil {
		t.Error("Subscribe after Close succeeded")
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestTxUnusableAfterFnReturns(t *testing.T) {
	db := mustOpen(t, freshSchema(t))
	ctx := t.Context()
	var kept store.Tx
	if err := db.Update(ctx, func(tx store.Tx) error { kept = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := kept.CreateTicket(ctx, newTicket(time.Now())); escalated.ErrorCode(err) != escalated.EINTERNAL {
		t.Errorf("write through a Tx kept after fn returned: got %v, want an internal error", err)
	}
	if err := db.View(ctx, func(tx store.Tx) error { kept = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := kept.GetTicket(ctx, "tkt_x"); escalated.ErrorCode(err) != escalated.EINTERNAL {
		t.Errorf("read through a Tx kept after View: got %v, want an internal error", err)
	}
}

func TestViewIsReadOnly(t *testing.T) {
	db := mustOpen(t, freshSchema(t))
	err := db.View(t.Context(), func(tx store.Tx) error { return tx.CreateTicket(t.Context(), newTicket(time.Now())) })
	if err == nil {
		t.Fatal("a write inside View succeeded")
	}
}

func TestAuditIsAppendOnly(t *testing.T) {
	db := mustOpen(t, freshSchema(t))
	ctx := t.Context()
	a := &escalated.AuditRecord{ID: escalated.NewID(escalated.PrefixAudit, time.Now()), Actor: "system", Action: "x", CreatedAt: time.Now()}
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.AppendAudit(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{`UPDATE audit SET actor = 'mallory'`, `DELETE FROM audit`, `TRUNCATE audit`} {
		if _, err := db.Pool().Exec(ctx, stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s on the append-only audit table: got %v, want refused", stmt, err)
		}
	}
}

func TestEverEscalatedIsGenerated(t *testing.T) {
	db := mustOpen(t, freshSchema(t))
	tk := newTicket(time.Now())
	if err := createTicket(t.Context(), db, tk); err != nil {
		t.Fatal(err)
	}
	_, err := db.Pool().Exec(t.Context(), `UPDATE tickets SET ever_escalated = true WHERE id = $1`, tk.ID)
	if err == nil {
		t.Error("ever_escalated could be written directly")
	}
}

func TestInterpretError(t *testing.T) {
	db := mustOpen(t, freshSchema(t))
	ctx := t.Context()
	other := errors.New("disk on fire")
	if got := interpretError(other); got != other {
		t.Errorf("a non-PostgreSQL error was changed to %v", got)
	}
	if interpretError(nil) != nil {
		t.Error("nil became an error")
	}
	if got := escalated.ErrorCode(interpretError(fmt.Errorf("wrapped: %w", pgx.ErrNoRows))); got != escalated.ENOTFOUND {
		t.Errorf("no rows interpreted as %s, want not_found", got)
	}
	for _, tc := range []struct {
		name, setup, stmt, code, says string
	}{
		{"primary key", `CREATE TABLE x (id text PRIMARY KEY)`, `INSERT INTO x VALUES ('a'), ('a')`, escalated.ECONFLICT, "already exists"},
		{"unique", `CREATE TABLE y (id serial PRIMARY KEY, h text UNIQUE)`, `INSERT INTO y (h) VALUES ('a'), ('a')`, escalated.ECONFLICT, "already exists"},
		{"foreign key", `CREATE TABLE z (t text REFERENCES tickets (id))`, `INSERT INTO z VALUES ('tkt_missing')`, escalated.ENOTFOUND, "tickets tkt_missing not found"},
		{"check", `CREATE TABLE c (n int CHECK (n > 0))`, `INSERT INTO c VALUES (0)`, escalated.EINVALID, "invalid value"},
		{"not null", `CREATE TABLE nn (n int NOT NULL)`, `INSERT INTO nn VALUES (NULL)`, escalated.EINVALID, "invalid value"},
		{"NUL in jsonb", ``, `SELECT '"\u0000"'::jsonb`, escalated.EINVALID, "cannot be stored"},
		{"other", ``, `SELECT * FROM no_such_table`, escalated.EINTERNAL, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != "" {
				if _, err := db.Pool().Exec(ctx, tc.setup); err != nil {
					t.Fatal(err)
				}
			}
			_, err := db.Pool().Exec(ctx, tc.stmt)
			if err == nil {
				t.Fatal("statement did not fail")
			}
			got := interpretError(err)
			if code := escalated.ErrorCode(got); code != tc.code {
				t.Errorf("%v interpreted as %s, want %s", err, code, tc.code)
			}
			if !strings.Contains(got.Error(), tc.says) {
				t.Errorf("message %q does not say %q", got, tc.says)
			}
		})
	}
}

func TestValuesPostgresCannotHoldAreInvalid(t *testing.T) {
	// SQLite stores a NUL byte; PostgreSQL text and jsonb cannot. The caller learns it as
	// invalid, not as an internal error, and reads by such an id find nothing.
	db := mustOpen(t, freshSchema(t))
	ctx := t.Context()
	for name, mod := range map[string]func(*escalated.Ticket){
		"NUL in text":  func(tk *escalated.Ticket) { tk.Subject = "a\x00b" },
		"NUL in jsonb": func(tk *escalated.Ticket) { tk.CustomFields = map[string]any{"x": "a\x00b"} },
		"bad UTF-8":    func(tk *escalated.Ticket) { tk.Subject = "a\xffb" },
	} {
		tk := newTicket(time.Now())
		mod(tk)
		err := db.Update(ctx, func(tx store.Tx) error { return tx.CreateTicket(ctx, tk) })
		if escalated.ErrorCode(err) != escalated.EINVALID {
			t.Errorf("%s: got %v, want invalid", name, err)
		}
	}
	err := db.View(ctx, func(tx store.Tx) error { _, err := tx.GetTicket(ctx, "tkt_\x00"); return err })
	if escalated.ErrorCode(err) != escalated.ENOTFOUND {
		t.Errorf("GetTicket of an id with a NUL byte: got %v, want not_found", err)
	}
}

func TestRawInsertMessages(t *testing.T) {
	db := mustOpen(t, freshSchema(t))
	ctx := t.Context()
	sub, err := db.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tk := newTicket(time.Now())
	if err := createTicket(ctx, db, tk); err != nil {
		t.Fatal(err)
	}
	receiveWithin(t, sub, time.Second) // ticket.created
	var msgs []*escalated.Message
	for i := range 250 {
		now := time.Now().Add(time.Duration(i) * time.Millisecond)
		msgs = append(msgs, &escalated.Message{ID: escalated.NewID(escalated.PrefixMessage, now), TicketID: tk.ID,
			Seq: int64(i + 2), Author: escalated.Author{Kind: escalated.AuthorCustomer, ID: "c1"}, Body: fmt.Sprint("message ", i), CreatedAt: now})
	}
	if err := db.RawInsertMessages(ctx, msgs, 100); err != nil {
		t.Fatal(err)
	}
	err = db.View(ctx, func(tx store.Tx) error {
		got, err := tx.ListMessages(ctx, tk.ID)
		if err != nil {
			return err
		}
		evs, err := tx.ListEvents(ctx, tk.ID)
		if err != nil {
			return err
		}
		if len(got) != len(msgs) || len(evs) != len(msgs)+1 {
			t.Errorf("%d messages and %d events, want %d and %d", len(got), len(evs), len(msgs), len(msgs)+1)
		}
		for _, e := range evs[1:] {
			if e.Message == nil || e.Message.Seq != e.Seq || e.Actor != "customer:c1" {
				t.Errorf("event %d: message %+v actor %q", e.Seq, e.Message, e.Actor)
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A duplicate rolls back its own batch only, and leaves the connection usable.
	dup := []*escalated.Message{msgs[0]}
	now := time.Now().Add(time.Hour)
	fresh := &escalated.Message{ID: escalated.NewID(escalated.PrefixMessage, now), TicketID: tk.ID, Seq: 1000,
		Author: escalated.Author{Kind: escalated.AuthorSystem}, CreatedAt: now}
	if err := db.RawInsertMessages(ctx, append([]*escalated.Message{fresh}, dup...), 100); escalated.ErrorCode(err) != escalated.ECONFLICT {
		t.Errorf("duplicate raw insert: got %v, want conflict", err)
	}
	err = db.View(ctx, func(tx store.Tx) error {
		_, err := tx.GetMessage(ctx, fresh.ID)
		if escalated.ErrorCode(err) != escalated.ENOTFOUND {
			t.Errorf("a message of the failed batch was kept: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The baseline announces nothing, like the SQLite store's.
	select {
	case c := <-sub:
		t.Errorf("raw insert announced %+v", c)
	case <-time.After(200 * time.Millisecond):
	}
}

// planNode matches a plan line's node name ("->  Sort  (cost=..." or a top-level "Sort  (...").
var planNode = regexp.MustCompile(`^\s*(?:->\s+)?([A-Z][A-Za-z ]+?)\s+(?:using|on|\(cost)`)

func TestListQueriesUseIndexes(t *testing.T) {
	// Every list filter must walk an index in id order and stop after the page. With sequential
	// scans priced out (and sorts too, except below), a plan that still scans a table or sorts
	// has no index to use.
	db := mustOpen(t, freshSchema(t))
	ctx := t.Context()
	yes := true
	type query struct {
		build func() (string, []any)
		// unionOfPages marks the escalation team query: each side reads at most a page from
		// its own index, and the rows of those two pages are then looked up and ordered, a sort
		// of at most 2 x (limit+1) rows that no index can spare.
		unionOfPages bool
	}
	queries := map[string]query{}
	for name, f := range map[string]store.TicketFilter{
		"tickets":           {},
		"tickets team":      {Team: "a", Cursor: "tkt_z"},
		"tickets tier":      {Tier: "a"},
		"tickets status":    {Status: escalated.StatusOpen},
		"tickets priority":  {Priority: escalated.PriorityHigh},
		"tickets assignee":  {Assignee: "ana"},
		"tickets account":   {AccountID: "acc"},
		"tickets escalated": {Escalated: &yes, Cursor: "tkt_z"},
	} {
		queries[name] = query{build: func() (string, []any) { return ticketListQuery(f) }}
	}
	for name, f := range map[string]store.EscalationFilter{
		"escalations":         {},
		"escalations ticket":  {TicketID: "tkt", Cursor: "esc_z"},
		"escalations team":    {Team: "a", Cursor: "esc_z"},
		"escalations to_team": {ToTeam: "a"},
		"escalations state":   {State: escalated.EscalationPending},
	} {
		queries[name] = query{build: func() (string, []any) { return escalationListQuery(f, 50) }, unionOfPages: f.Team != ""}
	}
	for name, f := range map[string]store.AuditFilter{
		"audit":             {},
		"audit object":      {ObjectKind: "escalation", ObjectID: "esc_1"},
		"audit object id":   {ObjectID: "esc_1", Cursor: "aud_z"},
		"audit object kind": {ObjectKind: "escalation"},
		"audit action":      {Action: "x"},
	} {
		queries[name] = query{build: func() (string, []any) { return auditListQuery(f) }}
	}
	for name, qu := range queries {
		t.Run(name, func(t *testing.T) {
			q, args := qu.build()
			q += fmt.Sprintf(" LIMIT $%d", len(args)+1)
			args = append(args, 51)
			var plan []string
			err := pgx.BeginFunc(ctx, db.Pool(), func(tx pgx.Tx) error {
				settings := []string{`SET LOCAL enable_seqscan = off`}
				if !qu.unionOfPages {
					settings = append(settings, `SET LOCAL enable_sort = off`)
				}
				for _, s := range settings {
					if _, err := tx.Exec(ctx, s); err != nil {
						return err
					}
				}
				rows, err := tx.Query(ctx, "EXPLAIN "+q, args...)
				if err != nil {
					return err
				}
				plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			text := strings.Join(plan, "\n")
			limits := 0
			for _, line := range plan {
				m := planNode.FindStringSubmatch(line)
				if m == nil {
					continue
				}
				switch node := m[1]; {
				case node == "Seq Scan":
					t.Errorf("plan scans a table:\n%s", text)
				case strings.HasSuffix(node, "Sort") && !qu.unionOfPages:
					t.Errorf("plan sorts:\n%s", text)
				case node == "Limit":
					limits++
				}
			}
			if qu.unionOfPages && limits < 3 {
				t.Errorf("plan does not bound each side of the union by a page:\n%s", text)
			}
			t.Log(text)
		})
	}
}

// testURL returns the server the tests run against, or skips the test.
func testURL(t testing.TB) string { return pgtest.URL(t, "the PostgreSQL store tests") }

// freshSchema is a schema of the test's own on the test server (skipping without one).
func freshSchema(t testing.TB) string {
	return pgtest.FreshSchema(t, "the PostgreSQL store tests", "escalated_test")
}
