package memstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// TestScanFeed: ScanFeed walks the feed in pos order, the same events ReadFeed pages through,
// stops when fn says so, and ends with its context.
func TestScanFeed(t *testing.T) {
	ctx := context.Background()
	db := New()
	defer db.Close()
	at := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	err := db.Update(ctx, func(tx store.Tx) error {
		for i, id := range []string{"tkt_b", "tkt_a"} {
			if err := tx.CreateTicket(ctx, &escalated.Ticket{ID: id, Subject: "s", Status: escalated.StatusOpen,
				Priority: escalated.PriorityNormal, Channel: escalated.ChannelEmail, CreatedAt: at, UpdatedAt: at}); err != nil {
				return err
			}
			for seq := int64(1); seq <= 3; seq++ {
				if err := tx.AppendEvent(ctx, &escalated.Event{ID: fmt.Sprintf("evt_%d_%d", i, seq), TicketID: id, Seq: seq,
					Type: escalated.EventTicketUpdated, Data: map[string]any{"n": seq}, CreatedAt: at}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	err = db.View(ctx, func(tx store.Tx) error {
		page, err := tx.ReadFeed(ctx, store.FeedFilter{After: "0", Limit: store.MaxLimit})
		for _, fe := range page.Events {
			want = append(want, fe.Event.ID)
		}
		return err
	})
	if err != nil || len(want) != 6 {
		t.Fatalf("ReadFeed: %v, %d events", err, len(want))
	}
	var got []string
	if err := db.ScanFeed(ctx, func(e *escalated.Event) bool { got = append(got, e.ID); return true }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ScanFeed: %v, want ReadFeed's %v", got, want)
	}
	got = nil
	if err := db.ScanFeed(ctx, func(e *escalated.Event) bool { got = append(got, e.ID); return len(got) < 2 }); err != nil || len(got) != 2 {
		t.Errorf("ScanFeed stopped by fn: %v, %v; want 2 events", got, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	n := 0
	err = db.ScanFeed(cctx, func(e *escalated.Event) bool { n++; cancel(); return true })
	if err == nil || n != 1 {
		t.Errorf("ScanFeed with its context cancelled after one event: %d events, %v; want 1 and the context's error", n, err)
	}
}
