package storetest

import (
	"testing"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

var historyTests = []test{
	{"MessageRoundTrip", testMessageRoundTrip},
	{"MessageNotFound", testMessageNotFound},
	{"MessageDuplicateIsConflict", testMessageDuplicate},
	{"MessageUnknownTicketIsNotFound", testMessageUnknownTicket},
	{"ListMessagesInSeqOrder", testListMessages},
	{"PickMessagesFromEitherEnd", testPickMessages},
	{"ListEventsOrderAndMessages", testListEvents},
	{"ListWorkEventsTypesAndAgentsMessages", testListWorkEvents},
	{"EventDuplicateIsConflict", testEventDuplicate},
	{"EventUnknownTicketIsNotFound", testEventUnknownTicket},
	{"EmptyHistory", testEmptyHistory},
}

func testMessageRoundTrip(t *testing.T, f *fx) {
	tk := f.ticket()
	full := f.message(tk.ID, 2)
	bare := f.message(tk.ID, 3, func(m *escalated.Message) {
		m.Author = escalated.Author{Kind: escalated.AuthorSystem}
		m.Body, m.Internal, m.Signals = "", false, escalated.Signals{}
	})
	f.createTickets(tk)
	f.update(func(tx store.Tx) error {
		if err := tx.AddMessage(f.ctx, full); err != nil {
			return err
		}
		return tx.AddMessage(f.ctx, bare)
	})
	f.view(func(tx store.Tx) error {
		for _, m := range []*escalated.Message{full, bare} {
			got, err := tx.GetMessage(f.ctx, m.ID)
			if err != nil {
				return err
			}
			equal(t, "message", got, wantMessage(m))
		}
		return nil
	})
}

func testMessageNotFound(t *testing.T, f *fx) {
	id := f.id(escalated.PrefixMessage)
	err := f.s.View(f.ctx, func(tx store.Tx) error { _, err := tx.GetMessage(f.ctx, id); return err })
	wantCode(t, err, escalated.ENOTFOUND)
	wantMessageNames(t, err, "message", id)
}

func testMessageDuplicate(t *testing.T, f *fx) {
	tk := f.ticket()
	m := f.message(tk.ID, 2)
	f.createTickets(tk)
	f.update(func(tx store.Tx) error { return tx.AddMessage(f.ctx, m) })
	again := *m
	again.Seq, again.Body = 3, "other"
	err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.AddMessage(f.ctx, &again) })
	wantCode(t, err, escalated.ECONFLICT)
	wantMessageNames(t, err, m.ID)
}

func testMessageUnknownTicket(t *testing.T, f *fx) {
	tid := f.id(escalated.PrefixTicket)
	err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.AddMessage(f.ctx, f.message(tid, 1)) })
	wantCode(t, err, escalated.ENOTFOUND)
	wantMessageNames(t, err, tid)
}

func testListMessages(t *testing.T, f *fx) {
	tk, other := f.ticket(), f.ticket()
	m3, m1, m2 := f.message(tk.ID, 3), f.message(tk.ID, 1), f.message(tk.ID, 2)
	unannounced := f.message(tk.ID, 5)
	elsewhere := f.message(other.ID, 1)
	announce := func(m *escalated.Message) *escalated.Event {
		return f.event(m.TicketID, m.Seq, escalated.EventMessageAdded, func(e *escalated.Event) {
			e.Data = map[string]any{"message_id": m.ID}
		})
	}
	f.createTickets(tk, other)
	f.update(func(tx store.Tx) error {
		// m1's event comes before the message, as a service may write them; the others after.
		if err := tx.AppendEvent(f.ctx, announce(m1)); err != nil {
			return err
		}
		// Inserted out of order, with another ticket's message in between.
		for _, m := range []*escalated.Message{m3, elsewhere, m1, m2, unannounced} {
			if err := tx.AddMessage(f.ctx, m); err != nil {
				return err
			}
		}
		for _, e := range []*escalated.Event{announce(m3), announce(elsewhere), f.event(tk.ID, 4, escalated.EventTicketUpdated), announce(m2)} {
			if err := tx.AppendEvent(f.ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	f.view(func(tx store.Tx) error {
		// The list follows the announcing events (store.History): a message no event of the
		// ticket announces is not in it.
		got, err := tx.ListMessages(f.ctx, tk.ID)
		if err != nil {
			return err
		}
		equal(t, "messages", got, []*escalated.Message{wantMessage(m1), wantMessage(m2), wantMessage(m3)})
		got, err = tx.ListMessages(f.ctx, other.ID)
		if err != nil {
			return err
		}
		equal(t, "the other ticket's messages", got, []*escalated.Message{wantMessage(elsewhere)})
		return nil
	})
}

func testPickMessages(t *testing.T, f *fx) {
	tk, other := f.ticket(), f.ticket()
	public := func(kind escalated.AuthorKind) func(*escalated.Message) {
		return func(m *escalated.Message) { m.Author.Kind, m.Internal = kind, false }
	}
	internal := func(kind escalated.AuthorKind) func(*escalated.Message) {
		return func(m *escalated.Message) { m.Author.Kind, m.Internal = kind, true }
	}
	// seq: 1 bot greeting, 2 customer note, 3 customer, 4 agent, 5 customer, 6 agent note,
	// 7 agent, 8 agent note.
	msgs := []*escalated.Message{
		f.message(tk.ID, 1, public(escalated.AuthorBot)), f.message(tk.ID, 2, internal(escalated.AuthorCustomer)),
		f.message(tk.ID, 3, public(escalated.AuthorCustomer)), f.message(tk.ID, 4, public(escalated.AuthorAgent)),
		f.message(tk.ID, 5, public(escalated.AuthorCustomer)), f.message(tk.ID, 6, internal(escalated.AuthorAgent)),
		f.message(tk.ID, 7, public(escalated.AuthorAgent)), f.message(tk.ID, 8, internal(escalated.AuthorAgent)),
	}
	elsewhere := f.message(other.ID, 1, public(escalated.AuthorCustomer))
	f.createTickets(tk, other)
	f.update(func(tx store.Tx) error {
		// Added out of order, each with the event that announces it.
		for _, m := range append([]*escalated.Message{elsewhere, msgs[4], msgs[0], msgs[7]}, msgs[1], msgs[2], msgs[3], msgs[5], msgs[6]) {
			if err := tx.AddMessage(f.ctx, m); err != nil {
				return err
			}
			if err := tx.AppendEvent(f.ctx, f.event(m.TicketID, m.Seq, escalated.EventMessageAdded, func(e *escalated.Event) {
				e.Data = map[string]any{"message_id": m.ID}
				e.Message = m
			})); err != nil {
				return err
			}
		}
		return nil
	})
	want := func(seqs ...int) []*escalated.Message {
		out := []*escalated.Message{}
		for _, s := range seqs {
			out = append(out, wantMessage(msgs[s-1]))
		}
		return out
	}
	cases := []struct {
		name string
		p    store.MessagePick
		want []*escalated.Message
	}{
		{"the first public customer message", store.MessagePick{Kind: escalated.AuthorCustomer, Public: true, Limit: 1}, want(3)},
		{"the last public agent message", store.MessagePick{Kind: escalated.AuthorAgent, Public: true, Last: true, Limit: 1}, want(7)},
		{"the last three", store.MessagePick{Last: true, Limit: 3}, want(6, 7, 8)},
		{"the first two", store.MessagePick{Limit: 2}, want(1, 2)},
		{"the agents' last two", store.MessagePick{Kind: escalated.AuthorAgent, Last: true, Limit: 2}, want(7, 8)},
		{"more than there are", store.MessagePick{Last: true, Limit: 50}, want(1, 2, 3, 4, 5, 6, 7, 8)},
		{"none match", store.MessagePick{Kind: escalated.AuthorSystem, Limit: 5}, want()},
	}
	f.view(func(tx store.Tx) error {
		for _, c := range cases {
			got, err := tx.PickMessages(f.ctx, tk.ID, c.p)
			if err != nil {
				return err
			}
			equal(t, c.name, got, c.want)
		}
		got, err := tx.PickMessages(f.ctx, f.id(escalated.PrefixTicket), store.MessagePick{Limit: 1})
		if err != nil {
			return err
		}
		equal(t, "an unknown ticket's", got, []*escalated.Message{})
		_, err = tx.PickMessages(f.ctx, tk.ID, store.MessagePick{})
		wantCode(t, err, escalated.EINTERNAL)
		return nil
	})
}

func testListEvents(t *testing.T, f *fx) {
	tk, other := f.ticket(), f.ticket()
	created := f.event(tk.ID, 1, escalated.EventTicketCreated, func(e *escalated.Event) { e.Data = nil })
	m2 := f.message(tk.ID, 2)
	added2 := f.event(tk.ID, 2, escalated.EventMessageAdded, func(e *escalated.Event) {
		// The service attaches the message it just added; the store keeps the reference.
		e.Data = map[string]any{"message_id": m2.ID}
		e.Message = m2
	})
	m4 := f.message(tk.ID, 4, func(m *escalated.Message) { m.Internal = false })
	added4 := f.event(tk.ID, 4, escalated.EventMessageAdded, func(e *escalated.Event) {
		e.Data = map[string]any{"message_id": m4.ID, "internal": false}
		e.Message = m4
	})
	updated := f.event(tk.ID, 3, escalated.EventTicketUpdated)
	f.createTickets(tk, other)
	f.update(func(tx store.Tx) error {
		for _, m := range []*escalated.Message{m2, m4} {
			if err := tx.AddMessage(f.ctx, m); err != nil {
				return err
			}
		}
		// Appended out of seq order, with another ticket's event in between.
		for _, e := range []*escalated.Event{added4, created, f.event(other.ID, 1, escalated.EventTicketCreated), updated, added2} {
			if err := tx.AppendEvent(f.ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	f.view(func(tx store.Tx) error {
		got, err := tx.ListEvents(f.ctx, tk.ID)
		if err != nil {
			return err
		}
		equal(t, "events", got, []*escalated.Event{
			wantEvent(created, nil), wantEvent(added2, m2), wantEvent(updated, nil), wantEvent(added4, m4),
		})
		return nil
	})
}

func testListWorkEvents(t *testing.T, f *fx) {
	tk, other := f.ticket(), f.ticket()
	agent := escalated.Author{Kind: escalated.AuthorAgent, ID: "ana", Name: "Ana"}
	created := f.event(tk.ID, 1, escalated.EventTicketCreated, func(e *escalated.Event) { e.Data = map[string]any{"team": "frontline"} })
	customer := f.message(tk.ID, 2) // a customer's: left out
	byAgent := f.message(tk.ID, 3, func(m *escalated.Message) { m.Author, m.Internal = agent, false })
	note := f.message(tk.ID, 5, func(m *escalated.Message) { m.Author = agent }) // an internal note: an agent's message too
	bot := f.message(tk.ID, 6, func(m *escalated.Message) { m.Author = escalated.Author{Kind: escalated.AuthorBot, ID: "bot"} })
	added := func(m *escalated.Message) *escalated.Event {
		return f.event(tk.ID, m.Seq, escalated.EventMessageAdded, func(e *escalated.Event) {
			e.Data = map[string]any{"message_id": m.ID}
			e.Message = m
		})
	}
	addedCustomer, addedByAgent, addedNote, addedBot := added(customer), added(byAgent), added(note), added(bot)
	updated := f.event(tk.ID, 4, escalated.EventTicketUpdated)
	routed := f.event(tk.ID, 7, "ticket.routed", func(e *escalated.Event) { e.Data = map[string]any{"team": "billing", "agent": "bea"} })
	breached := f.event(tk.ID, 8, escalated.EventSLABreached) // not asked for: left out
	f.createTickets(tk, other)
	f.update(func(tx store.Tx) error {
		for _, m := range []*escalated.Message{customer, byAgent, note, bot} {
			if err := tx.AddMessage(f.ctx, m); err != nil {
				return err
			}
		}
		for _, e := range []*escalated.Event{breached, addedNote, created, addedCustomer, updated, addedByAgent,
			f.event(other.ID, 1, escalated.EventTicketUpdated), addedBot, routed} {
			if err := tx.AppendEvent(f.ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	// Of a message, only who wrote it and where it is.
	authorOnly := func(m *escalated.Message) *escalated.Message {
		return &escalated.Message{ID: m.ID, TicketID: m.TicketID, Seq: m.Seq, Author: m.Author}
	}
	withMessage := func(e *escalated.Event, m *escalated.Message) *escalated.Event {
		w := wantEvent(e, nil)
		w.Message = authorOnly(m)
		return w
	}
	f.view(func(tx store.Tx) error {
		got, err := tx.ListWorkEvents(f.ctx, tk.ID, []string{escalated.EventTicketCreated, escalated.EventTicketUpdated, "ticket.routed"})
		if err != nil {
			return err
		}
		equal(t, "work events", got, []*escalated.Event{
			wantEvent(created, nil), withMessage(addedByAgent, byAgent), wantEvent(updated, nil),
			withMessage(addedNote, note), wantEvent(routed, nil),
		})
		got, err = tx.ListWorkEvents(f.ctx, tk.ID, nil)
		if err != nil {
			return err
		}
		equal(t, "work events of no type: the agents' messages", got,
			[]*escalated.Event{withMessage(addedByAgent, byAgent), withMessage(addedNote, note)})
		got, err = tx.ListWorkEvents(f.ctx, f.id(escalated.PrefixTicket), []string{escalated.EventTicketCreated})
		if err != nil {
			return err
		}
		equal(t, "work events of an unknown ticket", got, []*escalated.Event{})
		return nil
	})
}

func testEventDuplicate(t *testing.T, f *fx) {
	tk := f.ticket()
	e := f.event(tk.ID, 1, escalated.EventTicketCreated)
	f.createTickets(tk)
	f.update(func(tx store.Tx) error { return tx.AppendEvent(f.ctx, e) })
	t.Run("same id", func(t *testing.T) {
		f := f.in(t)
		again := *e
		again.Seq = 2
		err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.AppendEvent(f.ctx, &again) })
		wantCode(t, err, escalated.ECONFLICT)
	})
	t.Run("same seq", func(t *testing.T) {
		f := f.in(t)
		// Two writers that both read version 0 both try seq 1: the second must lose.
		err := f.s.Update(f.ctx, func(tx store.Tx) error {
			return tx.AppendEvent(f.ctx, f.event(tk.ID, 1, escalated.EventTicketUpdated))
		})
		wantCode(t, err, escalated.ECONFLICT)
	})
	f.view(func(tx store.Tx) error {
		got, err := tx.ListEvents(f.ctx, tk.ID)
		if err != nil {
			return err
		}
		equal(t, "events after rejected duplicates", got, []*escalated.Event{wantEvent(e, nil)})
		return nil
	})
}

func testEventUnknownTicket(t *testing.T, f *fx) {
	tid := f.id(escalated.PrefixTicket)
	err := f.s.Update(f.ctx, func(tx store.Tx) error {
		return tx.AppendEvent(f.ctx, f.event(tid, 1, escalated.EventTicketCreated))
	})
	wantCode(t, err, escalated.ENOTFOUND)
	wantMessageNames(t, err, tid)
}

func testEmptyHistory(t *testing.T, f *fx) {
	// A ticket without history, and a ticket that does not exist, list nothing without error.
	tk := f.ticket()
	f.createTickets(tk)
	f.view(func(tx store.Tx) error {
		for _, id := range []string{tk.ID, f.id(escalated.PrefixTicket)} {
			msgs, err := tx.ListMessages(f.ctx, id)
			if err != nil {
				return err
			}
			evs, err := tx.ListEvents(f.ctx, id)
			if err != nil {
				return err
			}
			if len(msgs) != 0 || len(evs) != 0 {
				t.Errorf("ticket %s: %d messages and %d events, want none", id, len(msgs), len(evs))
			}
		}
		return nil
	})
}
