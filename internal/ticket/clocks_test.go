package ticket_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/sqlite"
	"github.com/escalated/escalated/internal/ticket"
)

// The clock tests drive the service on a virtual clock over a real SQLite file and fire
// deadlines the way the engine does (claim and apply in one transaction), so every instant
// below is exact. The calendar is Berlin's office hours, Monday to Friday 09:00-17:00; in
// November and December Berlin is UTC+1.
const clockPolicy = `version: 1
intake: frontline
calendars:
  - id: eu
    timezone: Europe/Berlin
    hours: {mon-fri: "09:00-17:00"}
    holidays: ["2026-12-25"]
  - id: always
    timezone: UTC
    hours: {mon-sun: "00:00-24:00"}
tiers:
  - {id: t1, name: Frontline, level: 1}
  - {id: t2, name: Specialists, level: 2}
  - {id: t3, name: Engineering, level: 3}
  - {id: t4, name: Executives, level: 4}
teams:
  - {id: frontline, tier: t1, calendar: eu}
  - {id: billing, tier: t2, calendar: eu}
  - {id: engineering, tier: t3, calendar: always}
  - {id: executives, tier: t4, calendar: always}
agents:
  - {id: ana, name: Ana, teams: [frontline]}
  - {id: bea, name: Bea, teams: [billing]}
  - {id: eve, name: Eve, teams: [engineering]}
paths:
  - {from: frontline, to: [billing]}
  - {from: billing, to: [engineering]}
  - {from: engineering, to: [executives]}
escalation:
  note_min_length: 10
  max_per_ticket: 2
sla:
  - id: urgent
    when: ticket.priority == "urgent"
    targets: {first_response: 1h, resolution: 8h, acknowledge: 30m}
    warn_at: 0.5
  - id: default
    targets: {first_response: 2h, next_reply: 4h, resolution: 16h, acknowledge: 1h}
    warn_at: 0.5
rules:
  - id: first-response-breach
    on: [sla.breached]
    when: sla.target == "first_response"
    do:
      - escalate: {to: next_tier, reason: sla}
  - id: nobody-picked-it-up
    on: [escalation.unacknowledged]
    do:
      - escalate: {to: next_tier, reason: sla}
`

var berlin = func() *time.Location {
	l, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return l
}()

// at is a wall time in Berlin, returned in UTC as the service stores it.
func at(day, hour, minute int) time.Time {
	return time.Date(2026, time.November, day, hour, minute, 0, 0, berlin).UTC()
}

type clockFx struct {
	t   *testing.T
	ctx context.Context
	st  store.Store
	svc *ticket.Service
	now time.Time
}

func newClockFx(t *testing.T, src string) *clockFx {
	t.Helper()
	ctx := escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "test", Role: escalated.RoleAdmin})
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "clocks.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &clockFx{t: t, ctx: ctx, st: st, now: at(27, 9, 0)}
	f.svc = ticket.New(st, func() time.Time { return f.now }, nil)
	pol, err := policy.Parse("clocks.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.LoadPolicy(ctx, pol, "test"); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *clockFx) create(when time.Time, priority escalated.Priority) string {
	f.t.Helper()
	f.now = when
	d, err := f.svc.CreateTicket(f.ctx, ticket.CreateInput{
		Subject: "Card declined", Priority: priority, Channel: escalated.ChannelEmail, Team: "frontline",
		Account: &escalated.Account{ID: "acme", Name: "Acme", Tier: "pro"},
		Message: &ticket.MessageInput{Author: escalated.Author{Kind: escalated.AuthorCustomer, Name: "Kim"}, Body: "My card was declined twice."},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return d.Ticket.ID
}

func (f *clockFx) message(when time.Time, id string, kind escalated.AuthorKind, internal bool) {
	f.t.Helper()
	f.now = when
	in := ticket.MessageInput{Author: escalated.Author{Kind: kind, Name: "someone"}, Body: "Any news on this?", Internal: internal}
	if kind == escalated.AuthorAgent {
		in.Author.ID = "ana"
	}
	if _, err := f.svc.AddMessage(f.ctx, id, in); err != nil {
		f.t.Fatal(err)
	}
}

func (f *clockFx) patch(when time.Time, id string, p ticket.Patch) {
	f.t.Helper()
	f.now = when
	if _, err := f.svc.PatchTicket(f.ctx, id, p); err != nil {
		f.t.Fatal(err)
	}
}

var errRollback = errors.New("rollback")

// pending lists the deadlines waiting in the store, earliest first, without claiming them (the
// claim is rolled back).
func (f *clockFx) pending() []string {
	f.t.Helper()
	var out []string
	err := f.st.Update(f.ctx, func(tx store.Tx) error {
		ds, err := tx.ClaimDue(f.ctx, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 1000)
		if err != nil {
			return err
		}
		out = nil
		for _, d := range ds {
			out = append(out, fmt.Sprintf("%s %s %s", d.Target, d.Kind, d.DueAt.In(berlin).Format("Mon 15:04:05.000")))
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		f.t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// fire claims and applies what is due at when, as the engine does, and returns the kinds fired.
func (f *clockFx) fire(when time.Time) []string {
	f.t.Helper()
	f.now = when
	var out []string
	err := f.st.Update(f.ctx, func(tx store.Tx) error {
		out = nil
		ds, err := tx.ClaimDue(f.ctx, when, 100)
		if err != nil {
			return err
		}
		for _, d := range ds {
			ok, err := f.svc.FireDeadline(f.ctx, tx, d, when)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, d.Target+" "+d.Kind)
			}
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *clockFx) detail(id string) *ticket.Detail {
	f.t.Helper()
	d, err := f.svc.GetTicket(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

func (f *clockFx) clock(id, target string) escalated.ClockStatus {
	f.t.Helper()
	for _, c := range f.detail(id).SLA {
		if c.Target == target {
			return c
		}
	}
	f.t.Fatalf("ticket %s has no %s clock", id, target)
	return escalated.ClockStatus{}
}

func (f *clockFx) events(id, typ string) []*escalated.Event {
	var out []*escalated.Event
	for _, e := range f.detail(id).History {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func wantList(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func str(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

// js renders a value for a failure message (clock statuses hold pointers).
func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestClocksCountBusinessHoursWarnAndBreach(t *testing.T) {
	f := newClockFx(t, clockPolicy)
	// Friday 16:30: half an hour of business time is left in the week.
	id := f.create(at(27, 16, 30), escalated.PriorityNormal)
	wantList(t, "deadlines after create", f.pending(),
		"first_response sla.breached Mon 10:30:00.000", // 30m Friday + 1h30 Monday
		"first_response sla.warning Mon 09:30:00.000",  // half of 2h
		"resolution sla.breached Tue 16:30:00.000",     // 30m + 8h + 7h30
		"resolution sla.warning Mon 16:30:00.000")      // 30m + 7h30

	c := f.clock(id, "first_response")
	if c.State != "running" || str(c.DueAt) != "2026-11-30T09:30:00.000Z" || str(c.WarningAt) != "2026-11-30T08:30:00.000Z" || c.Plan != "default" || c.TargetSeconds != 7200 {
		t.Fatalf("first_response clock = %s", js(c))
	}
	// The weekend costs nothing: on Sunday evening 30 minutes are used.
	f.now = at(29, 20, 0)
	if c := f.clock(id, "first_response"); c.ElapsedSeconds != 1800 {
		t.Fatalf("elapsed on Sunday = %vs, want 1800", c.ElapsedSeconds)
	}

	if got := f.fire(at(30, 9, 29).Add(59*time.Second + 999*time.Millisecond)); len(got) != 0 {
		t.Fatalf("fired before the warning was due: %v", got)
	}
	wantList(t, "fired at the warning", f.fire(at(30, 9, 30)), "first_response sla.warning")
	if c := f.clock(id, "first_response"); c.State != "warned" || c.WarningAt != nil {
		t.Fatalf("after the warning: %+v", c)
	}
	w := f.events(id, escalated.EventSLAWarning)
	if len(w) != 1 || w[0].Data["lateness_ms"] != 0.0 || w[0].Data["target"] != "first_response" {
		t.Fatalf("warning events = %+v", w)
	}

	// The breach fires 250 ms late; the event says so, and the policy escalates on it.
	wantList(t, "fired at the breach", f.fire(at(30, 10, 30).Add(250*time.Millisecond)), "first_response sla.breached")
	b := f.events(id, escalated.EventSLABreached)
	if len(b) != 1 || b[0].Data["lateness_ms"] != 250.0 || b[0].Data["due_at"] != "2026-11-30T09:30:00.000Z" {
		t.Fatalf("breach events = %+v", b)
	}
	d := f.detail(id)
	if len(d.Escalations) != 1 || d.Escalations[0].Trigger != escalated.TriggerSLA || d.Escalations[0].ToTeam != "billing" || d.Escalations[0].RuleID != "first-response-breach" {
		t.Fatalf("escalations after the breach = %+v", d.Escalations)
	}
	if pkg := d.Escalations[0].Package; len(pkg.SLA) == 0 || pkg.SLA[0].State != "breached" {
		t.Fatalf("package SLA = %+v", pkg.SLA)
	}
	ack := f.clock(id, "acknowledge")
	if ack.State != "running" || str(ack.EscalationID) != d.Escalations[0].ID || str(ack.DueAt) != "2026-11-30T10:30:00.250Z" {
		t.Fatalf("acknowledge clock = %s", js(ack))
	}
	// A breached clock keeps counting until the answer comes, then stops breached.
	f.message(at(30, 10, 45), id, escalated.AuthorAgent, false)
	if c := f.clock(id, "first_response"); c.State != "breached" || str(c.StoppedAt) != "2026-11-30T09:45:00.000Z" || c.ElapsedSeconds != 8100 {
		t.Fatalf("first_response after the reply = %s", js(c))
	}
	for _, p := range f.pending() {
		if strings.HasPrefix(p, "first_response") {
			t.Fatalf("a stopped clock keeps a deadline: %v", f.pending())
		}
	}
}

func TestClocksPauseWhileWaitingOnTheCustomer(t *testing.T) {
	f := newClockFx(t, clockPolicy)
	id := f.create(at(30, 9, 0), escalated.PriorityNormal)
	pending := escalated.StatusPending
	f.patch(at(30, 9, 30), id, ticket.Patch{Status: &pending})
	wantList(t, "deadlines while pending", f.pending())
	c := f.clock(id, "first_response")
	if c.State != "paused" || c.DueAt != nil || c.ElapsedSeconds != 1800 {
		t.Fatalf("paused clock = %s", js(c))
	}
	// A day later the customer answers: the ticket opens and the clocks resume with what was
	// left (1h30 of first_response, 15h30 of resolution).
	f.message(at(31, 9, 0), id, escalated.AuthorCustomer, false)
	wantList(t, "deadlines after the customer answered", f.pending(),
		"first_response sla.breached Tue 10:30:00.000",
		"first_response sla.warning Tue 09:30:00.000",
		"resolution sla.breached Wed 16:30:00.000",
		"resolution sla.warning Tue 16:30:00.000")
	if c := f.clock(id, "first_response"); c.State != "running" || c.ElapsedSeconds != 1800 {
		t.Fatalf("resumed clock = %s", js(c))
	}
}

func TestClocksReplanWhenPriorityChanges(t *testing.T) {
	f := newClockFx(t, clockPolicy)
	id := f.create(at(30, 9, 0), escalated.PriorityNormal)
	urgent, normal := escalated.PriorityUrgent, escalated.PriorityNormal
	// 40 minutes in, the ticket becomes urgent: 1h target, warning at 30m, already passed.
	f.patch(at(30, 9, 40), id, ticket.Patch{Priority: &urgent})
	wantList(t, "deadlines under the urgent plan", f.pending(),
		"first_response sla.breached Mon 10:00:00.000",
		"first_response sla.warning Mon 09:40:00.000", // due at once: the warn point was passed
		"resolution sla.breached Mon 17:00:00.000",
		"resolution sla.warning Mon 13:00:00.000")
	if c := f.clock(id, "first_response"); c.Plan != "urgent" || c.TargetSeconds != 3600 || c.ElapsedSeconds != 2400 {
		t.Fatalf("replanned clock = %s", js(c))
	}
	// Back to normal 10 minutes later: 50 minutes used of 2h (70 left) and of 16h (15h10 left:
	// 7h10 on Monday, 8h on Tuesday).
	f.patch(at(30, 9, 50), id, ticket.Patch{Priority: &normal})
	wantList(t, "deadlines back under the default plan", f.pending(),
		"first_response sla.breached Mon 11:00:00.000",
		"first_response sla.warning Mon 10:00:00.000",
		"resolution sla.breached Tue 17:00:00.000",
		"resolution sla.warning Mon 17:00:00.000")
}

func TestClocksFollowTheConversation(t *testing.T) {
	f := newClockFx(t, clockPolicy)
	id := f.create(at(30, 9, 0), escalated.PriorityNormal)
	f.message(at(30, 9, 5), id, escalated.AuthorAgent, true) // an internal note is no answer
	if c := f.clock(id, "first_response"); c.State != "running" {
		t.Fatalf("first_response after an internal note = %s", js(c))
	}
	f.message(at(30, 9, 20), id, escalated.AuthorAgent, false)
	if c := f.clock(id, "first_response"); c.State != "met" || c.ElapsedSeconds != 1200 {
		t.Fatalf("first_response after the reply = %s", js(c))
	}
	f.message(at(30, 10, 0), id, escalated.AuthorCustomer, false)
	if c := f.clock(id, "next_reply"); c.State != "running" || str(c.DueAt) != "2026-11-30T13:00:00.000Z" {
		t.Fatalf("next_reply after the customer wrote = %s", js(c))
	}
	// A second customer message before the answer does not move the deadline.
	f.message(at(30, 10, 30), id, escalated.AuthorCustomer, false)
	if c := f.clock(id, "next_reply"); str(c.DueAt) != "2026-11-30T13:00:00.000Z" {
		t.Fatalf("next_reply after a second message = %s", js(c))
	}
	f.message(at(30, 11, 0), id, escalated.AuthorAgent, false)
	if c := f.clock(id, "next_reply"); c.State != "met" {
		t.Fatalf("next_reply after the answer = %s", js(c))
	}
	solved := escalated.StatusSolved
	f.patch(at(30, 12, 0), id, ticket.Patch{Status: &solved})
	if c := f.clock(id, "resolution"); c.State != "met" || c.ElapsedSeconds != 3*3600 {
		t.Fatalf("resolution after solve = %s", js(c))
	}
	wantList(t, "deadlines of a solved ticket", f.pending())
	// The customer reopens it the next morning: resolution counts on from 3h (13h left: 8h on
	// Tuesday, 5h on Wednesday), next_reply starts.
	f.message(at(31, 9, 0), id, escalated.AuthorCustomer, false)
	if c := f.clock(id, "resolution"); c.State != "running" || c.ElapsedSeconds != 3*3600 || str(c.DueAt) != "2026-12-02T13:00:00.000Z" {
		t.Fatalf("resolution after reopen = %s", js(c))
	}
	if c := f.clock(id, "next_reply"); c.State != "running" {
		t.Fatalf("next_reply after reopen = %s", js(c))
	}
}

func TestUnacknowledgedEscalationMovesOnUntilTheCap(t *testing.T) {
	f := newClockFx(t, clockPolicy)
	id := f.create(at(30, 9, 0), escalated.PriorityNormal)
	f.message(at(30, 9, 1), id, escalated.AuthorAgent, false)
	f.now = at(30, 9, 2)
	first, err := f.svc.Escalate(f.ctx, id, ticket.EscalateInput{To: "billing", Reason: escalated.ReasonComplexity, Note: "Needs a refund decision.", By: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	wantList(t, "fired before the acknowledge target", f.fire(at(30, 9, 32)), "acknowledge sla.warning")
	wantList(t, "fired at the acknowledge target", f.fire(at(30, 10, 2)), "acknowledge escalation.unacknowledged")
	d := f.detail(id)
	if len(d.Escalations) != 2 {
		t.Fatalf("escalations = %+v", d.Escalations)
	}
	if old, next := d.Escalations[0], d.Escalations[1]; old.ID != first.ID || old.State != escalated.EscalationEscalated ||
		next.ToTeam != "engineering" || next.Trigger != escalated.TriggerUnacknowledged || next.State != escalated.EscalationPending {
		t.Fatalf("after the first timeout: %+v / %+v", old, next)
	}
	ack := f.clock(id, "acknowledge")
	if str(ack.EscalationID) != d.Escalations[1].ID || str(ack.DueAt) != "2026-11-30T10:02:00.000Z" { // engineering: around the clock
		t.Fatalf("acknowledge clock of the second escalation = %s", js(ack))
	}
	// The second timeout would reach executives, but max_per_ticket (2) stops it.
	wantList(t, "fired at the second target", f.fire(at(30, 12, 2)), "acknowledge sla.warning", "acknowledge escalation.unacknowledged")
	d = f.detail(id)
	if len(d.Escalations) != 2 || d.Ticket.Team != "engineering" {
		t.Fatalf("the cap did not hold: %d escalations, team %s", len(d.Escalations), d.Ticket.Team)
	}
	fired := f.events(id, escalated.EventRuleFired)
	last := fmt.Sprint(fired[len(fired)-1].Data["actions"])
	if !strings.Contains(last, "max_per_ticket") {
		t.Fatalf("last rule firing = %s, want the cap named", last)
	}
	if c := f.clock(id, "acknowledge"); c.State != "breached" {
		t.Fatalf("acknowledge clock after the capped timeout = %s", js(c))
	}
	// Acknowledging late stops the clock breached and leaves nothing pending for it.
	f.now = at(30, 12, 30)
	if _, err := f.svc.Acknowledge(f.ctx, d.Escalations[1].ID, "eve"); err != nil {
		t.Fatal(err)
	}
	if c := f.clock(id, "acknowledge"); c.State != "breached" || c.StoppedAt == nil {
		t.Fatalf("acknowledge clock after the late acknowledgement = %s", js(c))
	}
	for _, p := range f.pending() {
		if strings.HasPrefix(p, "acknowledge") {
			t.Fatalf("acknowledged escalation keeps a deadline: %v", f.pending())
		}
	}
}

func TestAcknowledgedInTimeIsMet(t *testing.T) {
	f := newClockFx(t, clockPolicy)
	id := f.create(at(30, 9, 0), escalated.PriorityNormal)
	f.now = at(30, 9, 2)
	e, err := f.svc.Escalate(f.ctx, id, ticket.EscalateInput{To: "billing", Reason: escalated.ReasonComplexity, Note: "Needs a refund decision.", By: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	f.now = at(30, 9, 12)
	if _, err := f.svc.Acknowledge(f.ctx, e.ID, "bea"); err != nil {
		t.Fatal(err)
	}
	if c := f.clock(id, "acknowledge"); c.State != "met" || c.ElapsedSeconds != 600 {
		t.Fatalf("acknowledge clock = %s", js(c))
	}
	for _, p := range f.pending() {
		if strings.HasPrefix(p, "acknowledge") {
			t.Fatalf("met clock keeps a deadline: %v", f.pending())
		}
	}
	if got := f.fire(at(30, 10, 30)); slices.Contains(got, "acknowledge escalation.unacknowledged") {
		t.Fatalf("an acknowledged escalation timed out: %v", got)
	}
}

func TestStaleDeadlineIsDroppedAndTheRealOnesKept(t *testing.T) {
	f := newClockFx(t, clockPolicy)
	id := f.create(at(30, 9, 0), escalated.PriorityNormal)
	before := f.pending()
	// A row that matches no clock (as a bug or a hand edit could leave): it must not fire.
	err := f.st.Update(f.ctx, func(tx store.Tx) error {
		return tx.ScheduleDeadline(f.ctx, &store.Deadline{ID: "dl_stale", TicketID: id, Kind: escalated.EventSLABreached,
			Target: "first_response", DueAt: at(30, 9, 10), CreatedAt: at(30, 9, 0)})
	})
	if err != nil {
		t.Fatal(err)
	}
	version := f.detail(id).Ticket.Version
	f.fire(at(30, 9, 10))
	if len(f.events(id, escalated.EventSLABreached)) != 0 || f.detail(id).Ticket.Version != version {
		t.Fatal("a stale deadline changed the ticket")
	}
	wantList(t, "deadlines after the stale one was dropped", f.pending(), before...)
}

func TestNoPlanNoClocks(t *testing.T) {
	f := newClockFx(t, strings.Replace(clockPolicy, `  - id: default
    targets: {first_response: 2h, next_reply: 4h, resolution: 16h, acknowledge: 1h}
    warn_at: 0.5
`, "", 1))
	id := f.create(at(30, 9, 0), escalated.PriorityNormal)
	if d := f.detail(id); len(d.SLA) != 0 {
		t.Fatalf("clocks without a matching plan: %+v", d.SLA)
	}
	wantList(t, "deadlines without a plan", f.pending())
	// Raising the priority makes the urgent plan apply from that moment.
	urgent := escalated.PriorityUrgent
	f.patch(at(30, 9, 30), id, ticket.Patch{Priority: &urgent})
	if c := f.clock(id, "first_response"); c.Plan != "urgent" || str(c.DueAt) != "2026-11-30T09:30:00.000Z" {
		t.Fatalf("first_response once the plan applies = %s", js(c))
	}
}

func TestReplacedPolicyAppliesAtTheTicketsNextChange(t *testing.T) {
	f := newClockFx(t, clockPolicy)
	id := f.create(at(30, 9, 0), escalated.PriorityNormal)
	f.now = at(30, 9, 10)
	longer := strings.Replace(clockPolicy, "targets: {first_response: 2h, next_reply: 4h", "targets: {first_response: 3h, next_reply: 4h", 1)
	if _, _, err := f.svc.ReplacePolicy(f.ctx, []byte(longer)); err != nil {
		t.Fatal(err)
	}
	// Nothing moves until the ticket changes: deadlines are rows, not recomputed on reload.
	if c := f.clock(id, "first_response"); c.TargetSeconds != 7200 {
		t.Fatalf("first_response right after the reload = %s", js(c))
	}
	f.message(at(30, 9, 20), id, escalated.AuthorAgent, true)
	if c := f.clock(id, "first_response"); c.TargetSeconds != 3*3600 || str(c.DueAt) != "2026-11-30T11:00:00.000Z" || c.ElapsedSeconds != 1200 {
		t.Fatalf("first_response at the next change = %s", js(c))
	}
	wantList(t, "deadlines under the replaced policy", f.pending(),
		"first_response sla.breached Mon 12:00:00.000",
		"first_response sla.warning Mon 10:30:00.000",
		"resolution sla.breached Tue 17:00:00.000", // unchanged: 8h Monday + 8h Tuesday
		"resolution sla.warning Mon 17:00:00.000")
}

// A policy replaced between a warning and the breach: the row computed under the old target
// must not fire as a breach the re-planned clock undoes, nor fire twice.
func TestReloadedTargetJudgesTheOldRow(t *testing.T) {
	src := clockPolicy + `  - id: saw-breach
    on: [sla.breached]
    when: sla.breached
    do:
      - tag: saw-breach
`
	f := newClockFx(t, src)
	id := f.create(at(30, 9, 0), escalated.PriorityNormal)
	wantList(t, "warning under the first policy", f.fire(at(30, 10, 0)), "first_response sla.warning")
	f.now = at(30, 10, 10)
	if _, _, err := f.svc.ReplacePolicy(f.ctx, []byte(strings.Replace(src, "first_response: 2h, next_reply", "first_response: 3h, next_reply", 1))); err != nil {
		t.Fatal(err)
	}
	// 11:00 was the old breach: the clock now has until 12:00, so the row is dropped and the
	// new one written.
	if got := f.fire(at(30, 11, 0)); len(got) != 0 {
		t.Fatalf("fired under the old target: %v", got)
	}
	if c := f.clock(id, "first_response"); c.TargetSeconds != 3*3600 || c.State != "warned" || str(c.DueAt) != "2026-11-30T11:00:00.000Z" {
		t.Fatalf("re-planned clock = %s", js(c))
	}
	wantList(t, "breach under the new target", f.fire(at(30, 12, 0)), "first_response sla.breached")
	if n := len(f.events(id, escalated.EventSLABreached)); n != 1 {
		t.Fatalf("sla.breached fired %d times", n)
	}
	if tags := f.detail(id).Ticket.Tags; !slices.Contains(tags, "saw-breach") {
		t.Fatalf("the rule on sla.breached did not see a breached clock: tags %v", tags)
	}
}

// The account's tier changes through another ticket; this ticket's next change re-plans.
func TestAccountTierChangeReplans(t *testing.T) {
	f := newClockFx(t, strings.Replace(clockPolicy, "sla:\n", `sla:
  - id: ent
    when: account.tier == "enterprise"
    targets: {first_response: 30m}
`, 1))
	id := f.create(at(30, 9, 0), escalated.PriorityNormal) // account acme, tier pro
	f.now = at(30, 9, 5)
	if _, err := f.svc.CreateTicket(f.ctx, ticket.CreateInput{Subject: "Upgrade", Team: "frontline",
		Account: &escalated.Account{ID: "acme", Name: "Acme", Tier: "enterprise"},
		Message: &ticket.MessageInput{Author: escalated.Author{Kind: escalated.AuthorCustomer}, Body: "We upgraded."}}); err != nil {
		t.Fatal(err)
	}
	f.message(at(30, 9, 10), id, escalated.AuthorCustomer, false)
	if c := f.clock(id, "first_response"); c.Plan != "ent" || str(c.DueAt) != "2026-11-30T08:30:00.000Z" {
		t.Fatalf("first_response after the tier change = %s", js(c))
	}
}

// Solved, re-prioritised while solved, reopened: resolution counts on under the new plan.
func TestReopenAfterAPlanChangeWhileSolved(t *testing.T) {
	f := newClockFx(t, clockPolicy)
	id := f.create(at(30, 9, 0), escalated.PriorityNormal)
	solved, urgent := escalated.StatusSolved, escalated.PriorityUrgent
	f.patch(at(30, 12, 0), id, ticket.Patch{Status: &solved})
	f.patch(at(30, 12, 30), id, ticket.Patch{Priority: &urgent})
	f.message(at(31, 9, 0), id, escalated.AuthorCustomer, false)
	// 3h used of the urgent plan's 8h: 5h left from Tuesday 09:00.
	if c := f.clock(id, "resolution"); c.Plan != "urgent" || c.TargetSeconds != 8*3600 || str(c.DueAt) != "2026-12-01T13:00:00.000Z" {
		t.Fatalf("resolution after the reopen = %s", js(c))
	}
}

// A clock re-planned past its new warn point while paused warns when it resumes.
func TestReplanWhilePausedWarnsOnResume(t *testing.T) {
	f := newClockFx(t, clockPolicy)
	id := f.create(at(30, 9, 0), escalated.PriorityNormal)
	pending, urgent := escalated.StatusPending, escalated.PriorityUrgent
	f.patch(at(30, 9, 40), id, ticket.Patch{Status: &pending})
	f.patch(at(30, 10, 0), id, ticket.Patch{Priority: &urgent}) // 40m used of 1h: past the 30m warn point
	f.message(at(30, 11, 0), id, escalated.AuthorCustomer, false)
	wantList(t, "fired when the clock resumed", f.fire(at(30, 11, 0)), "first_response sla.warning")
	wantList(t, "fired at the breach", f.fire(at(30, 11, 20)), "first_response sla.breached")
}

// A reply given while no plan applied still counts when a plan starts to apply.
func TestReplyBeforeAnyPlanIsRemembered(t *testing.T) {
	noSLA := clockPolicy[:strings.Index(clockPolicy, "sla:\n")] + clockPolicy[strings.Index(clockPolicy, "rules:\n"):]
	f := newClockFx(t, noSLA)
	id := f.create(at(30, 9, 0), escalated.PriorityNormal)
	f.message(at(30, 9, 5), id, escalated.AuthorAgent, false)
	f.now = at(30, 9, 10)
	if _, _, err := f.svc.ReplacePolicy(f.ctx, []byte(clockPolicy)); err != nil {
		t.Fatal(err)
	}
	urgent := escalated.PriorityUrgent
	f.patch(at(30, 9, 20), id, ticket.Patch{Priority: &urgent})
	d := f.detail(id)
	for _, c := range d.SLA {
		if c.Target == "first_response" {
			t.Fatalf("first_response started after the agent had answered: %s", js(c))
		}
	}
	if len(d.SLA) != 1 || d.SLA[0].Target != "resolution" {
		t.Fatalf("clocks = %s", js(d.SLA))
	}
}

// pendingIDs lists the waiting deadlines as "target kind id", sorted, without claiming them.
func (f *clockFx) pendingIDs() []string {
	f.t.Helper()
	var out []string
	err := f.st.Update(f.ctx, func(tx store.Tx) error {
		ds, err := tx.ClaimDue(f.ctx, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 1000)
		out = nil
		for _, d := range ds {
			out = append(out, d.Target+" "+d.Kind+" "+d.ID)
		}
		if err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		f.t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestOneClaimOfManyRowsLeavesNoStrayRow: when one claim takes several rows of a ticket, an
// earlier firing of the batch can write a target's rows again (the breach escalates and moves
// the ticket, so its resolution clock moves) before the claim's own row of that target fires.
// What the store holds afterwards must be exactly what the clocks have pending: the rows a
// firing's clock had before the change are not known to be gone because the claim took one
// (found in review: subtracting the claimed row left the rewritten one behind).
func TestOneClaimOfManyRowsLeavesNoStrayRow(t *testing.T) {
	f := newClockFx(t, clockPolicy)
	id := f.create(at(27, 16, 30), escalated.PriorityUrgent)
	// Monday 16:30: first_response, resolution and their warnings are all overdue, one claim.
	f.fire(at(30, 16, 30))
	var want []string
	for _, c := range f.detail(id).SLA {
		if c.WarningAt != nil {
			want = append(want, c.Target+" sla.warning")
		}
		if c.DueAt != nil && (c.State == "running" || c.State == "warned") {
			kind := escalated.EventSLABreached
			if c.Target == "acknowledge" {
				kind = escalated.EventEscalationUnacknowledged
			}
			want = append(want, c.Target+" "+kind)
		}
	}
	slices.Sort(want)
	var got []string
	for _, p := range f.pendingIDs() {
		got = append(got, strings.Join(strings.Fields(p)[:2], " "))
	}
	wantList(t, "deadline rows after the claim (the clocks' pending deadlines and nothing else)", got, want...)
	if len(want) == 0 {
		t.Fatal("the breach should have escalated, starting an acknowledge clock with deadlines")
	}
}
