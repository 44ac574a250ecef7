package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

var transactionTests = []test{
	{"ViewSeesCommitted", testViewSeesCommitted},
	{"ViewDoesNotSeeUncommitted", testViewUncommitted},
	{"ViewIsOneSnapshot", testViewSnapshot},
	{"ViewReturnsFnError", testViewError},
	{"FailedUpdateRollsBackAllItsWrites", testUpdateRollback},
	{"ConcurrentFailuresRollBackOnlyTheirOwn", testConcurrentFailures},
	{"CancelledContextWritesNothing", testCancelledUpdate},
	{"ConcurrentWritersLoseNoUpdate", testNoLostUpdate},
}

func (f *fx) ticketExists(id string) bool {
	f.t.Helper()
	var ok bool
	f.view(func(tx store.Tx) error {
		_, err := tx.GetTicket(f.ctx, id)
		switch escalated.ErrorCode(err) {
		case "":
			ok = true
			return nil
		case escalated.ENOTFOUND:
			return nil
		}
		return err
	})
	return ok
}

func testViewSeesCommitted(t *testing.T, f *fx) {
	for range 5 {
		tk := f.ticket()
		// Update has returned, so the write is committed: the very next View must see it.
		f.createTickets(tk)
		if !f.ticketExists(tk.ID) {
			t.Fatalf("ticket %s created by a returned Update is not visible to View", tk.ID)
		}
	}
}

func testViewUncommitted(t *testing.T, f *fx) {
	tk := f.ticket()
	written, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- f.s.Update(f.ctx, func(tx store.Tx) error {
			if err := tx.CreateTicket(f.ctx, tk); err != nil {
				return err
			}
			close(written)
			<-release
			return nil
		})
	}()
	<-written
	if f.ticketExists(tk.ID) {
		t.Error("View sees a ticket whose Update has not committed")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !f.ticketExists(tk.ID) {
		t.Error("ticket missing after its Update committed")
	}
}

func testViewSnapshot(t *testing.T, f *fx) {
	f.createTickets(f.ticket())
	err := f.s.View(f.ctx, func(tx store.Tx) error {
		first, _, err := tx.ListTickets(f.ctx, store.TicketFilter{})
		if err != nil {
			return err
		}
		// A write commits in the middle of the View...
		f.createTickets(f.ticket())
		again, _, err := tx.ListTickets(f.ctx, store.TicketFilter{})
		if err != nil {
			return err
		}
		// ...and the View keeps reading the snapshot it started with.
		equalIDs(t, "tickets read twice in one View", ids(again, ticketID), ids(first, ticketID))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testViewError(t *testing.T, f *fx) {
	err := f.s.View(f.ctx, func(tx store.Tx) error { return errBoom })
	if !errors.Is(err, errBoom) {
		t.Fatalf("View returned %v, want fn's error", err)
	}
}

// writeTicketWithHistory is what a service does for a new ticket: ticket, message, events,
// audit, escalation. It returns the ids it wrote.
func (f *fx) writeTicketWithHistory(tx store.Tx, tk *escalated.Ticket) (msgID, escID, auditID string, err error) {
	m := f.message(tk.ID, 2)
	e := f.escalation(tk.ID)
	a := f.audit(func(a *escalated.AuditRecord) { a.ObjectID = e.ID })
	steps := []func() error{
		func() error { return tx.CreateTicket(f.ctx, tk) },
		func() error { return tx.AppendEvent(f.ctx, f.event(tk.ID, 1, escalated.EventTicketCreated)) },
		func() error { return tx.AddMessage(f.ctx, m) },
		func() error {
			return tx.AppendEvent(f.ctx, f.event(tk.ID, 2, escalated.EventMessageAdded, func(ev *escalated.Event) { ev.Message = m }))
		},
		func() error { return tx.CreateEscalation(f.ctx, e) },
		func() error { return tx.AppendAudit(f.ctx, a) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return "", "", "", err
		}
	}
	return m.ID, e.ID, a.ID, nil
}

// history reports what of a ticket written by writeTicketWithHistory is stored.
func (f *fx) stored(tkID, msgID, escID, auditID string) (found []string) {
	f.t.Helper()
	f.view(func(tx store.Tx) error {
		check := func(what string, err error) error {
			switch escalated.ErrorCode(err) {
			case "":
				found = append(found, what)
			case escalated.ENOTFOUND:
			default:
				return err
			}
			return nil
		}
		_, err := tx.GetTicket(f.ctx, tkID)
		if err := check("ticket", err); err != nil {
			return err
		}
		_, err = tx.GetMessage(f.ctx, msgID)
		if err := check("message", err); err != nil {
			return err
		}
		_, err = tx.GetEscalation(f.ctx, escID)
		if err := check("escalation", err); err != nil {
			return err
		}
		evs, err := tx.ListEvents(f.ctx, tkID)
		if err != nil {
			return err
		}
		if len(evs) > 0 {
			found = append(found, fmt.Sprintf("%d events", len(evs)))
		}
		au, _, err := tx.ListAudit(f.ctx, store.AuditFilter{ObjectID: escID})
		if err != nil {
			return err
		}
		for _, a := range au {
			if a.ID == auditID {
				found = append(found, "audit")
			}
		}
		return nil
	})
	return found
}

func testUpdateRollback(t *testing.T, f *fx) {
	tk := f.ticket()
	var msgID, escID, auditID string
	err := f.s.Update(f.ctx, func(tx store.Tx) error {
		var err error
		if msgID, escID, auditID, err = f.writeTicketWithHistory(tx, tk); err != nil {
			return err
		}
		return fmt.Errorf("decide: %w", errBoom)
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	if got := f.stored(tk.ID, msgID, escID, auditID); len(got) > 0 {
		t.Errorf("a failed Update left writes behind: %v", got)
	}
}

func testConcurrentFailures(t *testing.T, f *fx) {
	// 16 Updates at once, every third failing after it wrote everything: exactly the others
	// persist, whether the store ran them in one transaction or sixteen.
	const n = 16
	type result struct {
		tk                    *escalated.Ticket
		msgID, escID, auditID string
		fail                  bool
		err                   error
	}
	results := make([]*result, n)
	for i := range results {
		results[i] = &result{tk: f.ticket(), fail: i%3 == 1}
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, r := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r.err = f.s.Update(f.ctx, func(tx store.Tx) error {
				var err error
				if r.msgID, r.escID, r.auditID, err = f.writeTicketWithHistory(tx, r.tk); err != nil {
					return err
				}
				if r.fail {
					return errBoom
				}
				return nil
			})
		}()
	}
	close(start)
	wg.Wait()
	for i, r := range results {
		got := f.stored(r.tk.ID, r.msgID, r.escID, r.auditID)
		switch {
		case r.fail && !errors.Is(r.err, errBoom):
			t.Errorf("update %d: got %v, want its own error", i, r.err)
		case r.fail && len(got) > 0:
			t.Errorf("update %d failed but left %v", i, got)
		case !r.fail && r.err != nil:
			t.Errorf("update %d: %v (another caller's failure must not affect it)", i, r.err)
		case !r.fail && len(got) != 5:
			t.Errorf("update %d succeeded but only %v are stored", i, got)
		}
	}
}

func testCancelledUpdate(t *testing.T, f *fx) {
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	tk := f.ticket()
	err := f.s.Update(ctx, func(tx store.Tx) error { return tx.CreateTicket(ctx, tk) })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Update with a cancelled context returned %v, want context.Canceled", err)
	}
	if f.ticketExists(tk.ID) {
		t.Error("Update with a cancelled context wrote its ticket")
	}
}

func testNoLostUpdate(t *testing.T, f *fx) {
	// 16 writers x 50 read-modify-write Updates on 4 shared tickets, each bumping the version
	// and appending the event that takes it. Conflicts are retried as a service would; at the
	// end every ticket's version, counter and history account for every Update.
	const writers, perWriter, shared = 16, 50, 4
	var tickets []*escalated.Ticket
	for range shared {
		tickets = append(tickets, f.ticket(func(tk *escalated.Ticket) { tk.Version = 1; tk.Counters = escalated.Counters{} }))
	}
	f.update(func(tx store.Tx) error {
		for _, tk := range tickets {
			if err := tx.CreateTicket(f.ctx, tk); err != nil {
				return err
			}
			if err := tx.AppendEvent(f.ctx, f.event(tk.ID, 1, escalated.EventTicketCreated)); err != nil {
				return err
			}
		}
		return nil
	})

	var wg sync.WaitGroup
	var mu sync.Mutex
	retries := 0
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := tickets[w%shared].ID
			for range perWriter {
				for attempt := 0; ; attempt++ {
					if attempt > 1000 {
						t.Errorf("writer %d: no progress after %d conflicts", w, attempt)
						return
					}
					err := f.s.Update(f.ctx, func(tx store.Tx) error {
						tk, err := tx.GetTicket(f.ctx, id)
						if err != nil {
							return err
						}
						prev := tk.Version
						tk.Version++
						tk.Counters.Messages++
						tk.UpdatedAt = f.tick()
						if err := tx.UpdateTicket(f.ctx, tk, prev); err != nil {
							return err
						}
						return tx.AppendEvent(f.ctx, f.event(id, tk.Version, escalated.EventTicketUpdated,
							func(e *escalated.Event) { e.Data = map[string]any{"writer": float64(w)} }))
					})
					if escalated.ErrorCode(err) == escalated.ECONFLICT {
						mu.Lock()
						retries++
						mu.Unlock()
						continue
					}
					if err != nil {
						t.Errorf("writer %d: %v", w, err)
						return
					}
					break
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d updates, %d conflicts retried", writers*perWriter, retries)

	perTicket := writers / shared * perWriter
	f.view(func(tx store.Tx) error {
		for _, tk := range tickets {
			got, err := tx.GetTicket(f.ctx, tk.ID)
			if err != nil {
				return err
			}
			evs, err := tx.ListEvents(f.ctx, tk.ID)
			if err != nil {
				return err
			}
			if got.Version != int64(1+perTicket) || got.Counters.Messages != perTicket {
				t.Errorf("ticket %s: version %d, messages counter %d; want %d and %d",
					tk.ID, got.Version, got.Counters.Messages, 1+perTicket, perTicket)
			}
			if len(evs) != 1+perTicket {
				t.Errorf("ticket %s: %d events, want %d", tk.ID, len(evs), 1+perTicket)
			}
			for i, e := range evs {
				if e.Seq != int64(i+1) {
					t.Errorf("ticket %s: event %d has seq %d: history has a gap or a repeat", tk.ID, i, e.Seq)
					break
				}
			}
		}
		return nil
	})
}
