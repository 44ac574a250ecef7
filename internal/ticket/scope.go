package ticket

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
)

// Scope is the teams whose tickets a principal may see and work. Agents see their own teams'
// tickets (and those the policy's sees grants); the other roles are limited by their rights
// alone, except a supervisor signed in to the console, who sees the teams they look after.
//
// A ticket is in scope when its team is one of Teams, or when one of its escalations came from
// or went to one of them: an agent who escalated a ticket away can follow what became of it,
// and the receiving team sees where it came from. A ticket out of scope is answered as not
// found, so that an id tells nothing about another team's work.
type Scope struct {
	// All lifts the limit.
	All bool
	// Teams are the teams in scope when All is false; none means nothing is.
	Teams []string
	// Person is whose teams these are ("" for a token that acts for no one), and Why says, for
	// an empty scope, what is missing: both go into the errors.
	Person, Why string
}

// scope returns the scope of the principal in ctx under the live policy.
func (s *Service) scope(ctx context.Context) Scope {
	p, _ := escalated.PrincipalFrom(ctx)
	var pol *policy.Policy
	if live := s.Policy(); live != nil {
		pol = live.Policy
	}
	return ScopeOf(p, pol)
}

// ScopeOf returns p's scope under pol (nil: no policy is loaded yet, so no person is known).
func ScopeOf(p escalated.Principal, pol *policy.Policy) Scope {
	who := p.Person()
	if pol == nil && (p.Role == escalated.RoleAgent || (p.Role == escalated.RoleSupervisor && p.User != "")) {
		return Scope{Person: who, Why: "no policy is loaded yet"}
	}
	switch p.Role {
	case escalated.RoleAgent:
		if who == "" {
			return Scope{Why: fmt.Sprintf("token %s has role agent but acts for no agent (tokens made before agents were named); an admin can make one that does: escalated token create --role agent --agent ID", p.Name)}
		}
		a, ok := pol.Agent(who)
		if !ok {
			return Scope{Person: who, Why: fmt.Sprintf("agent %s is not in the live policy", who)}
		}
		if a.SeesAll {
			return Scope{All: true, Person: who}
		}
		teams := slices.Clone(a.Teams)
		for _, t := range a.Sees {
			if !slices.Contains(teams, t) {
				teams = append(teams, t)
			}
		}
		return Scope{Teams: teams, Person: who}
	case escalated.RoleSupervisor:
		if p.User == "" {
			return Scope{All: true}
		}
		sup, ok := pol.Supervisor(p.User)
		if !ok {
			return Scope{Person: who, Why: fmt.Sprintf("supervisor %s is not in the live policy", who)}
		}
		if len(sup.Teams) == 0 {
			return Scope{All: true, Person: who}
		}
		return Scope{Teams: slices.Clone(sup.Teams), Person: who}
	}
	return Scope{All: true}
}

// Has reports whether team is in scope.
func (sc Scope) Has(team string) bool { return sc.All || slices.Contains(sc.Teams, team) }

// Sees reports whether a ticket with these escalations is in scope.
func (sc Scope) Sees(t *escalated.Ticket, escs []*escalated.Escalation) bool {
	if sc.Has(t.Team) {
		return true
	}
	for _, e := range escs {
		if sc.Has(e.FromTeam) || sc.Has(e.ToTeam) {
			return true
		}
	}
	return false
}

// describe names the scope for an error message.
func (sc Scope) describe() string {
	if len(sc.Teams) == 0 {
		return "no team: " + sc.Why
	}
	return "teams " + strings.Join(sc.Teams, ", ")
}

// hidden is the answer for a ticket out of scope: not found, as for one that does not exist.
func (sc Scope) hidden(id string) error {
	if len(sc.Teams) == 0 && !sc.All {
		return escalated.Errorf(escalated.ENOTFOUND, "ticket %s not found: this principal sees %s", id, sc.describe())
	}
	return escalated.Errorf(escalated.ENOTFOUND, "ticket %s not found in the work of %s", id, sc.describe())
}

// checkTicket returns hidden unless t is in scope; it reads the ticket's escalations only
// when its own team is out of scope.
func (sc Scope) checkTicket(ctx context.Context, tx store.Tx, t *escalated.Ticket) error {
	if sc.Has(t.Team) {
		return nil
	}
	escs, err := ticketEscalations(ctx, tx, t.ID)
	if err != nil {
		return err
	}
	if !sc.Sees(t, escs) {
		return sc.hidden(t.ID)
	}
	return nil
}

// team settles the team filter of a list: a team out of scope is forbidden, and a scope of
// several teams needs one named (the lists are one team's, newest first, with a cursor; a
// merge of several would page badly). field is the request parameter's name.
func (sc Scope) team(field, team string) (string, error) {
	switch {
	case sc.All:
		return team, nil
	case len(sc.Teams) == 0:
		return "", escalated.Errorf(escalated.EFORBIDDEN, "this principal sees no team's tickets: %s", sc.Why)
	case team == "" && len(sc.Teams) == 1:
		return sc.Teams[0], nil
	case team == "":
		return "", escalated.Invalid(field, fmt.Sprintf("is required: %s sees the tickets of %s; name one of them", sc.Person, sc.describe()))
	case !sc.Has(team):
		return "", escalated.Errorf(escalated.EFORBIDDEN, "team %s is not in the work of %s (%s)", team, sc.Person, sc.describe())
	}
	return team, nil
}

// getTicket reads a ticket for the principal in ctx: not found when it is out of their scope
// (with the same answer as for a ticket that does not exist). Every read of one ticket goes
// through it.
func (s *Service) getTicket(ctx context.Context, tx store.Tx, id string) (*escalated.Ticket, error) {
	sc := s.scope(ctx)
	t, err := tx.GetTicket(ctx, id)
	if err != nil {
		return nil, sc.notFound(err, id)
	}
	if err := sc.checkTicket(ctx, tx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// writeTicket reads a ticket the principal in ctx is about to change. Following a ticket (it
// was escalated from or to one of their teams) lets an agent read it; changing it takes the
// team that holds it now.
func (s *Service) writeTicket(ctx context.Context, tx store.Tx, id string) (*escalated.Ticket, error) {
	t, err := s.getTicket(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if sc := s.scope(ctx); !sc.Has(t.Team) {
		return nil, escalated.Errorf(escalated.EFORBIDDEN, "ticket %s is held by team %s: %s follows it but changes only the tickets of %s",
			id, t.Team, sc.Person, sc.describe())
	}
	return t, nil
}

// notFound makes a store's not_found for id the scope's answer, so that a limited principal
// cannot tell a ticket that does not exist from one out of its scope.
func (sc Scope) notFound(err error, id string) error {
	if !sc.All && escalated.ErrorCode(err) == escalated.ENOTFOUND {
		return sc.hidden(id)
	}
	return err
}

// getEscalation reads an escalation for the principal in ctx: not found when neither of its
// teams nor its ticket is in their scope.
func (s *Service) getEscalation(ctx context.Context, tx store.Tx, id string) (*escalated.Escalation, error) {
	sc := s.scope(ctx)
	hidden := func() error {
		return escalated.Errorf(escalated.ENOTFOUND, "escalation %s not found in the work of %s", id, sc.describe())
	}
	e, err := tx.GetEscalation(ctx, id)
	if err != nil {
		if !sc.All && escalated.ErrorCode(err) == escalated.ENOTFOUND {
			return nil, hidden()
		}
		return nil, err
	}
	if sc.Has(e.FromTeam) || sc.Has(e.ToTeam) {
		return e, nil
	}
	t, err := tx.GetTicket(ctx, e.TicketID)
	if err != nil {
		return nil, err
	}
	if err := sc.checkTicket(ctx, tx, t); err != nil {
		return nil, hidden()
	}
	return e, nil
}

// handleEscalation reads an escalation the principal in ctx is about to acknowledge, return
// or resolve: that takes the team it went to.
func (s *Service) handleEscalation(ctx context.Context, tx store.Tx, id string) (*escalated.Escalation, error) {
	e, err := s.getEscalation(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if sc := s.scope(ctx); !sc.Has(e.ToTeam) {
		return nil, escalated.Errorf(escalated.EFORBIDDEN, "escalation %s went to team %s: its agents handle it, not %s (%s)", id, e.ToTeam, sc.Person, sc.describe())
	}
	return e, nil
}

// actingAs settles whom a request speaks for (by): an agent speaks for themselves only, and
// leaving by out means them; other principals name any agent of the policy (checked by the
// caller) or none.
func actingAs(ctx context.Context, field, by string) (string, error) {
	p, _ := escalated.PrincipalFrom(ctx)
	if p.Role != escalated.RoleAgent {
		return by, nil
	}
	who := p.Person()
	if by != "" && by != who {
		return "", escalated.Errorf(escalated.EFORBIDDEN, "%s is %s: an agent acts as themselves (%s), or leaves it out", field, by, cmp.Or(who, "no agent: this token acts for none"))
	}
	return who, nil
}

// authorAs settles a message's author for the principal in ctx: an agent writes as themselves
// (an author left out, or without an id, is them), never as another agent, the customer or a
// bot.
func authorAs(ctx context.Context, a escalated.Author) (escalated.Author, error) {
	p, _ := escalated.PrincipalFrom(ctx)
	if p.Role != escalated.RoleAgent {
		return a, nil
	}
	who := p.Person()
	if a.Kind == "" {
		a.Kind = escalated.AuthorAgent
	}
	if a.Kind != escalated.AuthorAgent || (a.ID != "" && a.ID != who) {
		return a, escalated.Errorf(escalated.EFORBIDDEN, "author is %s %s: an agent writes as themselves (kind agent, id %s)",
			a.Kind, cmp.Or(a.ID, "(no id)"), cmp.Or(who, "of the agent the token acts for; this one acts for none"))
	}
	a.ID = who
	return a, nil
}
