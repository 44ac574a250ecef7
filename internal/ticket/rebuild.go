package ticket

import (
	"context"
	"fmt"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/store"
)

// RebuildFacts recomputes every ticket's analytics tallies and the analytics rows of it and its
// escalations from the ticket's full history, for tickets written before analytics existed
// (schema migration 9) or rows a bug left wrong. One ticket per transaction, under the ticket's
// version check: a ticket a node changes meanwhile is read again and rebuilt once more, so the
// rebuild can run beside serving nodes. progress, when set, hears the count so far.
func (s *Service) RebuildFacts(ctx context.Context, progress func(done int)) (int, error) {
	if _, err := access.Authorize(ctx, access.ManagePolicy); err != nil {
		return 0, err
	}
	live, err := s.policy()
	if err != nil {
		return 0, err
	}
	done := 0
	f := store.TicketFilter{Limit: store.MaxLimit}
	for {
		var page []*escalated.Ticket
		var next string
		if err := s.store.View(ctx, func(tx store.Tx) error {
			var err error
			page, next, err = tx.ListTickets(ctx, f)
			return err
		}); err != nil {
			return done, err
		}
		for _, t := range page {
			if err := s.rebuildTicket(ctx, live, t.ID); err != nil {
				return done, fmt.Errorf("rebuild analytics of %s: %w", t.ID, err)
			}
			done++
			if progress != nil {
				progress(done)
			}
		}
		if next == "" {
			return done, nil
		}
		f.Cursor = next
	}
}

func (s *Service) rebuildTicket(ctx context.Context, live *Live, id string) error {
	var err error
	for range 5 {
		err = s.store.Update(ctx, func(tx store.Tx) error {
			t, err := tx.GetTicket(ctx, id)
			if err != nil {
				return err
			}
			events, err := tx.ListEvents(ctx, id)
			if err != nil {
				return err
			}
			escs, err := ticketEscalations(ctx, tx, id)
			if err != nil {
				return err
			}
			t.Analytics = replayAnalytics(live, t, events, escs)
			if err := tx.UpdateTicket(ctx, t, t.Version); err != nil {
				return err
			}
			if err := tx.SaveTicketFact(ctx, ticketFact(t)); err != nil {
				return err
			}
			for _, e := range escs {
				ef := newEscalationFact(t, e)
				fillEscalationOutcome(ef, e)
				ef.InternalNotes, ef.PingPong = replayEscalation(events, e)
				if err := tx.SaveEscalationFact(ctx, ef); err != nil {
					return err
				}
			}
			return nil
		})
		if escalated.ErrorCode(err) != escalated.ECONFLICT {
			return err
		}
	}
	return err
}

// replayAnalytics works a ticket's tallies out from its history, as trackAnalytics would have
// kept them. The highest frustration cannot be replayed (signals of past states are not kept);
// the ticket's current frustration stands in for it.
func replayAnalytics(live *Live, t *escalated.Ticket, events []*escalated.Event, escs []*escalated.Escalation) escalated.TicketAnalytics {
	var a escalated.TicketAnalytics
	a.IntakeTeam, a.IntakeTier = t.Team, t.Tier
	level1 := func(team string) bool {
		tier, ok := live.Policy.TierOfTeam(team)
		return ok && tier.Level == 1
	}
	// activeAt says whether an escalation held the ticket at time at.
	activeAt := func(at time.Time) bool {
		for _, e := range escs {
			if !e.CreatedAt.After(at) && (e.ClosedAt == nil || e.ClosedAt.After(at)) {
				return true
			}
		}
		return false
	}
	escalatedSoFar, done := false, false
	for _, e := range events {
		switch e.Type {
		case escalated.EventTicketCreated:
			if team := str(e.Data["team"]); team != "" {
				a.IntakeTeam, a.IntakeTier = team, str(e.Data["tier"])
			}
		case EventTicketRouted:
			if agent := str(e.Data["agent"]); agent != "" && a.FirstAgent == "" && str(e.Data["team"]) == a.IntakeTeam && !escalatedSoFar {
				a.FirstAgent = agent
			}
		case escalated.EventTicketUpdated:
			if v, ok := changedTo(e.Data, "assignee"); ok && a.FirstAgent == "" && !escalatedSoFar && str(v) != "" {
				a.FirstAgent = str(v)
			}
			if v, ok := changedTo(e.Data, "status"); ok {
				now := escalated.Status(str(v)).Done()
				switch {
				case now && !done:
					at := e.CreatedAt
					a.SolvedAt = &at
					if !activeAt(e.CreatedAt) && level1(a.IntakeTeam) {
						a.SolvedInTier1 = true
					}
				case done && !now && a.SolvedInTier1:
					a.ReopenedAfterT1 = true
				}
				done = now
			}
		case escalated.EventEscalationCreated:
			if !escalatedSoFar {
				at := e.CreatedAt
				a.FirstEscalatedAt = &at
			}
			escalatedSoFar = true
			if a.ReopenedAfterT1 {
				a.ReopenedAfterT1Solve = true
			}
			if str(e.Data["ping_pong"]) != "" {
				a.PingPongs++
			}
		case escalated.EventSLABreached:
			due, err := time.Parse(escalated.TimeFormat, str(e.Data["due_at"]))
			late := err == nil && a.FirstEscalatedAt != nil && !due.After(*a.FirstEscalatedAt)
			if !escalatedSoFar || late {
				a.BreachesBeforeEscalation++
			}
		}
	}
	a.MaxFrustration = t.Signals.Frustration
	return a
}

// replayEscalation counts the internal notes written while e held the ticket, and whether its
// creation was flagged as ping-pong.
func replayEscalation(events []*escalated.Event, e *escalated.Escalation) (notes int, pingPong bool) {
	for _, ev := range events {
		switch {
		case ev.Type == escalated.EventEscalationCreated && str(ev.Data["escalation_id"]) == e.ID:
			pingPong = str(ev.Data["ping_pong"]) != ""
		case ev.Type == escalated.EventMessageAdded && ev.Message != nil && ev.Message.Internal &&
			ev.CreatedAt.After(e.CreatedAt) && (e.ClosedAt == nil || !ev.CreatedAt.After(*e.ClosedAt)):
			notes++
		}
	}
	return notes, pingPong
}
