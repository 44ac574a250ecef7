package observe_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/observe"
	"github.com/escalated/escalated/internal/store/sqlite"
)

type rollback struct{}

func (rollback) Error() string { return "dry run" }
func (rollback) Rollback()     {}

// TestCountsOnlyWhatCommitted: events and escalations count once their transaction committed;
// a failed fn, a deliberate rollback and a conflict count nothing, and none is a store error.
func TestCountsOnlyWhatCommitted(t *testing.T) {
	ctx := context.Background()
	raw, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "o.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	reg := prometheus.NewRegistry()
	st, err := observe.New(raw, reg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tk := &escalated.Ticket{ID: escalated.NewID(escalated.PrefixTicket, now), Subject: "x", Status: escalated.StatusNew,
		Priority: escalated.PriorityNormal, Channel: escalated.ChannelChat, Team: "frontline", Version: 1, CreatedAt: now, UpdatedAt: now}
	event := func(seq int64) *escalated.Event {
		return &escalated.Event{ID: escalated.NewID(escalated.PrefixEvent, now), TicketID: tk.ID, Seq: seq, Type: "ticket.created", Actor: "system", CreatedAt: now}
	}
	if err := st.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateTicket(ctx, tk); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, event(1)); err != nil {
			return err
		}
		return tx.CreateEscalation(ctx, &escalated.Escalation{ID: escalated.NewID(escalated.PrefixEscalation, now), TicketID: tk.ID,
			FromTeam: "frontline", ToTeam: "billing", Trigger: escalated.TriggerRule, Reason: escalated.ReasonSLA,
			State: escalated.EscalationPending, Version: 1, CreatedAt: now})
	}); err != nil {
		t.Fatal(err)
	}
	boom := escalated.Errorf(escalated.EINVALID, "the service refused the change")
	for _, fnErr := range []error{boom, rollback{}} {
		if err := st.Update(ctx, func(tx store.Tx) error {
			if err := tx.AppendEvent(ctx, event(2)); err != nil {
				return err
			}
			return fnErr
		}); !errors.Is(err, fnErr) {
			t.Fatalf("Update returned %v, want %v", err, fnErr)
		}
	}
	// A conflict: seq 1 is taken.
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.AppendEvent(ctx, event(1)) }); escalated.ErrorCode(err) != escalated.ECONFLICT {
		t.Fatalf("duplicate seq: %v", err)
	}
	got := counters(t, reg)
	for key, want := range map[string]float64{
		"escalated_events_committed_total,type=ticket.created": 1,
		"escalated_escalations_total,reason=sla,trigger=rule":  1,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v (all: %v)", key, got[key], want, got)
		}
	}
	for key, v := range got {
		if len(key) > 28 && key[:28] == "escalated_store_errors_total" && v != 0 {
			t.Errorf("%s = %v: a refusal, a rollback or a conflict counted as a store error", key, v)
		}
	}
}
