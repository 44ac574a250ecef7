package ticket

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/sqlite"
)

const lastWorkedPolicy = `version: 1
intake: frontline
calendars:
  - {id: always, timezone: UTC, hours: {mon-sun: "00:00-24:00"}}
tiers:
  - {id: t1, name: Frontline, level: 1}
  - {id: t2, name: Specialists, level: 2}
  - {id: t3, name: Engineering, level: 3}
teams:
  - {id: frontline, tier: t1, calendar: always}
  - {id: billing, tier: t2, calendar: always}
  - {id: engineering, tier: t3, calendar: always}
agents:
  - {id: ana, name: Ana Silva, teams: [frontline], capacity: 50}
  - {id: tom, name: Tom Berg, teams: [frontline], capacity: 50}
  - {id: bea, name: Bea Lund, teams: [billing], capacity: 50}
  - {id: bob, name: Bob Stone, teams: [billing], capacity: 50}
  - {id: eve, name: Eve Park, teams: [engineering], capacity: 50}
paths:
  - {from: frontline, to: [billing]}
  - {from: billing, to: [engineering]}
escalation:
  max_per_ticket: 100
sla:
  - id: default
    targets: {first_response: 1h, acknowledge: 30m}
rules: []
`

// newInternalService is a service on a fresh SQLite file with lastWorkedPolicy loaded, its
// clock now, and an admin's context; the store closes with the test.
func newInternalService(t *testing.T, now func() time.Time) (context.Context, store.Store, *Service) {
	t.Helper()
	ctx := escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "test", Role: escalated.RoleAdmin})
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pol, err := policy.Parse("policy.yaml", []byte(lastWorkedPolicy))
	if err != nil {
		t.Fatal(err)
	}
	svc := New(st, now, nil)
	if _, err := svc.LoadPolicy(ctx, pol, "test"); err != nil {
		t.Fatal(err)
	}
	return ctx, st, svc
}

// TestLastWorkedReadsOnlyWorkEvents: routing reads only the work events of a ticket's history
// (workTypes and agents' messages, store.History.ListWorkEvents); lastWorked must find the
// same agent in them as in the whole history, for every team, after every step of a history
// that has each kind of event in it, each step changing what lastWorked finds (ticket.created
// aside: the routing that follows it says the same).
func TestLastWorkedReadsOnlyWorkEvents(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	ctx, st, svc := newInternalService(t, func() time.Time { return now })
	d, err := svc.CreateTicket(ctx, CreateInput{Subject: "Invoice wrong", Message: &MessageInput{Body: "My invoice is wrong."}})
	if err != nil {
		t.Fatal(err)
	}
	id := d.Ticket.ID
	agent := func(a string) escalated.Author { return escalated.Author{Kind: escalated.AuthorAgent, ID: a} }
	customer := escalated.Author{Kind: escalated.AuthorCustomer}
	note := "The invoice needs a billing specialist's look."
	necessary := true
	var esc *escalated.Escalation
	steps := []struct {
		name string
		do   func() error
	}{
		{"the customer writes", func() error {
			_, err := svc.AddMessage(ctx, id, MessageInput{Author: customer, Body: "Any news?"})
			return err
		}},
		{"the first response breaches", func() error { now = now.Add(2 * time.Hour); return fireDue(ctx, st, svc, now) }},
		{"tom answers", func() error {
			_, err := svc.AddMessage(ctx, id, MessageInput{Author: agent("tom"), Body: "Looking into it."})
			return err
		}},
		{"ana takes it over", func() error { return svc.ApplyPatch(ctx, id, Patch{Assignee: ptrTo("ana"), By: "ana"}) }},
		{"tags change", func() error { return svc.ApplyPatch(ctx, id, Patch{Tags: &[]string{"invoice"}, By: "ana"}) }},
		{"ana escalates to billing", func() error {
			esc, err = svc.Escalate(ctx, id, EscalateInput{To: "billing", Reason: escalated.Reason("complexity"), Note: note, By: "ana"})
			return err
		}},
		// Routing gave it to bea; bob acknowledges, and bea writes a note after him.
		{"bob acknowledges", func() error { _, err := svc.Acknowledge(ctx, esc.ID, "bob"); return err }},
		{"bea writes an internal note", func() error {
			_, err := svc.AddMessage(ctx, id, MessageInput{Author: agent("bea"), Body: "Checked the ledger.", Internal: true})
			return err
		}},
		{"a bot writes", func() error {
			_, err := svc.AddMessage(ctx, id, MessageInput{Author: escalated.Author{Kind: escalated.AuthorBot, ID: "bot"}, Body: "Reminder."})
			return err
		}},
		{"bea escalates to engineering", func() error {
			esc, err = svc.Escalate(ctx, id, EscalateInput{To: "engineering", Reason: escalated.Reason("complexity"), Note: note, By: "bea"})
			return err
		}},
		{"eve acknowledges", func() error { _, err := svc.Acknowledge(ctx, esc.ID, "eve"); return err }},
		{"eve returns it", func() error {
			_, err := svc.Return(ctx, esc.ID, ReturnInput{By: "eve", Reason: "Fixed in the billing run.", Necessary: &necessary})
			return err
		}},
		{"the customer writes again", func() error {
			_, err := svc.AddMessage(ctx, id, MessageInput{Author: customer, Body: "Thanks, and the other one?"})
			return err
		}},
		{"bob takes it over", func() error { return svc.ApplyPatch(ctx, id, Patch{Assignee: ptrTo("bob"), By: "bob"}) }},
	}
	types := map[string]bool{}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		now = now.Add(time.Minute)
		err := st.View(ctx, func(tx store.Tx) error {
			all, err := tx.ListEvents(ctx, id)
			if err != nil {
				return err
			}
			work, err := tx.ListWorkEvents(ctx, id, workTypes)
			if err != nil {
				return err
			}
			for _, e := range all {
				types[e.Type] = true
			}
			for _, team := range []string{"frontline", "billing", "engineering"} {
				if got, want := lastWorked(work, team), lastWorked(all, team); got != want {
					t.Errorf("after %s: the agent who last worked it in %s: %q from the work events, %q from the whole history", s.name, team, got, want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The history had every kind of event lastWorked tells apart, and some it passes over.
	for _, typ := range append([]string{escalated.EventMessageAdded, escalated.EventSLABreached}, workTypes...) {
		if !types[typ] {
			t.Errorf("the history has no %s event; the test would not see lastWorked read it", typ)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

// fireDue fires every deadline due by now, as the engine would.
func fireDue(ctx context.Context, st store.Store, svc *Service, now time.Time) error {
	return st.Update(ctx, func(tx store.Tx) error {
		ds, err := tx.ClaimDue(ctx, now, 100)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if _, err := svc.FireDeadline(ctx, tx, d, now); err != nil {
				return err
			}
		}
		return nil
	})
}
