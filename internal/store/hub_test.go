package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// A subscriber that falls behind gets the Lagged marker right behind the changes it has, at
// once: not on some later publish, which may never come (a dispatcher that skipped history
// events and lost a delivery's announcement waited for an unrelated commit).
func TestHubQueuesLaggedAtOnce(t *testing.T) {
	h := NewHub()
	defer h.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := h.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range SubscriberBuffer + 10 {
		h.Publish(Change{TicketID: fmt.Sprint(i)})
	}
	// Nothing else is published: the marker must already be there, after the buffered ones.
	for i := range SubscriberBuffer {
		if c := <-ch; c.Lagged || c.TicketID != fmt.Sprint(i) {
			t.Fatalf("change %d: %+v; want ticket %d in order", i, c, i)
		}
	}
	select {
	case c := <-ch:
		if !c.Lagged {
			t.Fatalf("after the buffered changes: %+v; want the Lagged marker", c)
		}
	default:
		t.Fatal("no Lagged marker queued for the dropped changes")
	}
	// Once it has room again, changes flow, without another marker.
	h.Publish(Change{TicketID: "after"})
	if c := <-ch; c.Lagged || c.TicketID != "after" {
		t.Fatalf("after draining: %+v; want the new change", c)
	}
	select {
	case c := <-ch:
		t.Fatalf("unexpected %+v", c)
	default:
	}
}

// Dropping again after the marker was delivered queues a new marker.
func TestHubMarksEachLag(t *testing.T) {
	h := NewHub()
	defer h.Close()
	ch, _ := h.Subscribe(context.Background())
	for round := range 2 {
		for range SubscriberBuffer + 1 {
			h.Publish(Change{})
		}
		lagged := 0
		for i := range SubscriberBuffer + 1 {
			select {
			case c := <-ch:
				if c.Lagged {
					lagged++
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("round %d: %d changes queued; want %d (the buffer and the marker)", round, i, SubscriberBuffer+1)
			}
		}
		if lagged != 1 {
			t.Fatalf("round %d: %d markers; want 1", round, lagged)
		}
	}
}
