package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

var ticketTests = []test{
	{"RoundTripEveryField", testTicketRoundTrip},
	{"RoundTripZeroValues", testTicketZeroValues},
	{"GetNotFound", testTicketNotFound},
	{"CreateDuplicateIsConflict", testTicketDuplicate},
	{"UpdateRoundTrip", testTicketUpdate},
	{"UpdateStaleVersionIsConflict", testTicketStale},
	{"UpdateNotFound", testTicketUpdateNotFound},
	{"ReadModifyWriteInOneTx", testTicketReadModifyWrite},
	{"ListFilters", testTicketFilters},
	{"ListReadsLikeGet", testTicketListLikeGet},
	{"ListPaging", testTicketPaging},
	{"ListLimits", testTicketLimits},
	{"ListPagingWhileInserting", testTicketPagingWhileInserting},
}

func testTicketRoundTrip(t *testing.T, f *fx) {
	acc := f.account()
	cus := f.customer(acc.ID)
	tk := f.ticket(func(tk *escalated.Ticket) { tk.CustomerID, tk.AccountID = cus.ID, acc.ID })
	f.update(func(tx store.Tx) error {
		if err := tx.UpsertAccount(f.ctx, acc); err != nil {
			return err
		}
		if err := tx.UpsertCustomer(f.ctx, cus); err != nil {
			return err
		}
		return tx.CreateTicket(f.ctx, tk)
	})
	f.view(func(tx store.Tx) error {
		got, err := tx.GetTicket(f.ctx, tk.ID)
		if err != nil {
			return err
		}
		equal(t, "ticket", got, wantTicket(tk, cus, acc))
		return nil
	})
}

func testTicketZeroValues(t *testing.T, f *fx) {
	// Nil tags and custom fields read back empty, a ticket without customer or account reads
	// back with nil Customer and Account, and ids that name no stored customer do not fail.
	now := f.tick()
	tk := &escalated.Ticket{ID: escalated.NewID(escalated.PrefixTicket, now), CreatedAt: now, UpdatedAt: now}
	dangling := f.ticket(func(tk *escalated.Ticket) { tk.CustomerID, tk.AccountID = "cus_missing", "acc_missing" })
	f.createTickets(tk, dangling)
	f.view(func(tx store.Tx) error {
		got, err := tx.GetTicket(f.ctx, tk.ID)
		if err != nil {
			return err
		}
		equal(t, "zero ticket", got, wantTicket(tk, nil, nil))
		got, err = tx.GetTicket(f.ctx, dangling.ID)
		if err != nil {
			return err
		}
		equal(t, "ticket naming a missing customer", got, wantTicket(dangling, nil, nil))
		return nil
	})
}

func testTicketNotFound(t *testing.T, f *fx) {
	id := f.id(escalated.PrefixTicket)
	err := f.s.View(f.ctx, func(tx store.Tx) error {
		got, err := tx.GetTicket(f.ctx, id)
		if got != nil {
			t.Errorf("GetTicket of a missing ticket returned %+v", got)
		}
		return err
	})
	wantCode(t, err, escalated.ENOTFOUND)
	wantMessageNames(t, err, "ticket", id)
}

func testTicketDuplicate(t *testing.T, f *fx) {
	tk := f.ticket()
	f.createTickets(tk)
	again := f.ticket(func(x *escalated.Ticket) { x.ID = tk.ID; x.Subject = "other" })
	err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.CreateTicket(f.ctx, again) })
	wantCode(t, err, escalated.ECONFLICT)
	wantMessageNames(t, err, tk.ID)
	f.view(func(tx store.Tx) error {
		got, err := tx.GetTicket(f.ctx, tk.ID)
		if err != nil {
			return err
		}
		if got.Subject != tk.Subject {
			t.Errorf("duplicate create overwrote the ticket: subject %q", got.Subject)
		}
		return nil
	})
}

func testTicketUpdate(t *testing.T, f *fx) {
	acc := f.account()
	tk := f.ticket(func(tk *escalated.Ticket) { tk.AccountID, tk.CustomerID = "", "" })
	f.createTickets(tk)
	f.update(func(tx store.Tx) error { return tx.UpsertAccount(f.ctx, acc) })

	// Change every field but id and created_at; Version moves by 3 as one operation may append
	// several history entries.
	up := *tk
	up.Subject, up.Status, up.Priority, up.Channel = "SSO fixed?", escalated.StatusPending, escalated.PriorityUrgent, escalated.ChannelEmail
	up.IssueType, up.Tags, up.Language = "sso", []string{"sso", "vip", "escalated"}, "en"
	up.CustomerID, up.AccountID, up.Team, up.Tier, up.Assignee = "cus_2", acc.ID, "sso-experts", "t2", "bob"
	up.CustomFields = map[string]any{"plan": "enterprise"}
	up.Counters = escalated.Counters{Reopens: 5, Reassignments: 6, CustomerContacts: 7, Messages: 8, Escalations: 9}
	up.ActiveEscalation, up.Version = "", tk.Version+3
	up.UpdatedAt = f.tick()
	f.update(func(tx store.Tx) error { return tx.UpdateTicket(f.ctx, &up, tk.Version) })
	f.view(func(tx store.Tx) error {
		got, err := tx.GetTicket(f.ctx, tk.ID)
		if err != nil {
			return err
		}
		equal(t, "updated ticket", got, wantTicket(&up, nil, acc))
		return nil
	})
}

func testTicketStale(t *testing.T, f *fx) {
	tk := f.ticket(func(tk *escalated.Ticket) { tk.Version = 4 })
	f.createTickets(tk)
	for _, prev := range []int64{3, 5, 0} {
		stale := *tk
		stale.Subject, stale.Version = "lost update", prev+1
		err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.UpdateTicket(f.ctx, &stale, prev) })
		wantCode(t, err, escalated.ECONFLICT)
		wantMessageNames(t, err, tk.ID)
	}
	f.view(func(tx store.Tx) error {
		got, err := tx.GetTicket(f.ctx, tk.ID)
		if err != nil {
			return err
		}
		if got.Subject != tk.Subject || got.Version != 4 {
			t.Errorf("stale update changed the ticket: subject %q version %d", got.Subject, got.Version)
		}
		return nil
	})
}

// testTicketReadModifyWrite reads and updates a ticket several times in one transaction, as
// services do, including after a refused stale update: every accepted change must persist,
// indexed columns (status, team, assignee) and the others alike.
func testTicketReadModifyWrite(t *testing.T, f *fx) {
	tk := f.ticket(func(tk *escalated.Ticket) { tk.Version = 2 })
	f.createTickets(tk)
	var want escalated.Ticket
	f.update(func(tx store.Tx) error {
		got, err := tx.GetTicket(f.ctx, tk.ID)
		if err != nil {
			return err
		}
		// A refused write whose new values equal the next accepted one's must not vouch for them.
		stale := *got
		stale.Status, stale.Team = escalated.StatusSolved, "billing"
		wantCode(t, tx.UpdateTicket(f.ctx, &stale, got.Version-1), escalated.ECONFLICT)

		next := *got
		next.Status, next.Team, next.Version = escalated.StatusSolved, "billing", got.Version+1
		if err := tx.UpdateTicket(f.ctx, &next, got.Version); err != nil {
			return err
		}
		again, err := tx.GetTicket(f.ctx, tk.ID)
		if err != nil {
			return err
		}
		// Only unindexed columns change now, then an indexed one again.
		again.Counters.Messages, again.Version = 42, again.Version+1
		if err := tx.UpdateTicket(f.ctx, again, again.Version-1); err != nil {
			return err
		}
		last := *again
		last.Assignee, last.Version = "zoe", last.Version+1
		if err := tx.UpdateTicket(f.ctx, &last, again.Version); err != nil {
			return err
		}
		want = last
		return nil
	})
	f.view(func(tx store.Tx) error {
		got, err := tx.GetTicket(f.ctx, tk.ID)
		if err != nil {
			return err
		}
		if got.Status != escalated.StatusSolved || got.Team != "billing" || got.Assignee != "zoe" || got.Counters.Messages != 42 || got.Version != want.Version {
			t.Errorf("read-modify-write lost a change: status %s team %s assignee %q messages %d version %d (want version %d)",
				got.Status, got.Team, got.Assignee, got.Counters.Messages, got.Version, want.Version)
		}
		return nil
	})
}

func testTicketUpdateNotFound(t *testing.T, f *fx) {
	tk := f.ticket()
	err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.UpdateTicket(f.ctx, tk, tk.Version-1) })
	wantCode(t, err, escalated.ENOTFOUND)
	wantMessageNames(t, err, "ticket", tk.ID)
}

func testTicketFilters(t *testing.T, f *fx) {
	mk := func(team, tier string, st escalated.Status, pr escalated.Priority, assignee, account string, escalations int) *escalated.Ticket {
		return f.ticket(func(tk *escalated.Ticket) {
			tk.Team, tk.Tier, tk.Status, tk.Priority, tk.Assignee, tk.AccountID = team, tier, st, pr, assignee, account
			tk.Counters.Escalations = escalations
		})
	}
	a := mk("frontline", "t1", escalated.StatusOpen, escalated.PriorityHigh, "ana", "acc_a", 0)
	b := mk("frontline", "t2", escalated.StatusPending, escalated.PriorityLow, "bob", "acc_b", 2)
	c := mk("billing", "t1", escalated.StatusOpen, escalated.PriorityUrgent, "", "acc_a", 1)
	d := mk("billing", "t2", escalated.StatusSolved, escalated.PriorityHigh, "ana", "", 0)
	e := mk("frontline", "t1", escalated.StatusOpen, escalated.PriorityHigh, "ana", "acc_a", 3)
	f.createTickets(a, b, c, d, e)

	cases := []struct {
		name   string
		filter store.TicketFilter
		want   []*escalated.Ticket // in creation order
	}{
		{"none", store.TicketFilter{}, []*escalated.Ticket{a, b, c, d, e}},
		{"team", store.TicketFilter{Team: "frontline"}, []*escalated.Ticket{a, b, e}},
		{"tier", store.TicketFilter{Tier: "t2"}, []*escalated.Ticket{b, d}},
		{"status", store.TicketFilter{Status: escalated.StatusOpen}, []*escalated.Ticket{a, c, e}},
		{"priority", store.TicketFilter{Priority: escalated.PriorityHigh}, []*escalated.Ticket{a, d, e}},
		{"assignee", store.TicketFilter{Assignee: "ana"}, []*escalated.Ticket{a, d, e}},
		{"account", store.TicketFilter{AccountID: "acc_a"}, []*escalated.Ticket{a, c, e}},
		{"escalated", store.TicketFilter{Escalated: boolp(true)}, []*escalated.Ticket{b, c, e}},
		{"never escalated", store.TicketFilter{Escalated: boolp(false)}, []*escalated.Ticket{a, d}},
		{"combined", store.TicketFilter{Team: "frontline", Status: escalated.StatusOpen, Escalated: boolp(true)}, []*escalated.Ticket{e}},
		{"no match", store.TicketFilter{Team: "nobody"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := f.in(t)
			f.view(func(tx store.Tx) error {
				got, cursor, err := tx.ListTickets(f.ctx, tc.filter)
				if err != nil {
					return err
				}
				equalIDs(t, "tickets", ids(got, ticketID), newestFirst(ids(tc.want, ticketID)...))
				if cursor != "" {
					t.Errorf("cursor %q on a complete page, want \"\"", cursor)
				}
				return nil
			})
		})
	}
}

func testTicketListLikeGet(t *testing.T, f *fx) {
	// A list item is the same ticket GetTicket returns, customer and account included.
	acc := f.account()
	cus := f.customer(acc.ID)
	tk := f.ticket(func(tk *escalated.Ticket) { tk.CustomerID, tk.AccountID = cus.ID, acc.ID })
	f.update(func(tx store.Tx) error {
		if err := tx.UpsertAccount(f.ctx, acc); err != nil {
			return err
		}
		if err := tx.UpsertCustomer(f.ctx, cus); err != nil {
			return err
		}
		return tx.CreateTicket(f.ctx, tk)
	})
	f.view(func(tx store.Tx) error {
		got, _, err := tx.ListTickets(f.ctx, store.TicketFilter{})
		if err != nil {
			return err
		}
		if len(got) != 1 {
			t.Fatalf("listed %d tickets, want 1", len(got))
		}
		equal(t, "listed ticket", got[0], wantTicket(tk, cus, acc))
		return nil
	})
}

// pageAll reads every page of a list with limit and returns the ids in order, failing on a
// repeated id or a non-empty cursor on the last page.
func pageAll(t *testing.T, limit int, list func(cursor string, limit int) ([]string, string, error)) []string {
	t.Helper()
	var all []string
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("paging does not end")
		}
		got, next, err := list(cursor, limit)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		if len(got) > limit {
			t.Fatalf("page %d has %d items, limit %d", pages, len(got), limit)
		}
		for _, id := range got {
			if seen[id] {
				t.Fatalf("page %d repeats %s", pages, id)
			}
			seen[id] = true
		}
		all = append(all, got...)
		if next == "" {
			return all
		}
		if len(got) != limit {
			t.Fatalf("page %d has %d items but a cursor: only a full page may have a next one", pages, len(got))
		}
		if next != got[len(got)-1] {
			t.Fatalf("page %d cursor %q is not its last id %q", pages, next, got[len(got)-1])
		}
		cursor = next
	}
}

func testTicketPaging(t *testing.T, f *fx) {
	var all, frontline []*escalated.Ticket
	for i := range 23 {
		tk := f.ticket(func(tk *escalated.Ticket) {
			if i%3 == 0 {
				tk.Team = "billing"
			}
		})
		all = append(all, tk)
		if tk.Team == "frontline" {
			frontline = append(frontline, tk)
		}
	}
	f.createTickets(all...)
	list := func(filter store.TicketFilter) func(string, int) ([]string, string, error) {
		return func(cursor string, limit int) (out []string, next string, err error) {
			err = f.s.View(f.ctx, func(tx store.Tx) error {
				filter.Cursor, filter.Limit = cursor, limit
				got, c, err := tx.ListTickets(f.ctx, filter)
				out, next = ids(got, ticketID), c
				return err
			})
			return out, next, err
		}
	}
	for _, limit := range []int{1, 5, 23, 30} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			equalIDs(t, "all pages", pageAll(t, limit, list(store.TicketFilter{})), newestFirst(ids(all, ticketID)...))
		})
	}
	t.Run("exact multiple of limit", func(t *testing.T) {
		// 15 frontline tickets in pages of 5: the third page is full and must still end paging.
		equalIDs(t, "all pages", pageAll(t, 5, list(store.TicketFilter{Team: "frontline"})), newestFirst(ids(frontline, ticketID)...))
	})
}

func testTicketLimits(t *testing.T, f *fx) {
	var all []*escalated.Ticket
	for range store.MaxLimit + 1 {
		all = append(all, f.ticket())
	}
	f.createTickets(all...)
	for _, tc := range []struct {
		limit, want int
	}{{0, store.DefaultLimit}, {-3, store.DefaultLimit}, {7, 7}, {store.MaxLimit + 100, store.MaxLimit}} {
		f.view(func(tx store.Tx) error {
			got, cursor, err := tx.ListTickets(f.ctx, store.TicketFilter{Limit: tc.limit})
			if err != nil {
				return err
			}
			if len(got) != tc.want {
				t.Errorf("limit %d gave %d tickets, want %d", tc.limit, len(got), tc.want)
			}
			if cursor == "" {
				t.Errorf("limit %d: no cursor although %d tickets exist", tc.limit, len(all))
			}
			return nil
		})
	}
}

func testTicketPagingWhileInserting(t *testing.T, f *fx) {
	// Every ticket that existed before paging began is seen exactly once, however many are
	// created meanwhile.
	var before []*escalated.Ticket
	for range 60 {
		before = append(before, f.ticket())
	}
	f.createTickets(before...)

	stop := make(chan struct{})
	var inserted atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		later := base.AddDate(10, 0, 0) // newer than every fixture, as real new tickets are
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			tk := f.ticket(func(tk *escalated.Ticket) {
				tk.CreatedAt = later.Add(time.Duration(i) * time.Millisecond)
				tk.ID = escalated.NewID(escalated.PrefixTicket, tk.CreatedAt)
			})
			if err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.CreateTicket(f.ctx, tk) }); err != nil {
				t.Errorf("concurrent insert: %v", err)
				return
			}
			inserted.Add(1)
		}
	}()

	seen := map[string]int{}
	cursor := ""
	for pages := 0; ; pages++ {
		// Let a couple of inserts land between pages (bounded, should the inserter fail).
		for n, deadline := inserted.Load(), time.Now().Add(time.Second); inserted.Load() < n+2 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		var got []*escalated.Ticket
		var next string
		f.view(func(tx store.Tx) error {
			var err error
			got, next, err = tx.ListTickets(f.ctx, store.TicketFilter{Cursor: cursor, Limit: 7})
			return err
		})
		for _, tk := range got {
			seen[tk.ID]++
		}
		if next == "" {
			break
		}
		cursor = next
	}
	close(stop)
	wg.Wait()

	if inserted.Load() == 0 {
		t.Fatal("no ticket was inserted while paging; the test proved nothing")
	}
	for _, tk := range before {
		if n := seen[tk.ID]; n != 1 {
			t.Errorf("ticket %s that existed before paging was seen %d times", tk.ID, n)
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("ticket %s seen %d times", id, n)
		}
	}
}
