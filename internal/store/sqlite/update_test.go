package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// TestUpdateTicketMovesOnlyIndexedColumnsThatChanged moves one indexed column at a time, then
// several, in an Update that read the ticket first (so UPDATE leaves the unchanged indexed
// columns out of SET), and checks that a fresh read has every value and that each index finds
// the ticket under its new value and no longer under its old one.
func TestUpdateTicketMovesOnlyIndexedColumnsThatChanged(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	ctx := t.Context()
	tk := newTicket(time.Now())
	tk.Tier, tk.Assignee = "t1", "ana"
	if err := createTicket(ctx, db, tk); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		move func(*escalated.Ticket)
	}{
		{"status", func(x *escalated.Ticket) { x.Status = escalated.StatusOpen }},
		{"priority", func(x *escalated.Ticket) { x.Priority = escalated.PriorityHigh }},
		{"team", func(x *escalated.Ticket) { x.Team = "billing" }},
		{"tier", func(x *escalated.Ticket) { x.Tier = "t2" }},
		{"assignee", func(x *escalated.Ticket) { x.Assignee = "bo" }},
		{"escalations", func(x *escalated.Ticket) { x.Counters.Escalations++ }},
		{"escalation", func(x *escalated.Ticket) {
			x.Team, x.Tier, x.Assignee, x.Counters.Escalations = "tier3", "t3", "", x.Counters.Escalations+1
		}},
		{"solved", func(x *escalated.Ticket) { x.Status, x.Subject = escalated.StatusSolved, "done" }},
		{"nothing indexed", func(x *escalated.Ticket) { x.Subject = "done again" }},
	}
	for _, st := range steps {
		var want escalated.Ticket
		err := db.Update(ctx, func(tx store.Tx) error {
			x, err := tx.GetTicket(ctx, tk.ID)
			if err != nil {
				return err
			}
			prev := x.Version
			st.move(x)
			x.Version++
			want = *x
			return tx.UpdateTicket(ctx, x, prev)
		})
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		var got *escalated.Ticket
		if err := db.View(ctx, func(tx store.Tx) error {
			got, err = tx.GetTicket(ctx, tk.ID)
			return err
		}); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got.Subject != want.Subject || got.Status != want.Status || got.Priority != want.Priority ||
			got.Team != want.Team || got.Tier != want.Tier || got.Assignee != want.Assignee ||
			got.Counters.Escalations != want.Counters.Escalations || got.Version != want.Version {
			t.Fatalf("%s: read back %+v, want %+v", st.name, got, want)
		}
		open := !want.Status.Done()
		for _, c := range []struct {
			index, where string
			arg          any
			want         bool
		}{
			{"tickets_status", "status = ?", string(want.Status), true},
			{"tickets_priority", "priority = ?", string(want.Priority), true},
			{"tickets_team", "team = ?", want.Team, true},
			{"tickets_tier", "tier = ?", want.Tier, true},
			{"tickets_assignee", "assignee = ?", want.Assignee, true},
			{"tickets_escalated", "ever_escalated = ?", want.Counters.Escalations > 0, true},
			{"tickets_open_team", "team = ? AND status NOT IN ('solved', 'closed')", want.Team, open},
			{"tickets_open_assignee", "assignee = ? AND status NOT IN ('solved', 'closed')", want.Assignee, open},
			{"tickets_team", "team = ?", "frontline", want.Team == "frontline"},
			{"tickets_assignee", "assignee = ?", "ana", want.Assignee == "ana"},
		} {
			var n int
			q := fmt.Sprintf("SELECT count(*) FROM tickets INDEXED BY %s WHERE %s", c.index, c.where)
			if err := db.readers.QueryRowContext(ctx, q, c.arg).Scan(&n); err != nil {
				t.Fatalf("%s: %s: %v", st.name, q, err)
			}
			if (n == 1) != c.want || n > 1 {
				t.Errorf("%s: %s with %v finds %d tickets, want the ticket: %v", st.name, c.index, c.arg, n, c.want)
			}
		}
	}
	var check string
	if err := db.readers.QueryRowContext(context.Background(), "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q, %v", check, err)
	}
}
