package postgres

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

func TestDeadlinesClaimedOnceAcrossNodes(t *testing.T) {
	// Two nodes, four claimers each, 200 due deadlines (twenty per ticket) claimed seven at a
	// time. SKIP LOCKED lets the claimers pass over each other's rows and tickets: every deadline
	// must be claimed by exactly one of them, and none may be left behind.
	schema := freshSchema(t)
	nodes := []*DB{mustOpen(t, schema), mustOpen(t, schema)}
	ctx := t.Context()
	now := time.Now()

	const tickets, perTicket = 10, 20
	err := nodes[0].Update(ctx, func(tx store.Tx) error {
		for i := range tickets {
			tk := newTicket(now)
			if err := tx.CreateTicket(ctx, tk); err != nil {
				return err
			}
			for j := range perTicket {
				d := &store.Deadline{
					ID: fmt.Sprintf("dl_%03d_%03d", i, j), TicketID: tk.ID, Kind: "sla.breached",
					Target: fmt.Sprint("target_", j), DueAt: now.Add(-time.Duration(i*perTicket+j) * time.Second),
					CreatedAt: now,
				}
				if err := tx.ScheduleDeadline(ctx, d); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	const perNode, batch = 4, 7
	giveUp := time.Now().Add(10 * time.Second)
	pendingNext := func(db *DB) (next time.Time, err error) {
		err = db.View(ctx, func(tx store.Tx) error {
			next, err = tx.NextDue(ctx)
			return err
		})
		return next, err
	}
	var (
		mu      sync.Mutex
		claimed = map[string]int{}
		wg      sync.WaitGroup
	)
	for c := range len(nodes) * perNode {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := nodes[c%len(nodes)]
			for {
				var got []*store.Deadline
				err := db.Update(ctx, func(tx store.Tx) error {
					var err error
					got, err = tx.ClaimDue(ctx, time.Now(), batch)
					return err
				})
				if err != nil {
					t.Errorf("claimer %d: %v", c, err)
					return
				}
				if len(got) == 0 {
					// An empty claim does not mean nothing is due: a claim passes over the
					// deadlines of tickets another claimer holds (sqlClaimDue), and those stay
					// pending until it commits. Done only when nothing is pending at all.
					next, err := pendingNext(db)
					if err != nil {
						t.Errorf("claimer %d: %v", c, err)
						return
					}
					if next.IsZero() {
						return
					}
					if time.Now().After(giveUp) {
						t.Errorf("claimer %d: deadlines due at %v still pending, none claimable for 10s", c, next)
						return
					}
					time.Sleep(time.Millisecond)
					continue
				}
				if len(got) > batch {
					t.Errorf("claimer %d: claimed %d deadlines, asked for at most %d", c, len(got), batch)
				}
				for i := 1; i < len(got); i++ {
					p, d := got[i-1], got[i]
					if d.DueAt.Before(p.DueAt) || (d.DueAt.Equal(p.DueAt) && d.ID <= p.ID) {
						t.Errorf("claimer %d: claim not in (due_at, id) order: %s then %s", c, p.ID, d.ID)
					}
				}
				mu.Lock()
				for _, d := range got {
					claimed[d.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	if len(claimed) != tickets*perTicket {
		t.Errorf("%d distinct deadlines claimed, want %d", len(claimed), tickets*perTicket)
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("deadline %s claimed %d times", id, n)
		}
	}
	err = nodes[1].View(ctx, func(tx store.Tx) error {
		next, err := tx.NextDue(ctx)
		if err != nil {
			return err
		}
		if !next.IsZero() {
			t.Errorf("NextDue = %v after every deadline was claimed, want the zero time", next)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDeadlineOnUnknownTicketIsNotFound(t *testing.T) {
	db := mustOpen(t, freshSchema(t))
	ctx := t.Context()
	now := time.Now()
	err := db.Update(ctx, func(tx store.Tx) error {
		return tx.ScheduleDeadline(ctx, &store.Deadline{ID: "dl_1", TicketID: "tkt_missing",
			Kind: "sla.breached", Target: "resolution", DueAt: now, CreatedAt: now})
	})
	if escalated.ErrorCode(err) != escalated.ENOTFOUND || !strings.Contains(err.Error(), "tkt_missing") {
		t.Errorf("ScheduleDeadline on an unknown ticket: %v, want not_found naming tkt_missing", err)
	}
}
