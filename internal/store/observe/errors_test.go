package observe_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/observe"
	"github.com/escalated/escalated/internal/store/sqlite"
)

// faulty is a store.Store that fails on demand: its Update and View return commitErr after fn
// ran without error (a commit or connection that failed underneath), and its transactions'
// GetTicket returns txErr (a read that failed, which fn passes on).
type faulty struct {
	store.Store
	commitErr, txErr error
}

func (f *faulty) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := f.Store.Update(ctx, func(tx store.Tx) error { return fn(faultyTx{tx, f.txErr}) }); err != nil {
		return err
	}
	return f.commitErr
}

func (f *faulty) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := f.Store.View(ctx, func(tx store.Tx) error { return fn(faultyTx{tx, f.txErr}) }); err != nil {
		return err
	}
	return f.commitErr
}

type faultyTx struct {
	store.Tx
	err error
}

func (t faultyTx) GetTicket(ctx context.Context, id string) (*escalated.Ticket, error) {
	if t.err != nil {
		return nil, t.err
	}
	return t.Tx.GetTicket(ctx, id)
}

// counters reads every counter of reg as "name,label=value,..." -> value.
func counters(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mf, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range mf {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			got[key] = m.GetCounter().GetValue()
		}
	}
	return got
}

// TestStoreErrorsCountFailuresNotRefusals: a store whose commits, reads or connections fail
// raises escalated_store_errors_total by operation, whether the failure carries no code, the
// internal code, or the unavailable code the stores give a full disk, a read-only file and an
// unreachable PostgreSQL (docs/operations.md: "disk full, database down"); and whether the
// store returned it or fn passed on a Tx method's failure. Refusals (conflict, not found,
// invalid, forbidden, unauthorized, too large), a caller's cancellation or deadline and a
// deliberate rollback leave it alone. Events appended in a transaction that then failed are
// not counted as committed.
func TestStoreErrorsCountFailuresNotRefusals(t *testing.T) {
	ctx := context.Background()
	raw, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "o.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	fake := &faulty{Store: raw}
	reg := prometheus.NewRegistry()
	st, err := observe.New(fake, reg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tk := &escalated.Ticket{ID: escalated.NewID(escalated.PrefixTicket, now), Subject: "x", Status: escalated.StatusNew,
		Priority: escalated.PriorityNormal, Channel: escalated.ChannelChat, Team: "frontline", Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := raw.Update(ctx, func(tx store.Tx) error { return tx.CreateTicket(ctx, tk) }); err != nil {
		t.Fatal(err)
	}
	seq := int64(0)
	// write appends an event (which must not count: the transaction fails) and reads the ticket.
	write := func(tx store.Tx) error {
		seq++
		if err := tx.AppendEvent(ctx, &escalated.Event{ID: escalated.NewID(escalated.PrefixEvent, now), TicketID: tk.ID, Seq: seq,
			Type: "ticket.updated", Actor: "system", CreatedAt: now}); err != nil {
			return err
		}
		if _, err := tx.GetTicket(ctx, tk.ID); err != nil {
			return fmt.Errorf("load ticket: %w", err)
		}
		return nil
	}
	read := func(tx store.Tx) error {
		_, err := tx.GetTicket(ctx, tk.ID)
		return err
	}
	diskFull := escalated.Errorf(escalated.EUNAVAILABLE, "the database cannot be written: the disk is full; try again later")
	unreachable := escalated.Errorf(escalated.EUNAVAILABLE, "the database cannot be reached (connection refused); try again later")
	ioErr := errors.New("disk I/O error")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, c := range []struct {
		name        string
		view        bool // View, else Update
		commit, tx  error
		update, rdr float64 // the counts after this case
	}{
		{name: "commit fails without a code", commit: ioErr, update: 1},
		{name: "commit fails with internal", commit: escalated.Errorf(escalated.EINTERNAL, "commit: broken pipe"), update: 2},
		{name: "disk full (unavailable)", commit: diskFull, update: 3},
		{name: "a Tx read fails, fn passes it on", tx: ioErr, update: 4},
		{name: "a Tx read is unavailable, fn passes it on", tx: unreachable, update: 5},
		{name: "view: PostgreSQL unreachable", view: true, commit: unreachable, update: 5, rdr: 1},
		{name: "view: a read fails", view: true, tx: ioErr, update: 5, rdr: 2},
		// Refusals and outcomes: no store error.
		{name: "conflict", commit: escalated.Errorf(escalated.ECONFLICT, "serialization failure; try again"), update: 5, rdr: 2},
		{name: "not found from a Tx", tx: escalated.Errorf(escalated.ENOTFOUND, "no ticket"), update: 5, rdr: 2},
		{name: "view: not found", view: true, tx: escalated.Errorf(escalated.ENOTFOUND, "no ticket"), update: 5, rdr: 2},
		{name: "invalid", commit: escalated.Invalid("status", "unknown"), update: 5, rdr: 2},
		{name: "forbidden", commit: escalated.Errorf(escalated.EFORBIDDEN, "no"), update: 5, rdr: 2},
		{name: "unauthorized", view: true, commit: escalated.Errorf(escalated.EUNAUTHORIZED, "no token"), update: 5, rdr: 2},
		{name: "too large", commit: escalated.Errorf(escalated.ETOOLARGE, "too big"), update: 5, rdr: 2},
		{name: "cancelled", commit: fmt.Errorf("begin: %w", cancelled.Err()), update: 5, rdr: 2},
		{name: "deadline", view: true, commit: context.DeadlineExceeded, update: 5, rdr: 2},
		{name: "rollback", commit: rollback{}, update: 5, rdr: 2},
	} {
		fake.commitErr, fake.txErr = c.commit, c.tx
		if c.view {
			err = st.View(ctx, read)
		} else {
			err = st.Update(ctx, write)
		}
		if err == nil {
			t.Fatalf("%s: the faulty store did not fail", c.name)
		}
		got := counters(t, reg)
		if got["escalated_store_errors_total,op=update"] != c.update || got["escalated_store_errors_total,op=view"] != c.rdr {
			t.Errorf("after %s (%v): store errors update=%v view=%v, want %v and %v", c.name, err,
				got["escalated_store_errors_total,op=update"], got["escalated_store_errors_total,op=view"], c.update, c.rdr)
		}
		if n := got["escalated_events_committed_total,type=ticket.updated"]; n != 0 {
			t.Fatalf("after %s: %v events counted as committed by failed transactions", c.name, n)
		}
	}
	// The store working again: what commits counts, and no error.
	fake.commitErr, fake.txErr = nil, nil
	if err := st.Update(ctx, write); err != nil {
		t.Fatal(err)
	}
	got := counters(t, reg)
	if got["escalated_events_committed_total,type=ticket.updated"] != 1 || got["escalated_store_errors_total,op=update"] != 5 {
		t.Errorf("after a good write: %v", got)
	}
}
