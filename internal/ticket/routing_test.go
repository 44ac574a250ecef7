package ticket_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/sqlite"
	"github.com/escalated/escalated/internal/ticket"
)

// The routing tests drive the real service on a virtual clock over a SQLite file. frontline
// works Berlin office hours (27 November 2026 is a Friday, the 28th a Saturday) and overflows to
// night, which overflows back to frontline (a loop routing must not follow).
const routingPolicy = `version: 1
intake: frontline
calendars:
  - id: eu
    timezone: Europe/Berlin
    hours: {mon-fri: "09:00-17:00"}
  - id: always
    timezone: UTC
    hours: {mon-sun: "00:00-24:00"}
tiers:
  - {id: t1, name: Frontline, level: 1}
  - {id: t2, name: Specialists, level: 2}
  - {id: t3, name: Engineering, level: 3}
teams:
  - {id: frontline, tier: t1, calendar: eu, fallback: night}
  - {id: night, tier: t1, calendar: always, fallback: frontline}
  - {id: rr, tier: t1, calendar: always, routing: round_robin}
  - {id: desk, tier: t1, calendar: always, routing: manual}
  - {id: billing, tier: t2, calendar: always, skills: [billing, refund], fallback: engineering}
  - {id: integrations, tier: t2, calendar: always, skills: [api]}
  - {id: engineering, tier: t3, calendar: always}
agents:
  - {id: ana, name: Ana, teams: [frontline, rr, desk], languages: [en, pt], capacity: 3}
  - {id: tom, name: Tom, teams: [frontline, rr, desk], languages: [en, de], capacity: 3}
  - {id: kai, name: Kai, teams: [rr], languages: [en]}
  - {id: nia, name: Nia, teams: [night]}
  - {id: bea, name: Bea, teams: [billing], skills: [billing]}
  - {id: rui, name: Rui, teams: [billing], skills: [refund]}
  - {id: ben, name: Ben, teams: [integrations], skills: [api]}
  - {id: eve, name: Eve, teams: [engineering]}
paths:
  - {from: frontline, to: [billing, integrations]}
  - {from: [billing, integrations], to: [engineering]}
  - {from: billing, to: integrations}
  - {from: integrations, to: billing}
escalation:
  note_min_length: 5
  max_per_ticket: 10
rules:
  - id: bounce-back
    on: [message.added]
    when: ticket.team == "integrations" && "bounce" in ticket.tags && message.author == "customer"
    do:
      - escalate: {to: billing, reason: other, note: "Billing owns refunds."}
`

type routeIn struct {
	team, lang, issue, assignee string
	tags                        []string
}

func newRoutingFx(t *testing.T) *clockFx {
	t.Helper()
	f := newClockFx(t, routingPolicy)
	f.now = at(27, 10, 0) // Friday, frontline open
	return f
}

// open creates a ticket now and returns its detail.
func (f *clockFx) open(in routeIn) *ticket.Detail {
	f.t.Helper()
	f.now = f.now.Add(time.Second)
	d, err := f.svc.CreateTicket(f.ctx, ticket.CreateInput{
		Subject: "Help", Team: in.team, Language: in.lang, IssueType: in.issue, Tags: in.tags, Assignee: in.assignee,
		Message: &ticket.MessageInput{Author: escalated.Author{Kind: escalated.AuthorCustomer, Name: "Kim"}, Body: "Please help."},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// routed returns the data of a ticket's ticket.routed events, in order.
func (f *clockFx) routed(id string) []map[string]any {
	f.t.Helper()
	var out []map[string]any
	for _, e := range f.events(id, ticket.EventTicketRouted) {
		out = append(out, e.Data)
	}
	return out
}

func (f *clockFx) setAgent(id string, p ticket.AgentPatch) *ticket.Agent {
	f.t.Helper()
	a, err := f.svc.PatchAgent(f.ctx, id, p)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

func (f *clockFx) escalate(id string, in ticket.EscalateInput) (*escalated.Escalation, error) {
	f.t.Helper()
	f.now = f.now.Add(time.Second)
	if in.Reason == "" {
		in.Reason = escalated.ReasonComplexity
	}
	if in.Note == "" {
		in.Note = "Needs the next team."
	}
	return f.svc.Escalate(f.ctx, id, in)
}

func ptr[T any](v T) *T { return &v }

// assignees returns who holds each ticket now.
func (f *clockFx) assignees(ids ...string) []string {
	f.t.Helper()
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = f.detail(id).Ticket.Assignee
	}
	return out
}

func wantRouted(t *testing.T, got map[string]any, team, outcome, agent, reasonPart string) {
	t.Helper()
	a, _ := got["agent"].(string)
	if got["team"] != team || got["outcome"] != outcome || a != agent || !strings.Contains(fmt.Sprint(got["reason"]), reasonPart) {
		t.Fatalf("ticket.routed %v, want team %s, outcome %s, agent %q, reason containing %q", got, team, outcome, agent, reasonPart)
	}
}

// passedReason returns why the routing decision passed over agent, or "".
func passedReason(data map[string]any, agent string) string {
	ps, _ := data["passed"].([]any)
	for _, p := range ps {
		if m, _ := p.(map[string]any); m["agent"] == agent {
			r, _ := m["reason"].(string)
			return r
		}
	}
	return ""
}

func TestRouteLeastLoaded(t *testing.T) {
	f := newRoutingFx(t)
	// Two tickets given to ana by the request: no routing happens for them.
	pre := f.open(routeIn{assignee: "ana"})
	f.open(routeIn{assignee: "ana"})
	if r := f.routed(pre.Ticket.ID); len(r) != 0 {
		t.Fatalf("a ticket created with an assignee was routed: %v", r)
	}
	d := f.open(routeIn{})
	if d.Ticket.Assignee != "tom" {
		t.Fatalf("assignee %q, want tom (0 open against ana's 2)", d.Ticket.Assignee)
	}
	r := f.routed(d.Ticket.ID)
	if len(r) != 1 {
		t.Fatalf("routed events %v, want 1", r)
	}
	wantRouted(t, r[0], "frontline", "assigned", "tom", "least loaded in team frontline: 0 of 3 open")
	// The next one goes to tom again (1 open) rather than ana (2), then they are level and the
	// policy order decides.
	wantList(t, "assignees", f.assignees(f.open(routeIn{}).Ticket.ID, f.open(routeIn{}).Ticket.ID), "tom", "ana")

	// Solved tickets do not count: with one of ana's three solved, she and tom hold two each.
	f.patch(f.now.Add(time.Second), pre.Ticket.ID, ticket.Patch{Status: ptr(escalated.StatusSolved)})
	agents, err := f.svc.ListAgents(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	open := map[string]int{}
	for _, a := range agents {
		open[a.ID] = a.Open
	}
	if open["ana"] != 2 || open["tom"] != 2 {
		t.Fatalf("open counts %v, want ana 2, tom 2", open)
	}
	if got := f.open(routeIn{}).Ticket.Assignee; got != "ana" {
		t.Fatalf("assignee %q, want ana (level with tom, first in policy order)", got)
	}
}

func TestRouteRoundRobin(t *testing.T) {
	f := newRoutingFx(t)
	var ids []string
	for range 4 {
		ids = append(ids, f.open(routeIn{team: "rr"}).Ticket.ID)
	}
	wantList(t, "round robin", f.assignees(ids...), "ana", "tom", "kai", "ana")
	wantRouted(t, f.routed(ids[1])[0], "rr", "assigned", "tom", "round robin in team rr: next after ana")

	// An agent who is away is skipped; the turn goes on from whoever was assigned.
	f.setAgent("tom", ticket.AgentPatch{Status: ptr("away")})
	next := f.open(routeIn{team: "rr"}).Ticket.ID
	wantList(t, "after tom went away", f.assignees(next), "kai")
	if why := passedReason(f.routed(next)[0], "tom"); why != "status away" {
		t.Fatalf("tom passed over because %q, want status away", why)
	}
	f.setAgent("tom", ticket.AgentPatch{Status: ptr("")})
	wantList(t, "after tom came back", f.assignees(f.open(routeIn{team: "rr"}).Ticket.ID), "ana")
}

func TestRouteManualQueues(t *testing.T) {
	f := newRoutingFx(t)
	d := f.open(routeIn{team: "desk"})
	if d.Ticket.Assignee != "" {
		t.Fatalf("a manual team assigned %q", d.Ticket.Assignee)
	}
	wantRouted(t, f.routed(d.Ticket.ID)[0], "desk", "queued", "", "routes manually")
	q, next, err := f.svc.Queue(f.ctx, store.QueueFilter{Team: "desk"})
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 || q[0].ID != d.Ticket.ID || !q[0].Unassigned || q[0].Assignee != nil || next != "" {
		t.Fatalf("desk queue %+v (next %q), want the one unassigned ticket", q, next)
	}
}

func TestRouteLanguageAndSkill(t *testing.T) {
	f := newRoutingFx(t)
	// ana is busier, but only she speaks Portuguese.
	f.open(routeIn{assignee: "ana"})
	pt := f.open(routeIn{lang: "pt"})
	if pt.Ticket.Assignee != "ana" {
		t.Fatalf("Portuguese ticket went to %q, want ana", pt.Ticket.Assignee)
	}
	if why := passedReason(f.routed(pt.Ticket.ID)[0], "tom"); !strings.Contains(why, "does not speak pt") {
		t.Fatalf("tom passed over because %q", why)
	}
	if got := f.open(routeIn{lang: "de"}).Ticket.Assignee; got != "tom" {
		t.Fatalf("German ticket went to %q, want tom", got)
	}
	// Billing routes by the skill the issue type names.
	refund := f.open(routeIn{team: "billing", issue: "refund_request"})
	invoice := f.open(routeIn{team: "billing", issue: "billing_question"})
	wantList(t, "billing by skill", f.assignees(refund.Ticket.ID, invoice.Ticket.ID), "rui", "bea")
	if why := passedReason(f.routed(refund.Ticket.ID)[0], "bea"); why != "lacks skill refund" {
		t.Fatalf("bea passed over because %q", why)
	}
}

func TestRouteCapacityThenOverflow(t *testing.T) {
	f := newRoutingFx(t)
	if a := f.setAgent("tom", ticket.AgentPatch{Capacity: ptr(1)}); a.Capacity != 1 || a.PolicyCapacity != 3 {
		t.Fatalf("tom after the capacity change: %+v", a)
	}
	var ids []string
	for range 4 {
		ids = append(ids, f.open(routeIn{}).Ticket.ID)
	}
	// tom takes one (his capacity), ana three (hers), nobody may exceed.
	wantList(t, "assignees", f.assignees(ids...), "ana", "tom", "ana", "ana")
	if why := passedReason(f.routed(ids[2])[0], "tom"); why != "at capacity (1 of 1 open)" {
		t.Fatalf("tom passed over because %q", why)
	}

	// Everybody full: the fifth overflows to night, and history says why.
	over := f.open(routeIn{})
	if over.Ticket.Team != "night" || over.Ticket.Tier != "t1" || over.Ticket.Assignee != "nia" {
		t.Fatalf("overflowed ticket in %s/%s with %q, want night/t1 with nia", over.Ticket.Team, over.Ticket.Tier, over.Ticket.Assignee)
	}
	r := f.routed(over.Ticket.ID)
	if len(r) != 2 {
		t.Fatalf("routed events %v, want the overflow and the assignment", r)
	}
	wantRouted(t, r[0], "frontline", "overflow", "", "nobody in team frontline can take it now; overflow to night")
	if r[0]["fallback"] != "night" || passedReason(r[0], "ana") != "at capacity (3 of 3 open)" {
		t.Fatalf("overflow event %v", r[0])
	}
	wantRouted(t, r[1], "night", "assigned", "nia", "least loaded in team night")

	// A lower capacity than the open tickets held is allowed; the agent just gets nothing new.
	if a := f.setAgent("ana", ticket.AgentPatch{Capacity: ptr(1)}); a.Open != 3 || a.Capacity != 1 {
		t.Fatalf("ana: %+v", a)
	}
	if _, err := f.svc.PatchAgent(f.ctx, "ana", ticket.AgentPatch{Capacity: ptr(-1)}); escalated.ErrorCode(err) != escalated.EINVALID {
		t.Fatalf("negative capacity: %v", err)
	}
	if _, err := f.svc.PatchAgent(f.ctx, "ana", ticket.AgentPatch{Status: ptr("asleep")}); escalated.ErrorCode(err) != escalated.EINVALID {
		t.Fatalf("unknown status: %v", err)
	}
	if _, err := f.svc.PatchAgent(f.ctx, "zed", ticket.AgentPatch{Status: ptr("away")}); escalated.ErrorCode(err) != escalated.ENOTFOUND {
		t.Fatalf("unknown agent: %v", err)
	}
}

func TestRouteCalendarClosedOverflowNoLoop(t *testing.T) {
	f := newRoutingFx(t)
	f.now = at(28, 11, 0) // Saturday: frontline is closed
	d := f.open(routeIn{})
	if d.Ticket.Team != "night" || d.Ticket.Assignee != "nia" {
		t.Fatalf("Saturday ticket in %s with %q, want night with nia", d.Ticket.Team, d.Ticket.Assignee)
	}
	r := f.routed(d.Ticket.ID)
	wantRouted(t, r[0], "frontline", "overflow", "", "team frontline is outside its business hours; overflow to night")

	// nia offline: night has nobody, and its fallback (frontline) is not followed: the ticket
	// waits in night's queue.
	f.setAgent("nia", ticket.AgentPatch{Status: ptr("offline")})
	d = f.open(routeIn{})
	if d.Ticket.Team != "night" || d.Ticket.Assignee != "" {
		t.Fatalf("ticket in %s with %q, want night, unassigned", d.Ticket.Team, d.Ticket.Assignee)
	}
	r = f.routed(d.Ticket.ID)
	if len(r) != 2 {
		t.Fatalf("routed events %v, want overflow then queued", r)
	}
	wantRouted(t, r[1], "night", "queued", "", "it waits in the queue")
	if passedReason(r[1], "nia") != "status offline" {
		t.Fatalf("night decision %v", r[1])
	}
	q, _, err := f.svc.Queue(f.ctx, store.QueueFilter{Team: "night"})
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 2 || q[0].Unassigned || !q[1].Unassigned || q[1].ID != d.Ticket.ID {
		t.Fatalf("night queue %+v, want nia's ticket then the unassigned one", q)
	}
}

func TestRouteEscalationAndStickyReturn(t *testing.T) {
	f := newRoutingFx(t)
	d := f.open(routeIn{issue: "refund_request"})
	id := d.Ticket.ID
	if d.Ticket.Assignee != "ana" {
		t.Fatalf("assignee %q, want ana", d.Ticket.Assignee)
	}
	// Escalated by nobody in particular (as a rule would): billing routes by skill.
	e, err := f.escalate(id, ticket.EscalateInput{To: "billing"})
	if err != nil {
		t.Fatal(err)
	}
	got := f.detail(id).Ticket
	if e.ToTeam != "billing" || got.Team != "billing" || got.Assignee != "rui" {
		t.Fatalf("after the escalation: escalation to %s, ticket in %s with %q; want billing, rui", e.ToTeam, got.Team, got.Assignee)
	}
	if _, err := f.svc.Acknowledge(f.ctx, e.ID, "rui"); err != nil {
		t.Fatal(err)
	}
	// Meanwhile ana gets busier than tom; the returned ticket still goes back to her.
	f.open(routeIn{assignee: "ana"})
	f.open(routeIn{assignee: "ana"})
	f.now = f.now.Add(time.Minute)
	if _, err := f.svc.Return(f.ctx, e.ID, ticket.ReturnInput{By: "rui", Reason: "Not a refund.", Necessary: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	got = f.detail(id).Ticket
	if got.Team != "frontline" || got.Assignee != "ana" {
		t.Fatalf("after the return: %s with %q, want frontline with ana (sticky)", got.Team, got.Assignee)
	}
	r := f.routed(id)
	wantRouted(t, r[len(r)-1], "frontline", "assigned", "ana", "back to ana, who last worked the ticket in team frontline")

	// Sticky gives way when the agent no longer qualifies: ana offline, the next return goes
	// to tom.
	e2, err := f.escalate(id, ticket.EscalateInput{To: "integrations"})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.detail(id).Ticket; got.Assignee != "ben" {
		t.Fatalf("integrations: %q, want ben", got.Assignee)
	}
	f.setAgent("ana", ticket.AgentPatch{Status: ptr("offline")})
	if _, err := f.svc.Acknowledge(f.ctx, e2.ID, "ben"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Return(f.ctx, e2.ID, ticket.ReturnInput{By: "ben", Reason: "Not an API problem.", Necessary: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if got := f.detail(id).Ticket; got.Assignee != "tom" {
		t.Fatalf("after the second return: %q, want tom (ana is offline)", got.Assignee)
	}
}

func TestRouteEscalationOverflow(t *testing.T) {
	f := newRoutingFx(t)
	id := f.open(routeIn{issue: "refund_request"}).Ticket.ID
	f.setAgent("bea", ticket.AgentPatch{Status: ptr("away")})
	f.setAgent("rui", ticket.AgentPatch{Status: ptr("offline")})
	e, err := f.escalate(id, ticket.EscalateInput{To: "billing", By: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	got := f.detail(id).Ticket
	if e.ToTeam != "engineering" || e.ToTier != "t3" || got.Team != "engineering" || got.Assignee != "eve" {
		t.Fatalf("escalation to %s/%s, ticket in %s with %q; want engineering/t3 with eve", e.ToTeam, e.ToTier, got.Team, got.Assignee)
	}
	r := f.routed(id)
	wantRouted(t, r[len(r)-2], "billing", "overflow", "", "overflow to engineering")
	wantRouted(t, r[len(r)-1], "engineering", "assigned", "eve", "")
}

func TestPingPongRefusedForPeople(t *testing.T) {
	f := newRoutingFx(t)
	id := f.open(routeIn{team: "billing", issue: "billing_question"}).Ticket.ID
	e, err := f.escalate(id, ticket.EscalateInput{To: "integrations", By: "bea"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Acknowledge(f.ctx, e.ID, "ben"); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(20 * time.Minute)
	_, err = f.escalate(id, ticket.EscalateInput{To: "billing", By: "ben"})
	if escalated.ErrorCode(err) != escalated.EINVALID || !strings.Contains(escalated.ErrorFields(err)["to"], "ping-pong") ||
		!strings.Contains(escalated.ErrorFields(err)["to"], "left team billing for integrations 20m") {
		t.Fatalf("escalating back within the hour: %v (fields %v), want invalid naming to with the ping-pong reason", err, escalated.ErrorFields(err))
	}
	if got := f.detail(id).Ticket; got.Team != "integrations" || got.Counters.Escalations != 1 {
		t.Fatalf("a refused escalation changed the ticket: %s, %d escalations", got.Team, got.Counters.Escalations)
	}
	// After the hour it is an ordinary escalation.
	f.now = f.now.Add(41 * time.Minute)
	if _, err := f.escalate(id, ticket.EscalateInput{To: "billing", By: "ben"}); err != nil {
		t.Fatalf("escalating back after an hour: %v", err)
	}
}

func TestPingPongFlaggedForRules(t *testing.T) {
	f := newRoutingFx(t)
	id := f.open(routeIn{team: "billing", issue: "billing_question", tags: []string{"bounce"}}).Ticket.ID
	e, err := f.escalate(id, ticket.EscalateInput{To: "integrations", By: "bea"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Acknowledge(f.ctx, e.ID, "ben"); err != nil {
		t.Fatal(err)
	}
	f.message(f.now.Add(5*time.Minute), id, escalated.AuthorCustomer, false)
	got := f.detail(id)
	if got.Ticket.Team != "billing" || len(got.Escalations) != 2 {
		t.Fatalf("the rule's escalation did not happen: team %s, %d escalations", got.Ticket.Team, len(got.Escalations))
	}
	created := f.events(id, escalated.EventEscalationCreated)
	if pp, _ := created[0].Data["ping_pong"].(string); pp != "" {
		t.Fatalf("the first escalation was flagged: %q", pp)
	}
	pp, _ := created[1].Data["ping_pong"].(string)
	if !strings.Contains(pp, "left team billing for integrations 5m") || !strings.Contains(pp, "ping-pong") {
		t.Fatalf("the rule's escalation back is not flagged in history: %v", created[1].Data)
	}
	if created[1].Data["rule_id"] != "bounce-back" {
		t.Fatalf("flagged escalation %v", created[1].Data)
	}
	// The rule's own record carries the flag too, so a rule author reading rule.fired sees it.
	var flagged int
	for _, e := range f.events(id, escalated.EventRuleFired) {
		if why, _ := e.Data["ping_pong"].(string); why != "" {
			flagged++
			if e.Data["rule"] != "bounce-back" || why != pp {
				t.Errorf("rule.fired flagged as ping-pong: %v, want rule bounce-back with %q", e.Data, pp)
			}
		}
	}
	if flagged != 1 {
		t.Errorf("%d rule.fired events carry ping_pong, want 1 (bounce-back's)", flagged)
	}
}

// A customer message writes its ticket's row once, after the policy reacted, unless it reopens
// a solved ticket: then routing inside the reaction must count the ticket as its assignee's
// open work again, and the row is written before the reaction as well. Here a reopened ticket
// of x escalates to a team where x (who holds another open ticket) and y (none) are the
// candidates. Routing counts x's open tickets from the store less the one it is routing, so
// with the reopened row written x holds one and y gets the ticket; with the solved row still
// stored x would hold none, level with y, and x, first in the policy, would get it.
func TestMessageWritesTheTicketOnceUnlessItReopens(t *testing.T) {
	f := newClockFx(t, `version: 1
intake: a
tiers:
  - {id: t1, name: One, level: 1}
  - {id: t2, name: Two, level: 2}
teams:
  - {id: a, tier: t1}
  - {id: b, tier: t2}
agents:
  - {id: x, name: X, teams: [a, b]}
  - {id: y, name: Y, teams: [b]}
paths:
  - {from: a, to: [b]}
rules:
  - id: mark-reply
    on: [message.added]
    when: message.author == "customer"
    do:
      - tag: [replied]
  - id: move-on-reply
    on: [message.added]
    when: '"move" in ticket.tags && message.author == "customer"'
    do:
      - escalate: {to: b, reason: other, note: "The customer came back."}
`)
	f.now = at(27, 10, 0)
	db := f.st.(*sqlite.DB)
	updates := func(do func()) int {
		t.Helper()
		rec := db.Record()
		do()
		db.StopRecording()
		n := 0
		for _, fn := range rec.Functions() {
			for _, s := range fn {
				if strings.HasPrefix(s.Query, "UPDATE tickets") {
					n++
				}
			}
		}
		return n
	}
	f.open(routeIn{team: "a", assignee: "x"})
	tk := f.open(routeIn{team: "a", assignee: "x"}).Ticket.ID
	if n := updates(func() { f.message(f.now.Add(time.Minute), tk, escalated.AuthorCustomer, false) }); n != 1 {
		t.Fatalf("a customer message on an open ticket updated the ticket row %d times, want 1", n)
	}
	f.patch(f.now.Add(time.Minute), tk, ticket.Patch{Tags: &[]string{"move"}, Status: ptr(escalated.StatusSolved)})
	if n := updates(func() { f.message(f.now.Add(time.Minute), tk, escalated.AuthorCustomer, false) }); n != 2 {
		t.Fatalf("a customer message reopening a solved ticket updated the ticket row %d times, want 2 (before and after the reaction)", n)
	}
	d := f.detail(tk)
	if d.Ticket.Team != "b" || d.Ticket.Assignee != "y" {
		t.Fatalf("reopened ticket went to team %s, agent %q; want b, y (x holds one other open ticket, y none)", d.Ticket.Team, d.Ticket.Assignee)
	}
}
