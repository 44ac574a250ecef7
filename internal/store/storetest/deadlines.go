package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

var deadlineTests = []test{
	{"ScheduleAndNextDue", testDeadlineScheduleNextDue},
	{"ReplaceSameKindTarget", testDeadlineReplace},
	{"Cancel", testDeadlineCancel},
	{"ClaimDue", testDeadlineClaimDue},
	{"ClaimRolledBack", testDeadlineClaimRolledBack},
	{"UnknownTicket", testDeadlineUnknownTicket},
	{"ConcurrentClaimers", testDeadlineConcurrentClaimers},
	{"ClaimByID", testDeadlineClaimByID},
	{"Count", testDeadlineCount},
	{"ScheduleAnnounced", testDeadlineAnnounced},
}

// deadline returns a deadline for ticketID due at due, with every field set.
func (f *fx) deadline(ticketID, kind, target string, due time.Time) *store.Deadline {
	now := f.tick()
	return &store.Deadline{
		ID: escalated.NewID("dl_", now), TicketID: ticketID, Kind: kind, Target: target,
		EscalationID: "esc_1", DueAt: due, CreatedAt: now,
	}
}

func wantDeadline(d *store.Deadline) *store.Deadline {
	w := *d
	w.DueAt, w.CreatedAt = escalated.Truncate(w.DueAt), escalated.Truncate(w.CreatedAt)
	return &w
}

func deadlineID(d *store.Deadline) string { return d.ID }

func (f *fx) schedule(ds ...*store.Deadline) {
	f.t.Helper()
	f.update(func(tx store.Tx) error {
		for _, d := range ds {
			if err := tx.ScheduleDeadline(f.ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
}

func (f *fx) nextDue(except ...string) time.Time {
	f.t.Helper()
	var next time.Time
	f.view(func(tx store.Tx) error {
		var err error
		next, err = tx.NextDue(f.ctx, except...)
		return err
	})
	return next
}

// claim runs ClaimDue in its own Update.
func (f *fx) claim(now time.Time, n int) []*store.Deadline {
	f.t.Helper()
	var got []*store.Deadline
	f.update(func(tx store.Tx) error {
		var err error
		got, err = tx.ClaimDue(f.ctx, now, n)
		return err
	})
	return got
}

func testDeadlineScheduleNextDue(t *testing.T, f *fx) {
	if next := f.nextDue(); !next.IsZero() {
		t.Fatalf("NextDue of an empty store = %v, want the zero time", next)
	}
	tk := f.ticket()
	f.createTickets(tk)
	later := f.deadline(tk.ID, "sla.breached", "resolution", base.Add(2*time.Hour))
	sooner := f.deadline(tk.ID, "sla.warning", "first_response", base.Add(time.Hour+1234567*time.Nanosecond))
	f.schedule(later, sooner)
	equal(t, "NextDue", f.nextDue(), escalated.Truncate(sooner.DueAt))
	equal(t, "NextDue except the sooner one", f.nextDue(sooner.ID, "dl_missing"), escalated.Truncate(later.DueAt))
	if next := f.nextDue(later.ID, sooner.ID); !next.IsZero() {
		t.Errorf("NextDue except every pending deadline = %v, want the zero time", next)
	}

	got := f.claim(base.Add(3*time.Hour), 10)
	equal(t, "claimed deadlines", got, []*store.Deadline{wantDeadline(sooner), wantDeadline(later)})
	if next := f.nextDue(); !next.IsZero() {
		t.Errorf("NextDue after claiming everything = %v, want the zero time", next)
	}
}

func testDeadlineReplace(t *testing.T, f *fx) {
	tk := f.ticket()
	f.createTickets(tk)
	first := f.deadline(tk.ID, "sla.warning", "first_response", base.Add(time.Hour))
	second := f.deadline(tk.ID, "sla.warning", "first_response", base.Add(3*time.Hour))
	second.EscalationID = ""
	f.schedule(first)
	f.schedule(second)
	equal(t, "NextDue after replacing", f.nextDue(), escalated.Truncate(second.DueAt))

	if got := f.claim(base.Add(2*time.Hour), 10); len(got) != 0 {
		t.Errorf("the replaced due time still fired: %v", ids(got, deadlineID))
	}
	got := f.claim(base.Add(4*time.Hour), 10)
	equal(t, "claimed deadlines", got, []*store.Deadline{wantDeadline(second)})
}

func testDeadlineCancel(t *testing.T, f *fx) {
	tk, other := f.ticket(), f.ticket()
	f.createTickets(tk, other)
	warn := f.deadline(tk.ID, "sla.warning", "first_response", base.Add(time.Hour))
	breach := f.deadline(tk.ID, "sla.breached", "first_response", base.Add(2*time.Hour))
	res := f.deadline(tk.ID, "sla.breached", "resolution", base.Add(3*time.Hour))
	keep := f.deadline(other.ID, "sla.breached", "first_response", base.Add(4*time.Hour))
	f.schedule(warn, breach, res, keep)

	f.update(func(tx store.Tx) error { return tx.CancelDeadlines(f.ctx, tk.ID, "first_response") })
	equal(t, "NextDue after cancelling first_response", f.nextDue(), escalated.Truncate(res.DueAt))

	f.update(func(tx store.Tx) error { return tx.CancelDeadlines(f.ctx, tk.ID, "") })
	// Cancelling what is not pending is not an error.
	f.update(func(tx store.Tx) error { return tx.CancelDeadlines(f.ctx, tk.ID, "") })
	f.update(func(tx store.Tx) error { return tx.CancelDeadlines(f.ctx, "tkt_missing", "resolution") })

	got := f.claim(base.Add(10*time.Hour), 10)
	equal(t, "deadlines left", got, []*store.Deadline{wantDeadline(keep)})
}

func testDeadlineClaimDue(t *testing.T, f *fx) {
	tk := f.ticket()
	f.createTickets(tk)
	now := base.Add(time.Hour)
	// Scheduled out of due order; two share a due time, so id breaks the tie.
	d3 := f.deadline(tk.ID, "sla.breached", "resolution", now)
	d1 := f.deadline(tk.ID, "sla.warning", "first_response", now.Add(-2*time.Minute))
	d2a := f.deadline(tk.ID, "sla.warning", "next_reply", now.Add(-time.Minute))
	d2b := f.deadline(tk.ID, "sla.warning", "resolution", now.Add(-time.Minute))
	future := f.deadline(tk.ID, "sla.breached", "first_response", now.Add(time.Millisecond))
	f.schedule(d3, future, d2b, d1, d2a)

	got := f.claim(now, 2)
	equalIDs(t, "first claim (at most 2, earliest first)", ids(got, deadlineID), []string{d1.ID, d2a.ID})
	got = f.claim(now, 10)
	equalIDs(t, "second claim (the rest that is due)", ids(got, deadlineID), []string{d2b.ID, d3.ID})
	if got := f.claim(now, 10); len(got) != 0 {
		t.Errorf("third claim got %v, want none: claimed deadlines must be removed", ids(got, deadlineID))
	}
	equal(t, "NextDue", f.nextDue(), escalated.Truncate(future.DueAt))
	got = f.claim(future.DueAt, 10)
	equal(t, "claim at the due time", got, []*store.Deadline{wantDeadline(future)})
}

func testDeadlineClaimRolledBack(t *testing.T, f *fx) {
	tk := f.ticket()
	f.createTickets(tk)
	d := f.deadline(tk.ID, "escalation.unacknowledged", "acknowledge", base.Add(time.Hour))
	f.schedule(d)

	err := f.s.Update(f.ctx, func(tx store.Tx) error {
		got, err := tx.ClaimDue(f.ctx, base.Add(2*time.Hour), 10)
		if err != nil {
			return err
		}
		if len(got) != 1 {
			t.Errorf("claim inside the failing Update got %d deadlines, want 1", len(got))
		}
		return errBoom
	})
	if err == nil {
		t.Fatal("Update whose fn failed returned no error")
	}
	equal(t, "NextDue after the rolled-back claim", f.nextDue(), escalated.Truncate(d.DueAt))
	got := f.claim(base.Add(2*time.Hour), 10)
	equal(t, "claim after the rollback", got, []*store.Deadline{wantDeadline(d)})
}

func testDeadlineUnknownTicket(t *testing.T, f *fx) {
	err := f.s.Update(f.ctx, func(tx store.Tx) error {
		return tx.ScheduleDeadline(f.ctx, f.deadline("tkt_missing", "sla.warning", "first_response", base))
	})
	wantCode(t, err, escalated.ENOTFOUND)
	wantMessageNames(t, err, "tkt_missing")
}

func testDeadlineConcurrentClaimers(t *testing.T, f *fx) {
	const total, claimers, batch = 100, 8, 5
	tks := make([]*escalated.Ticket, total)
	for i := range tks {
		tks[i] = f.ticket()
	}
	f.createTickets(tks...)
	want := make([]string, total)
	ds := make([]*store.Deadline, total)
	for i, tk := range tks {
		ds[i] = f.deadline(tk.ID, "sla.breached", "resolution", base.Add(time.Duration(i%7)*time.Minute))
		want[i] = ds[i].ID
	}
	f.schedule(ds...)
	now := base.Add(time.Hour)

	var (
		mu      sync.Mutex
		claimed []string
		wg      sync.WaitGroup
	)
	for range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var got []*store.Deadline
				err := f.s.Update(f.ctx, func(tx store.Tx) error {
					var err error
					got, err = tx.ClaimDue(f.ctx, now, batch)
					return err
				})
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if len(got) > batch {
					t.Errorf("claim returned %d deadlines, want at most %d", len(got), batch)
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				claimed = append(claimed, ids(got, deadlineID)...)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	seen := map[string]int{}
	for _, id := range claimed {
		seen[id]++
		if seen[id] == 2 {
			t.Errorf("deadline %s was claimed more than once", id)
		}
	}
	for _, id := range want {
		if seen[id] == 0 {
			t.Errorf("deadline %s was never claimed", id)
		}
	}
	if len(claimed) != total {
		t.Errorf("claimed %d deadlines in all, want %d", len(claimed), total)
	}
	if next := f.nextDue(); !next.IsZero() {
		t.Errorf("NextDue after claiming everything = %v, want the zero time", next)
	}
}

// claimByID runs ClaimDeadline in its own Update and returns its result; the Update commits
// whatever the claim did.
func (f *fx) claimByID(id string, now time.Time) (*store.Deadline, error) {
	f.t.Helper()
	var (
		got      *store.Deadline
		claimErr error
	)
	f.update(func(tx store.Tx) error {
		got, claimErr = tx.ClaimDeadline(f.ctx, id, now)
		return nil
	})
	return got, claimErr
}

func testDeadlineClaimByID(t *testing.T, f *fx) {
	tk := f.ticket()
	f.createTickets(tk)
	early := f.deadline(tk.ID, "sla.warning", "first_response", base.Add(time.Hour))
	late := f.deadline(tk.ID, "sla.breached", "first_response", base.Add(2*time.Hour))
	replaced := f.deadline(tk.ID, "sla.breached", "resolution", base.Add(time.Hour))
	f.schedule(early, late, replaced)
	replacement := f.deadline(tk.ID, "sla.breached", "resolution", base.Add(time.Hour))
	f.schedule(replacement)

	// A later deadline can be claimed past an earlier one that is due too: this is what lets
	// the engine fire around a deadline whose firing fails.
	now := base.Add(2 * time.Hour)
	got, err := f.claimByID(late.ID, now)
	if err != nil {
		t.Fatalf("ClaimDeadline of a due deadline: %v", err)
	}
	equal(t, "claimed deadline", got, wantDeadline(late))
	_, err = f.claimByID(late.ID, now)
	wantCode(t, err, escalated.ENOTFOUND)
	wantMessageNames(t, err, late.ID)

	_, err = f.claimByID(early.ID, early.DueAt.Add(-time.Millisecond))
	wantCode(t, err, escalated.ENOTFOUND) // not due yet
	_, err = f.claimByID(replaced.ID, now)
	wantCode(t, err, escalated.ENOTFOUND) // replaced: its id is gone
	_, err = f.claimByID("dl_missing", now)
	wantCode(t, err, escalated.ENOTFOUND)

	// A claim rolled back leaves the deadline pending.
	err = f.s.Update(f.ctx, func(tx store.Tx) error {
		if _, err := tx.ClaimDeadline(f.ctx, early.ID, now); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update whose fn failed returned %v", err)
	}
	got, err = f.claimByID(early.ID, early.DueAt)
	if err != nil {
		t.Fatalf("ClaimDeadline at the due time, after a rolled-back claim: %v", err)
	}
	equal(t, "claimed deadline", got, wantDeadline(early))
	rest := f.claim(now, 10)
	equal(t, "deadlines left", rest, []*store.Deadline{wantDeadline(replacement)})
}

func (f *fx) count(now time.Time) (pending, overdue int64) {
	f.t.Helper()
	f.view(func(tx store.Tx) error {
		var err error
		pending, overdue, err = tx.CountDeadlines(f.ctx, now)
		return err
	})
	return pending, overdue
}

func testDeadlineCount(t *testing.T, f *fx) {
	type counts struct{ Pending, Overdue int64 }
	check := func(what string, now time.Time, want counts) {
		t.Helper()
		p, o := f.count(now)
		equal(t, what, counts{p, o}, want)
	}
	check("counts of an empty store", base, counts{0, 0})
	tk, other := f.ticket(), f.ticket()
	f.createTickets(tk, other)
	f.schedule(
		f.deadline(tk.ID, "sla.warning", "first_response", base.Add(time.Hour)),
		f.deadline(tk.ID, "sla.breached", "first_response", base.Add(2*time.Hour)),
		f.deadline(other.ID, "sla.breached", "resolution", base.Add(3*time.Hour)),
	)
	check("counts before anything is due", base, counts{3, 0})
	check("counts a millisecond before the second is due", base.Add(2*time.Hour-time.Millisecond), counts{3, 1})
	check("counts when the second is due (due at now is overdue)", base.Add(2*time.Hour), counts{3, 2})
	check("counts after everything is due", base.Add(4*time.Hour), counts{3, 3})
	f.claim(base.Add(2*time.Hour), 10)
	check("counts after claiming the due ones", base.Add(4*time.Hour), counts{1, 1})
}

func testDeadlineAnnounced(t *testing.T, f *fx) {
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	ch, err := f.s.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tk, other := f.ticket(), f.ticket()
	f.createTickets(tk, other) // tickets without events announce nothing
	// Not on a millisecond and not UTC: the announced Due is what the store keeps.
	first := f.deadline(tk.ID, "sla.warning", "first_response", base.Add(time.Hour+1234567*time.Nanosecond))
	f.schedule(first)

	// A rolled-back Update announces nothing.
	err = f.s.Update(f.ctx, func(tx store.Tx) error {
		if err := tx.ScheduleDeadline(f.ctx, f.deadline(other.ID, "sla.warning", "first_response", base.Add(5*time.Minute))); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("failing Update returned %v", err)
	}
	// A replacement is announced like a first schedule.
	second := f.deadline(other.ID, "sla.breached", "resolution", base.Add(-90*time.Minute))
	third := f.deadline(tk.ID, "sla.warning", "first_response", base.Add(2*time.Hour))
	f.schedule(second, third)

	got := receive(t, ch, 3)
	want := []store.Change{
		{TicketID: tk.ID, Type: store.ChangeDeadline, Due: escalated.Truncate(first.DueAt)},
		{TicketID: other.ID, Type: store.ChangeDeadline, Due: escalated.Truncate(second.DueAt)},
		{TicketID: tk.ID, Type: store.ChangeDeadline, Due: escalated.Truncate(third.DueAt)},
	}
	equal(t, "announced changes", got, want)
	select {
	case c := <-ch:
		t.Errorf("unexpected extra change %+v", c)
	case <-time.After(200 * time.Millisecond):
	}
}
