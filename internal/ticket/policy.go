package ticket

import (
	"context"
	"errors"
	"fmt"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
)

// PolicyProblems is a policy document's check result in a form the API and CLI can print.
type PolicyProblems struct {
	Valid    bool            `json:"valid"`
	Summary  string          `json:"summary,omitempty"`
	Errors   []PolicyProblem `json:"errors"`
	Warnings []PolicyProblem `json:"warnings"`
}

// PolicyProblem is one error or warning at its place in the document.
type PolicyProblem struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

// CheckPolicy parses and validates a draft without touching the live policy.
func (s *Service) CheckPolicy(ctx context.Context, name string, src []byte) (*PolicyProblems, *policy.Policy, error) {
	if _, err := access.Authorize(ctx, access.ManagePolicy); err != nil {
		return nil, nil, err
	}
	out, p := checkPolicy(name, src)
	return out, p, nil
}

func checkPolicy(name string, src []byte) (*PolicyProblems, *policy.Policy) {
	out := &PolicyProblems{Errors: []PolicyProblem{}, Warnings: []PolicyProblem{}}
	p, err := policy.Parse(name, src)
	var list policy.ErrorList
	switch {
	case errors.As(err, &list):
		for _, e := range list {
			out.Errors = append(out.Errors, PolicyProblem{Line: e.Line, Column: e.Column, Message: e.Msg})
		}
		return out, nil
	case err != nil:
		out.Errors = append(out.Errors, PolicyProblem{Line: 1, Column: 1, Message: err.Error()})
		return out, nil
	}
	out.Valid, out.Summary = true, p.Summary()
	for _, w := range p.Warnings {
		out.Warnings = append(out.Warnings, PolicyProblem{Line: w.Line, Column: w.Column, Message: w.Msg})
	}
	return out, p
}

// ReplacePolicy checks a new policy document and, when it is valid, stores it as a new version
// and makes it live atomically; an invalid one is refused with its problems and the old policy
// keeps running.
func (s *Service) ReplacePolicy(ctx context.Context, src []byte) (*Live, *PolicyProblems, error) {
	pr, err := access.Authorize(ctx, access.ManagePolicy)
	if err != nil {
		return nil, nil, err
	}
	if len(src) > MaxPolicySize {
		return nil, nil, escalated.Errorf(escalated.ETOOLARGE, "policy is larger than %d bytes", MaxPolicySize)
	}
	problems, p := checkPolicy("policy.yaml", src)
	if !problems.Valid {
		fields := map[string]string{}
		for _, e := range problems.Errors {
			// Several problems can share a position; keep them all.
			k := fmt.Sprintf("%d:%d", e.Line, e.Column)
			if prev, ok := fields[k]; ok {
				fields[k] = prev + "; " + e.Message
			} else {
				fields[k] = e.Message
			}
		}
		return nil, problems, &escalated.Error{Code: escalated.EINVALID,
			Message: fmt.Sprintf("policy refused: %d problem(s); the live policy is unchanged", len(problems.Errors)), Fields: fields}
	}
	v, err := s.LoadPolicy(ctx, p, pr.Actor())
	if err != nil {
		return nil, problems, err
	}
	if l := s.Policy(); l != nil && l.Version == v {
		return l, problems, nil
	}
	return &Live{Policy: p, Version: v}, problems, nil
}

// PolicyVersions lists the stored policy versions, newest first.
func (s *Service) PolicyVersions(ctx context.Context) ([]*escalated.PolicyVersion, error) {
	if _, err := access.Authorize(ctx, access.ReadTickets); err != nil {
		return nil, err
	}
	var out []*escalated.PolicyVersion
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.ListPolicies(ctx)
		return err
	})
	return out, err
}

// Explain returns the policy's latest decision on a ticket: for the events its last change
// raised, every rule, matched or not, and why.
func (s *Service) Explain(ctx context.Context, ticketID string) (*escalated.Decision, error) {
	if _, err := access.Authorize(ctx, access.ReadTickets); err != nil {
		return nil, err
	}
	var d *escalated.Decision
	err := s.store.View(ctx, func(tx store.Tx) error {
		if _, err := s.getTicket(ctx, tx, ticketID); err != nil {
			return err
		}
		var err error
		d, err = tx.LatestDecision(ctx, ticketID)
		return err
	})
	return d, err
}
