package ticket

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/store"
)

// Patch changes some fields of a ticket. Nil fields stay as they are. Assignee "" unassigns.
// CustomFields merge into the ticket's; a nil value removes that field.
type Patch struct {
	Subject      *string
	Status       *escalated.Status
	Priority     *escalated.Priority
	IssueType    *string
	Language     *string
	Tags         *[]string
	Assignee     *string
	CustomFields map[string]any
	// By is the agent making the change, if a person is.
	By string
}

// PatchTicket applies p and returns the ticket as it now is. Solving a ticket resolves its
// acknowledged escalation; a pending one must be acknowledged first, so that an escalation is
// never silently dropped.
func (s *Service) PatchTicket(ctx context.Context, id string, p Patch) (*Detail, error) {
	if err := s.ApplyPatch(ctx, id, p); err != nil {
		return nil, err
	}
	return s.GetTicket(ctx, id)
}

// ApplyPatch is PatchTicket without reading the ticket back, for a caller that does not look
// at it (the simulator, where reading the history back was a thirtieth of a replay's CPU).
func (s *Service) ApplyPatch(ctx context.Context, id string, p Patch) error {
	pr, err := access.Authorize(ctx, access.WriteTickets)
	if err != nil {
		return err
	}
	live, err := s.policy()
	if err != nil {
		return err
	}
	pol := live.Policy
	fe := escalated.FieldErrors{}
	if p.Subject != nil {
		*p.Subject = trim(*p.Subject)
		checkText(fe, "subject", *p.Subject, true, MaxSubject)
	}
	if p.Status != nil && !p.Status.Valid() {
		fe.Add("status", oneOf(escalated.Statuses))
	} else if p.Status != nil && *p.Status == escalated.StatusNew {
		fe.Add("status", "a ticket cannot be set back to new; use open")
	}
	if p.Priority != nil && !p.Priority.Valid() {
		fe.Add("priority", oneOf(escalated.Priorities))
	}
	if p.IssueType != nil {
		*p.IssueType = strings.ToLower(trim(*p.IssueType))
		checkSlug(fe, "issue_type", *p.IssueType)
	}
	if p.Language != nil && !languageRE.MatchString(*p.Language) {
		fe.Add("language", "must be a language code such as en, pt or pt-BR")
	}
	if p.Tags != nil {
		*p.Tags = normTags(fe, "tags", *p.Tags)
	}
	if p.Assignee != nil {
		*p.Assignee = trim(*p.Assignee)
		checkAgent(fe, pol, "assignee", *p.Assignee)
	}
	if p.By, err = actingAs(ctx, "by", trim(p.By)); err != nil {
		return err
	}
	checkAgent(fe, pol, "by", p.By)
	checkCustomFields(fe, "custom_fields", p.CustomFields)
	if err := fe.Err(); err != nil {
		return err
	}

	err = s.store.Update(ctx, func(tx store.Tx) error {
		t, err := s.writeTicket(ctx, tx, id)
		if err != nil {
			return err
		}
		if t.Status == escalated.StatusClosed {
			return escalated.Errorf(escalated.ECONFLICT, "ticket %s is closed and can no longer change", t.ID)
		}
		now := escalated.Truncate(s.now())
		ch := newChange(t, pr.Actor(), now)
		ch.live = live
		changes := map[string]escalated.Change{}
		if p.Subject != nil && *p.Subject != t.Subject {
			changes["subject"] = escalated.Change{From: t.Subject, To: *p.Subject}
			t.Subject = *p.Subject
		}
		if p.Priority != nil && *p.Priority != t.Priority {
			changes["priority"] = escalated.Change{From: t.Priority, To: *p.Priority}
			t.Priority = *p.Priority
		}
		if p.IssueType != nil && *p.IssueType != t.IssueType {
			changes["issue_type"] = escalated.Change{From: t.IssueType, To: *p.IssueType}
			t.IssueType = *p.IssueType
		}
		if p.Language != nil && *p.Language != t.Language {
			changes["language"] = escalated.Change{From: t.Language, To: *p.Language}
			t.Language = *p.Language
		}
		if p.Tags != nil && !slices.Equal(*p.Tags, t.Tags) {
			changes["tags"] = escalated.Change{From: t.Tags, To: *p.Tags}
			t.Tags = *p.Tags
		}
		if p.Assignee != nil && *p.Assignee != t.Assignee {
			if *p.Assignee != "" && !memberOf(pol, *p.Assignee, t.Team) {
				return escalated.Invalid("assignee", fmt.Sprintf("agent %q is not a member of team %q, which holds the ticket", *p.Assignee, t.Team))
			}
			if t.Assignee != "" && *p.Assignee != "" {
				t.Counters.Reassignments++
			}
			changes["assignee"] = escalated.Change{From: nullable(t.Assignee), To: nullable(*p.Assignee)}
			t.Assignee = *p.Assignee
		}
		if len(p.CustomFields) > 0 {
			next := maps.Clone(t.CustomFields)
			if next == nil {
				next = map[string]any{}
			}
			for k, v := range p.CustomFields {
				if v == nil {
					delete(next, k)
				} else {
					next[k] = v
				}
			}
			if len(next) > MaxCustomFields {
				return escalated.Invalid("custom_fields", fmt.Sprintf("a ticket has at most %d custom fields", MaxCustomFields))
			}
			if !maps.EqualFunc(next, t.CustomFields, func(a, b any) bool { return a == b }) {
				changes["custom_fields"] = escalated.Change{From: t.CustomFields, To: next}
				t.CustomFields = next
			}
		}
		if p.Status != nil && *p.Status != t.Status {
			if p.Status.Done() && t.ActiveEscalation != "" {
				// Solving here resolves an escalation, which is the receiving team's call.
				if !access.Allowed(pr.Role, access.HandleEscalation) {
					return escalated.Errorf(escalated.EFORBIDDEN, "role %s may not solve a ticket that holds escalation %s: resolving escalations needs %s", pr.Role, t.ActiveEscalation, access.HandleEscalation)
				}
				if err := s.resolveOnSolve(ctx, tx, ch, t, p.By); err != nil {
					return err
				}
			}
			setStatus(t, *p.Status, changes)
		}
		if len(changes) == 0 && len(ch.events) == 0 {
			return nil
		}
		ch.updated(changes)
		return s.commit(ctx, tx, ch, live)
	})
	if err != nil {
		return fmt.Errorf("patch ticket: %w", err)
	}
	return nil
}

// resolveOnSolve resolves the acknowledged escalation of a ticket being solved.
func (s *Service) resolveOnSolve(ctx context.Context, tx store.Tx, ch *change, t *escalated.Ticket, by string) error {
	e, err := tx.GetEscalation(ctx, t.ActiveEscalation)
	if err != nil {
		return err
	}
	if e.State == escalated.EscalationPending {
		return escalated.Errorf(escalated.ECONFLICT, "escalation %s to %s is pending; acknowledge it before solving the ticket", e.ID, e.ToTeam)
	}
	if by != "" && !memberOf(ch.live.Policy, by, e.ToTeam) {
		return escalated.Invalid("by", fmt.Sprintf("agent %q is not a member of team %q, which holds escalation %s", by, e.ToTeam, e.ID))
	}
	return s.closeEscalation(ctx, tx, ch, t, e, escalated.EscalationResolved, by, func(e *escalated.Escalation) {
		e.Resolution = "ticket solved"
	})
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
