package storetest

import (
	"fmt"
	"testing"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

var escalationTests = []test{
	{"RoundTripEveryField", testEscalationRoundTrip},
	{"RoundTripZeroValues", testEscalationZeroValues},
	{"GetNotFound", testEscalationNotFound},
	{"CreateDuplicateIsConflict", testEscalationDuplicate},
	{"CreateUnknownTicketIsNotFound", testEscalationUnknownTicket},
	{"UpdateRoundTrip", testEscalationUpdate},
	{"UpdateStaleVersionIsConflict", testEscalationStale},
	{"UpdateNotFound", testEscalationUpdateNotFound},
	{"ListFilters", testEscalationFilters},
	{"ListPaging", testEscalationPaging},
}

func (f *fx) createEscalations(es ...*escalated.Escalation) {
	f.t.Helper()
	f.update(func(tx store.Tx) error {
		for _, e := range es {
			if err := tx.CreateEscalation(f.ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
}

func (f *fx) getEscalation(id string) *escalated.Escalation {
	f.t.Helper()
	var e *escalated.Escalation
	f.view(func(tx store.Tx) error {
		var err error
		e, err = tx.GetEscalation(f.ctx, id)
		return err
	})
	return e
}

func testEscalationRoundTrip(t *testing.T, f *fx) {
	tk := f.ticket()
	e := f.escalation(tk.ID)
	f.createTickets(tk)
	f.createEscalations(e)
	equal(t, "escalation", f.getEscalation(e.ID), wantEscalation(e))

	necessary := f.escalation(tk.ID, func(e *escalated.Escalation) { e.Necessary = boolp(true) })
	f.createEscalations(necessary)
	equal(t, "escalation with necessary=true", f.getEscalation(necessary.ID), wantEscalation(necessary))
}

func testEscalationZeroValues(t *testing.T, f *fx) {
	tk := f.ticket()
	now := f.tick()
	e := &escalated.Escalation{ID: escalated.NewID(escalated.PrefixEscalation, now), TicketID: tk.ID,
		State: escalated.EscalationPending, Version: 1, CreatedAt: now}
	f.createTickets(tk)
	f.createEscalations(e)
	got := f.getEscalation(e.ID)
	equal(t, "escalation", got, wantEscalation(e))
	if got.Package != nil || got.Necessary != nil || got.AcknowledgedAt != nil || got.ClosedAt != nil {
		t.Errorf("unset optional fields read back set: %+v", got)
	}
}

func testEscalationNotFound(t *testing.T, f *fx) {
	id := f.id(escalated.PrefixEscalation)
	err := f.s.View(f.ctx, func(tx store.Tx) error { _, err := tx.GetEscalation(f.ctx, id); return err })
	wantCode(t, err, escalated.ENOTFOUND)
	wantMessageNames(t, err, "escalation", id)
}

func testEscalationDuplicate(t *testing.T, f *fx) {
	tk := f.ticket()
	e := f.escalation(tk.ID)
	f.createTickets(tk)
	f.createEscalations(e)
	again := *e
	again.Note = "other"
	err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.CreateEscalation(f.ctx, &again) })
	wantCode(t, err, escalated.ECONFLICT)
	wantMessageNames(t, err, e.ID)
}

func testEscalationUnknownTicket(t *testing.T, f *fx) {
	tid := f.id(escalated.PrefixTicket)
	err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.CreateEscalation(f.ctx, f.escalation(tid)) })
	wantCode(t, err, escalated.ENOTFOUND)
	wantMessageNames(t, err, tid)
}

func testEscalationUpdate(t *testing.T, f *fx) {
	tk := f.ticket()
	now := f.tick()
	e := &escalated.Escalation{ID: escalated.NewID(escalated.PrefixEscalation, now), TicketID: tk.ID,
		FromTeam: "frontline", ToTeam: "sso", State: escalated.EscalationPending, Version: 1, CreatedAt: now}
	f.createTickets(tk)
	f.createEscalations(e)

	// Every mutable field changes (ticket and creation time are fixed at create).
	full := f.escalation(tk.ID)
	full.ID, full.CreatedAt, full.Version = e.ID, e.CreatedAt, 2
	f.update(func(tx store.Tx) error { return tx.UpdateEscalation(f.ctx, full) })
	equal(t, "updated escalation", f.getEscalation(e.ID), wantEscalation(full))

	// And back to unset optional fields.
	cleared := *e
	cleared.Version = 3
	f.update(func(tx store.Tx) error { return tx.UpdateEscalation(f.ctx, &cleared) })
	equal(t, "cleared escalation", f.getEscalation(e.ID), wantEscalation(&cleared))
}

func testEscalationStale(t *testing.T, f *fx) {
	tk := f.ticket()
	e := f.escalation(tk.ID, func(e *escalated.Escalation) { e.Version = 3 })
	f.createTickets(tk)
	f.createEscalations(e)
	for _, v := range []int64{3, 5, 1} {
		stale := *e
		stale.Version, stale.Note = v, "lost update"
		err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.UpdateEscalation(f.ctx, &stale) })
		wantCode(t, err, escalated.ECONFLICT)
		wantMessageNames(t, err, e.ID)
	}
	equal(t, "escalation after stale updates", f.getEscalation(e.ID), wantEscalation(e))
}

func testEscalationUpdateNotFound(t *testing.T, f *fx) {
	tk := f.ticket()
	f.createTickets(tk)
	e := f.escalation(tk.ID)
	err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.UpdateEscalation(f.ctx, e) })
	wantCode(t, err, escalated.ENOTFOUND)
	wantMessageNames(t, err, "escalation", e.ID)
}

func testEscalationFilters(t *testing.T, f *fx) {
	t1, t2 := f.ticket(), f.ticket()
	mk := func(ticket, from, to string, st escalated.EscalationState) *escalated.Escalation {
		return f.escalation(ticket, func(e *escalated.Escalation) { e.FromTeam, e.ToTeam, e.State = from, to, st })
	}
	a := mk(t1.ID, "frontline", "sso", escalated.EscalationPending)
	b := mk(t1.ID, "sso", "identity", escalated.EscalationAcknowledged)
	c := mk(t2.ID, "frontline", "billing", escalated.EscalationPending)
	d := mk(t2.ID, "billing", "sso", escalated.EscalationResolved)
	f.createTickets(t1, t2)
	f.createEscalations(a, b, c, d)

	cases := []struct {
		name   string
		filter store.EscalationFilter
		want   []*escalated.Escalation // creation order
	}{
		{"none", store.EscalationFilter{}, []*escalated.Escalation{a, b, c, d}},
		{"ticket", store.EscalationFilter{TicketID: t1.ID}, []*escalated.Escalation{a, b}},
		{"team matches from or to", store.EscalationFilter{Team: "sso"}, []*escalated.Escalation{a, b, d}},
		{"team from side only", store.EscalationFilter{Team: "frontline"}, []*escalated.Escalation{a, c}},
		{"to team", store.EscalationFilter{ToTeam: "sso"}, []*escalated.Escalation{a, d}},
		{"state", store.EscalationFilter{State: escalated.EscalationPending}, []*escalated.Escalation{a, c}},
		{"team and state", store.EscalationFilter{Team: "sso", State: escalated.EscalationPending}, []*escalated.Escalation{a}},
		{"team and ticket", store.EscalationFilter{Team: "billing", TicketID: t2.ID}, []*escalated.Escalation{c, d}},
		{"ticket and to team", store.EscalationFilter{TicketID: t2.ID, ToTeam: "sso"}, []*escalated.Escalation{d}},
		{"no match", store.EscalationFilter{Team: "nobody"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := f.in(t)
			f.view(func(tx store.Tx) error {
				got, cursor, err := tx.ListEscalations(f.ctx, tc.filter)
				if err != nil {
					return err
				}
				equalIDs(t, "escalations", ids(got, escalationID), newestFirst(ids(tc.want, escalationID)...))
				if cursor != "" {
					t.Errorf("cursor %q on a complete page", cursor)
				}
				return nil
			})
		})
	}
	t.Run("items read like Get", func(t *testing.T) {
		f := f.in(t)
		f.view(func(tx store.Tx) error {
			got, _, err := tx.ListEscalations(f.ctx, store.EscalationFilter{TicketID: t2.ID, ToTeam: "sso"})
			if err != nil {
				return err
			}
			equal(t, "listed escalation", got, []*escalated.Escalation{wantEscalation(d)})
			return nil
		})
	})
}

func testEscalationPaging(t *testing.T, f *fx) {
	tk := f.ticket()
	f.createTickets(tk)
	var all, sso, frontline []*escalated.Escalation
	for i := range 17 {
		e := f.escalation(tk.ID, func(e *escalated.Escalation) {
			// Team "sso" appears on the from side, the to side, or neither.
			switch i % 3 {
			case 0:
				e.FromTeam, e.ToTeam = "sso", "identity"
			case 1:
				e.FromTeam, e.ToTeam = "frontline", "sso"
			default:
				e.FromTeam, e.ToTeam = "frontline", "billing"
			}
		})
		all = append(all, e)
		if i%3 != 2 {
			sso = append(sso, e)
		}
		if i%3 != 0 {
			frontline = append(frontline, e)
		}
	}
	f.createEscalations(all...)
	list := func(filter store.EscalationFilter) func(string, int) ([]string, string, error) {
		return func(cursor string, limit int) (out []string, next string, err error) {
			err = f.s.View(f.ctx, func(tx store.Tx) error {
				filter.Cursor, filter.Limit = cursor, limit
				got, c, err := tx.ListEscalations(f.ctx, filter)
				out, next = ids(got, escalationID), c
				return err
			})
			return out, next, err
		}
	}
	for _, limit := range []int{1, 4, 6, 12, 100} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			equalIDs(t, "all", pageAll(t, limit, list(store.EscalationFilter{})), newestFirst(ids(all, escalationID)...))
			equalIDs(t, "team sso", pageAll(t, limit, list(store.EscalationFilter{Team: "sso"})), newestFirst(ids(sso, escalationID)...))
			// Every frontline match is on the from side: a page must still know there is a next one.
			equalIDs(t, "team frontline", pageAll(t, limit, list(store.EscalationFilter{Team: "frontline"})), newestFirst(ids(frontline, escalationID)...))
		})
	}
}
