package ticket_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/memstore"
	"github.com/escalated/escalated/internal/ticket"
)

// TestReplayLeavesOutTheSimilarTicketIndex: a service ForReplay neither indexes the tickets it
// solves nor searches for similar ones when it builds a package; the same story on a live
// service cites the solved ticket (so the story can find one), and so does a replay whose
// policy requires the recommendation in every package (a handoff without one is refused, so
// the similar tickets decide something there).
func TestReplayLeavesOutTheSimilarTicketIndex(t *testing.T) {
	for _, tc := range []struct {
		name             string
		replay, requires bool
	}{{"live", false, false}, {"replay", true, false}, {"replay, recommendation required", true, true}} {
		replay := tc.replay && !tc.requires
		src := outboxPolicy
		if tc.requires {
			src = strings.Replace(src, "  note_min_length: 10\n", "  note_min_length: 10\n  required_package_fields: [recommendation]\n  on_incomplete: accept_flagged\n", 1)
		}
		ctx, st, svc := replayService(t, tc.replay, src)
		open := func(subject, body string) string {
			d, err := svc.CreateTicket(ctx, ticket.CreateInput{Subject: subject, Team: "frontline",
				Message: &ticket.MessageInput{Author: escalated.Author{Kind: escalated.AuthorCustomer}, Body: body}})
			if err != nil {
				t.Fatal(err)
			}
			return d.Ticket.ID
		}
		first := open("Invoice charged twice", "My invoice shows the same charge twice this month.")
		if _, err := svc.AddMessage(ctx, first, ticket.MessageInput{Author: escalated.Author{Kind: escalated.AuthorAgent, ID: "ana"}, Body: "Refunded the duplicate charge."}); err != nil {
			t.Fatal(err)
		}
		solved := escalated.StatusSolved
		if _, err := svc.PatchTicket(ctx, first, ticket.Patch{Status: &solved, By: "ana"}); err != nil {
			t.Fatal(err)
		}
		var indexed []store.SimilarTicket
		if err := st.View(ctx, func(tx store.Tx) error {
			var err error
			indexed, err = tx.SimilarResolved(ctx, "invoice charged twice", "", 3)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		second := open("Invoice charged twice again", "The invoice has a double charge again.")
		e, err := svc.Escalate(ctx, second, ticket.EscalateInput{To: "billing", Reason: escalated.ReasonComplexity, Note: "Duplicate charges need billing", By: "ana"})
		if err != nil {
			t.Fatal(err)
		}
		var cited int
		if r := e.Package.Recommendation; r != nil {
			cited = len(r.Similar)
		}
		switch {
		case replay && (len(indexed) != 0 || cited != 0):
			t.Errorf("%s: %d tickets indexed, %d cited; want none", tc.name, len(indexed), cited)
		case !replay && (len(indexed) != 1 || cited != 1):
			t.Errorf("%s: %d tickets indexed, %d cited; want the solved ticket in both", tc.name, len(indexed), cited)
		}
	}
}

// TestReplayKeepsNoDecisionRows: a service ForReplay decides as a live one (the same rules fire,
// the same actions apply) but keeps no decision row for explain; a live service keeps one.
func TestReplayKeepsNoDecisionRows(t *testing.T) {
	for _, replay := range []bool{false, true} {
		ctx, st, svc := replayService(t, replay, outboxPolicy)
		d, err := svc.CreateTicket(ctx, ticket.CreateInput{Subject: "Invoice charged twice", Team: "frontline",
			Message: &ticket.MessageInput{Author: escalated.Author{Kind: escalated.AuthorCustomer}, Body: "My lawyer will hear about this double charge."}})
		if err != nil {
			t.Fatal(err)
		}
		var events []*escalated.Event
		if err := st.View(ctx, func(tx store.Tx) error {
			var err error
			events, err = tx.ListEvents(ctx, d.Ticket.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var fired int
		for _, e := range events {
			if e.Type == escalated.EventRuleFired {
				fired++
			}
		}
		if fired == 0 {
			t.Fatalf("replay=%v: no rule fired on creation; the test's policy should fire one", replay)
		}
		err = st.View(ctx, func(tx store.Tx) error {
			_, err := tx.LatestDecision(ctx, d.Ticket.ID)
			return err
		})
		switch {
		case replay && escalated.ErrorCode(err) != escalated.ENOTFOUND:
			t.Errorf("replay: LatestDecision: %v; want not_found", err)
		case !replay && err != nil:
			t.Errorf("live: LatestDecision: %v; want the creation's decision", err)
		}
	}
}

// replayService is a service on an in-memory store with the policy src loaded, ForReplay when
// replay, and an admin's context.
func replayService(t *testing.T, replay bool, src string) (context.Context, store.Store, *ticket.Service) {
	t.Helper()
	ctx := escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "test", Role: escalated.RoleAdmin})
	st := memstore.New()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	svc := ticket.New(st, func() time.Time { return now }, nil)
	if replay {
		svc.ForReplay()
	}
	pol, err := policy.Parse("outbox.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.LoadPolicy(ctx, pol, "test"); err != nil {
		t.Fatal(err)
	}
	return ctx, st, svc
}
