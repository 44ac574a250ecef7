package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

var feedTests = []test{
	{"ReadsInCommitOrderAcrossTickets", testFeedOrder},
	{"PagesChainThroughNext", testFeedPages},
	{"FiltersByTeamAndTicket", testFeedFilters},
	{"RejectsCursorsItDidNotIssue", testFeedBadCursor},
}

// readFeed runs ReadFeed in a View and fails the test on error.
func (f *fx) readFeed(ff store.FeedFilter) store.FeedPage {
	f.t.Helper()
	var p store.FeedPage
	f.view(func(tx store.Tx) error {
		var err error
		p, err = tx.ReadFeed(f.ctx, ff)
		return err
	})
	return p
}

// settleFeed waits until the feed shows n events in all. A store may hold committed events
// back for a moment (PostgreSQL shows an event only once every transaction that began writing
// before it has ended, on any database of the server), but never for long and never out of
// order; once settled, reads are repeatable.
func (f *fx) settleFeed(n int) {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p := f.readFeed(store.FeedFilter{After: store.FeedStart, Limit: store.MaxLimit})
		if len(p.Events) == n {
			return
		}
		if len(p.Events) > n || time.Now().After(deadline) {
			f.t.Fatalf("the feed shows %d events, want %d: %v", len(p.Events), n, feedIDs(p))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// feedIDs lists the event ids of a page as "ticket/seq" for readable diffs.
func feedIDs(p store.FeedPage) []string {
	out := []string{}
	for _, e := range p.Events {
		out = append(out, fmt.Sprintf("%s/%d", e.Event.TicketID, e.Event.Seq))
	}
	return out
}

// appendEvents commits events (ticket id, seq) in one Update each, in the order given, and
// returns their "ticket/seq" names.
func (f *fx) appendEvents(team, fromTeam string, pairs ...any) []string {
	f.t.Helper()
	var names []string
	for i := 0; i < len(pairs); i += 2 {
		id, seq := pairs[i].(string), int64(pairs[i+1].(int))
		f.update(func(tx store.Tx) error {
			return tx.AppendEvent(f.ctx, f.event(id, seq, fmt.Sprintf("test.%d", seq), func(e *escalated.Event) {
				e.Team, e.FromTeam = team, fromTeam
			}))
		})
		names = append(names, fmt.Sprintf("%s/%d", id, seq))
	}
	return names
}

func testFeedOrder(t *testing.T, f *fx) {
	empty := f.readFeed(store.FeedFilter{})
	if len(empty.Events) != 0 || empty.Next == "" {
		t.Fatalf("head of an empty feed = %+v, want no events and a cursor", empty)
	}
	a, b := f.ticket(), f.ticket()
	f.createTickets(a, b)
	before := f.appendEvents("frontline", "", a.ID, 1, b.ID, 1)
	f.settleFeed(2)
	head := f.readFeed(store.FeedFilter{})
	if len(head.Events) != 0 {
		t.Fatalf("a read from the head returned events: %v", feedIDs(head))
	}

	// A message.added event, one rolled back, and more events interleaved across tickets.
	m := f.message(a.ID, 2)
	f.update(func(tx store.Tx) error {
		if err := tx.AddMessage(f.ctx, m); err != nil {
			return err
		}
		return tx.AppendEvent(f.ctx, f.event(a.ID, 2, escalated.EventMessageAdded, func(e *escalated.Event) {
			e.Data = map[string]any{"message_id": m.ID}
		}))
	})
	boom := errors.New("boom")
	if err := f.s.Update(f.ctx, func(tx store.Tx) error {
		if err := tx.AppendEvent(f.ctx, f.event(b.ID, 2, "test.rolled_back")); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("failing Update returned %v", err)
	}
	after := f.appendEvents("tier2", "frontline", b.ID, 2, a.ID, 3, b.ID, 3)
	f.settleFeed(6)

	p := f.readFeed(store.FeedFilter{After: head.Next, Limit: 100})
	want := append([]string{a.ID + "/2"}, after...)
	equal(t, "events after the head", feedIDs(p), want)
	if p.Events[0].Event.Message == nil || p.Events[0].Event.Message.ID != m.ID {
		t.Errorf("message.added event read from the feed has message %+v, want %s attached", p.Events[0].Event.Message, m.ID)
	}
	if e := p.Events[1].Event; e.Team != "tier2" || e.FromTeam != "frontline" {
		t.Errorf("event teams = %q from %q, want tier2 from frontline", e.Team, e.FromTeam)
	}
	if p.Next != p.Events[len(p.Events)-1].Cursor {
		t.Errorf("Next = %q, want the last event's cursor %q when the read reached the head", p.Next, p.Events[len(p.Events)-1].Cursor)
	}
	// Resuming after any event's cursor gives exactly the events that followed it.
	for i, e := range p.Events {
		rest := f.readFeed(store.FeedFilter{After: e.Cursor, Limit: 100})
		equal(t, fmt.Sprintf("events after %s (%s)", e.Cursor, want[i]), feedIDs(rest), want[i+1:])
	}
	all := f.readFeed(store.FeedFilter{After: store.FeedStart, Limit: 100})
	equal(t, "events from the start", feedIDs(all), append(before, want...))
}

func testFeedPages(t *testing.T, f *fx) {
	tk := f.ticket()
	f.createTickets(tk)
	var want []string
	for seq := 1; seq <= 7; seq++ {
		want = append(want, f.appendEvents("frontline", "", tk.ID, seq)...)
	}
	f.settleFeed(7)
	var got []string
	cursor := store.FeedStart
	for reads := 0; ; reads++ {
		if reads > 10 {
			t.Fatalf("still reading after %d pages: %v", reads, got)
		}
		p := f.readFeed(store.FeedFilter{After: cursor, Limit: 3})
		got = append(got, feedIDs(p)...)
		if len(p.Events) == 3 && p.Next != p.Events[2].Cursor {
			t.Fatalf("full page: Next = %q, want its last cursor %q", p.Next, p.Events[2].Cursor)
		}
		if p.Next == cursor {
			break
		}
		cursor = p.Next
	}
	equal(t, "events read in pages of 3", got, want)
}

func testFeedFilters(t *testing.T, f *fx) {
	a, b := f.ticket(), f.ticket()
	f.createTickets(a, b)
	start := f.readFeed(store.FeedFilter{}).Next
	f.appendEvents("frontline", "", a.ID, 1, b.ID, 1)
	f.appendEvents("tier2", "frontline", a.ID, 2)
	f.appendEvents("tier2", "", a.ID, 3)
	f.appendEvents("billing", "", b.ID, 2)
	f.settleFeed(5)

	for _, c := range []struct {
		f    store.FeedFilter
		want []string
	}{
		{store.FeedFilter{Team: "frontline"}, []string{a.ID + "/1", b.ID + "/1", a.ID + "/2"}},
		{store.FeedFilter{Team: "tier2"}, []string{a.ID + "/2", a.ID + "/3"}},
		{store.FeedFilter{TicketID: b.ID}, []string{b.ID + "/1", b.ID + "/2"}},
		{store.FeedFilter{Team: "frontline", TicketID: a.ID}, []string{a.ID + "/1", a.ID + "/2"}},
		{store.FeedFilter{Team: "nobody"}, []string{}},
	} {
		c.f.After, c.f.Limit = start, 100
		p := f.readFeed(c.f)
		equal(t, fmt.Sprintf("events with team %q ticket %q", c.f.Team, c.f.TicketID), feedIDs(p), c.want)
		// A filtered read that reached the head moves Next there, past the events it skipped,
		// and reading on from it finds nothing.
		head := f.readFeed(store.FeedFilter{}).Next
		if p.Next != head {
			t.Errorf("team %q ticket %q: Next = %q, want the head %q", c.f.Team, c.f.TicketID, p.Next, head)
		}
		c.f.After = p.Next
		if rest := f.readFeed(c.f); len(rest.Events) != 0 || rest.Next != head {
			t.Errorf("reading on from Next gave %v, Next %q; want nothing and %q", feedIDs(rest), rest.Next, head)
		}
	}
}

func testFeedBadCursor(t *testing.T, f *fx) {
	tk := f.ticket()
	f.createTickets(tk)
	f.appendEvents("frontline", "", tk.ID, 1)
	f.settleFeed(1)
	for _, c := range []string{"x", "-1", " 1", "1 ", "01", "1e3", "１", "99999999999999999999999999", "0x10", "1..2", "\x00"} {
		err := f.s.View(f.ctx, func(tx store.Tx) error {
			_, err := tx.ReadFeed(f.ctx, store.FeedFilter{After: c})
			return err
		})
		wantCode(t, err, escalated.EINVALID)
	}
}
