package sqlite

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// specWrite is what a new message's write does to a ticket, marked store.Speculate: it reads
// the ticket, lets change edit it, and writes a message, its event (at the ticket's next version)
// and the ticket's row. calls counts the runs of the function (a speculation and the writer's).
func (f *cacheFx) specWrite(calls *atomic.Int64, change func(*escalated.Ticket)) error {
	f.t.Helper()
	return specWriteTo(f.ctx, f.db, f.id, calls, change)
}

func specWriteTo(ctx context.Context, db *DB, id string, calls *atomic.Int64, change func(*escalated.Ticket)) error {
	ctx = store.Speculate(ctx)
	return db.Update(ctx, func(tx store.Tx) error {
		if calls != nil {
			calls.Add(1)
		}
		tk, err := tx.GetTicket(ctx, id)
		if err != nil {
			return err
		}
		prev := tk.Version
		change(tk)
		tk.Version++
		tk.Counters.Messages++
		now := escalated.Truncate(time.Now())
		tk.UpdatedAt = now
		m := &escalated.Message{ID: escalated.NewID(escalated.PrefixMessage, now), TicketID: id,
			Author: escalated.Author{Kind: escalated.AuthorCustomer, Name: "Kim"}, Body: "hello", CreatedAt: now}
		if err := tx.AddMessage(ctx, m); err != nil {
			return err
		}
		e := &escalated.Event{ID: escalated.NewID(escalated.PrefixEvent, now), TicketID: id, Seq: tk.Version,
			Type: escalated.EventMessageAdded, Actor: "kim", Data: map[string]any{"message_id": m.ID}, CreatedAt: now}
		if err := tx.AppendEvent(ctx, e); err != nil {
			return err
		}
		return tx.UpdateTicket(ctx, tk, prev)
	})
}

// events returns the seqs of the ticket's events, in order.
func (f *cacheFx) seqs() []int64 {
	f.t.Helper()
	var out []int64
	err := f.db.View(f.ctx, func(tx store.Tx) error {
		evs, err := tx.ListEvents(f.ctx, f.id)
		for _, e := range evs {
			out = append(out, e.Seq)
		}
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func TestSpeculativeWritesApplyWhatTheyDecided(t *testing.T) {
	f := newCacheFx(t)
	f.inWriter() // the ticket enters the writer's cache
	rec := f.db.Record()
	var calls atomic.Int64
	for i := range 5 {
		if err := f.specWrite(&calls, func(tk *escalated.Ticket) { tk.Tags = append(tk.Tags, fmt.Sprint(i)) }); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	f.db.StopRecording()
	st := f.db.Stats()
	if st.SpecApplied != 5 || st.SpecStale+st.SpecRestarted+st.SpecDeclined != 0 || calls.Load() != 5 {
		t.Fatalf("want 5 writes decided once each and applied as decided, got %d calls and %+v", calls.Load(), st)
	}
	// What the writer's cache holds (rows the speculations staged) and what the file holds agree.
	for name, tk := range map[string]*escalated.Ticket{"in the writer": f.inWriter(), "in the file": f.stored()} {
		if tk.Version != 6 || tk.Counters.Messages != 5 || !reflect.DeepEqual(tk.Tags, []string{"vip", "0", "1", "2", "3", "4"}) ||
			tk.Customer == nil || tk.Customer.Name != "Kim" || tk.Account == nil || tk.Account.Tier != "pro" {
			t.Errorf("ticket %s: version %d, messages %d, tags %v, customer %+v, account %+v", name, tk.Version, tk.Counters.Messages, tk.Tags, tk.Customer, tk.Account)
		}
	}
	if got := f.seqs(); !reflect.DeepEqual(got, []int64{2, 3, 4, 5, 6}) {
		t.Errorf("event seqs %v", got)
	}
	// The recorder sees the statements the writer executed for them, as for any write.
	if fns := rec.Functions(); len(fns) != 5 || len(fns[0]) != 3 {
		t.Errorf("recorded %d functions (first with %d statements), want 5 of 3", len(fns), len(fns[0]))
	}
}

func TestSpeculationIsDecidedAgainWhenARowItReadMoved(t *testing.T) {
	f := newCacheFx(t)
	f.inWriter()
	var once sync.Once
	// Between the speculation and its turn, a write the writer decides moves the ticket.
	f.db.specHook = func() { once.Do(func() { f.write(func(tk *escalated.Ticket) { tk.Counters.Reopens++ }) }) }
	var calls atomic.Int64
	if err := f.specWrite(&calls, func(tk *escalated.Ticket) { tk.Subject = "refund" }); err != nil {
		t.Fatal(err)
	}
	st := f.db.Stats()
	if st.SpecStale != 1 || st.SpecApplied != 0 || calls.Load() != 2 {
		t.Fatalf("want the write decided again in the writer, got %d calls and %+v", calls.Load(), st)
	}
	// Both writes count: nothing was lost to the speculation's stale read.
	for name, tk := range map[string]*escalated.Ticket{"in the writer": f.inWriter(), "in the file": f.stored()} {
		if tk.Version != 3 || tk.Counters.Reopens != 1 || tk.Counters.Messages != 1 || tk.Subject != "refund" {
			t.Errorf("ticket %s: version %d, reopens %d, messages %d, subject %q", name, tk.Version, tk.Counters.Reopens, tk.Counters.Messages, tk.Subject)
		}
	}
}

func TestSpeculationThatDoesNotApplyIsDecidedAgainAndUndone(t *testing.T) {
	f := newCacheFx(t)
	f.inWriter()
	var once sync.Once
	// A write the speculation could not see (an event at the seq it will use, appended without
	// moving the ticket's row, which no service does) makes its statement fail in its turn.
	f.db.specHook = func() {
		once.Do(func() {
			err := f.db.Update(f.ctx, func(tx store.Tx) error {
				return tx.AppendEvent(f.ctx, &escalated.Event{ID: escalated.NewID(escalated.PrefixEvent, time.Now()), TicketID: f.id, Seq: 2,
					Type: escalated.EventTicketUpdated, Actor: "x", Data: map[string]any{}, CreatedAt: time.Now()})
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	var calls atomic.Int64
	err := f.specWrite(&calls, func(*escalated.Ticket) {})
	// The writer decides it again and gets what it would have got without the speculation.
	if escalated.ErrorCode(err) != escalated.ECONFLICT {
		t.Fatalf("want the conflict the write meets in the writer, got %v", err)
	}
	st := f.db.Stats()
	if st.SpecRestarted != 1 || st.SpecApplied != 0 || calls.Load() != 2 {
		t.Fatalf("want the write restarted once, got %d calls and %+v", calls.Load(), st)
	}
	// Nothing of it stayed: the ticket is as it was, and the store goes on writing.
	if tk := f.stored(); tk.Version != 1 || tk.Counters.Messages != 0 {
		t.Errorf("ticket in the file: version %d, messages %d", tk.Version, tk.Counters.Messages)
	}
	f.write(func(tk *escalated.Ticket) { tk.Subject = "after" })
	if tk := f.stored(); tk.Subject != "after" || tk.Version != 2 {
		t.Errorf("a later write: subject %q, version %d", tk.Subject, tk.Version)
	}
}

func TestSpeculationDeclinesWhatItCannotFollow(t *testing.T) {
	f := newCacheFx(t)
	f.inWriter()
	var why []string
	f.db.specTrace = func(w string) { why = append(why, w) }
	ctx := store.Speculate(f.ctx)
	var calls atomic.Int64
	// A read of the database (a list), a write to a customer, a failing and a panicking function.
	fns := map[string]func(tx store.Tx) error{
		"read": func(tx store.Tx) error {
			if _, err := tx.ListEvents(ctx, f.id); err != nil {
				return err
			}
			return tx.SaveDecision(ctx, &escalated.Decision{TicketID: f.id, Seq: 1, Event: "x", Trace: []byte("[]"), CreatedAt: time.Now()})
		},
		"customer": func(tx store.Tx) error {
			return tx.UpsertCustomer(ctx, &escalated.Customer{ID: "kim", Name: "Kim K", Email: "kim@acme.test", AccountID: "acme"})
		},
	}
	for name, fn := range fns {
		calls.Store(0)
		if err := f.db.Update(ctx, func(tx store.Tx) error { calls.Add(1); return fn(tx) }); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if calls.Load() != 2 {
			t.Errorf("%s: fn ran %d times, want a speculation and the writer's run", name, calls.Load())
		}
	}
	boom := errors.New("boom")
	if err := f.db.Update(ctx, func(tx store.Tx) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("failing fn: got %v", err)
	}
	if err := f.db.Update(ctx, func(tx store.Tx) error { panic("bug") }); escalated.ErrorCode(err) != escalated.EINTERNAL {
		t.Errorf("panicking fn: got %v", err)
	}
	st := f.db.Stats()
	if st.SpecDeclined != 4 || st.SpecApplied != 0 || len(why) != 4 {
		t.Fatalf("want 4 declined, got %+v (%q)", st, why)
	}
	if tk := f.inWriter(); tk.Customer.Name != "Kim K" {
		t.Errorf("the customer's write: %+v", tk.Customer)
	}
}

// TestSpeculationsChainOnOneTicket writes many messages to two tickets at once, so that writes
// queue behind each other (and behind the first, which the writer decides: the cache does not
// hold the tickets yet). Each ticket must end with every message counted once, its events at
// consecutive seqs, and the file and the writer's cache agreeing.
func TestSpeculationsChainOnOneTicket(t *testing.T) {
	ctx := t.Context()
	db := mustOpen(t)
	var ids [2]string
	for i := range ids {
		tk := newTicket(time.Now())
		if err := createTicket(ctx, db, tk); err != nil {
			t.Fatal(err)
		}
		ids[i] = tk.ID
	}
	const writers, each = 8, 40
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := specWriteTo(ctx, db, ids[w%2], nil, func(tk *escalated.Ticket) {
					tk.CustomFields = map[string]any{"last": fmt.Sprintf("%d-%d", w, i)}
				}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	st := db.Stats()
	// Each speculation read the row the write queued before it leaves, so none was stale; the
	// first write to each ticket, which the cache did not hold, was the writer's to decide.
	if st.SpecRestarted != 0 || st.SpecStale != 0 || st.SpecDeclined > 2 || st.SpecApplied < writers*each-2 {
		t.Errorf("want every write but each ticket's first applied as decided: %+v", st)
	}
	for _, id := range ids {
		f := &cacheFx{t: t, ctx: ctx, db: db, id: id}
		want := int64(writers / 2 * each)
		for name, tk := range map[string]*escalated.Ticket{"in the writer": f.inWriter(), "in the file": f.stored()} {
			if int64(tk.Counters.Messages) != want || tk.Version != want+1 {
				t.Errorf("ticket %s %s: messages %d, version %d, want %d and %d", id, name, tk.Counters.Messages, tk.Version, want, want+1)
			}
		}
		seqs := f.seqs()
		for i, s := range seqs {
			if s != int64(i+2) {
				t.Fatalf("ticket %s: event seqs not consecutive from 2: %v", id, seqs)
			}
		}
	}
}

// TestSpeculationLeavesFactsToTheWriter: an analytics row's save reads the row it replaces, so
// the speculation leaves it to the writer, in place; the report cells come out as when the
// writer decides everything.
func TestSpeculationLeavesFactsToTheWriter(t *testing.T) {
	cells := func(ahead bool) []string {
		db := mustOpen(t, WithSpeculation(ahead))
		ctx := t.Context()
		tk := newTicket(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
		if err := createTicket(ctx, db, tk); err != nil {
			t.Fatal(err)
		}
		f := &cacheFx{t: t, ctx: ctx, db: db, id: tk.ID}
		f.inWriter()
		for i := range 3 {
			err := db.Update(store.Speculate(ctx), func(tx store.Tx) error {
				got, err := tx.GetTicket(ctx, tk.ID)
				if err != nil {
					return err
				}
				prev := got.Version
				got.Version++
				got.Counters.Reopens = i
				fact := &store.TicketFact{TicketID: tk.ID, CreatedAt: tk.CreatedAt, IssueType: "billing", Channel: "chat",
					IntakeTeam: "frontline", Reopens: i, Solved: i == 2}
				if err := tx.SaveTicketFact(ctx, fact); err != nil {
					return err
				}
				return tx.UpdateTicket(ctx, got, prev)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if st := db.Stats(); ahead && st.SpecApplied != 3 {
			t.Errorf("want the 3 writes applied as decided: %+v", st)
		}
		rows, err := db.readers.QueryContext(ctx, `SELECT scope, dim, day, key, shard, counts FROM report_cells ORDER BY scope, dim, day, key, shard`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var scope, dim, key string
			var day, shard int64
			var counts []byte
			if err := rows.Scan(&scope, &dim, &day, &key, &shard, &counts); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s/%s/%d/%s/%d=%x", scope, dim, day, key, shard, counts))
		}
		return out
	}
	ahead, inWriter := cells(true), cells(false)
	if len(ahead) == 0 || !reflect.DeepEqual(ahead, inWriter) {
		t.Errorf("report cells decided ahead:\n%v\nin the writer:\n%v", ahead, inWriter)
	}
}

// TestSpeculationWaitingForItsTurnHonoursItsContext: while one speculation waits for room in
// the writer's queue holding the turn, another caller's deadline still ends its wait.
func TestSpeculationWaitingForItsTurnHonoursItsContext(t *testing.T) {
	f := newCacheFx(t)
	f.db = mustOpen(t, WithMaxBatch(1)) // a queue of one
	tk := newTicket(time.Now())
	if err := createTicket(f.ctx, f.db, tk); err != nil {
		t.Fatal(err)
	}
	f.id = tk.ID
	f.inWriter()
	release, started := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { // holds the writer
		defer wg.Done()
		f.db.Update(f.ctx, func(store.Tx) error { close(started); <-release; return nil })
	}()
	<-started
	go func() { // fills the queue
		defer wg.Done()
		f.db.Update(f.ctx, func(store.Tx) error { return nil })
	}()
	waitFor(t, func() bool { return len(f.db.queue) == 1 })
	go func() { // decided, and waits for room holding the turn
		defer wg.Done()
		if err := f.specWrite(nil, func(*escalated.Ticket) {}); err != nil {
			t.Error(err)
		}
	}()
	waitFor(t, func() bool { return len(f.db.specTurn) == 1 })
	ctx, cancel := context.WithTimeout(f.ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := specWriteTo(ctx, f.db, f.id, nil, func(*escalated.Ticket) {})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("a caller waiting for its turn: %v after %s", err, time.Since(start))
	}
	close(release)
	wg.Wait()
	if got := f.stored(); got.Counters.Messages != 1 {
		t.Errorf("the write that waited for room: %d messages", got.Counters.Messages)
	}
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5 s")
		}
	}
}
