package app

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/demo"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/ticket"
	"github.com/escalated/escalated/internal/web"
)

// SeedDemo loads the demo tickets into an empty database by replaying them through the ticket
// service at their historical times, then creates an admin token and prints how to use it. A
// database that already has tickets is left as it is, so restarting the demo keeps its state.
func (a *App) SeedDemo(ctx context.Context, w io.Writer) error {
	ctx = escalated.WithPrincipal(ctx, escalated.Principal{Name: "demo-loader", Role: escalated.RoleAdmin})
	existing, _, err := a.Tickets.ListTickets(ctx, store.TicketFilter{Limit: 1})
	if err != nil {
		return err
	}
	seeded := 0
	if len(existing) == 0 {
		if seeded, err = a.seedTickets(ctx); err != nil {
			return fmt.Errorf("load demo tickets: %w", err)
		}
	}
	secret, _, err := a.Access.CreateToken(ctx, access.NewToken{Name: "demo-admin", Role: escalated.RoleAdmin}, "system:demo")
	if err != nil {
		return err
	}
	base := "http://" + a.Addr()
	if seeded > 0 {
		fmt.Fprintf(w, "\nescalated demo: loaded %d sample tickets (derived from the Bitext customer-support sample).\n", seeded)
	} else {
		fmt.Fprintf(w, "\nescalated demo: the database already holds tickets; kept them.\n")
	}
	fmt.Fprintf(w, "Admin token (shown once):\n\n  export ESCALATED_TOKEN=%s\n\nTry:\n  curl -s -H \"Authorization: Bearer $ESCALATED_TOKEN\" '%s/v1/tickets?escalated=true&limit=5'\n  curl -s -H \"Authorization: Bearer $ESCALATED_TOKEN\" %s/v1/teams\n\n", secret, base, base)
	// Only the built-in demo policy's people: with --policy the people are real ones.
	people := 0
	if a.Config.PolicyPath == "" {
		if people, err = a.demoPasswords(ctx); err != nil {
			return err
		}
	}
	if people > 0 {
		fmt.Fprintf(w, "Console: %s/login as ana (frontline agent), priya (billing agent) or maya (supervisor),\n"+
			"password %q (every person of the demo policy has it; a demo only).\n\n", base, DemoPassword)
	}
	return nil
}

// DemoPassword is the console password every person of the demo policy gets with serve --demo,
// so the console can be tried with one command. Never set outside the demo.
const DemoPassword = "escalated-demo"

// demoPasswords gives every agent and supervisor of the demo policy the demo password, unless
// they already have one (a password changed in the demo stays), and returns how many people
// can sign in with it.
func (a *App) demoPasswords(ctx context.Context) (int, error) {
	live := a.Tickets.Policy()
	if live == nil {
		return 0, nil
	}
	var ids []string
	for _, ag := range live.Policy.Agents {
		ids = append(ids, ag.ID)
	}
	for _, sup := range live.Policy.Supervisors {
		ids = append(ids, sup.ID)
	}
	hash, err := web.HashPassword(DemoPassword)
	if err != nil {
		return 0, err
	}
	n := 0
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		n = 0
		for _, id := range ids {
			_, err := tx.GetCredential(ctx, id)
			switch {
			case escalated.ErrorCode(err) == escalated.ENOTFOUND:
				if err := tx.SetCredential(ctx, &store.Credential{UserID: id, Hash: hash, UpdatedAt: a.Now()}); err != nil {
					return err
				}
			case err != nil:
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

func (a *App) seedTickets(ctx context.Context) (int, error) {
	tickets, err := demo.Tickets()
	if err != nil {
		return 0, err
	}
	// Oldest first, so that ids (which sort by time) follow the story.
	slices.SortStableFunc(tickets, func(x, y demo.Ticket) int { return y.AgeMinutes - x.AgeMinutes })
	now := a.Now()
	var at time.Time
	svc := a.Tickets.WithClock(func() time.Time { return at })
	pol := svc.Policy().Policy
	// Deadlines that fall due during the replay fire at their due times before the replay
	// moves past them, so that a breach sits in a ticket's history where it happened live.
	var fireErr error
	step := func(t time.Time) {
		at = t
		if t.After(now) {
			at = now
		}
		if fireErr == nil {
			fireErr = replayDeadlines(ctx, a.Store, svc, at)
		}
	}
	for i, dt := range tickets {
		created := dt.CreatedAt(now)
		step(created)
		cust, acct := dt.Customer.Domain(dt.Account.ID), dt.Account.Domain()
		first := dt.Messages[0]
		d, err := svc.CreateTicket(ctx, ticket.CreateInput{
			Subject: dt.Subject, Priority: dt.Priority, Channel: dt.Channel, IssueType: dt.IssueType,
			Language: dt.Language, Tags: dt.Tags, Customer: &cust, Account: &acct,
			Message: &ticket.MessageInput{Author: escalated.Author{Kind: first.Author.Kind, ID: first.Author.ID, Name: cust.Name}, Body: first.Body},
		})
		if err != nil {
			return i, fmt.Errorf("ticket %d (%s): %w", i+1, dt.Subject, err)
		}
		id := d.Ticket.ID
		last := created
		for _, m := range dt.Messages[1:] {
			last = created.Add(time.Duration(m.OffsetMinutes) * time.Minute)
			step(last)
			author := escalated.Author{Kind: m.Author.Kind, ID: m.Author.ID}
			if m.Author.Kind == escalated.AuthorCustomer {
				author.Name = cust.Name
			}
			if _, err := svc.AddMessage(ctx, id, ticket.MessageInput{Author: author, Body: m.Body}); err != nil {
				return i, fmt.Errorf("ticket %d message: %w", i+1, err)
			}
		}
		e := dt.Escalate
		if fireErr != nil {
			return i, fmt.Errorf("ticket %d deadlines: %w", i+1, fireErr)
		}
		if e == nil {
			continue
		}
		step(last.Add(7 * time.Minute))
		esc, err := svc.Escalate(ctx, id, ticket.EscalateInput{To: e.To, Reason: e.Reason, Note: e.Note, By: e.By})
		if code := escalated.ErrorCode(err); code == escalated.ECONFLICT || code == escalated.EINVALID {
			// The policy got there first (an SLA breach escalated the ticket, and the
			// escalation is still pending or moved it off the recorded path): keep its story.
			continue
		}
		if err != nil {
			return i, fmt.Errorf("ticket %d escalation: %w", i+1, err)
		}
		if e.Then == demo.OutcomePending {
			continue
		}
		receiver := ""
		for _, ag := range pol.Agents {
			if slices.Contains(ag.Teams, esc.ToTeam) {
				receiver = ag.ID
				break
			}
		}
		step(last.Add(25 * time.Minute))
		if _, err := svc.Acknowledge(ctx, esc.ID, receiver); escalated.ErrorCode(err) == escalated.ECONFLICT {
			continue // nobody acknowledged within the target, and the policy moved it on
		} else if err != nil {
			return i, fmt.Errorf("ticket %d acknowledge: %w", i+1, err)
		}
		step(last.Add(3 * time.Hour))
		switch e.Then {
		case demo.OutcomeResolve:
			_, err = svc.Resolve(ctx, esc.ID, receiver, "Handled by "+esc.ToTeam+": "+resolutionFor(dt))
		case demo.OutcomeReturn:
			no := false
			_, err = svc.Return(ctx, esc.ID, ticket.ReturnInput{By: receiver, Reason: "Frontline can handle this with the standard procedure for " + dt.IssueType, Necessary: &no})
		}
		if err != nil {
			return i, fmt.Errorf("ticket %d %s: %w", i+1, e.Then, err)
		}
	}
	step(now)
	if fireErr != nil {
		return len(tickets), fmt.Errorf("deadlines: %w", fireErr)
	}
	return len(tickets), nil
}

// replayDeadlines fires, each at its own due time, the deadlines due by t, in due order.
func replayDeadlines(ctx context.Context, st store.Store, svc *ticket.Service, t time.Time) error {
	const batch = 64
	for {
		claimed := 0
		err := st.Update(ctx, func(tx store.Tx) error {
			ds, err := tx.ClaimDue(ctx, t, batch)
			if err != nil {
				return err
			}
			claimed = len(ds)
			for _, d := range ds {
				if _, err := svc.FireDeadline(ctx, tx, d, d.DueAt); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil || claimed < batch {
			return err
		}
	}
}

func resolutionFor(dt demo.Ticket) string {
	return fmt.Sprintf("resolved the %s request for %s and confirmed with the customer.", dt.IssueType, dt.Account.Name)
}
