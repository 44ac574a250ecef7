package sqlite

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// randomTime is a time with nanoseconds (which the table drops), or nil one time in three when
// optional.
func randomTime(r *rand.Rand, optional bool) *time.Time {
	if optional && r.IntN(3) == 0 {
		return nil
	}
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600)).Add(time.Duration(r.Int64N(int64(300 * 24 * time.Hour))))
	return &t
}

func randomDur(r *rand.Rand) *time.Duration {
	if r.IntN(3) == 0 {
		return nil
	}
	d := time.Duration(r.Int64N(int64(48 * time.Hour)))
	return &d
}

func randomTicketFact(r *rand.Rand, id string) *store.TicketFact {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	return &store.TicketFact{
		TicketID: id, CreatedAt: *randomTime(r, false), IssueType: pick("billing", "login", ""), Channel: pick("email", "chat"),
		CustomerTier: pick("free", "pro"), AccountID: "acme", IntakeTeam: pick("t1", "t2"), IntakeTier: pick("l1", "l2"),
		FirstAgent: pick("", "ann"), Solved: r.IntN(2) == 0, SolvedAt: randomTime(r, true), Escalations: r.IntN(4),
		FirstEscalatedAt: randomTime(r, true), Reopens: r.IntN(3), BreachesBeforeEscalation: r.IntN(3),
		ReopenedAfterT1Solve: r.IntN(2) == 0, MaxFrustration: r.Float64(), PingPongs: r.IntN(2),
	}
}

func randomEscalationFact(r *rand.Rand, id, ticketID string) *store.EscalationFact {
	return &store.EscalationFact{
		EscalationID: id, TicketID: ticketID, CreatedAt: *randomTime(r, false), FromTeam: "t1", ToTeam: "t2",
		FromTier: "l1", ToTier: "l2", Trigger: "rule", Reason: "sla", RuleID: "r1", IssueType: "billing", Channel: "email",
		CustomerTier: "pro", AccountID: "acme", TimeToEscalate: time.Duration(r.Int64N(int64(time.Hour))), AcknowledgedAt: randomTime(r, true),
		TimeToAck: randomDur(r), State: "pending", Returned: r.IntN(2) == 0, ResolvedAfter: randomDur(r),
		InternalNotes: r.IntN(5), Completeness: r.Float64(), PingPong: r.IntN(2) == 0,
	}
}

// The writer's analytics rows are what the file holds: after saves of random rows (times and
// durations finer than the table keeps), after an account's new tier changed rows behind the
// saves' backs, after a fn that saved and then failed; a new ticket's and escalation's rows are
// known to be absent.
func TestFactCacheHoldsWhatAReadReturns(t *testing.T) {
	f := newCacheFx(t)
	ctx, db := f.ctx, f.db
	r := rand.New(rand.NewPCG(7, 11))
	// inWriter and stored read both rows inside Update (cached) and from a reader connection.
	read := func(tx store.Tx) (*store.TicketFact, *store.EscalationFact, error) {
		tf, err := tx.GetTicketFact(ctx, f.id)
		if err != nil && escalated.ErrorCode(err) != escalated.ENOTFOUND {
			return nil, nil, err
		}
		ef, err := tx.GetEscalationFact(ctx, "esc-1")
		if err != nil && escalated.ErrorCode(err) != escalated.ENOTFOUND {
			return nil, nil, err
		}
		return tf, ef, nil
	}
	same := func(what string) (*store.TicketFact, *store.EscalationFact) {
		t.Helper()
		var wt, ft *store.TicketFact
		var we, fe *store.EscalationFact
		if err := db.Update(ctx, func(tx store.Tx) (err error) { wt, we, err = read(tx); return err }); err != nil {
			t.Fatal(err)
		}
		if err := db.View(ctx, func(tx store.Tx) (err error) { ft, fe, err = read(tx); return err }); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(wt, ft) || !reflect.DeepEqual(we, fe) {
			t.Fatalf("%s: the writer reads\n%+v\n%+v\nthe file holds\n%+v\n%+v", what, wt, we, ft, fe)
		}
		return wt, we
	}
	if tf, ef := same("before any save"); tf != nil || ef != nil {
		t.Fatalf("rows before any save: %+v %+v", tf, ef)
	}
	for i := range 50 {
		tf, ef := randomTicketFact(r, f.id), randomEscalationFact(r, "esc-1", f.id)
		if err := db.Update(ctx, func(tx store.Tx) error {
			if err := tx.SaveTicketFact(ctx, tf); err != nil {
				return err
			}
			return tx.SaveEscalationFact(ctx, ef)
		}); err != nil {
			t.Fatal(err)
		}
		got, _ := same("after a save")
		if got == nil || got.MaxFrustration != tf.MaxFrustration {
			t.Fatalf("save %d: the writer reads %+v, want the row saved", i, got)
		}
		// The caller's row is its own: changing what it read changes nothing cached.
		if i == 0 {
			got.IssueType, got.SolvedAt = "changed", nil
			same("after the caller changed its copy")
		}
	}

	// Rows changed by another statement than the saves.
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.SetAccountTier(ctx, "acme", "enterprise") }); err != nil {
		t.Fatal(err)
	}
	if tf, _ := same("after the account's new tier"); tf.CustomerTier != "enterprise" {
		t.Fatalf("tier %q after the account's change", tf.CustomerTier)
	}

	// A fn that saved and failed leaves the cache as the file.
	boom := errors.New("boom")
	err := db.Update(ctx, func(tx store.Tx) error {
		if err := tx.SaveTicketFact(ctx, randomTicketFact(r, f.id)); err != nil {
			return err
		}
		if _, err := tx.GetTicketFact(ctx, f.id); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	same("after a failed save")

	// A new ticket's and escalation's rows are known to be absent; their first saves count once.
	tk := newTicket(time.Now().Add(time.Hour))
	esc := &escalated.Escalation{ID: escalated.NewID(escalated.PrefixEscalation, time.Now()), TicketID: tk.ID, FromTeam: "t1", ToTeam: "t2",
		State: escalated.EscalationPending, Version: 1, CreatedAt: escalated.Truncate(time.Now())}
	if err := db.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateTicket(ctx, tk); err != nil {
			return err
		}
		if err := tx.CreateEscalation(ctx, esc); err != nil {
			return err
		}
		if _, err := tx.GetTicketFact(ctx, tk.ID); escalated.ErrorCode(err) != escalated.ENOTFOUND {
			return errors.New("a new ticket's fact row: " + errString(err))
		}
		if _, err := tx.GetEscalationFact(ctx, esc.ID); escalated.ErrorCode(err) != escalated.ENOTFOUND {
			return errors.New("a new escalation's fact row: " + errString(err))
		}
		if err := tx.SaveTicketFact(ctx, randomTicketFact(r, tk.ID)); err != nil {
			return err
		}
		return tx.SaveEscalationFact(ctx, randomEscalationFact(r, esc.ID, tk.ID))
	}); err != nil {
		t.Fatal(err)
	}
	var wt, ft *store.TicketFact
	if err := db.Update(ctx, func(tx store.Tx) (err error) { wt, err = tx.GetTicketFact(ctx, tk.ID); return err }); err != nil {
		t.Fatal(err)
	}
	if err := db.View(ctx, func(tx store.Tx) (err error) { ft, err = tx.GetTicketFact(ctx, tk.ID); return err }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(wt, ft) {
		t.Fatalf("a new ticket's saved fact: the writer reads %+v, the file holds %+v", wt, ft)
	}
}

func errString(err error) string {
	if err == nil {
		return "found"
	}
	return err.Error()
}
