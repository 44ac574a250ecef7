package storetest

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

var factTests = []test{
	{"TicketFactRoundTrip", testTicketFactRoundTrip},
	{"EscalationFactRoundTrip", testEscalationFactRoundTrip},
	{"SaveReplaces", testFactSaveReplaces},
	{"GetNotFound", testFactNotFound},
	{"ReportGroups", testReportGroups},
	{"ReportGroupsFilters", testReportGroupsFilters},
	{"ReportOutcomes", testReportOutcomes},
	{"PercentileRanks", testPercentileRanks},
	{"ReportUnknownGroupBy", testReportUnknownGroupBy},
	{"ReportEmptyWindow", testReportEmptyWindow},
	{"SameTeamHandoffIsNoArrival", testSameTeamHandoff},
	{"SetAccountTier", testSetAccountTier},
	{"RollupsMatchFacts", testRollupsMatchFacts},
	{"EdgeColumns", testEdgeColumns},
}

// testSetAccountTier: an account's new tier reaches its tickets' rows and nobody else's;
// escalation rows keep the tier they were made with.
func testSetAccountTier(t *testing.T, f *fx) {
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	a := &store.TicketFact{TicketID: "tkt_a", CreatedAt: at, AccountID: "acme", CustomerTier: "pro", IntakeTeam: "support"}
	b := &store.TicketFact{TicketID: "tkt_b", CreatedAt: at, AccountID: "globex", CustomerTier: "pro", IntakeTeam: "support"}
	e := &store.EscalationFact{EscalationID: "esc_a", TicketID: "tkt_a", CreatedAt: at, AccountID: "acme", CustomerTier: "pro", State: "pending"}
	f.saveFacts([]*store.TicketFact{a, b}, []*store.EscalationFact{e})
	f.update(func(tx store.Tx) error { return tx.SetAccountTier(f.ctx, "acme", "enterprise") })
	f.view(func(tx store.Tx) error {
		for id, want := range map[string]string{"tkt_a": "enterprise", "tkt_b": "pro"} {
			got, err := tx.GetTicketFact(f.ctx, id)
			if err != nil {
				return err
			}
			if got.CustomerTier != want {
				t.Errorf("%s tier %q, want %q", id, got.CustomerTier, want)
			}
		}
		got, err := tx.GetEscalationFact(f.ctx, "esc_a")
		if err != nil {
			return err
		}
		if got.CustomerTier != "pro" {
			t.Errorf("escalation row tier %q, want pro (as it was made)", got.CustomerTier)
		}
		return nil
	})
}

// testSameTeamHandoff: a bot handoff that waits in the ticket's own team is an escalation from
// the team to itself; the team report counts its ticket once (opened there), not again as an
// arrival.
func testSameTeamHandoff(t *testing.T, f *fx) {
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	tk := &store.TicketFact{TicketID: "tkt_same", CreatedAt: at, IntakeTeam: "support", IntakeTier: "t1", Escalations: 1, FirstEscalatedAt: &at}
	esc := &store.EscalationFact{EscalationID: "esc_same", TicketID: "tkt_same", CreatedAt: at, FromTeam: "support", ToTeam: "support",
		FromTier: "t1", ToTier: "t1", Trigger: "handoff", Reason: "bot_handoff", State: "pending"}
	f.saveFacts([]*store.TicketFact{tk}, []*store.EscalationFact{esc})
	got := f.report(t, store.ReportQuery{GroupBy: store.GroupTeam, Since: at.Add(-time.Hour), Until: at.Add(time.Hour)})
	if len(got) != 1 || got[0].Key != "support" || got[0].Tickets != 1 || got[0].EscalatedTickets != 1 || got[0].Escalations != 1 {
		t.Errorf("team report with a same-team handoff: %+v, want support with 1 ticket, 1 escalated, 1 escalation", got)
	}
}

func durp(d time.Duration) *time.Duration { return &d }

// ticketFact returns a ticket fact with every field set, times off the millisecond and not in
// UTC (see base), so that a round trip also checks how the store normalises them.
func (f *fx) ticketFact() *store.TicketFact {
	now := f.tick()
	solved, first := now.Add(90*time.Minute+1500*time.Microsecond), now.Add(20*time.Minute)
	return &store.TicketFact{
		TicketID: f.id(escalated.PrefixTicket), CreatedAt: now,
		IssueType: "login", Channel: "chat", CustomerTier: "enterprise", AccountID: "acc_1",
		IntakeTeam: "frontline", IntakeTier: "t1", FirstAgent: "ana",
		Solved: true, SolvedAt: &solved, Escalations: 3, FirstEscalatedAt: &first, Reopens: 2,
		BreachesBeforeEscalation: 1, ReopenedAfterT1Solve: true, MaxFrustration: 0.8125, PingPongs: 1,
	}
}

// escalationFact returns an escalation fact with every field set.
func (f *fx) escalationFact(ticketID string) *store.EscalationFact {
	now := f.tick()
	ack := now.Add(7*time.Minute + 250*time.Microsecond)
	return &store.EscalationFact{
		EscalationID: f.id(escalated.PrefixEscalation), TicketID: ticketID, CreatedAt: now,
		FromTeam: "frontline", ToTeam: "sso-experts", FromTier: "t1", ToTier: "t2",
		ByAgent: "ana", Trigger: "rule", Reason: "complexity", RuleID: "vip-sso",
		IssueType: "login", Channel: "chat", CustomerTier: "enterprise", AccountID: "acc_1",
		TimeToEscalate: 26*time.Hour + 1500*time.Microsecond, AcknowledgedAt: &ack,
		TimeToAck: durp(7*time.Minute + 999*time.Microsecond), State: "resolved",
		Returned: true, Unnecessary: true, ResolvedAtTarget: true, ReEscalated: true,
		ResolvedAfter: durp(3 * time.Hour), InternalNotes: 4, Completeness: 0.9,
		ContextInsufficient: true, PingPong: true,
	}
}

// wantTicketFact and wantEscalationFact are what a store gives back: times in UTC, truncated to
// the millisecond, durations truncated to whole milliseconds.
func wantTicketFact(f *store.TicketFact) *store.TicketFact {
	w := *f
	w.CreatedAt = escalated.Truncate(w.CreatedAt)
	w.SolvedAt, w.FirstEscalatedAt = tp(w.SolvedAt), tp(w.FirstEscalatedAt)
	return &w
}

func wantEscalationFact(f *store.EscalationFact) *store.EscalationFact {
	w := *f
	w.CreatedAt = escalated.Truncate(w.CreatedAt)
	w.AcknowledgedAt = tp(w.AcknowledgedAt)
	w.TimeToEscalate = w.TimeToEscalate.Truncate(time.Millisecond)
	w.TimeToAck, w.ResolvedAfter = msDur(w.TimeToAck), msDur(w.ResolvedAfter)
	return &w
}

func msDur(d *time.Duration) *time.Duration {
	if d == nil {
		return nil
	}
	return durp(d.Truncate(time.Millisecond))
}

func (f *fx) saveFacts(ts []*store.TicketFact, es []*store.EscalationFact) {
	f.t.Helper()
	f.update(func(tx store.Tx) error {
		for _, t := range ts {
			if err := tx.SaveTicketFact(f.ctx, t); err != nil {
				return err
			}
		}
		for _, e := range es {
			if err := tx.SaveEscalationFact(f.ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
}

func (f *fx) getTicketFact(id string) *store.TicketFact {
	f.t.Helper()
	var got *store.TicketFact
	f.view(func(tx store.Tx) error {
		var err error
		got, err = tx.GetTicketFact(f.ctx, id)
		return err
	})
	return got
}

func (f *fx) getEscalationFact(id string) *store.EscalationFact {
	f.t.Helper()
	var got *store.EscalationFact
	f.view(func(tx store.Tx) error {
		var err error
		got, err = tx.GetEscalationFact(f.ctx, id)
		return err
	})
	return got
}

func testTicketFactRoundTrip(t *testing.T, f *fx) {
	full := f.ticketFact()
	// The zero values: false, 0, nil times. A store that wrote nil as the zero time or false as
	// NULL would pass a round trip of full only.
	zero := &store.TicketFact{TicketID: f.id(escalated.PrefixTicket), CreatedAt: f.tick()}
	// The service saves and reads back in one transaction: the write is visible there.
	f.update(func(tx store.Tx) error {
		for _, tf := range []*store.TicketFact{full, zero} {
			if err := tx.SaveTicketFact(f.ctx, tf); err != nil {
				return err
			}
			got, err := tx.GetTicketFact(f.ctx, tf.TicketID)
			if err != nil {
				return err
			}
			equal(t, "ticket fact read in its own transaction", got, wantTicketFact(tf))
		}
		return nil
	})
	equal(t, "ticket fact", f.getTicketFact(full.TicketID), wantTicketFact(full))
	equal(t, "ticket fact of zero values", f.getTicketFact(zero.TicketID), wantTicketFact(zero))
}

func testEscalationFactRoundTrip(t *testing.T, f *fx) {
	full := f.escalationFact("tkt_1")
	zero := &store.EscalationFact{EscalationID: f.id(escalated.PrefixEscalation), TicketID: "tkt_1", CreatedAt: f.tick()}
	// A negative duration (clocks of two nodes disagreeing) is kept, truncated towards zero.
	negative := f.escalationFact("tkt_2")
	negative.TimeToEscalate, negative.TimeToAck = -1500*time.Microsecond, durp(-2*time.Second)
	f.update(func(tx store.Tx) error {
		for _, e := range []*store.EscalationFact{full, zero, negative} {
			if err := tx.SaveEscalationFact(f.ctx, e); err != nil {
				return err
			}
			got, err := tx.GetEscalationFact(f.ctx, e.EscalationID)
			if err != nil {
				return err
			}
			equal(t, "escalation fact read in its own transaction", got, wantEscalationFact(e))
		}
		return nil
	})
	equal(t, "escalation fact", f.getEscalationFact(full.EscalationID), wantEscalationFact(full))
	equal(t, "escalation fact of zero values", f.getEscalationFact(zero.EscalationID), wantEscalationFact(zero))
	got := f.getEscalationFact(negative.EscalationID)
	// Spelled out, so that a wrong helper cannot hide a wrong store.
	if got.TimeToEscalate != -time.Millisecond || got.TimeToEscalate != wantEscalationFact(negative).TimeToEscalate {
		t.Errorf("time to escalate of -1.5ms came back as %s, want -1ms", got.TimeToEscalate)
	}
	if got := f.getEscalationFact(full.EscalationID); got.TimeToEscalate != 26*time.Hour+time.Millisecond {
		t.Errorf("time to escalate of 26h1.5ms came back as %s, want 26h0m0.001s", got.TimeToEscalate)
	}
}

func testFactSaveReplaces(t *testing.T, f *fx) {
	tf := f.ticketFact()
	ef := f.escalationFact(tf.TicketID)
	f.saveFacts([]*store.TicketFact{tf}, []*store.EscalationFact{ef})

	// Every field but the id changes, and the optional ones go back to nil.
	tf2 := &store.TicketFact{
		TicketID: tf.TicketID, CreatedAt: f.tick(), IssueType: "billing", Channel: "email", CustomerTier: "free",
		AccountID: "acc_2", IntakeTeam: "billing", IntakeTier: "t2", FirstAgent: "bob", Escalations: 1,
		Reopens: 5, BreachesBeforeEscalation: 2, MaxFrustration: 0.25, PingPongs: 3,
	}
	ef2 := &store.EscalationFact{
		EscalationID: ef.EscalationID, TicketID: "tkt_other", CreatedAt: f.tick(),
		FromTeam: "billing", ToTeam: "finance", FromTier: "t2", ToTier: "t3", Trigger: "manual", Reason: "other",
		IssueType: "billing", Channel: "email", CustomerTier: "free", AccountID: "acc_2",
		TimeToEscalate: time.Minute, State: "pending", InternalNotes: 1, Completeness: 0.5,
	}
	// Twice in one transaction as well: the second save sees the first.
	f.update(func(tx store.Tx) error {
		if err := tx.SaveTicketFact(f.ctx, tf); err != nil {
			return err
		}
		if err := tx.SaveTicketFact(f.ctx, tf2); err != nil {
			return err
		}
		if err := tx.SaveEscalationFact(f.ctx, ef); err != nil {
			return err
		}
		return tx.SaveEscalationFact(f.ctx, ef2)
	})
	equal(t, "replaced ticket fact", f.getTicketFact(tf.TicketID), wantTicketFact(tf2))
	equal(t, "replaced escalation fact", f.getEscalationFact(ef.EscalationID), wantEscalationFact(ef2))

	// A replaced fact counts once, with its new values.
	since, until := escalated.Truncate(tf2.CreatedAt), escalated.Truncate(ef2.CreatedAt).Add(time.Millisecond)
	groups := f.report(t, store.ReportQuery{GroupBy: store.GroupIssueType, Since: since, Until: until})
	equal(t, "report over replaced facts", groups, []store.ReportGroup{{
		Key: "billing", Tickets: 1, BreachesBeforeEscalation: 2, Escalations: 1,
		TimeToEscalateP50: durp(time.Minute), TimeToEscalateP90: durp(time.Minute),
		CompletenessSum: 0.5, EscalatedTickets: 1,
	}})
}

func testFactNotFound(t *testing.T, f *fx) {
	tid, eid := f.id(escalated.PrefixTicket), f.id(escalated.PrefixEscalation)
	err := f.s.View(f.ctx, func(tx store.Tx) error { _, err := tx.GetTicketFact(f.ctx, tid); return err })
	wantCode(t, err, escalated.ENOTFOUND)
	wantMessageNames(t, err, tid)
	err = f.s.View(f.ctx, func(tx store.Tx) error { _, err := tx.GetEscalationFact(f.ctx, eid); return err })
	wantCode(t, err, escalated.ENOTFOUND)
	wantMessageNames(t, err, eid)
	// Ids are not shared between the two tables.
	tf := f.ticketFact()
	f.saveFacts([]*store.TicketFact{tf}, nil)
	err = f.s.View(f.ctx, func(tx store.Tx) error { _, err := tx.GetEscalationFact(f.ctx, tf.TicketID); return err })
	wantCode(t, err, escalated.ENOTFOUND)
}

func (f *fx) report(t *testing.T, q store.ReportQuery) []store.ReportGroup {
	t.Helper()
	var groups []store.ReportGroup
	f.in(t).view(func(tx store.Tx) error {
		var err error
		groups, err = tx.ReportGroups(f.ctx, q)
		return err
	})
	if groups == nil {
		t.Errorf("ReportGroups returned nil, want a list")
	}
	return groups
}

func (f *fx) outcomes(t *testing.T, q store.ReportQuery) *store.Outcomes {
	t.Helper()
	var o *store.Outcomes
	f.in(t).view(func(tx store.Tx) error {
		var err error
		o, err = tx.ReportOutcomes(f.ctx, q)
		return err
	})
	return o
}

// The analytics history: two days, 2027-01-03 (a Sunday, ISO week 2026-W53: 2026 has 53 ISO
// weeks, so a week key made from the calendar year would say 2027-W53) and 2027-01-04 (a
// Monday, 2027-W01). Three teams (support at t1, platform and finance at t2), agents ana and bob
// in support, cy in platform, dee in finance, the rule vip-fast escalating by automation.
//
// The window is [2027-01-03T00:00Z, 2027-01-05T00:00Z). Left out: ticket T14 and escalation E12
// one millisecond before it, ticket T13 and escalation E13 at its end, and ticket T00, created
// the day before, whose escalation E11 is in the window and counts.
var (
	factD1    = time.Date(2027, 1, 3, 0, 0, 0, 0, time.UTC)
	factD2    = factD1.Add(24 * time.Hour)
	factUntil = factD1.Add(48 * time.Hour)
)

func d1(h, m int) time.Time {
	return factD1.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}
func d2(h, m int) time.Time {
	return factD2.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

// factTicket is a row of the fixture's tickets.
type factTicket struct {
	id                   string
	at                   time.Time
	issue, channel, tier string
	account              string
	team, agent          string
	solved               bool
	escalations          int
	firstEscalated       time.Time // zero: never
	reopens, breaches    int
	reopenedT1           bool
	frustration          float64
	pingPongs            int
}

// factEscalation is a row of the fixture's escalations; durations in minutes, -1 for none.
// flags name the booleans that are true; acknowledged is implied by a time to acknowledge.
type factEscalation struct {
	id, ticket           string
	at                   time.Time
	from, to             string
	fromTier, toTier     string
	by, rule             string
	tte, tta             int
	flags                string
	resolvedAfter, notes int
	completeness         float64
}

var (
	// Written in other zones on purpose: T10 in +01:00, T12 in +02:00, where it is already
	// 2027-01-05. Days are UTC days, so T12 belongs to 2027-01-04.
	plusOne, plusTwo = time.FixedZone("CET", 3600), time.FixedZone("EET", 7200)

	factTickets = []factTicket{
		// id, created, issue, channel, tier, account, intake team, first agent, solved, escalations,
		// first escalated, reopens, breaches before escalation, reopened after t1 solve,
		// max frustration, ping-pongs.
		{"T00", d1(-4, 0), "login", "chat", "enterprise", "acme", "support", "ana", true, 2, d1(0, 0).Add(-time.Millisecond), 0, 0, false, 0.9, 1},
		{"T14", d1(0, 0).Add(-time.Millisecond), "login", "email", "free", "initech", "support", "ana", true, 0, time.Time{}, 0, 0, false, 0.95, 0},
		{"T01", d1(0, 0), "login", "chat", "enterprise", "acme", "support", "ana", true, 1, d1(0, 10), 0, 0, false, 0.3, 0},
		{"T02", d1(9, 0), "login", "email", "free", "initech", "support", "ana", true, 0, time.Time{}, 0, 0, false, 0.2, 0},
		{"T03", d1(10, 0), "billing", "chat", "enterprise", "acme", "support", "bob", false, 1, d1(10, 30), 0, 1, false, 0.5, 0},
		{"T04", d1(11, 0), "login", "chat", "enterprise", "globex", "support", "", true, 1, d1(11, 1), 0, 0, false, 0.1, 0},
		{"T05", d1(13, 0), "billing", "email", "free", "initech", "support", "ana", false, 1, d1(14, 0), 0, 0, false, 0.9, 0},
		{"T06", d2(1, 0), "login", "chat", "free", "initech", "support", "bob", false, 3, d2(1, 30), 1, 0, true, 0.95, 2},
		{"T07", d2(2, 0), "billing", "chat", "enterprise", "globex", "support", "ana", true, 1, d2(2, 15), 0, 0, false, 0.4, 0},
		{"T08", d2(3, 0), "login", "email", "enterprise", "acme", "support", "bob", true, 1, d2(3, 5), 0, 2, false, 0.6, 0},
		{"T09", d2(4, 0), "billing", "email", "free", "initech", "support", "bob", true, 1, d2(4, 40), 0, 0, false, 0.7, 0},
		{"T10", d2(5, 0).In(plusOne), "login", "phone", "free", "initech", "platform", "cy", true, 0, time.Time{}, 1, 0, false, 0.85, 0},
		{"T11", d2(6, 0), "refund", "email", "enterprise", "globex", "finance", "dee", true, 0, time.Time{}, 0, 0, false, 0.8, 0},
		// Escalated at the window's end (E13): not escalated in the window.
		{"T12", d2(23, 0).In(plusTwo), "login", "chat", "enterprise", "acme", "support", "ana", false, 1, factUntil, 0, 1, false, 0.8, 0},
		{"T13", factUntil, "login", "chat", "enterprise", "acme", "support", "ana", true, 0, time.Time{}, 0, 0, false, 0.99, 0},
	}

	factEscalations = []factEscalation{
		// id, ticket, created, from, to, from tier, to tier, by, rule, minutes to escalate,
		// minutes to acknowledge, flags, minutes to resolve, internal notes, completeness.
		{"E01", "T01", d1(0, 10), "support", "platform", "t1", "t2", "ana", "", 10, 5, "resolved", 20, 1, 0.75},
		{"E02", "T03", d1(10, 30), "support", "platform", "t1", "t2", "bob", "", 30, 20, "returned unnecessary insufficient", -1, 0, 0.5},
		{"E03", "T04", d1(11, 1), "support", "platform", "t1", "t2", "", "vip-fast", 1, 2, "resolved", 3, 0, 1},
		{"E04", "T05", d1(14, 0), "support", "platform", "t1", "t2", "ana", "", 60, -1, "", -1, 0, 0.25},
		{"E05", "T06", d2(1, 30), "support", "platform", "t1", "t2", "bob", "", 30, 10, "reescalated", -1, 0, 0.5},
		{"E06", "T06", d2(2, 0), "platform", "support", "t2", "t1", "cy", "", 60, 30, "reescalated pingpong", -1, 0, 0.5},
		{"E07", "T07", d2(2, 15), "support", "platform", "t1", "t2", "ana", "", 15, 30, "returned insufficient", -1, 0, 1},
		{"E08", "T08", d2(3, 5), "support", "platform", "t1", "t2", "", "vip-fast", 5, 1, "resolved", 4, 2, 0.75},
		{"E09", "T09", d2(4, 40), "support", "finance", "t1", "t2", "bob", "", 40, 40, "resolved", 60, 0, 0.25},
		{"E10", "T06", d2(3, 0), "support", "platform", "t1", "t2", "ana", "", 120, -1, "pingpong", -1, 0, 0.75},
		{"E11", "T00", d1(0, 30), "platform", "support", "t2", "t1", "cy", "", 270, 5, "resolved pingpong", 5, 0, 1},
		// Outside the window; each would change several counts if it were counted.
		{"E12", "T00", d1(0, 0).Add(-time.Millisecond), "support", "platform", "t1", "t2", "ana", "", -1, 1, "returned unnecessary", -1, 0, 0.5},
		{"E13", "T12", factUntil, "support", "platform", "t1", "t2", "ana", "", 60, -1, "resolved pingpong", 1, 0, 0.5},
	}
)

// saveFactHistory stores the fixture's facts.
func (f *fx) saveFactHistory(t *testing.T) {
	t.Helper()
	byID := map[string]factTicket{}
	var ts []*store.TicketFact
	for _, r := range factTickets {
		byID[r.id] = r
		tf := &store.TicketFact{
			TicketID: r.id, CreatedAt: r.at, IssueType: r.issue, Channel: r.channel, CustomerTier: r.tier,
			AccountID: r.account, IntakeTeam: r.team, IntakeTier: map[string]string{"support": "t1", "platform": "t2", "finance": "t2"}[r.team],
			FirstAgent: r.agent, Solved: r.solved, Escalations: r.escalations, Reopens: r.reopens,
			BreachesBeforeEscalation: r.breaches, ReopenedAfterT1Solve: r.reopenedT1, MaxFrustration: r.frustration,
			PingPongs: r.pingPongs,
		}
		if r.solved {
			tf.SolvedAt = &factUntil
		}
		if !r.firstEscalated.IsZero() {
			tf.FirstEscalatedAt = &r.firstEscalated
		}
		ts = append(ts, tf)
	}
	var es []*store.EscalationFact
	for _, r := range factEscalations {
		tk := byID[r.ticket]
		has := func(flag string) bool { return strings.Contains(" "+r.flags+" ", " "+flag+" ") }
		ef := &store.EscalationFact{
			EscalationID: r.id, TicketID: r.ticket, CreatedAt: r.at, FromTeam: r.from, ToTeam: r.to,
			FromTier: r.fromTier, ToTier: r.toTier, ByAgent: r.by, Trigger: "manual", Reason: "complexity", RuleID: r.rule,
			IssueType: tk.issue, Channel: tk.channel, CustomerTier: tk.tier, AccountID: tk.account,
			TimeToEscalate: r.at.Sub(tk.at), State: "pending",
			Returned: has("returned"), Unnecessary: has("unnecessary"), ResolvedAtTarget: has("resolved"),
			ReEscalated: has("reescalated"), InternalNotes: r.notes, Completeness: r.completeness,
			ContextInsufficient: has("insufficient"), PingPong: has("pingpong"),
		}
		// The table's minutes must be what the times say (-1: not whole minutes).
		if r.tte >= 0 && ef.TimeToEscalate != time.Duration(r.tte)*time.Minute {
			t.Fatalf("fixture: %s is %s after %s, not %d minutes", r.id, ef.TimeToEscalate, r.ticket, r.tte)
		}
		if r.rule != "" {
			ef.Trigger = "rule"
		}
		if r.tta >= 0 {
			ack := r.at.Add(time.Duration(r.tta) * time.Minute)
			ef.AcknowledgedAt, ef.TimeToAck, ef.State = &ack, durp(time.Duration(r.tta)*time.Minute), "acknowledged"
		}
		if r.resolvedAfter >= 0 {
			ef.ResolvedAfter = durp(time.Duration(r.resolvedAfter) * time.Minute)
		}
		switch {
		case ef.ResolvedAtTarget:
			ef.State = "resolved"
		case ef.Returned:
			ef.State = "returned"
		case ef.ReEscalated:
			ef.State = "escalated"
		}
		es = append(es, ef)
	}
	f.in(t).saveFacts(ts, es)
}

func mins(n int) *time.Duration { return durp(time.Duration(n) * time.Minute) }

// The window's facts by hand (ticket rows T01..T12; escalations E01..E11; "esc'd" is a ticket
// escalated at all, by now: T12, escalated at the window's end, is):
//
//	ticket issue   channel tier account team     agent esc'd | escalation ticket from->to        by  tte tta flags
//	T01    login   chat    ent  acme    support  ana   yes   | E01 T01 support->platform t1->t2 ana   10   5 resolved(20m, 1 note)
//	T02    login   email   free initech support  ana   no    | E02 T03 support->platform t1->t2 bob   30  20 returned unnecessary insufficient
//	T03    billing chat    ent  acme    support  bob   yes   | E03 T04 support->platform t1->t2 ""     1   2 resolved(3m) rule vip-fast
//	T04    login   chat    ent  globex  support  ""    yes   | E04 T05 support->platform t1->t2 ana   60   - pending
//	T05    billing email   free initech support  ana   yes   | E05 T06 support->platform t1->t2 bob   30  10 reescalated
//	T06    login   chat    free initech support  bob   yes   | E06 T06 platform->support t2->t1 cy    60  30 reescalated pingpong
//	T07    billing chat    ent  globex  support  ana   yes   | E07 T07 support->platform t1->t2 ana   15  30 returned insufficient
//	T08    login   email   ent  acme    support  bob   yes   | E08 T08 support->platform t1->t2 ""     5   1 resolved(4m, 2 notes) rule vip-fast
//	T09    billing email   free initech support  bob   yes   | E09 T09 support->finance  t1->t2 bob   40  40 resolved(60m)
//	T10    login   phone   free initech platform cy    no    | E10 T06 support->platform t1->t2 ana  120   - pingpong
//	T11    refund  email   ent  globex  finance  dee   no    | E11 T00 platform->support t2->t1 cy   270   5 resolved(5m) pingpong
//	T12    login   chat    ent  acme    support  ana   yes   |  (T00, created the day before, is acme's)
//
// Breaches before escalation: T03 1, T08 2, T12 1 (T12 counts: it breached in the window and
// was escalated only at its end).
//
// Nearest rank: p50 is value ceil(n/2), p90 value ceil(9n/10) of the sorted values. For
// example issue_type login: times to escalate E01 10, E03 1, E05 30, E06 60, E08 5, E10 120,
// E11 270 sort to 1 5 10 30 60 120 270; n=7, p50 = 4th = 30, p90 = ceil(6.3) = 7th = 270;
// times to acknowledge (E10 has none) 1 2 5 5 10 30: n=6, p50 = 3rd = 5, p90 = ceil(5.4) = 6th
// = 30. Completeness sums use quarters, which add exactly in any order.
var factGroupsWant = map[string][]store.ReportGroup{
	// login: T01 T02 T04 T06 T08 T10 T12, escalated T01 T04 T06 T08 T12; billing: T03 T05 T07 T09,
	// all escalated; refund: T11, no escalation (a group with zeros).
	// billing escalations E02 E04 E07 E09: tte 15 30 40 60, p50 = 2nd = 30, p90 = ceil(3.6) =
	// 4th = 60; tta 20 30 40, p50 = 2nd = 30, p90 = ceil(2.7) = 3rd = 40; completeness
	// 0.5+0.25+1+0.25 = 2. login completeness 0.75+1+0.5+0.5+0.75+0.75+1 = 5.25.
	store.GroupIssueType: {
		{Key: "login", Tickets: 7, EscalatedTickets: 5, BreachesBeforeEscalation: 3, Escalations: 7, TimeToEscalateP50: mins(30), TimeToEscalateP90: mins(270),
			TimeToAckP50: mins(5), TimeToAckP90: mins(30), Acknowledged: 6, ResolvedAtTarget: 4, ReEscalated: 2, CompletenessSum: 5.25},
		{Key: "billing", Tickets: 4, EscalatedTickets: 4, BreachesBeforeEscalation: 1, Escalations: 4, TimeToEscalateP50: mins(30), TimeToEscalateP90: mins(60),
			TimeToAckP50: mins(30), TimeToAckP90: mins(40), Acknowledged: 3, Returned: 2, Unnecessary: 1, ResolvedAtTarget: 1,
			ContextInsufficient: 2, CompletenessSum: 2},
		{Key: "refund", Tickets: 1},
	},
	// Tickets by first agent (T04 has none and counts nowhere): ana T01 T02 T05 T07 T12,
	// escalated T01 T05 T07 T12; bob T03 T06 T08 T09, all escalated; cy T10; dee T11.
	// Escalations by agent: ana E01 E04 E07 E10 (tte 10 15 60 120: p50 2nd = 15, p90 4th = 120;
	// tta 5 30: p50 1st = 5, p90 ceil(1.8) = 2nd = 30); bob E02 E05 E09 (tte 30 30 40; tta 10 20
	// 40); automation "" E03 E08 (tte 1 5; tta 1 2); cy E06 E11 (tte 60 270; tta 5 30). "" sorts
	// before cy at two escalations each.
	store.GroupAgent: {
		{Key: "ana", Tickets: 5, EscalatedTickets: 4, BreachesBeforeEscalation: 1, Escalations: 4, TimeToEscalateP50: mins(15), TimeToEscalateP90: mins(120),
			TimeToAckP50: mins(5), TimeToAckP90: mins(30), Acknowledged: 2, Returned: 1, ResolvedAtTarget: 1, ContextInsufficient: 1,
			CompletenessSum: 2.75},
		{Key: "bob", Tickets: 4, EscalatedTickets: 4, BreachesBeforeEscalation: 3, Escalations: 3, TimeToEscalateP50: mins(30), TimeToEscalateP90: mins(40),
			TimeToAckP50: mins(20), TimeToAckP90: mins(40), Acknowledged: 3, Returned: 1, Unnecessary: 1, ResolvedAtTarget: 1,
			ReEscalated: 1, ContextInsufficient: 1, CompletenessSum: 1.25},
		{Key: "", Escalations: 2, TimeToEscalateP50: mins(1), TimeToEscalateP90: mins(5),
			TimeToAckP50: mins(1), TimeToAckP90: mins(2), Acknowledged: 2, ResolvedAtTarget: 2, CompletenessSum: 1.75},
		{Key: "cy", Tickets: 1, Escalations: 2, TimeToEscalateP50: mins(60), TimeToEscalateP90: mins(270),
			TimeToAckP50: mins(5), TimeToAckP90: mins(30), Acknowledged: 2, ResolvedAtTarget: 1, ReEscalated: 1, CompletenessSum: 1.5},
		{Key: "dee", Tickets: 1},
	},
	// Tickets: opened in the team plus escalations into it. support: 10 opened (T01-T09, T12),
	// 9 escalated (not T02), plus arrivals E06 (re-escalated) and E11: 12 tickets, 10
	// escalated. platform: T10 (not escalated) plus arrivals E01-E05, E07, E08, E10 of which E05
	// was re-escalated: 9 tickets, 1 escalated. finance: T11 plus E09: 2, none escalated.
	// Escalations from support: E01-E05, E07-E10 (tte 1 5 10 15 30 30 40 60 120: n=9, p50 5th =
	// 30, p90 ceil(8.1) = 9th = 120; tta 1 2 5 10 20 30 40: n=7, p50 4th = 10, p90 ceil(6.3) =
	// 7th = 40; completeness 0.75+0.5+1+0.25+0.5+1+0.75+0.25+0.75 = 5.75); from platform E06 E11.
	store.GroupTeam: {
		{Key: "support", Tickets: 12, EscalatedTickets: 10, BreachesBeforeEscalation: 4, Escalations: 9, TimeToEscalateP50: mins(30), TimeToEscalateP90: mins(120),
			TimeToAckP50: mins(10), TimeToAckP90: mins(40), Acknowledged: 7, Returned: 2, Unnecessary: 1, ResolvedAtTarget: 4,
			ReEscalated: 1, ContextInsufficient: 2, CompletenessSum: 5.75},
		{Key: "platform", Tickets: 9, EscalatedTickets: 1, Escalations: 2, TimeToEscalateP50: mins(60), TimeToEscalateP90: mins(270),
			TimeToAckP50: mins(5), TimeToAckP90: mins(30), Acknowledged: 2, ResolvedAtTarget: 1, ReEscalated: 1, CompletenessSum: 1.5},
		{Key: "finance", Tickets: 2},
	},
	// Escalations by receiving team; no tickets. platform: E01-E05, E07, E08, E10 (tte 1 5 10 15
	// 30 30 60 120: n=8, p50 4th = 15, p90 ceil(7.2) = 8th = 120; tta 1 2 5 10 20 30: p50 3rd =
	// 5, p90 ceil(5.4) = 6th = 30; completeness 0.75+0.5+1+0.25+0.5+1+0.75+0.75 = 5.5); support:
	// E06 E11; finance: E09.
	store.GroupTarget: {
		{Key: "platform", Escalations: 8, TimeToEscalateP50: mins(15), TimeToEscalateP90: mins(120),
			TimeToAckP50: mins(5), TimeToAckP90: mins(30), Acknowledged: 6, Returned: 2, Unnecessary: 1, ResolvedAtTarget: 3,
			ReEscalated: 1, ContextInsufficient: 2, CompletenessSum: 5.5},
		{Key: "support", Escalations: 2, TimeToEscalateP50: mins(60), TimeToEscalateP90: mins(270),
			TimeToAckP50: mins(5), TimeToAckP90: mins(30), Acknowledged: 2, ResolvedAtTarget: 1, ReEscalated: 1, CompletenessSum: 1.5},
		{Key: "finance", Escalations: 1, TimeToEscalateP50: mins(40), TimeToEscalateP90: mins(40),
			TimeToAckP50: mins(40), TimeToAckP90: mins(40), Acknowledged: 1, ResolvedAtTarget: 1, CompletenessSum: 0.25},
	},
	// acme: T01 T03 T08 T12, all escalated, breaches 1+2+1; escalations E01 E02 E08 and
	// E11 (T00 is acme's): tte 5 10 30 270 (p50 2nd = 10, p90 4th = 270), tta 1 5 5 20 (5, 20),
	// completeness 0.75+0.5+0.75+1 = 3. globex: T04 T07 T11, escalated T04 T07; E03 E07 (tte 1
	// 15, tta 2 30). initech: T02 T05 T06 T09 T10, escalated T05 T06 T09; E04 E05 E06 E09 E10,
	// the free tier's.
	store.GroupAccount: {
		{Key: "initech", Tickets: 5, EscalatedTickets: 3, Escalations: 5, TimeToEscalateP50: mins(60), TimeToEscalateP90: mins(120),
			TimeToAckP50: mins(30), TimeToAckP90: mins(40), Acknowledged: 3, ResolvedAtTarget: 1, ReEscalated: 2, CompletenessSum: 2.25},
		{Key: "acme", Tickets: 4, EscalatedTickets: 4, BreachesBeforeEscalation: 4, Escalations: 4,
			TimeToEscalateP50: mins(10), TimeToEscalateP90: mins(270), TimeToAckP50: mins(5), TimeToAckP90: mins(20),
			Acknowledged: 4, Returned: 1, Unnecessary: 1, ResolvedAtTarget: 3, ContextInsufficient: 1, CompletenessSum: 3},
		{Key: "globex", Tickets: 3, EscalatedTickets: 2, Escalations: 2, TimeToEscalateP50: mins(1), TimeToEscalateP90: mins(15),
			TimeToAckP50: mins(2), TimeToAckP90: mins(30), Acknowledged: 2, Returned: 1, ResolvedAtTarget: 1, ContextInsufficient: 1,
			CompletenessSum: 2},
	},
	// Every t1 -> t2 escalation is from support and every t2 -> t1 from platform, so the
	// escalation counts are the team report's; transitions count no tickets.
	store.GroupTransition: {
		{Key: "t1 -> t2", Escalations: 9, TimeToEscalateP50: mins(30), TimeToEscalateP90: mins(120),
			TimeToAckP50: mins(10), TimeToAckP90: mins(40), Acknowledged: 7, Returned: 2, Unnecessary: 1, ResolvedAtTarget: 4,
			ReEscalated: 1, ContextInsufficient: 2, CompletenessSum: 5.75},
		{Key: "t2 -> t1", Escalations: 2, TimeToEscalateP50: mins(60), TimeToEscalateP90: mins(270),
			TimeToAckP50: mins(5), TimeToAckP90: mins(30), Acknowledged: 2, ResolvedAtTarget: 1, ReEscalated: 1, CompletenessSum: 1.5},
	},
	// enterprise: T01 T03 T04 T07 T08 T11 T12, escalated T01 T03 T04 T07 T08 T12; escalations E01
	// E02 E03 E07 E08 E11 (tte 1 5 10 15 30 270: p50 3rd = 10, p90 ceil(5.4) = 6th = 270; tta 1
	// 2 5 5 20 30: 5, 30). free: T02 T05 T06 T09 T10, escalated T05 T06 T09; escalations E04 E05
	// E06 E09 E10 (tte 30 40 60 60 120: p50 3rd = 60, p90 ceil(4.5) = 5th = 120; tta 10 30 40).
	store.GroupCustomerTier: {
		{Key: "enterprise", Tickets: 7, EscalatedTickets: 6, BreachesBeforeEscalation: 4, Escalations: 6, TimeToEscalateP50: mins(10), TimeToEscalateP90: mins(270),
			TimeToAckP50: mins(5), TimeToAckP90: mins(30), Acknowledged: 6, Returned: 2, Unnecessary: 1, ResolvedAtTarget: 4,
			ContextInsufficient: 2, CompletenessSum: 5},
		{Key: "free", Tickets: 5, EscalatedTickets: 3, Escalations: 5, TimeToEscalateP50: mins(60), TimeToEscalateP90: mins(120),
			TimeToAckP50: mins(30), TimeToAckP90: mins(40), Acknowledged: 3, ResolvedAtTarget: 1, ReEscalated: 2, CompletenessSum: 2.25},
	},
	// chat: T01 T03 T04 T06 T07 T12, all escalated; escalations E01 E02 E03 E05 E06 E07
	// E10 E11 (tte 1 10 15 30 30 60 120 270: n=8, p50 4th = 30, p90 ceil(7.2) = 8th = 270; tta
	// 2 5 5 10 20 30 30: p50 4th = 10, p90 7th = 30). email: T02 T05 T08 T09 T11, escalated T05
	// T08 T09; escalations E04 E08 E09 (tte 5 40 60; tta 1 40: p50 1st = 1, p90 2nd = 40).
	// phone: T10 only.
	store.GroupChannel: {
		{Key: "chat", Tickets: 6, EscalatedTickets: 6, BreachesBeforeEscalation: 2, Escalations: 8, TimeToEscalateP50: mins(30), TimeToEscalateP90: mins(270),
			TimeToAckP50: mins(10), TimeToAckP90: mins(30), Acknowledged: 7, Returned: 2, Unnecessary: 1, ResolvedAtTarget: 3,
			ReEscalated: 2, ContextInsufficient: 2, CompletenessSum: 6},
		{Key: "email", Tickets: 5, EscalatedTickets: 3, BreachesBeforeEscalation: 2, Escalations: 3, TimeToEscalateP50: mins(40), TimeToEscalateP90: mins(60),
			TimeToAckP50: mins(1), TimeToAckP90: mins(40), Acknowledged: 2, ResolvedAtTarget: 2, CompletenessSum: 1.25},
		{Key: "phone", Tickets: 1},
	},
	// Rule escalations only: E03 and E08.
	store.GroupRule: {
		{Key: "vip-fast", Escalations: 2, TimeToEscalateP50: mins(1), TimeToEscalateP90: mins(5),
			TimeToAckP50: mins(1), TimeToAckP90: mins(2), Acknowledged: 2, ResolvedAtTarget: 2, CompletenessSum: 1.75},
	},
	// 2027-01-03: T01-T05, escalated all but T02; escalations E01-E04, E11 (tte 1 10 30 60 270:
	// p50 3rd = 30, p90 5th = 270; tta 2 5 5 20: p50 2nd = 5, p90 4th = 20). 2027-01-04:
	// T06-T12 (T12 by its UTC day), escalated T06-T09 and T12; escalations E05-E10 (tte 5 15 30 40 60
	// 120: p50 3rd = 30, p90 6th = 120; tta 1 10 30 30 40: p50 3rd = 30, p90 5th = 40).
	store.GroupDay: {
		{Key: "2027-01-04", Tickets: 7, EscalatedTickets: 5, BreachesBeforeEscalation: 3, Escalations: 6, TimeToEscalateP50: mins(30), TimeToEscalateP90: mins(120),
			TimeToAckP50: mins(30), TimeToAckP90: mins(40), Acknowledged: 5, Returned: 1, ResolvedAtTarget: 2, ReEscalated: 2,
			ContextInsufficient: 1, CompletenessSum: 3.75},
		{Key: "2027-01-03", Tickets: 5, EscalatedTickets: 4, BreachesBeforeEscalation: 1, Escalations: 5, TimeToEscalateP50: mins(30), TimeToEscalateP90: mins(270),
			TimeToAckP50: mins(5), TimeToAckP90: mins(20), Acknowledged: 4, Returned: 1, Unnecessary: 1, ResolvedAtTarget: 3,
			ContextInsufficient: 1, CompletenessSum: 3.5},
	},
	// The two days are in two ISO weeks: Sunday 2027-01-03 ends 2026-W53.
	store.GroupWeek: {
		{Key: "2027-W01", Tickets: 7, EscalatedTickets: 5, BreachesBeforeEscalation: 3, Escalations: 6, TimeToEscalateP50: mins(30), TimeToEscalateP90: mins(120),
			TimeToAckP50: mins(30), TimeToAckP90: mins(40), Acknowledged: 5, Returned: 1, ResolvedAtTarget: 2, ReEscalated: 2,
			ContextInsufficient: 1, CompletenessSum: 3.75},
		{Key: "2026-W53", Tickets: 5, EscalatedTickets: 4, BreachesBeforeEscalation: 1, Escalations: 5, TimeToEscalateP50: mins(30), TimeToEscalateP90: mins(270),
			TimeToAckP50: mins(5), TimeToAckP90: mins(20), Acknowledged: 4, Returned: 1, Unnecessary: 1, ResolvedAtTarget: 3,
			ContextInsufficient: 1, CompletenessSum: 3.5},
	},
}

// FixtureGroups returns the groups the conformance fixture's facts report by groupBy (nil for a
// grouping the fixture does not state), for tests of what is built from them.
func FixtureGroups(groupBy string) []store.ReportGroup {
	return slices.Clone(factGroupsWant[groupBy])
}

func testReportGroups(t *testing.T, f *fx) {
	f.saveFactHistory(t)
	for _, g := range store.GroupBys {
		t.Run(g, func(t *testing.T) {
			want, ok := factGroupsWant[g]
			if !ok {
				t.Fatalf("no expected report for dimension %s: add one", g)
			}
			got := f.report(t, store.ReportQuery{GroupBy: g, Since: factD1, Until: factUntil})
			equal(t, "report by "+g, got, want)
		})
	}
	// The window's ends in another zone are the same instants.
	t.Run("window in another zone", func(t *testing.T) {
		got := f.report(t, store.ReportQuery{GroupBy: store.GroupDay, Since: factD1.In(plusTwo), Until: factUntil.In(plusOne)})
		equal(t, "report by day, window given in +02:00 and +01:00", got, factGroupsWant[store.GroupDay])
	})
	// One millisecond more at either end takes in E12 and T14, or E13 and T13.
	t.Run("window one millisecond wider", func(t *testing.T) {
		got := f.report(t, store.ReportQuery{GroupBy: store.GroupDay, Since: factD1.Add(-time.Millisecond), Until: factUntil.Add(time.Millisecond)})
		keys := ids(got, func(g store.ReportGroup) string { return g.Key })
		equalIDs(t, "days of the wider window", keys, []string{"2027-01-04", "2027-01-03", "2027-01-02", "2027-01-05"})
	})
}

func testReportGroupsFilters(t *testing.T, f *fx) {
	f.saveFactHistory(t)
	cases := []struct {
		name string
		q    store.ReportQuery
		want []store.ReportGroup
	}{{
		// Team platform keeps every escalation but E09 (support->finance), and the tickets
		// platform took on: T10, opened there, and the arrivals E01-E05, E07, E08, E10 (E05
		// re-escalated). Tickets group by the team that took them on, escalations by the team
		// they came from. support: no tickets; escalations E01-E05, E07, E08, E10 (tte 1 5 10
		// 15 30 30 60 120: n=8, p50 4th = 15, p90 ceil(7.2) = 8th = 120; tta 1 2 5 10 20 30:
		// n=6, p50 3rd = 5, p90 ceil(5.4) = 6th = 30; completeness 5.75 - 0.25 of E09 = 5.5).
		// platform: 9 tickets, 1 escalated; escalations E06 E11. finance is gone: E09, its only
		// arrival, is not platform's.
		name: "team report of platform",
		q:    store.ReportQuery{GroupBy: store.GroupTeam, Team: "platform"},
		want: []store.ReportGroup{
			{Key: "support", Escalations: 8, TimeToEscalateP50: mins(15), TimeToEscalateP90: mins(120),
				TimeToAckP50: mins(5), TimeToAckP90: mins(30), Acknowledged: 6, Returned: 2, Unnecessary: 1, ResolvedAtTarget: 3,
				ReEscalated: 1, ContextInsufficient: 2, CompletenessSum: 5.5},
			{Key: "platform", Tickets: 9, EscalatedTickets: 1, Escalations: 2, TimeToEscalateP50: mins(60), TimeToEscalateP90: mins(270),
				TimeToAckP50: mins(5), TimeToAckP90: mins(30), Acknowledged: 2, ResolvedAtTarget: 1, ReEscalated: 1, CompletenessSum: 1.5},
		},
	}, {
		// Team finance: escalation E09; tickets T11 (opened there) and E09's arrival of T09,
		// a billing ticket finance did not escalate further.
		name: "issue types of finance",
		q:    store.ReportQuery{GroupBy: store.GroupIssueType, Team: "finance"},
		want: []store.ReportGroup{
			{Key: "billing", Tickets: 1, Escalations: 1, TimeToEscalateP50: mins(40), TimeToEscalateP90: mins(40),
				TimeToAckP50: mins(40), TimeToAckP90: mins(40), Acknowledged: 1, ResolvedAtTarget: 1, CompletenessSum: 0.25},
			{Key: "refund", Tickets: 1},
		},
	}, {
		name: "a team with nothing",
		q:    store.ReportQuery{GroupBy: store.GroupChannel, Team: "nobody"},
		want: []store.ReportGroup{},
	}, {
		// Transition t2 -> t1 keeps escalations E06 and E11 (both login, tte 60 270, tta 30 5);
		// the tickets are the unfiltered report's.
		name: "issue types of t2 -> t1",
		q:    store.ReportQuery{GroupBy: store.GroupIssueType, Transition: "t2 -> t1"},
		want: []store.ReportGroup{
			{Key: "login", Tickets: 7, EscalatedTickets: 5, BreachesBeforeEscalation: 3, Escalations: 2,
				TimeToEscalateP50: mins(60), TimeToEscalateP90: mins(270), TimeToAckP50: mins(5), TimeToAckP90: mins(30),
				Acknowledged: 2, ResolvedAtTarget: 1, ReEscalated: 1, CompletenessSum: 1.5},
			{Key: "billing", Tickets: 4, EscalatedTickets: 4, BreachesBeforeEscalation: 1},
			{Key: "refund", Tickets: 1},
		},
	}, {
		// A team's arrivals are tickets, which the transition does not filter: the tickets are
		// the unfiltered team report's, the escalations platform's E06 and E11 only.
		name: "teams of t2 -> t1",
		q:    store.ReportQuery{GroupBy: store.GroupTeam, Transition: "t2 -> t1"},
		want: []store.ReportGroup{
			{Key: "platform", Tickets: 9, EscalatedTickets: 1, Escalations: 2, TimeToEscalateP50: mins(60), TimeToEscalateP90: mins(270),
				TimeToAckP50: mins(5), TimeToAckP90: mins(30), Acknowledged: 2, ResolvedAtTarget: 1, ReEscalated: 1, CompletenessSum: 1.5},
			{Key: "finance", Tickets: 2},
			{Key: "support", Tickets: 12, EscalatedTickets: 10, BreachesBeforeEscalation: 4},
		},
	}, {
		// Both filters: escalations from or to finance of t1 -> t2 (E09); tickets T09 and T11.
		name: "targets of finance and t1 -> t2",
		q:    store.ReportQuery{GroupBy: store.GroupTarget, Team: "finance", Transition: "t1 -> t2"},
		want: []store.ReportGroup{
			{Key: "finance", Escalations: 1, TimeToEscalateP50: mins(40), TimeToEscalateP90: mins(40),
				TimeToAckP50: mins(40), TimeToAckP90: mins(40), Acknowledged: 1, ResolvedAtTarget: 1, CompletenessSum: 0.25},
		},
	}, {
		name: "a transition with nothing",
		q:    store.ReportQuery{GroupBy: store.GroupRule, Transition: "t1 -> t3"},
		want: []store.ReportGroup{},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Since, tc.q.Until = factD1, factUntil
			equal(t, tc.name, f.report(t, tc.q), tc.want)
		})
	}
}

func testReportOutcomes(t *testing.T, f *fx) {
	f.saveFactHistory(t)
	cases := []struct {
		name       string
		team       string
		transition string
		want       store.Outcomes
	}{{
		// Tickets T01-T12. First contact: solved, never escalated, never reopened: T02 and
		// T11 (T10 was reopened). Breached before escalation: T03, T08, T12. Reopened after a
		// tier-1 solve: T06. Frustration >= 0.8 and never escalated: T10 (0.85) and T11 (0.8,
		// the threshold itself); not T12 (0.8, escalated at the window's end, which counts) nor
		// T05, T06. Escalations E01-E11; unnecessary: E02; resolved at the target within 5
		// minutes without a note: E03 (3m) and E11 (5m, the threshold itself), not E08 (4m, 2
		// notes), E01 (20m), E09 (60m); ping-pongs E06, E10, E11.
		name: "all teams",
		want: store.Outcomes{Tickets: 12, FirstContactResolved: 2, BreachedBeforeEscalation: 3, ReopenedAfterT1Solve: 1,
			HighFrustrationUnescalated: 2, Escalations: 11, Unnecessary: 1, QuickSolveNoNote: 2, PingPongs: 3},
	}, {
		// Tickets opened in platform: T10 (reopened, so no first contact resolution;
		// frustrated, 0.85); escalations all but E09.
		name: "platform",
		team: "platform",
		want: store.Outcomes{Tickets: 1, HighFrustrationUnescalated: 1, Escalations: 10, Unnecessary: 1,
			QuickSolveNoNote: 2, PingPongs: 3},
	}, {
		// Tickets opened in finance: T11; escalation E09 (60 minutes: not quick).
		name: "finance",
		team: "finance",
		want: store.Outcomes{Tickets: 1, FirstContactResolved: 1, HighFrustrationUnescalated: 1, Escalations: 1},
	}, {
		// The transition leaves the ticket counts be; escalations E01-E05, E07-E10; quick: E03
		// (E11 is t2 -> t1); ping-pong: E10.
		name:       "t1 -> t2",
		transition: "t1 -> t2",
		want: store.Outcomes{Tickets: 12, FirstContactResolved: 2, BreachedBeforeEscalation: 3, ReopenedAfterT1Solve: 1,
			HighFrustrationUnescalated: 2, Escalations: 9, Unnecessary: 1, QuickSolveNoNote: 1, PingPongs: 1},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := f.outcomes(t, store.ReportQuery{Since: factD1, Until: factUntil, Team: tc.team, Transition: tc.transition,
				QuickSolve: 5 * time.Minute, HighFrustration: 0.8})
			equal(t, "outcomes of "+tc.name, got, &tc.want)
		})
	}
	// Thresholds move the counts: 4m59.999s (whole minutes: 4) leaves out E11 (5m), 0.85
	// leaves out T11 (0.8).
	t.Run("thresholds", func(t *testing.T) {
		got := f.outcomes(t, store.ReportQuery{Since: factD1, Until: factUntil, QuickSolve: 4*time.Minute + 999*time.Millisecond,
			HighFrustration: 0.85})
		if got.QuickSolveNoNote != 1 || got.HighFrustrationUnescalated != 1 {
			t.Errorf("with thresholds 4.999m and 0.85: quick solves %d, frustrated %d; want 1 and 1",
				got.QuickSolveNoNote, got.HighFrustrationUnescalated)
		}
	})
}

// percentileRanks are the nearest ranks, ceil(n/2) and ceil(9n/10), for group sizes, spelled
// out. 10, 20, 30, 50 and 100 are where 9n/10 is a whole number: a store computing 0.9*n in
// floating point and rounding up would be one rank too high there if the product came out a
// hair above it.
var percentileRanks = map[int][2]int{
	1: {1, 1}, 2: {1, 2}, 3: {2, 3}, 4: {2, 4}, 5: {3, 5}, 6: {3, 6}, 7: {4, 7}, 8: {4, 8}, 9: {5, 9},
	10: {5, 9}, 11: {6, 10}, 12: {6, 11}, 13: {7, 12}, 14: {7, 13}, 15: {8, 14}, 16: {8, 15}, 17: {9, 16},
	18: {9, 17}, 19: {10, 18}, 20: {10, 18}, 21: {11, 19}, 30: {15, 27}, 50: {25, 45}, 100: {50, 90},
}

// percentileSizes are the group sizes testPercentileRanks makes; the ranks of their halves,
// (n+1)/2, are in percentileRanks too.
var percentileSizes = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 30, 100}

// testPercentileRanks gives each group size its own issue type, with times to escalate of 1..n
// seconds (so the value names its rank) saved in a scrambled order, and times to acknowledge
// on the odd ones only: m = (n+1)/2 values 1, 3, 5... seconds, whose rank r is 2r-1 seconds.
func testPercentileRanks(t *testing.T, f *fx) {
	at := factD1.Add(time.Hour)
	var es []*store.EscalationFact
	for _, n := range percentileSizes {
		for i := range n {
			v := (i*7919)%n + 1 // a permutation of 1..n: 7919 is a prime none of the sizes divide
			e := &store.EscalationFact{
				EscalationID: fmt.Sprintf("esc_%04d_%04d", n, i), TicketID: "tkt_1", CreatedAt: at,
				IssueType: fmt.Sprintf("n%04d", n), TimeToEscalate: time.Duration(v) * time.Second,
			}
			if v%2 == 1 {
				e.TimeToAck = durp(time.Duration(v) * time.Second)
			}
			es = append(es, e)
		}
	}
	f.saveFacts(nil, es)
	got := f.report(t, store.ReportQuery{GroupBy: store.GroupIssueType, Since: factD1, Until: factUntil})
	if len(got) != len(percentileSizes) {
		t.Fatalf("got %d groups, want %d", len(got), len(percentileSizes))
	}
	sec := func(n int) *time.Duration { return durp(time.Duration(n) * time.Second) }
	for _, g := range got {
		var n int
		fmt.Sscanf(g.Key, "n%d", &n)
		r, m := percentileRanks[n], (n+1)/2
		ra := percentileRanks[m]
		want := store.ReportGroup{Key: g.Key, Escalations: n,
			TimeToEscalateP50: sec(r[0]), TimeToEscalateP90: sec(r[1]),
			TimeToAckP50: sec(2*ra[0] - 1), TimeToAckP90: sec(2*ra[1] - 1)}
		equal(t, fmt.Sprintf("percentiles of %d values", n), g, want)
	}
}

func testReportUnknownGroupBy(t *testing.T, f *fx) {
	for _, g := range []string{"", "priority", "Issue_Type"} {
		err := f.s.View(f.ctx, func(tx store.Tx) error {
			_, err := tx.ReportGroups(f.ctx, store.ReportQuery{GroupBy: g, Since: factD1, Until: factUntil})
			return err
		})
		wantCode(t, err, escalated.EINVALID)
		wantMessageNames(t, err, "group_by", "issue_type", "week")
		if fields := escalated.ErrorFields(err); fields["group_by"] == "" {
			t.Errorf("group_by %q: error %v names no field group_by", g, err)
		}
	}
}

func testReportEmptyWindow(t *testing.T, f *fx) {
	f.saveFactHistory(t)
	// A window before the history, and one where Until is not after Since.
	for _, w := range [][2]time.Time{{factD1.Add(-48 * time.Hour), factD1.Add(-24 * time.Hour)}, {factUntil, factD1}} {
		for _, g := range store.GroupBys {
			equal(t, "report by "+g+" of an empty window", f.report(t, store.ReportQuery{GroupBy: g, Since: w[0], Until: w[1]}),
				[]store.ReportGroup{})
		}
		equal(t, "outcomes of an empty window", f.outcomes(t, store.ReportQuery{Since: w[0], Until: w[1]}), &store.Outcomes{})
	}
}

// GenerateFacts produces a synthetic analytics history for benchmarks: tickets facts spread
// evenly over the days before end, in creation order, and escalations facts, one each for
// escalations of them, spread evenly among the tickets. Both stores' benchmarks load the same
// history from the same seed, so their figures compare. emit gets the history in batches of
// batch tickets with their escalations, in order; it must not keep the slices, which are
// reused. escalations must not exceed tickets.
//
// The shape is a help desk's: 20 issue types (skewed, a few dominate), 5 channels, 4 customer
// tiers, 8 intake teams at t1 escalating to 3 teams at t2 and one at t3, 25 agents per team
// (one ticket in 10 has none), automation escalating by 25 rules four times in 10, most
// escalations acknowledged, about half resolved at the target, some returned, some
// re-escalated.
func GenerateFacts(end time.Time, days, tickets, escalations, batch int,
	emit func([]*store.TicketFact, []*store.EscalationFact) error) error {
	r := rand.New(rand.NewPCG(7, 48))
	start := end.Add(-time.Duration(days) * 24 * time.Hour)
	step := end.Sub(start) / time.Duration(tickets)
	pick := func(n int) int { return r.IntN(n) * r.IntN(n) / n } // skewed towards 0
	minutes := func(lo, hi int) time.Duration { return time.Duration(lo+r.IntN(hi-lo)) * time.Minute }
	var (
		tb []*store.TicketFact
		eb []*store.EscalationFact
	)
	for i := range tickets {
		at := start.Add(time.Duration(i) * step)
		team := r.IntN(8)
		tf := &store.TicketFact{
			TicketID: fmt.Sprintf("tkt_%08d", i), CreatedAt: at,
			IssueType: fmt.Sprintf("issue_%02d", pick(20)), Channel: benchChannels[pick(5)],
			CustomerTier: benchTiers[pick(4)], AccountID: fmt.Sprintf("acc_%05d", r.IntN(20000)),
			IntakeTeam: fmt.Sprintf("team_%02d", team), IntakeTier: "t1",
			Reopens: r.IntN(10) / 9, MaxFrustration: float64(r.IntN(101)) / 100,
		}
		if r.IntN(10) > 0 {
			tf.FirstAgent = fmt.Sprintf("agent_%03d", team*25+r.IntN(25))
		}
		if r.IntN(10) < 7 {
			solved := at.Add(minutes(5, 72*60))
			tf.Solved, tf.SolvedAt = true, &solved
		}
		if r.IntN(20) == 0 {
			tf.BreachesBeforeEscalation = 1 + r.IntN(2)
		}
		// Escalate ticket i when the running share of escalations steps up past it.
		if (i+1)*escalations/tickets > i*escalations/tickets {
			tte := min(minutes(1, 24*60), end.Sub(at)/2)
			ef := &store.EscalationFact{
				EscalationID: fmt.Sprintf("esc_%08d", i), TicketID: tf.TicketID, CreatedAt: at.Add(tte),
				FromTeam: tf.IntakeTeam, ToTeam: fmt.Sprintf("team_%02d", 8+pick(4)), FromTier: "t1", ToTier: "t2",
				ByAgent: tf.FirstAgent, Trigger: "manual", Reason: "complexity",
				IssueType: tf.IssueType, Channel: tf.Channel, CustomerTier: tf.CustomerTier, AccountID: tf.AccountID,
				TimeToEscalate: tte, State: "pending", InternalNotes: r.IntN(4),
				Completeness: float64(r.IntN(21)) / 20, PingPong: r.IntN(33) == 0,
			}
			if ef.ToTeam == "team_11" {
				ef.ToTier = "t3"
			}
			if r.IntN(10) < 4 {
				ef.ByAgent, ef.Trigger, ef.RuleID = "", "rule", fmt.Sprintf("rule_%02d", pick(25))
			}
			if r.IntN(100) < 85 {
				tta := minutes(1, 8*60)
				ack := ef.CreatedAt.Add(tta)
				ef.AcknowledgedAt, ef.TimeToAck, ef.State = &ack, &tta, "acknowledged"
				ef.ContextInsufficient = r.IntN(10) == 0
				switch n := r.IntN(100); {
				case n < 55:
					ef.State, ef.ResolvedAtTarget, ef.ResolvedAfter = "resolved", true, durp(minutes(2, 48*60))
				case n < 70:
					ef.State, ef.Returned, ef.Unnecessary = "returned", true, r.IntN(10) < 4
				case n < 80:
					ef.State, ef.ReEscalated = "escalated", true
				}
			}
			first := ef.CreatedAt
			tf.Escalations, tf.FirstEscalatedAt = 1, &first
			if ef.PingPong {
				tf.PingPongs = 1
			}
			tf.ReopenedAfterT1Solve = tf.Reopens > 0 && r.IntN(4) == 0
			eb = append(eb, ef)
		}
		tb = append(tb, tf)
		if len(tb) == batch || i == tickets-1 {
			if err := emit(tb, eb); err != nil {
				return err
			}
			tb, eb = tb[:0], eb[:0]
		}
	}
	return nil
}

var (
	benchChannels = []string{"chat", "email", "web", "phone", "api"}
	benchTiers    = []string{"free", "pro", "business", "enterprise"}
)

// testRollupsMatchFacts: the rollups a store keeps through saves, replacements, account tier
// changes and a rebuild give the reports that the same rows give computed afresh
// (store.FactSource), for every dimension, filter and several kinds of window. The
// hand-computed history checks what the reports mean; this checks that the store's cells keep
// up with the rows.
func testRollupsMatchFacts(t *testing.T, f *fx) {
	r := rand.New(rand.NewPCG(11, 5))
	day0 := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	// Most rows fall in five days; a third spread over 70 days, so that the account
	// dimension's 32-day block cells (day0 is the 15th day of its block) meet windows that
	// begin and end inside blocks and span several.
	at := func() time.Time {
		if r.IntN(3) == 0 {
			return day0.Add(-20*24*time.Hour + time.Duration(r.Int64N(int64(70*24*time.Hour))))
		}
		return day0.Add(time.Duration(r.Int64N(int64(5 * 24 * time.Hour))))
	}
	teams := []string{"support", "billing", "platform", "finance"}
	tiers := map[string]string{"support": "t1", "billing": "t1", "platform": "t2", "finance": "t3"}
	one := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	tickets := map[string]*store.TicketFact{}
	escs := map[string]*store.EscalationFact{}
	newTicket := func(id string) *store.TicketFact {
		team := one(teams[:2]...)
		tf := &store.TicketFact{TicketID: id, CreatedAt: at(), IssueType: one("login", "billing", "api"),
			Channel: one("chat", "email"), CustomerTier: one("free", "pro"), AccountID: one("acme", "globex", ""),
			IntakeTeam: team, IntakeTier: tiers[team], FirstAgent: one("", "ana", "bob"), Solved: r.IntN(2) == 0,
			Escalations: r.IntN(3), Reopens: r.IntN(2), BreachesBeforeEscalation: r.IntN(3) / 2,
			ReopenedAfterT1Solve: r.IntN(4) == 0, MaxFrustration: float64(r.IntN(101)) / 100, PingPongs: r.IntN(2)}
		return tf
	}
	newEscalation := func(id, ticket string) *store.EscalationFact {
		from, to := one(teams...), one(teams...)
		e := &store.EscalationFact{EscalationID: id, TicketID: ticket, CreatedAt: at(), FromTeam: from, ToTeam: to,
			FromTier: tiers[from], ToTier: tiers[to], ByAgent: one("", "ana", "cy"), Trigger: "manual", Reason: "complexity",
			RuleID: one("", "", "vip"), IssueType: one("login", "api"), Channel: one("chat", "phone"), CustomerTier: one("free", "pro"),
			AccountID: one("acme", ""), TimeToEscalate: time.Duration(r.Int64N(int64(30 * time.Hour))), State: "pending",
			Returned: r.IntN(3) == 0, Unnecessary: r.IntN(4) == 0, ResolvedAtTarget: r.IntN(2) == 0, ReEscalated: r.IntN(4) == 0,
			InternalNotes: r.IntN(2), Completeness: float64(r.IntN(5)) / 4, ContextInsufficient: r.IntN(3) == 0, PingPong: r.IntN(5) == 0}
		if r.IntN(3) > 0 {
			tta := time.Duration(r.Int64N(int64(3 * time.Hour)))
			ack := e.CreatedAt.Add(tta)
			e.TimeToAck, e.AcknowledgedAt = &tta, &ack
		}
		if e.ResolvedAtTarget {
			e.ResolvedAfter = durp(time.Duration(r.Int64N(int64(20 * time.Minute))))
		}
		return e
	}
	save := func(ts []*store.TicketFact, es []*store.EscalationFact) {
		f.saveFacts(ts, es)
		for _, tf := range ts {
			tickets[tf.TicketID] = wantTicketFact(tf)
		}
		for _, e := range es {
			escs[e.EscalationID] = wantEscalationFact(e)
		}
	}
	// A first history, then rounds of changes: rows replaced (their counts move between
	// cells, days and scopes), new rows, an account's new tier.
	var ts []*store.TicketFact
	var es []*store.EscalationFact
	for i := range 60 {
		ts = append(ts, newTicket(fmt.Sprintf("tkt_r%02d", i)))
	}
	for i := range 40 {
		es = append(es, newEscalation(fmt.Sprintf("esc_r%02d", i), fmt.Sprintf("tkt_r%02d", r.IntN(60))))
	}
	save(ts, es)
	for range 3 {
		ts, es = nil, nil
		for range 15 {
			id := fmt.Sprintf("tkt_r%02d", r.IntN(70))
			ts = append(ts, newTicket(id))
		}
		for range 10 {
			id := fmt.Sprintf("esc_r%02d", r.IntN(50))
			es = append(es, newEscalation(id, fmt.Sprintf("tkt_r%02d", r.IntN(70))))
		}
		save(ts, es)
		tier := one("enterprise", "free")
		f.update(func(tx store.Tx) error { return tx.SetAccountTier(f.ctx, "acme", tier) })
		for _, tf := range tickets {
			if tf.AccountID == "acme" {
				tf.CustomerTier = tier
			}
		}
	}
	src := store.FactSource{}
	for _, tf := range tickets {
		src.Tickets = append(src.Tickets, tf)
	}
	for _, e := range escs {
		src.Escalations = append(src.Escalations, e)
	}
	windows := [][2]time.Time{
		{day0, day0.Add(5 * 24 * time.Hour)},                                     // whole days
		{day0.Add(7*time.Hour + 3*time.Minute), day0.Add(100 * time.Hour)},       // partial days at both ends
		{day0.Add(30 * time.Hour), day0.Add(40 * time.Hour)},                     // within one day
		{day0.Add(-time.Hour), day0.Add(6 * 24 * time.Hour)},                     // wider than the history
		{day0.Add(50 * time.Hour), day0.Add(50 * time.Hour)},                     // empty
		{day0.Add(24*time.Hour - time.Millisecond), day0.Add(48 * time.Hour)},    // one millisecond of a day
		{day0.Add(-19*24*time.Hour + 5*time.Hour), day0.Add(3 * 24 * time.Hour)}, // from the block before day0's
		{day0.Add(-20 * 24 * time.Hour), day0.Add(50 * 24 * time.Hour)},          // three blocks, whole days
		{day0.Add(18*24*time.Hour + 3*time.Hour), day0.Add(40 * 24 * time.Hour)}, // inside the next block
		{day0.Add(-14 * 24 * time.Hour), day0.Add(18 * 24 * time.Hour)},          // exactly day0's block
		{day0.Add(time.Hour), day0.Add(5*24*time.Hour - time.Hour)},              // two of the five busy days as edges
	}
	filters := []store.ReportQuery{{}, {Team: "platform"}, {Team: "support"}, {Transition: "t1 -> t2"},
		{Team: "finance", Transition: "t2 -> t3"}}
	compare := func(when string) {
		for _, w := range windows {
			for _, flt := range filters {
				q := flt
				q.Since, q.Until, q.QuickSolve, q.HighFrustration = w[0], w[1], 7*time.Minute, 0.5
				name := fmt.Sprintf("%s, window %s..%s, team %q, transition %q", when,
					w[0].Format(time.RFC3339), w[1].Format(time.RFC3339), q.Team, q.Transition)
				for _, g := range store.GroupBys {
					q.GroupBy = g
					want, err := store.BuildReport(f.ctx, src, q)
					if err != nil {
						t.Fatal(err)
					}
					equal(t, name+", by "+g, f.report(t, q), want)
				}
				want, err := store.BuildOutcomes(f.ctx, src, q)
				if err != nil {
					t.Fatal(err)
				}
				equal(t, name+", outcomes", f.outcomes(t, q), want)
			}
		}
	}
	compare("kept by saves")
	f.update(func(tx store.Tx) error { return tx.RebuildRollups(f.ctx) })
	compare("rebuilt")
}

// testEdgeColumns: the rows a store's FactsCreatedFor reads for a report by each dimension
// (store.EdgeColumns) give the same report and outcome measures as the whole rows, over varied
// facts (every field set at random, some of them often), and their times are the whole rows'
// times, in UTC. Stores that read edges whole skip it.
func testEdgeColumns(t *testing.T, f *fx) {
	ctx := f.ctx
	r := rand.New(rand.NewPCG(3, 9))
	one := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	day := time.Date(2027, 5, 3, 0, 0, 0, 0, time.UTC)
	at := func() time.Time { return day.Add(time.Duration(r.Int64N(int64(24 * time.Hour)))) }
	dur := func(max time.Duration) *time.Duration {
		d := time.Duration(r.Int64N(int64(max))).Truncate(time.Millisecond)
		return &d
	}
	f.update(func(tx store.Tx) error {
		for i := range 300 {
			tf := &store.TicketFact{TicketID: fmt.Sprintf("tkt_%03d", i), CreatedAt: at(), IssueType: one("login", "api"),
				Channel: one("chat", "email"), CustomerTier: one("free", "pro"), AccountID: one("acme", "globex"),
				IntakeTeam: one("support", "billing"), IntakeTier: "t1", FirstAgent: one("", "ana", "bob"), Solved: r.IntN(2) == 0,
				Escalations: r.IntN(3), Reopens: r.IntN(2), BreachesBeforeEscalation: r.IntN(3),
				ReopenedAfterT1Solve: r.IntN(3) == 0, MaxFrustration: float64(r.IntN(101)) / 100, PingPongs: r.IntN(2)}
			if err := tx.SaveTicketFact(ctx, tf); err != nil {
				return err
			}
			e := &store.EscalationFact{EscalationID: fmt.Sprintf("esc_%03d", i), TicketID: tf.TicketID, CreatedAt: at(),
				FromTeam: one("support", "billing"), ToTeam: one("platform", "finance", "billing"), FromTier: "t1", ToTier: one("t2", "t3"),
				ByAgent: one("", "ana", "cy"), Trigger: one("manual", "rule"), Reason: "complexity", RuleID: one("", "vip"),
				IssueType: one("login", "api"), Channel: one("chat", "phone"), CustomerTier: one("free", "pro"), AccountID: one("acme", ""),
				TimeToEscalate: *dur(30 * time.Hour), State: "pending", Returned: r.IntN(3) == 0, Unnecessary: r.IntN(3) == 0,
				ResolvedAtTarget: r.IntN(2) == 0, ReEscalated: r.IntN(3) == 0, InternalNotes: r.IntN(2),
				Completeness: float64(r.IntN(5)) / 4, ContextInsufficient: r.IntN(3) == 0, PingPong: r.IntN(4) == 0}
			if r.IntN(3) > 0 {
				e.TimeToAck = dur(3 * time.Hour)
				ack := e.CreatedAt.Add(*e.TimeToAck)
				e.AcknowledgedAt = &ack
			}
			if e.ResolvedAtTarget {
				e.ResolvedAfter = dur(20 * time.Minute)
			}
			if err := tx.SaveEscalationFact(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	from, to := day, day.Add(24*time.Hour)
	f.in(t).view(func(tx store.Tx) error {
		x, ok := tx.(store.EdgeFactSource)
		if !ok {
			t.Skip("this store reads its edges' rows whole (it is not a store.EdgeFactSource)")
		}
		ts, es, err := x.FactsCreated(ctx, from, to)
		if err != nil {
			return err
		}
		if len(ts) != 300 || len(es) != 300 {
			return fmt.Errorf("%d ticket and %d escalation rows in the day, want 300 of each", len(ts), len(es))
		}
		whole := store.FactSource{Tickets: ts, Escalations: es}
		wantTimes := edgeTimes(ts, es)
		for _, scope := range []store.ReportQuery{{}, {Team: "billing"}, {Transition: "t1 -> t2"}} {
			q := scope
			q.Since, q.Until, q.QuickSolve, q.HighFrustration = from, to, 10*time.Minute, 0.5
			for _, g := range append(store.GroupBys, "outcomes") {
				dim := g
				if g == "outcomes" || g == store.GroupDay || g == store.GroupWeek {
					dim = "all"
				}
				pts, pes, err := x.FactsCreatedFor(ctx, from, to, dim)
				if err != nil {
					return err
				}
				// PostgreSQL's timestamptz comes back in the local zone unless made UTC,
				// which the counts by UTC day would not show.
				if got := edgeTimes(pts, pes); !reflect.DeepEqual(got, wantTimes) {
					t.Errorf("%s: the edge columns' times differ from the whole rows'", g)
				}
				part := store.FactSource{Tickets: pts, Escalations: pes}
				var want, got any
				if g == "outcomes" {
					want, err = store.BuildOutcomes(ctx, whole, q)
					if err == nil {
						got, err = store.BuildOutcomes(ctx, part, q)
					}
				} else {
					q.GroupBy = g
					want, err = store.BuildReport(ctx, whole, q)
					if err == nil {
						got, err = store.BuildReport(ctx, part, q)
					}
				}
				if err != nil {
					return err
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s with filter %+v from the edge columns:\n got %+v\nwant %+v", g, scope, got, want)
				}
			}
		}
		return nil
	})
}

// edgeTimes are the rows' creation and acknowledgement times, sorted: the tickets', then the
// escalations', then the acknowledgements'.
func edgeTimes(ts []*store.TicketFact, es []*store.EscalationFact) [3][]time.Time {
	var out [3][]time.Time
	for _, f := range ts {
		out[0] = append(out[0], f.CreatedAt)
	}
	for _, e := range es {
		out[1] = append(out[1], e.CreatedAt)
		if e.AcknowledgedAt != nil {
			out[2] = append(out[2], *e.AcknowledgedAt)
		}
	}
	for i := range out {
		slices.SortFunc(out[i], time.Time.Compare)
	}
	return out
}
