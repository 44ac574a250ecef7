package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// readFeedAll reads the feed after cursor to its current head.
func readFeedAll(t *testing.T, db *DB, after string) store.FeedPage {
	t.Helper()
	var p store.FeedPage
	err := db.View(t.Context(), func(tx store.Tx) error {
		var err error
		p, err = tx.ReadFeed(t.Context(), store.FeedFilter{After: after, Limit: store.MaxLimit})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFeedHoldsBackBehindRunningWriter is the case that makes PostgreSQL's feed order more
// than an identity column: transaction A writes an event and stays open while B writes a later
// one and commits. A reader must not be handed B's event yet, because A's will sort before it
// once A commits and a client that had resumed after B would never see A's. After A commits, a
// reader resuming from where it stopped gets both, A's first, each once.
func TestFeedHoldsBackBehindRunningWriter(t *testing.T) {
	db := mustOpen(t, freshSchema(t))
	ctx := t.Context()
	now := time.Now()
	a, b := newTicket(now), newTicket(now.Add(time.Millisecond))
	for _, tk := range []*escalated.Ticket{a, b} {
		if err := createTicket(ctx, db, tk); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until both ticket.created events show (other tests' transactions on the server may
	// hold the feed back for a moment too).
	var start store.FeedPage
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if start = readFeedAll(t, db, store.FeedStart); len(start.Events) == 2 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("feed shows %d of 2 events", len(start.Events))
		}
	}

	wrote, release, doneA := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		doneA <- db.Update(context.Background(), func(tx store.Tx) error {
			if err := tx.AppendEvent(ctx, &escalated.Event{ID: "evt_a2", TicketID: a.ID, Seq: 2, Type: "test.a", Actor: "system", CreatedAt: now}); err != nil {
				return err
			}
			close(wrote)
			<-release
			return nil
		})
	}()
	<-wrote
	if err := db.Update(ctx, func(tx store.Tx) error {
		return tx.AppendEvent(ctx, &escalated.Event{ID: "evt_b2", TicketID: b.ID, Seq: 2, Type: "test.b", Actor: "system", CreatedAt: now})
	}); err != nil {
		t.Fatal(err)
	}
	held := readFeedAll(t, db, start.Next)
	if len(held.Events) != 0 {
		t.Errorf("while A is open the feed gave %d events (first %s); want B's held back behind A", len(held.Events), held.Events[0].Event.ID)
	}
	if held.Next != start.Next {
		t.Errorf("while A is open Next moved from %s to %s", start.Next, held.Next)
	}
	close(release)
	if err := <-doneA; err != nil {
		t.Fatal(err)
	}
	var got []string
	cursor := held.Next
	for deadline := time.Now().Add(10 * time.Second); len(got) < 2; time.Sleep(10 * time.Millisecond) {
		p := readFeedAll(t, db, cursor)
		for _, e := range p.Events {
			got = append(got, e.Event.ID)
		}
		cursor = p.Next
		if time.Now().After(deadline) {
			break
		}
	}
	if len(got) != 2 || got[0] != "evt_a2" || got[1] != "evt_b2" {
		t.Errorf("after A committed the feed gave %v, want [evt_a2 evt_b2]", got)
	}
}

// TestFeedCursorAhead: a cursor beyond the newest event is refused.
func TestFeedCursorAhead(t *testing.T) {
	db := mustOpen(t, freshSchema(t))
	ctx := t.Context()
	if err := createTicket(ctx, db, newTicket(time.Now())); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"999999999999.1", "18446744073709551615.5"} {
		err := db.View(ctx, func(tx store.Tx) error {
			_, err := tx.ReadFeed(ctx, store.FeedFilter{After: c})
			return err
		})
		if escalated.ErrorCode(err) != escalated.EINVALID {
			t.Errorf("cursor %s: %v, want invalid", c, err)
		}
	}
}
