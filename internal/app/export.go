package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/history"
	"github.com/escalated/escalated/internal/store"
)

// Export writes the history of the tickets opened at or after since as JSON Lines
// (internal/history), for `escalated simulate`. It reads the database as any reader does, so it
// is safe beside running nodes. It returns how many tickets and events it wrote.
//
// A ticket's stored history holds what people did and what the policy did in answer, one change
// after another; only the former is exported as something to replay. A change is the run of a
// ticket's events with the same time and actor, and its first event is the request that made
// it (a ticket opened, a message, a patch, a manual escalation, an acknowledgement...); the rest
// (routing, rule actions, status moves a message causes) is the policy's, which a replay
// decides again. Escalations the policy made are exported too, with their trigger, so that a
// replay can take the agents' times from them and compare; they are not replayed.
func Export(ctx context.Context, db string, since time.Time, w io.Writer, log *slog.Logger) (tickets, events int, err error) {
	st, err := openExisting(ctx, db, log)
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	intake := ""
	if pol, _, err := storedPolicy(ctx, st); err == nil {
		intake = pol.IntakeTeam()
	}
	var out []history.Event
	f := store.TicketFilter{Limit: store.MaxLimit}
	for done := false; !done; {
		var page []*escalated.Ticket
		var next string
		err := st.View(ctx, func(tx store.Tx) error {
			var err error
			page, next, err = tx.ListTickets(ctx, f)
			return err
		})
		if err != nil {
			return 0, 0, fmt.Errorf("list tickets: %w", err)
		}
		for _, t := range page {
			if t.CreatedAt.Before(since) {
				done = true // newest first: the rest are older still
				break
			}
			evs, err := exportTicket(ctx, st, t, intake)
			if err != nil {
				return 0, 0, fmt.Errorf("export ticket %s: %w", t.ID, err)
			}
			out = append(out, evs...)
			tickets++
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	history.Sort(out)
	hw := history.NewWriter(w)
	for _, e := range out {
		if err := hw.Write(e); err != nil {
			return 0, 0, err
		}
	}
	return tickets, len(out), hw.Flush()
}

// exportTicket turns one ticket's stored history into history events.
func exportTicket(ctx context.Context, st store.Store, t *escalated.Ticket, intake string) ([]history.Event, error) {
	var evs []*escalated.Event
	var escs []*escalated.Escalation
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		if evs, err = tx.ListEvents(ctx, t.ID); err != nil {
			return err
		}
		f := store.EscalationFilter{TicketID: t.ID, Limit: store.MaxLimit}
		for {
			page, next, err := tx.ListEscalations(ctx, f)
			if err != nil {
				return err
			}
			escs = append(escs, page...)
			if next == "" {
				return nil
			}
			f.Cursor = next
		}
	})
	if err != nil {
		return nil, err
	}
	byID := map[string]*escalated.Escalation{}
	for _, e := range escs {
		byID[e.ID] = e
	}
	ordinal := map[string]int{} // escalation id -> its place among the ticket's escalations
	var out []history.Event
	for i := 0; i < len(evs); {
		j := i + 1
		for j < len(evs) && evs[j].CreatedAt.Equal(evs[i].CreatedAt) && evs[j].Actor == evs[i].Actor {
			j++
		}
		out = append(out, exportChange(t, evs[i:j], byID, ordinal, intake)...)
		i = j
	}
	return out, nil
}

// exportChange turns one change (events with one time and actor, the request's first) into
// history events.
func exportChange(t *escalated.Ticket, ch []*escalated.Event, escs map[string]*escalated.Escalation, ordinal map[string]int, intake string) []history.Event {
	var out []history.Event
	at := ch[0].CreatedAt
	base := history.Event{At: at, Ticket: t.ID}
	first := ch[0]
	messages := func() []*escalated.Message {
		var ms []*escalated.Message
		for _, e := range ch {
			if e.Type == escalated.EventMessageAdded && e.Message != nil {
				ms = append(ms, e.Message)
			}
		}
		return ms
	}
	handoff := slices.IndexFunc(ch, func(e *escalated.Event) bool { return e.Type == escalated.EventHandoffReceived })
	switch {
	case handoff >= 0 && (first.Type == escalated.EventTicketCreated || first.Type == escalated.EventHandoffReceived):
		e := base
		e.Type = history.HandoffReceived
		if first.Type == escalated.EventTicketCreated {
			e.New = newTicket(t, first, intake)
		}
		d := ch[handoff].Data
		h := &history.Handoff{ID: str(d["handoff_id"]), Recommendation: str(d["recommendation"]), RequestedTeam: str(d["requested_team"]), Note: str(d["note"])}
		for _, m := range messages() {
			h.Transcript = append(h.Transcript, history.TranscriptLine{Author: string(m.Author.Kind), Body: m.Body})
		}
		for _, ev := range ch {
			if esc := escs[str(ev.Data["escalation_id"])]; ev.Type == escalated.EventEscalationCreated && esc != nil && esc.Package != nil {
				h.BotSteps = esc.Package.BotSteps
			}
		}
		e.Handoff = h
		out = append(out, e)
	case first.Type == escalated.EventTicketCreated:
		e := base
		e.Type = history.TicketCreated
		e.New = newTicket(t, first, intake)
		if ms := messages(); len(ms) > 0 {
			e.Message = &history.Message{Author: ms[0].Author, Body: ms[0].Body, Internal: ms[0].Internal}
		}
		if e.Message != nil {
			out = append(out, e)
		}
	case first.Type == escalated.EventMessageAdded && first.Message != nil:
		m := first.Message
		e := base
		e.Type, e.Message = history.MessageAdded, &history.Message{Author: m.Author, Body: m.Body, Internal: m.Internal}
		out = append(out, e)
	case first.Type == escalated.EventTicketUpdated:
		if u := updateOf(first.Data); u != nil {
			e := base
			e.Type, e.Update = history.TicketUpdated, u
			out = append(out, e)
		}
	case first.Type == escalated.EventEscalationAcknowledged || first.Type == escalated.EventEscalationReturned || first.Type == escalated.EventEscalationResolved:
		esc := escs[str(first.Data["escalation_id"])]
		if n := ordinal[str(first.Data["escalation_id"])]; n > 0 && esc != nil {
			e := base
			e.Type, e.Escalation = first.Type, n
			switch first.Type {
			case escalated.EventEscalationAcknowledged:
				e.By, e.ContextSufficient = esc.AcknowledgedBy, esc.ContextSufficient
			case escalated.EventEscalationReturned:
				e.By, e.Necessary, e.ReturnReason = esc.ClosedBy, esc.Necessary, esc.ReturnReason
			default:
				e.By, e.Resolution = esc.ClosedBy, esc.Resolution
			}
			out = append(out, e)
		}
		// A ticket solved by the same request (a patch to solved resolves its escalation first)
		// stays solved in the replay even when no escalation is there to resolve.
		for _, ev := range ch[1:] {
			if u := updateOf(ev.Data); ev.Type == escalated.EventTicketUpdated && u != nil && u.Status != "" {
				e := base
				e.Type, e.Update = history.TicketUpdated, &history.Update{Status: u.Status}
				out = append(out, e)
			}
		}
	}
	// Every escalation is numbered, and exported: a manual one that opened the change as an
	// action to replay, the policy's as a record.
	for i, ev := range ch {
		if ev.Type != escalated.EventEscalationCreated {
			continue
		}
		id := str(ev.Data["escalation_id"])
		ordinal[id] = len(ordinal) + 1
		e := base
		e.Type, e.Escalation = history.EscalationCreated, ordinal[id]
		e.To, e.From, e.Reason, e.Note, e.By = str(ev.Data["to_team"]), str(ev.Data["from_team"]), str(ev.Data["reason"]), str(ev.Data["note"]), str(ev.Data["by"])
		e.Trigger, e.Rule = str(ev.Data["trigger"]), str(ev.Data["rule_id"])
		if e.Trigger == string(escalated.TriggerManual) && i != 0 {
			e.Trigger = "effect" // a manual trigger inside another request's change cannot be replayed
		}
		out = append(out, e)
	}
	return out
}

// newTicket is the ticket as it was opened; the team only when it was not the intake team.
func newTicket(t *escalated.Ticket, created *escalated.Event, intake string) *history.NewTicket {
	n := &history.NewTicket{
		Subject: str(created.Data["subject"]), Priority: str(created.Data["priority"]), Channel: str(created.Data["channel"]),
		IssueType: t.IssueType, Language: t.Language, Tags: t.Tags, Customer: t.Customer, Account: t.Account,
		CustomFields: t.CustomFields,
	}
	if team := str(created.Data["team"]); team != intake {
		n.Team = team
	}
	if n.Subject == "" {
		n.Subject = t.Subject
	}
	return n
}

// updateOf reads the fields a person changes from a ticket.updated event's changes.
func updateOf(data map[string]any) *history.Update {
	cs, _ := data["changes"].(map[string]any)
	if cs == nil {
		return nil
	}
	to := func(k string) (any, bool) {
		c, ok := cs[k].(map[string]any)
		if !ok {
			return nil, false
		}
		return c["to"], true
	}
	u := &history.Update{}
	some := false
	if v, ok := to("status"); ok {
		u.Status, some = str(v), true
	}
	if v, ok := to("priority"); ok {
		u.Priority, some = str(v), true
	}
	if v, ok := to("issue_type"); ok {
		u.IssueType, some = str(v), true
	}
	if v, ok := to("assignee"); ok {
		a := str(v)
		u.Assignee, some = &a, true
	}
	if v, ok := to("tags"); ok {
		var tags []string
		if list, ok := v.([]any); ok {
			for _, x := range list {
				tags = append(tags, str(x))
			}
		}
		u.Tags, some = &tags, true
	}
	if !some {
		return nil
	}
	return u
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
