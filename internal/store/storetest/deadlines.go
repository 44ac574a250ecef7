package storetest

import (
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

func (f *fx) nextDue() time.Time {
	f.t.Helper()
	var next time.Time
	f.view(func(tx store.Tx) error {
		var err error
		next, err = tx.NextDue(f.ctx)
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
