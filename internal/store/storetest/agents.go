package storetest

import (
	"testing"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

var agentTests = []test{
	{"StateRoundTripAndReplace", testAgentStateRoundTrip},
	{"OpenCounts", testAgentOpenCounts},
	{"LastAssigned", testAgentLastAssigned},
	{"QueueOldestFirstOpenOnly", testAgentQueue},
	{"QueuePaging", testAgentQueuePaging},
}

func (f *fx) agentStates(ids ...string) map[string]*store.AgentState {
	f.t.Helper()
	var got map[string]*store.AgentState
	f.view(func(tx store.Tx) error {
		var err error
		got, err = tx.AgentStates(f.ctx, ids...)
		return err
	})
	return got
}

func testAgentStateRoundTrip(t *testing.T, f *fx) {
	if got := f.agentStates("ana", "ben"); len(got) != 0 {
		t.Fatalf("AgentStates of agents never changed = %v, want none", got)
	}
	if got := f.agentStates(); len(got) != 0 {
		t.Fatalf("AgentStates() = %v, want none", got)
	}
	ana := &store.AgentState{AgentID: "ana", Status: "away", Capacity: 3, UpdatedAt: f.tick()}
	ben := &store.AgentState{AgentID: "ben", Status: "", Capacity: 0, UpdatedAt: f.tick()}
	f.update(func(tx store.Tx) error {
		if err := tx.PutAgentState(f.ctx, ana); err != nil {
			return err
		}
		return tx.PutAgentState(f.ctx, ben)
	})
	want := func(s *store.AgentState) *store.AgentState {
		w := *s
		w.UpdatedAt = escalated.Truncate(w.UpdatedAt)
		return &w
	}
	equal(t, "agent states", f.agentStates("ana", "ben", "nobody"), map[string]*store.AgentState{"ana": want(ana), "ben": want(ben)})

	// A second put replaces every field, back to the policy's values included.
	again := &store.AgentState{AgentID: "ana", Status: "", Capacity: 0, UpdatedAt: f.tick()}
	f.update(func(tx store.Tx) error { return tx.PutAgentState(f.ctx, again) })
	equal(t, "agent state after replacing", f.agentStates("ana"), map[string]*store.AgentState{"ana": want(again)})
}

func testAgentOpenCounts(t *testing.T, f *fx) {
	mk := func(assignee string, st escalated.Status) *escalated.Ticket {
		return f.ticket(func(tk *escalated.Ticket) { tk.Assignee, tk.Status = assignee, st })
	}
	tks := []*escalated.Ticket{
		mk("ana", escalated.StatusNew), mk("ana", escalated.StatusOpen), mk("ana", escalated.StatusPending),
		mk("ana", escalated.StatusOnHold), mk("ana", escalated.StatusSolved), mk("ana", escalated.StatusClosed),
		mk("ben", escalated.StatusOpen), mk("", escalated.StatusOpen), mk("eve", escalated.StatusSolved),
	}
	f.createTickets(tks...)
	counts := func() map[string]int {
		var got map[string]int
		f.view(func(tx store.Tx) error {
			var err error
			got, err = tx.OpenCounts(f.ctx, "ana", "ben", "eve", "tom")
			return err
		})
		return got
	}
	// Solved and closed tickets do not count; agents with none are absent.
	equal(t, "open counts", counts(), map[string]int{"ana": 4, "ben": 1})

	// Solving one and handing another over moves the counts in the same transaction.
	f.update(func(tx store.Tx) error {
		for _, i := range []int{1, 6} {
			tk, err := tx.GetTicket(f.ctx, tks[i].ID)
			if err != nil {
				return err
			}
			prev := tk.Version
			tk.Version++
			if i == 1 {
				tk.Status = escalated.StatusSolved
			} else {
				tk.Assignee = "tom"
			}
			if err := tx.UpdateTicket(f.ctx, tk, prev); err != nil {
				return err
			}
		}
		got, err := tx.OpenCounts(f.ctx, "ana", "ben", "tom")
		if err != nil {
			return err
		}
		equal(t, "open counts inside the writing transaction", got, map[string]int{"ana": 3, "tom": 1})
		return nil
	})
	equal(t, "open counts after the change", counts(), map[string]int{"ana": 3, "tom": 1})
	f.view(func(tx store.Tx) error {
		got, err := tx.OpenCounts(f.ctx)
		if err != nil {
			return err
		}
		equal(t, "open counts of no agents", got, map[string]int{})
		return nil
	})
}

func testAgentLastAssigned(t *testing.T, f *fx) {
	last := func(team string) string {
		var got string
		f.view(func(tx store.Tx) error {
			var err error
			got, err = tx.LastAssigned(f.ctx, team)
			return err
		})
		return got
	}
	if got := last("frontline"); got != "" {
		t.Fatalf("LastAssigned of a team that never assigned = %q, want \"\"", got)
	}
	// Inside Update (where PostgreSQL locks the team's row) it reads the same.
	f.update(func(tx store.Tx) error {
		got, err := tx.LastAssigned(f.ctx, "frontline")
		if err != nil || got != "" {
			t.Errorf("LastAssigned in Update = %q, %v; want \"\"", got, err)
		}
		return tx.SetLastAssigned(f.ctx, "frontline", "ana", f.tick())
	})
	f.update(func(tx store.Tx) error { return tx.SetLastAssigned(f.ctx, "billing", "bea", f.tick()) })
	f.update(func(tx store.Tx) error {
		got, err := tx.LastAssigned(f.ctx, "frontline")
		if err != nil || got != "ana" {
			t.Errorf("LastAssigned in Update = %q, %v; want ana", got, err)
		}
		return tx.SetLastAssigned(f.ctx, "frontline", "tom", f.tick())
	})
	equal(t, "last assigned in frontline", last("frontline"), "tom")
	equal(t, "last assigned in billing", last("billing"), "bea")

	// A rolled-back assignment is forgotten.
	_ = f.s.Update(f.ctx, func(tx store.Tx) error {
		if err := tx.SetLastAssigned(f.ctx, "frontline", "ana", f.tick()); err != nil {
			return err
		}
		return errBoom
	})
	equal(t, "last assigned after a rollback", last("frontline"), "tom")
}

func (f *fx) queue(team, cursor string, limit int) ([]string, string) {
	f.t.Helper()
	var (
		got  []*escalated.Ticket
		next string
	)
	f.view(func(tx store.Tx) error {
		var err error
		got, next, err = tx.ListQueue(f.ctx, store.QueueFilter{Team: team, Cursor: cursor, Limit: limit})
		return err
	})
	return ids(got, ticketID), next
}

func testAgentQueue(t *testing.T, f *fx) {
	mk := func(team string, st escalated.Status) *escalated.Ticket {
		return f.ticket(func(tk *escalated.Ticket) { tk.Team, tk.Status = team, st })
	}
	a := mk("billing", escalated.StatusNew)
	b := mk("billing", escalated.StatusSolved)
	c := mk("frontline", escalated.StatusOpen)
	d := mk("billing", escalated.StatusOnHold)
	e := mk("billing", escalated.StatusClosed)
	g := mk("billing", escalated.StatusPending)
	f.createTickets(a, b, c, d, e, g)
	got, next := f.queue("billing", "", 0)
	equalIDs(t, "billing queue", got, []string{a.ID, d.ID, g.ID})
	equal(t, "cursor of the only page", next, "")
	if got, _ := f.queue("engineering", "", 0); len(got) != 0 {
		t.Errorf("queue of a team without tickets = %v, want none", got)
	}

	// The queue reads tickets like GetTicket does.
	f.view(func(tx store.Tx) error {
		items, _, err := tx.ListQueue(f.ctx, store.QueueFilter{Team: "frontline"})
		if err != nil {
			return err
		}
		equal(t, "queued ticket", items, []*escalated.Ticket{wantTicket(c, nil, nil)})
		return nil
	})
}

func testAgentQueuePaging(t *testing.T, f *fx) {
	var want []string
	for i := range 7 {
		st := escalated.StatusOpen
		if i == 3 {
			st = escalated.StatusSolved
		}
		tk := f.ticket(func(tk *escalated.Ticket) { tk.Team, tk.Status = "frontline", st })
		f.createTickets(tk)
		if st != escalated.StatusSolved {
			want = append(want, tk.ID)
		}
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		page, next := f.queue("frontline", cursor, 2)
		if len(page) > 2 {
			t.Fatalf("page of %d, limit 2", len(page))
		}
		got = append(got, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	equalIDs(t, "queue read page by page", got, want)
}
