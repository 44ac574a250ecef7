package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

var changeTests = []test{
	{"SubscribeSeesCommittedEvents", testChangesCommitted},
	{"SubscriptionEndsWithContext", testChangesEnd},
}

// receive reads n changes or fails after the deadline.
func receive(t *testing.T, ch <-chan store.Change, n int) []store.Change {
	t.Helper()
	var got []store.Change
	deadline := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case c, ok := <-ch:
			if !ok {
				t.Fatalf("subscription closed after %d of %d changes", len(got), n)
			}
			got = append(got, c)
		case <-deadline:
			t.Fatalf("received %d of %d changes within 10s: %v", len(got), n, got)
		}
	}
	return got
}

func testChangesCommitted(t *testing.T, f *fx) {
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	ch, err := f.s.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tk := f.ticket(func(tk *escalated.Ticket) { tk.Version = 3 })
	f.update(func(tx store.Tx) error {
		if err := tx.CreateTicket(f.ctx, tk); err != nil {
			return err
		}
		for seq := int64(1); seq <= 3; seq++ {
			if err := tx.AppendEvent(f.ctx, f.event(tk.ID, seq, fmt.Sprintf("test.%d", seq))); err != nil {
				return err
			}
		}
		return nil
	})
	// A failed Update and a View announce nothing.
	boom := errors.New("boom")
	err = f.s.Update(f.ctx, func(tx store.Tx) error {
		if err := tx.AppendEvent(f.ctx, f.event(tk.ID, 4, "test.rolled_back")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failing Update returned %v", err)
	}
	f.view(func(tx store.Tx) error { _, err := tx.ListEvents(f.ctx, tk.ID); return err })
	// Then one more committed event, which must come right after the first three.
	f.update(func(tx store.Tx) error { return tx.AppendEvent(f.ctx, f.event(tk.ID, 4, "test.4")) })

	got := receive(t, ch, 4)
	for i, c := range got {
		want := store.Change{TicketID: tk.ID, Seq: int64(i + 1), Type: fmt.Sprintf("test.%d", i+1)}
		if c != want {
			t.Errorf("change %d = %+v, want %+v", i, c, want)
		}
	}
	select {
	case c := <-ch:
		t.Errorf("unexpected extra change %+v", c)
	case <-time.After(200 * time.Millisecond):
	}
}

func testChangesEnd(t *testing.T, f *fx) {
	ctx, cancel := context.WithCancel(f.ctx)
	ch, err := f.s.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("subscription not closed within 5s of its context ending")
		}
	}
}
