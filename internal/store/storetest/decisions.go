package storetest

import (
	"encoding/json"
	"testing"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

var decisionTests = []test{
	{"LatestReplacesPrevious", testDecisionLatest},
	{"NotFound", testDecisionNotFound},
}

func testDecisionLatest(t *testing.T, f *fx) {
	tk := f.ticket()
	f.createTickets(tk)
	first := &escalated.Decision{TicketID: tk.ID, Seq: 1, Event: "ticket.created", PolicyVersion: 1,
		Trace: json.RawMessage(`[{"rule":"a","outcome":"no match"}]`), CreatedAt: f.tick()}
	second := &escalated.Decision{TicketID: tk.ID, Seq: 2, Event: "message.added", PolicyVersion: 2,
		Trace: json.RawMessage(`[{"rule":"a","outcome":"fired","actions":[0]}]`), CreatedAt: f.tick()}
	f.update(func(tx store.Tx) error { return tx.SaveDecision(f.ctx, first) })
	f.update(func(tx store.Tx) error { return tx.SaveDecision(f.ctx, second) })
	f.view(func(tx store.Tx) error {
		got, err := tx.LatestDecision(f.ctx, tk.ID)
		if err != nil {
			return err
		}
		var gotTrace, wantTrace any
		json.Unmarshal(got.Trace, &gotTrace)
		json.Unmarshal(second.Trace, &wantTrace)
		equal(t, "trace", gotTrace, wantTrace)
		want := *second
		got.Trace, want.Trace, want.CreatedAt = nil, nil, escalated.Truncate(second.CreatedAt)
		equal(t, "latest decision", got, &want)
		return nil
	})
	err := f.s.Update(f.ctx, func(tx store.Tx) error {
		return tx.SaveDecision(f.ctx, &escalated.Decision{TicketID: "tkt_missing", Seq: 1, Event: "x", Trace: json.RawMessage(`[]`), CreatedAt: f.tick()})
	})
	wantCode(t, err, escalated.ENOTFOUND)
}

func testDecisionNotFound(t *testing.T, f *fx) {
	err := f.s.View(f.ctx, func(tx store.Tx) error { _, err := tx.LatestDecision(f.ctx, "tkt_none"); return err })
	wantCode(t, err, escalated.ENOTFOUND)
}
