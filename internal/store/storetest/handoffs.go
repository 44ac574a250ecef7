package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

var handoffTests = []test{
	{"RoundTrip", testHandoffRoundTrip},
	{"SaveDuplicateIsConflict", testHandoffDuplicate},
	{"SaveUnknownTicketIsNotFound", testHandoffUnknownTicket},
	{"GetNotFound", testHandoffNotFound},
	{"PendingAhead", testPendingAhead},
	{"AckDelays", testAckDelays},
	{"EscalationContextSufficient", testContextSufficient},
}

// answer is JSON a normalising column would change: keys out of order and repeated, spacing, a
// \u escape, a number with a trailing zero and a final newline (json.Encoder writes one). A
// retried handoff must get these bytes back, not an equivalent document.
const answer = "{\"z\":1,  \"a\":[true,null] ,\"dup\":1,\"dup\":2,\"s\":\"caf\\u00e9 \u2713\",\"n\":1.50}\n"

func (f *fx) handoff(ticketID, escalationID string) *store.Handoff {
	now := f.tick()
	return &store.Handoff{
		ID: "hof_" + escalated.NewID("", now), RequestHash: "sha256:" + escalated.NewID("", now),
		TicketID: ticketID, EscalationID: escalationID, Answer: []byte(answer), CreatedAt: now,
	}
}

func (f *fx) saveHandoff(h *store.Handoff) {
	f.t.Helper()
	f.update(func(tx store.Tx) error { return tx.SaveHandoff(f.ctx, h) })
}

func (f *fx) getHandoff(id string) *store.Handoff {
	f.t.Helper()
	var h *store.Handoff
	f.view(func(tx store.Tx) error {
		var err error
		h, err = tx.GetHandoff(f.ctx, id)
		return err
	})
	return h
}

func wantHandoff(h *store.Handoff) *store.Handoff {
	w := *h
	w.CreatedAt = escalated.Truncate(w.CreatedAt)
	return &w
}

// equalHandoff compares every field, Answer byte for byte and shown as text when it differs.
func equalHandoff(t *testing.T, what string, got, want *store.Handoff) {
	t.Helper()
	if !bytes.Equal(got.Answer, want.Answer) {
		t.Errorf("%s: answer differs from what was written:\n  got  %q\n  want %q", what, got.Answer, want.Answer)
	}
	g, w := *got, *want
	g.Answer, w.Answer = nil, nil
	equal(t, what, &g, &w)
}

func testHandoffRoundTrip(t *testing.T, f *fx) {
	tk := f.ticket()
	e := f.escalation(tk.ID)
	f.createTickets(tk)
	f.createEscalations(e)
	h := f.handoff(tk.ID, e.ID)
	// The service saves and may read back in one transaction: the write is visible there.
	f.update(func(tx store.Tx) error {
		if err := tx.SaveHandoff(f.ctx, h); err != nil {
			return err
		}
		got, err := tx.GetHandoff(f.ctx, h.ID)
		if err != nil {
			return err
		}
		equalHandoff(t, "handoff read in its own transaction", got, wantHandoff(h))
		return nil
	})
	equalHandoff(t, "handoff", f.getHandoff(h.ID), wantHandoff(h))

	// A handoff onto a ticket that escalated nothing has no escalation.
	none := f.handoff(tk.ID, "")
	f.saveHandoff(none)
	equalHandoff(t, "handoff without escalation", f.getHandoff(none.ID), wantHandoff(none))
}

func testHandoffDuplicate(t *testing.T, f *fx) {
	tk := f.ticket()
	f.createTickets(tk)
	h := f.handoff(tk.ID, "esc_1")
	f.saveHandoff(h)
	again := f.handoff(tk.ID, "esc_2")
	again.ID, again.Answer = h.ID, []byte(`{"second":true}`)
	err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.SaveHandoff(f.ctx, again) })
	wantCode(t, err, escalated.ECONFLICT)
	wantMessageNames(t, err, "handoff", h.ID)
	equalHandoff(t, "handoff after a duplicate save", f.getHandoff(h.ID), wantHandoff(h))
}

func testHandoffUnknownTicket(t *testing.T, f *fx) {
	tid := f.id(escalated.PrefixTicket)
	h := f.handoff(tid, "")
	err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.SaveHandoff(f.ctx, h) })
	wantCode(t, err, escalated.ENOTFOUND)
	wantMessageNames(t, err, tid)
	err = f.s.View(f.ctx, func(tx store.Tx) error { _, err := tx.GetHandoff(f.ctx, h.ID); return err })
	wantCode(t, err, escalated.ENOTFOUND)
}

func testHandoffNotFound(t *testing.T, f *fx) {
	id := "hof_" + f.id("")
	err := f.s.View(f.ctx, func(tx store.Tx) error { _, err := tx.GetHandoff(f.ctx, id); return err })
	wantCode(t, err, escalated.ENOTFOUND)
	wantMessageNames(t, err, "handoff", id)
}

// queued returns an escalation to team in state st created at, with the given id. Ids are
// chosen by hand (each test has its own store) so that id order can disagree with time order.
func (f *fx) queued(ticketID, id, team string, st escalated.EscalationState, at time.Time) *escalated.Escalation {
	return f.escalation(ticketID, func(e *escalated.Escalation) {
		e.ID, e.ToTeam, e.State, e.CreatedAt = id, team, st, at
		e.AcknowledgedAt, e.ClosedAt = nil, nil
	})
}

func testPendingAhead(t *testing.T, f *fx) {
	tk := f.ticket()
	f.createTickets(tk)
	t0, t1, t2, t3, t4 := f.tick(), f.tick(), f.tick(), f.tick(), f.tick()
	pending := escalated.EscalationPending
	// The line of sso in (created_at, id) order is a, b, c1, c2, d: the ids run against the
	// times, except for c1 and c2, created in the same millisecond, which the id orders.
	a := f.queued(tk.ID, "esc_5", "sso", pending, t1)
	b := f.queued(tk.ID, "esc_2", "sso", pending, t2)
	c1 := f.queued(tk.ID, "esc_3", "sso", pending, t3)
	c2 := f.queued(tk.ID, "esc_4", "sso", pending, t3)
	d := f.queued(tk.ID, "esc_1", "sso", pending, t4)
	f.createEscalations(a, b, c1, c2, d,
		// Not in the line: past pending, or another team's.
		f.queued(tk.ID, "esc_6", "sso", escalated.EscalationAcknowledged, t0),
		f.queued(tk.ID, "esc_7", "sso", escalated.EscalationEscalated, t1),
		f.queued(tk.ID, "esc_8", "billing", pending, t0),
		f.queued(tk.ID, "esc_9", "sso", escalated.EscalationResolved, t2),
	)
	ahead := func(t *testing.T, team string, at time.Time, id string) int {
		t.Helper()
		var n int
		f.in(t).view(func(tx store.Tx) error {
			var err error
			n, err = tx.PendingAhead(f.ctx, team, at, id)
			return err
		})
		return n
	}
	cases := []struct {
		name string
		team string
		at   time.Time
		id   string
		want int
	}{
		// The escalations' own times, not truncated: the store compares at its precision, so an
		// escalation is never ahead of itself.
		{"first in line", "sso", a.CreatedAt, a.ID, 0},
		{"behind a later id created earlier", "sso", b.CreatedAt, b.ID, 1},
		{"tie on created_at, smaller id", "sso", c1.CreatedAt, c1.ID, 2},
		{"tie on created_at, larger id", "sso", c2.CreatedAt, c2.ID, 3},
		{"last, with the smallest id", "sso", d.CreatedAt, d.ID, 4},
		{"a position before every id of a time", "sso", t3, "", 2},
		{"a position after every id of a time", "sso", t3, "esc_~", 4},
		{"after everything", "sso", t4.Add(time.Hour), "", 5},
		{"before everything", "sso", t0.Add(-time.Hour), "", 0},
		{"another team's line", "billing", d.CreatedAt, d.ID, 1},
		{"a team with no line", "nobody", d.CreatedAt, d.ID, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ahead(t, tc.team, tc.at, tc.id); got != tc.want {
				t.Errorf("PendingAhead(%s, %s, %s) = %d, want %d", tc.team, tc.at.Format(time.RFC3339Nano), tc.id, got, tc.want)
			}
		})
	}

	// The line moves when the first escalation is acknowledged.
	acked := *a
	acked.State, acked.AcknowledgedAt, acked.Version = escalated.EscalationAcknowledged, &t4, a.Version+1
	f.update(func(tx store.Tx) error { return tx.UpdateEscalation(f.ctx, &acked) })
	if got := ahead(t, "sso", b.CreatedAt, b.ID); got != 0 {
		t.Errorf("after the first was acknowledged, the second has %d ahead, want 0", got)
	}
	if got := ahead(t, "sso", d.CreatedAt, d.ID); got != 3 {
		t.Errorf("after the first was acknowledged, the last has %d ahead, want 3", got)
	}
}

func testAckDelays(t *testing.T, f *fx) {
	tk := f.ticket()
	f.createTickets(tk)
	// anchor is off the millisecond (see base), and so are most offsets below, so a store that
	// subtracted untruncated times, or truncated the difference, would be off by a millisecond.
	anchor := f.tick()
	at := func(d time.Duration) time.Time { return anchor.Add(d) }
	mk := func(id, team string, st escalated.EscalationState, created time.Duration, ack *time.Duration) *escalated.Escalation {
		e := f.queued(tk.ID, id, team, st, at(created))
		if ack != nil {
			a := at(*ack)
			e.AcknowledgedAt = &a
		}
		return e
	}
	d := func(v time.Duration) *time.Duration { return &v }
	ack := escalated.EscalationAcknowledged
	var (
		// Over a day: PostgreSQL returns a timestamp difference with whole days apart.
		e01 = mk("esc_01", "sso", ack, 0, d(26*time.Hour+345_999*time.Microsecond))
		// Acknowledged, then closed: still a wait that was measured.
		e02 = mk("esc_02", "sso", escalated.EscalationResolved, time.Hour, d(2*time.Hour+1_999*time.Microsecond))
		e03 = mk("esc_03", "sso", escalated.EscalationReturned, 2*time.Hour, d(4*time.Hour+250*time.Millisecond))
		// Acknowledged in the same instant: the larger id is the newer.
		e09 = mk("esc_09", "sso", ack, time.Hour+time.Microsecond, d(3*time.Hour))
		e10 = mk("esc_10", "sso", ack, 50*time.Minute, d(3*time.Hour))
		// The oldest acknowledgement counted: since is its time.
		e08 = mk("esc_08", "sso", ack, -90*time.Minute, d(30*time.Minute+777*time.Microsecond))
	)
	f.createEscalations(e01, e02, e03, e09, e10, e08,
		// Not counted: never acknowledged, another team's, acknowledged before since.
		mk("esc_04", "sso", escalated.EscalationPending, 3*time.Hour, nil),
		mk("esc_05", "sso", escalated.EscalationEscalated, 3*time.Hour, nil),
		mk("esc_06", "billing", ack, 0, d(5*time.Hour)),
		mk("esc_07", "sso", ack, -2*time.Hour, d(-time.Hour)),
	)
	since := escalated.Truncate(*e08.AcknowledgedAt)
	wait := func(e *escalated.Escalation) time.Duration {
		return escalated.Truncate(*e.AcknowledgedAt).Sub(escalated.Truncate(e.CreatedAt))
	}
	// Spelled out once, so that a wrong expectation helper cannot hide a wrong store: the wait
	// of e01 is 26h and 346ms, not the 345.999ms between the untruncated times.
	if w := wait(e01); w != 26*time.Hour+346*time.Millisecond {
		t.Fatalf("fixture: wait of e01 is %s, want 26h0m0.346s (has base moved onto a millisecond?)", w)
	}
	waits := func(es ...*escalated.Escalation) []time.Duration {
		out := make([]time.Duration, len(es))
		for i, e := range es {
			out[i] = wait(e)
		}
		return out
	}
	cases := []struct {
		name  string
		team  string
		since time.Time
		n     int
		want  []time.Duration
	}{
		{"newest first, since inclusive", "sso", since, 100, waits(e01, e03, e10, e09, e02, e08)},
		{"limit takes the newest", "sso", since, 3, waits(e01, e03, e10)},
		{"limit of one", "sso", since, 1, waits(e01)},
		{"since one millisecond later", "sso", since.Add(time.Millisecond), 100, waits(e01, e03, e10, e09, e02)},
		{"since in another zone", "sso", since.In(time.FixedZone("PDT", -7*60*60)), 100, waits(e01, e03, e10, e09, e02, e08)},
		{"another team", "billing", since, 100, []time.Duration{5 * time.Hour}},
		{"a team with none", "nobody", since, 100, []time.Duration{}},
		{"after the newest", "sso", at(27 * time.Hour), 100, []time.Duration{}},
		{"n zero", "sso", since, 0, []time.Duration{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := f.in(t)
			f.view(func(tx store.Tx) error {
				got, err := tx.AckDelays(f.ctx, tc.team, tc.since, tc.n)
				if err != nil {
					return err
				}
				if got == nil {
					t.Errorf("AckDelays returned nil, want an empty list")
				}
				equal(t, "acknowledgement delays", got, tc.want)
				return nil
			})
		})
	}
}

// testContextSufficient checks that an escalation's ContextSufficient keeps all three of its
// values (nil, true, false) through create, update and every read.
func testContextSufficient(t *testing.T, f *fx) {
	tk := f.ticket()
	f.createTickets(tk)
	values := []struct {
		name string
		v    *bool
	}{{"nil", nil}, {"true", boolp(true)}, {"false", boolp(false)}}
	for _, c := range values {
		e := f.escalation(tk.ID, func(e *escalated.Escalation) { e.ContextSufficient = c.v })
		f.createEscalations(e)
		equal(t, "escalation created with context_sufficient "+c.name, f.getEscalation(e.ID), wantEscalation(e))
	}

	e := f.escalation(tk.ID, func(e *escalated.Escalation) { e.ContextSufficient = nil })
	f.createEscalations(e)
	for _, c := range []struct {
		name string
		v    *bool
	}{values[1], values[2], values[0], values[2]} {
		e.ContextSufficient, e.Version = c.v, e.Version+1
		f.update(func(tx store.Tx) error {
			if err := tx.UpdateEscalation(f.ctx, e); err != nil {
				return err
			}
			// Read inside the write transaction too: PostgreSQL reads with a row lock there.
			got, err := tx.GetEscalation(f.ctx, e.ID)
			if err != nil {
				return err
			}
			equal(t, "escalation updated to context_sufficient "+c.name+" (read in Update)", got, wantEscalation(e))
			return nil
		})
		f.view(func(tx store.Tx) error {
			got, _, err := tx.ListEscalations(f.ctx, store.EscalationFilter{TicketID: tk.ID, Limit: 1})
			if err != nil {
				return err
			}
			equal(t, "listed escalation with context_sufficient "+c.name, got, []*escalated.Escalation{wantEscalation(e)})
			return nil
		})
	}
}
