package engine

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/ticket"
)

// The ticket service and the engine together, on a fake clock: the SLA rules decide the
// deadlines, the engine fires them at their instants, and the policy reacts in the same
// transaction. Teams keep no calendar, so business time is plain time and every instant below
// is T0 plus minutes.
const servicePolicy = `version: 1
intake: frontline
tiers:
  - {id: t1, name: Frontline, level: 1}
  - {id: t2, name: Specialists, level: 2}
teams:
  - {id: frontline, tier: t1}
  - {id: billing, tier: t2}
agents:
  - {id: ana, name: Ana, teams: [frontline]}
  - {id: bea, name: Bea, teams: [billing]}
paths:
  - {from: frontline, to: [billing]}
escalation:
  note_min_length: 10
sla:
  - id: urgent
    when: ticket.priority == "urgent"
    targets: {first_response: 4m, resolution: 30m, acknowledge: 2m}
    warn_at: 0.5
  - id: default
    targets: {first_response: 10m, resolution: 60m, acknowledge: 5m}
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

type firing struct {
	what     string // target and kind
	lateness time.Duration
}

func TestEngineDrivesTicketClocks(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		st := open(t)
		clk := clockwork.NewFakeClockAt(T0)
		ctx := escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "test", Role: escalated.RoleAdmin})
		svc := ticket.New(st, clk.Now, nil)
		pol, err := policy.Parse("service.yaml", []byte(servicePolicy))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.LoadPolicy(ctx, pol, "test"); err != nil {
			t.Fatal(err)
		}
		m := func(n float64) time.Time { return T0.Add(time.Duration(n * float64(time.Minute))) }

		fires := make(chan firing, 64)
		var watch chan time.Time // the running engine's sleep watcher
		start := func() (stop func()) {
			e, err := New(Config{Store: st, Firer: svc, Clock: clk, OnFired: func(d *store.Deadline, late time.Duration) {
				fires <- firing{d.Target + " " + d.Kind, late}
			}})
			if err != nil {
				t.Fatal(err)
			}
			sleeps := sleepWatcher(e)
			runCtx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			var runErr error
			go func() { runErr = e.Run(runCtx); close(done) }()
			t.Cleanup(func() { cancel(); <-done })
			watch = sleeps
			return func() {
				cancel()
				<-done
				if runErr != nil {
					t.Fatalf("engine: %v", runErr)
				}
			}
		}
		expect := func(what string, lateness time.Duration) {
			t.Helper()
			select {
			case f := <-fires:
				if f.what != what || f.lateness != lateness {
					t.Fatalf("fired %s (%s late), want %s (%s late)", f.what, f.lateness, what, lateness)
				}
			case <-time.After(waitFor):
				t.Fatalf("%s did not fire", what)
			}
		}
		advanceTo := func(at time.Time) { clk.Advance(at.Sub(clk.Now())) }

		d, err := svc.CreateTicket(ctx, ticket.CreateInput{
			Subject: "Refund missing", Priority: escalated.PriorityNormal, Channel: escalated.ChannelEmail,
			Message: &ticket.MessageInput{Author: escalated.Author{Kind: escalated.AuthorCustomer, Name: "Kim"}, Body: "Where is my refund?"},
		})
		if err != nil {
			t.Fatal(err)
		}
		id := d.Ticket.ID
		stop := start()
		expectSleep(t, watch, m(5)) // first_response warns at half of 10m

		advanceTo(m(5))
		expect("first_response sla.warning", 0)
		expectSleep(t, watch, m(10))

		// At 7m the ticket waits on the customer: its clocks pause and their rows go. The
		// engine's timer still runs out at 10m, finds nothing, and sleeps with no timer.
		advanceTo(m(7))
		pending := escalated.StatusPending
		if _, err := svc.PatchTicket(ctx, id, ticket.Patch{Status: &pending}); err != nil {
			t.Fatal(err)
		}
		advanceTo(m(10))
		expectSleep(t, watch, time.Time{})
		expectNothingFiredYet(t, fires, "while paused")

		// At 20m the customer answers: 3 of first_response's 10 minutes are left; the
		// announcement of the new deadline wakes the engine.
		advanceTo(m(20))
		if _, err := svc.AddMessage(ctx, id, ticket.MessageInput{Author: escalated.Author{Kind: escalated.AuthorCustomer, Name: "Kim"}, Body: "Still nothing."}); err != nil {
			t.Fatal(err)
		}
		expectSleep(t, watch, m(23))
		advanceTo(m(23))
		expect("first_response sla.breached", 0)
		// The policy escalated on the breach; the acknowledge clock (5m) warns at 25.5m.
		expectSleep(t, watch, m(25.5))

		// At 24m the ticket turns urgent: acknowledge is re-planned to 2m with 1m used, so its
		// warning point (1m) is reached at once and its breach is due at 25m.
		advanceTo(m(24))
		urgent := escalated.PriorityUrgent
		if _, err := svc.PatchTicket(ctx, id, ticket.Patch{Priority: &urgent}); err != nil {
			t.Fatal(err)
		}
		expect("acknowledge sla.warning", 0)
		expectSleep(t, watch, m(25))

		// A 10-minute outage: the engine stops at 24m, the clock moves to 34m, and a new engine
		// fires what fell due meanwhile, in due order, with its lateness.
		stop()
		advanceTo(m(34))
		start()
		expect("acknowledge escalation.unacknowledged", 9*time.Minute) // due 25m
		expect("resolution sla.warning", 6*time.Minute)                // 11 of 30m used at 24m: due 28m
		expectSleep(t, watch, m(43))                                   // resolution breach

		got, err := svc.GetTicket(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, e := range got.History {
			counts[e.Type]++
		}
		if counts[escalated.EventSLAWarning] != 3 || counts[escalated.EventSLABreached] != 1 || counts[escalated.EventEscalationUnacknowledged] != 1 {
			t.Fatalf("SLA events in history: %v", counts)
		}
		if len(got.Escalations) != 1 || got.Escalations[0].Trigger != escalated.TriggerSLA || got.Escalations[0].ToTeam != "billing" {
			t.Fatalf("escalations: %+v", got.Escalations)
		}
	})
}

func expectNothingFiredYet(t *testing.T, ch <-chan firing, when string) {
	t.Helper()
	select {
	case f := <-ch:
		t.Fatalf("%s: %s fired (%s late), want nothing", when, f.what, f.lateness)
	default:
	}
}
