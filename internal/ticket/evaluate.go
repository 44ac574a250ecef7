package ticket

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/decide"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
)

// Evaluation is what the policy would do with a ticket or a handoff (POST /v1/evaluate).
type Evaluation struct {
	// Escalate says whether the ticket would end up held by an escalation (for a handoff:
	// always, a handoff is one).
	Escalate bool    `json:"escalate"`
	To       *string `json:"to"`
	Reason   *string `json:"reason"`
	Trigger  *string `json:"trigger"`
	// Rules are the rules that would fire, in order; Trace every rule on every event, fired or
	// not, and why (as explain shows it).
	Rules []string `json:"rules"`
	Trace []Step   `json:"trace"`
	// Team and Assignee are where the ticket would be afterwards.
	Team     string  `json:"team"`
	Assignee *string `json:"assignee"`
	// Handoff is the answer a handoff would get (queue position, estimated wait, package
	// completeness); nil for a ticket.
	Handoff *HandoffResult `json:"handoff,omitempty"`
	// Refused holds, for a handoff the policy would refuse as incomplete, the field errors the
	// refusal would name.
	Refused map[string]string `json:"refused,omitempty"`
}

// EvaluateTicket runs a new ticket (the body of POST /v1/tickets) through the real engine:
// routing, SLA plan, every rule and the escalations they make, inside a transaction that is
// then rolled back, so nothing is written, announced or delivered.
func (s *Service) EvaluateTicket(ctx context.Context, in CreateInput) (*Evaluation, error) {
	p, live, err := s.checkNewTicket(ctx, access.Evaluate, &in)
	if err != nil {
		return nil, err
	}
	now := escalated.Truncate(s.now())
	sig := messageSignals(live, in.Message.Body)
	var out *Evaluation
	err = s.dryRun(ctx, func(tx store.Tx) error {
		ch, err := s.createTx(ctx, tx, live, p.Actor(), in, escalated.NewID(escalated.PrefixTicket, now), now)
		if err != nil {
			return err
		}
		m := s.newMessage(ch.t, in.Message, now)
		m.Signals = sig
		applyMessage(ch.t, m, map[string]escalated.Change{})
		ch.message(m)
		if err := s.commit(ctx, tx, ch, live); err != nil {
			return err
		}
		out = evaluation(ch, "")
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	return out, nil
}

// EvaluateHandoff runs a handoff (the body of POST /v1/handoffs) through the real engine and
// rolls it back: where it would go, by which rules, at which place in line, and whether the
// policy would refuse it as incomplete. handoff_id is not looked up or stored.
func (s *Service) EvaluateHandoff(ctx context.Context, in HandoffInput) (*Evaluation, error) {
	p, err := access.Authorize(ctx, access.Evaluate)
	if err != nil {
		return nil, err
	}
	// Evaluating a handoff into an existing ticket answers with that ticket's team, assignee
	// and account: the right to read tickets, which a bot has not got.
	if in.TicketID != "" {
		if _, err := access.Authorize(ctx, access.ReadTickets); err != nil {
			return nil, escalated.Errorf(escalated.EFORBIDDEN, "role %s may evaluate a new conversation, not an existing ticket (ticket_id)", p.Role)
		}
	}
	live, err := s.policy()
	if err != nil {
		return nil, err
	}
	now := escalated.Truncate(s.now())
	if err := checkHandoff(live.Policy, &in, now); err != nil {
		return nil, err
	}
	var out *Evaluation
	err = s.dryRun(ctx, func(tx store.Tx) error {
		res, ch, err := s.handoffTx(ctx, tx, live, p, in, now, true)
		if err != nil {
			return err
		}
		out = evaluation(ch, res.EscalationID)
		out.Handoff = res
		if res.Flagged && live.Policy.Escalation.OnIncomplete != policy.OnIncompleteAcceptFlagged {
			out.Refused = escalated.ErrorFields(incompleteHandoff(res.Missing))
			res.Flagged = false
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	return out, nil
}

// dryRun runs fn in a write transaction (the engine needs its reads and writes to see each
// other) and rolls it back. A store may run fn more than once; the last run's result stands.
func (s *Service) dryRun(ctx context.Context, fn func(tx store.Tx) error) error {
	err := s.store.Update(store.ExpectRollback(ctx), func(tx store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errDryRun
	})
	if errors.Is(err, errDryRun) {
		return nil
	}
	return err
}

// evaluation reads the verdict off a change: the escalation it made (escID, else the one now
// holding the ticket if the change made it), the rules that fired, the trace.
func evaluation(ch *change, escID string) *Evaluation {
	t := ch.t
	out := &Evaluation{Rules: []string{}, Trace: nonNilSteps(ch.steps), Team: t.Team}
	if t.Assignee != "" {
		a := t.Assignee
		out.Assignee = &a
	}
	if escID == "" {
		escID = t.ActiveEscalation
	}
	if e := ch.escs[escID]; e != nil && e.CreatedAt.Equal(ch.now) {
		to, reason, trigger := e.ToTeam, string(e.Reason), string(e.Trigger)
		out.Escalate, out.To, out.Reason, out.Trigger = true, &to, &reason, &trigger
	}
	for _, st := range ch.steps {
		for _, r := range st.Rules {
			if r.Outcome == decide.OutcomeFired && !slices.Contains(out.Rules, r.Rule) {
				out.Rules = append(out.Rules, r.Rule)
			}
		}
	}
	return out
}

func nonNilSteps(s []Step) []Step {
	if s == nil {
		return []Step{}
	}
	return s
}
