package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/escalated/escalated/internal/store"
)

// TestEdgeColumnsCountLikeWholeRows: the rows FactsCreatedFor reads for a report by each
// dimension (store.EdgeColumns) give the same report and outcome measures as the whole rows,
// over varied facts (every field set at random, some of them often); and their times are the
// whole rows' times, in UTC. The facts are those of the SQLite store's test of the same name.
func TestEdgeColumnsCountLikeWholeRows(t *testing.T) {
	db := mustOpen(t, freshSchema(t))
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 9))
	one := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	day := time.Date(2027, 5, 3, 0, 0, 0, 0, time.UTC)
	at := func() time.Time { return day.Add(time.Duration(r.Int64N(int64(24 * time.Hour)))) }
	dur := func(max time.Duration) *time.Duration {
		d := time.Duration(r.Int64N(int64(max))).Truncate(time.Millisecond)
		return &d
	}
	err := db.Update(ctx, func(tx store.Tx) error {
		for i := range 300 {
			tf := &store.TicketFact{TicketID: fmt.Sprintf("tkt_%03d", i), CreatedAt: at(), IssueType: one("login", "api"),
				Channel: one("chat", "email"), CustomerTier: one("free", "pro"), AccountID: one("acme", "globex"),
				IntakeTeam: one("support", "billing"), IntakeTier: "t1", FirstAgent: one("", "ana", "bob"), Solved: r.IntN(2) == 0,
				Escalations: r.IntN(3), Reopens: r.IntN(2), BreachesBeforeEscalation: r.IntN(3),
				ReopenedAfterT1Solve: r.IntN(3) == 0, MaxFrustration: float64(r.IntN(101)) / 100, PingPongs: r.IntN(2)}
			if err := tx.SaveTicketFact(ctx, tf); err != nil {
				return err
			}
			e := &store.EscalationFact{EscalationID: fmt.Sprintf("esc_%03d", i), TicketID: tf.TicketID, CreatedAt: at(),
				FromTeam: one("support", "billing"), ToTeam: one("platform", "finance", "billing"), FromTier: "t1", ToTier: one("t2", "t3"),
				ByAgent: one("", "ana", "cy"), Trigger: one("manual", "rule"), Reason: "complexity", RuleID: one("", "vip"),
				IssueType: one("login", "api"), Channel: one("chat", "phone"), CustomerTier: one("free", "pro"), AccountID: one("acme", ""),
				TimeToEscalate: *dur(30 * time.Hour), State: "pending", Returned: r.IntN(3) == 0, Unnecessary: r.IntN(3) == 0,
				ResolvedAtTarget: r.IntN(2) == 0, ReEscalated: r.IntN(3) == 0, InternalNotes: r.IntN(2),
				Completeness: float64(r.IntN(5)) / 4, ContextInsufficient: r.IntN(3) == 0, PingPong: r.IntN(4) == 0}
			if r.IntN(3) > 0 {
				e.TimeToAck = dur(3 * time.Hour)
				ack := e.CreatedAt.Add(*e.TimeToAck)
				e.AcknowledgedAt = &ack
			}
			if e.ResolvedAtTarget {
				e.ResolvedAfter = dur(20 * time.Minute)
			}
			if err := tx.SaveEscalationFact(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	from, to := day, day.Add(24*time.Hour)
	err = db.View(ctx, func(stx store.Tx) error {
		x := stx.(*tx)
		ts, es, err := x.FactsCreated(ctx, from, to)
		if err != nil {
			return err
		}
		if len(ts) != 300 || len(es) != 300 {
			return fmt.Errorf("%d ticket and %d escalation rows in the day, want 300 of each", len(ts), len(es))
		}
		whole := store.FactSource{Tickets: ts, Escalations: es}
		wantTimes := edgeTimes(ts, es)
		for _, scope := range []store.ReportQuery{{}, {Team: "billing"}, {Transition: "t1 -> t2"}} {
			q := scope
			q.Since, q.Until, q.QuickSolve, q.HighFrustration = from, to, 10*time.Minute, 0.5
			for _, g := range append(store.GroupBys, "outcomes") {
				dim := g
				if g == "outcomes" || g == store.GroupDay || g == store.GroupWeek {
					dim = "all"
				}
				pts, pes, err := x.FactsCreatedFor(ctx, from, to, dim)
				if err != nil {
					return err
				}
				// dialect: timestamptz comes back in the local zone unless made UTC, which
				// the counts by UTC day would not show.
				if got := edgeTimes(pts, pes); !reflect.DeepEqual(got, wantTimes) {
					t.Errorf("%s: the edge columns' times differ from the whole rows'", g)
				}
				part := store.FactSource{Tickets: pts, Escalations: pes}
				var want, got any
				if g == "outcomes" {
					want, err = store.BuildOutcomes(ctx, whole, q)
					if err == nil {
						got, err = store.BuildOutcomes(ctx, part, q)
					}
				} else {
					q.GroupBy = g
					want, err = store.BuildReport(ctx, whole, q)
					if err == nil {
						got, err = store.BuildReport(ctx, part, q)
					}
				}
				if err != nil {
					return err
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s with filter %+v from the edge columns:\n got %+v\nwant %+v", g, scope, got, want)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// edgeTimes are the rows' creation and acknowledgement times, sorted: the tickets', then the
// escalations', then the acknowledgements'.
func edgeTimes(ts []*store.TicketFact, es []*store.EscalationFact) [3][]time.Time {
	var out [3][]time.Time
	for _, f := range ts {
		out[0] = append(out[0], f.CreatedAt)
	}
	for _, e := range es {
		out[1] = append(out[1], e.CreatedAt)
		if e.AcknowledgedAt != nil {
			out[2] = append(out[2], *e.AcknowledgedAt)
		}
	}
	for i := range out {
		slices.SortFunc(out[i], time.Time.Compare)
	}
	return out
}
