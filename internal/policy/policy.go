package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// KindAccountTeam is the team kind that serves named accounts; any team may hand such an
// account's ticket to it, path or not.
const KindAccountTeam = "account_team"

// Agent statuses a policy may start an agent in.
const (
	StatusOnline  = "online"
	StatusAway    = "away"
	StatusOffline = "offline"
)

// What escalation.on_incomplete may say about a handoff package missing required fields.
const (
	OnIncompleteReject        = "reject"
	OnIncompleteAcceptFlagged = "accept_flagged"
)

// DefaultCapacity is the number of open tickets an agent takes when the policy says capacity 0
// or nothing: a cap of zero would make the agent unroutable, which nobody writes on purpose.
const DefaultCapacity = 10

// Policy is a validated policy document. Parse is the only way to build one: the lookup methods
// rely on indexes that Parse fills, and every reference between sections has been checked, so
// callers may trust that a team's tier or an agent's team exists. A Policy is never modified
// after Parse returns, so one value may be shared by any number of goroutines.
type Policy struct {
	Version int
	Intake  string

	Calendars []Calendar
	Tiers     []Tier
	Teams     []Team
	Agents    []Agent
	// Supervisors oversee teams in the console (dashboard, policy, every queue) and take no
	// tickets.
	Supervisors []Supervisor
	Paths       []Path
	Escalation  EscalationSettings

	// Signals configure the per-message signal extractor; Rules are the automated triggers,
	// in file order, with their conditions compiled.
	Signals SignalsConfig
	Rules   []Rule

	// SLA and Channels are compiled by the packages that own them; Parse checks only their
	// outer shape (and SLA durations) and keeps them as nodes so those packages can report
	// their own errors with exact positions (CompileConditionNode positions an SLA plan's
	// condition). They are nil when absent or null. Aliases and merge keys are already
	// expanded, so the nodes never contain an AliasNode.
	SLA, Channels *yaml.Node
	// SLAPlans are the sla section's plans in file order; the first whose When holds applies.
	SLAPlans []SLAPlan
	// ChannelIDs are the ids the channels section defines, in file order; notify actions
	// name one of them.
	ChannelIDs []string

	// Warnings are lint findings: the policy is valid and runs, but something in it is
	// probably not what its author meant (a rule that can never fire, a keyword list no rule
	// reads, a path cycle...). `policy check` prints them and still succeeds. Sorted by
	// position.
	Warnings []*Error

	// Source is the document exactly as given; Hash is the hex SHA-256 of Source, which tells
	// two stored versions apart without comparing text.
	Source []byte
	Hash   string

	tierIdx   map[string]int
	teamIdx   map[string]int
	agentIdx  map[string]int
	supIdx    map[string]int
	calIdx    map[string]int
	pathsFrom map[string][]string // from team -> targets in path order, without repeats
	batches   map[string]*eventBatch
}

// Calendar is the business hours of a team: SLA clocks run only while it is open.
type Calendar struct {
	ID       string
	Timezone string
	Location *time.Location
	// Hours are the open intervals of the week, Monday first, then by start. Overnight
	// intervals are already split at midnight, so no interval crosses a day boundary.
	Hours []DayHours
	// Holidays are closed dates (YYYY-MM-DD) in the calendar's time zone.
	Holidays []string
}

// DayHours is one open interval on one weekday.
type DayHours struct {
	Day time.Weekday
	// Start and End are minutes after midnight; End may be 1440 (24:00) for "until midnight".
	Start, End int
	// Days and Interval are the key and value as written ("mon-fri", "22:00-06:00"), so a
	// message about an interval can quote what the author typed.
	Days, Interval string
}

// Tier is a support level; Level 1 is frontline, higher levels are further up.
type Tier struct {
	ID    string
	Name  string
	Level int
}

// Team is a queue of work owned by one tier.
type Team struct {
	ID       string
	Name     string
	Tier     string
	Calendar string // "" when the team has none; lint warns, SLA clocks then run around the clock
	Kind     string // "" or KindAccountTeam
	Skills   []string
	Accounts []string // only for KindAccountTeam
	Fallback string   // team that takes overflow when nobody here can, or ""
	// Routing is how an agent is picked when a ticket enters the team: one of RoutingMethods,
	// least_loaded unless the policy says otherwise.
	Routing string
}

// RoutingMethods are the values of a team's routing key, the default first.
var RoutingMethods = []string{"least_loaded", "round_robin", "manual"}

// Agent is a person who works tickets.
type Agent struct {
	ID        string
	Name      string
	Teams     []string
	Skills    []string
	Languages []string
	Capacity  int    // open tickets at most; never 0 after Parse (see DefaultCapacity)
	Status    string // starting status: StatusOnline (default), StatusAway or StatusOffline
	Email     string
	// Sees are teams whose tickets the agent may see and work beyond their own Teams (a team
	// lead covering a neighbour, a specialist following escalations); SeesAll (sees: ["*"])
	// lifts the limit altogether.
	Sees    []string
	SeesAll bool
}

// Path allows escalation from every team in From to every team in To.
type Path struct {
	From []string
	To   []string
}

// EscalationSettings are the limits every escalation must respect.
type EscalationSettings struct {
	NoteMinLength         int      // minimum length of a manual escalation's note; 0 = no minimum
	RequiredPackageFields []string // handoff package fields that must be present
	MaxPerTicket          int      // escalations per ticket at most; 0 = unlimited
	OnIncomplete          string   // OnIncompleteReject (default) or OnIncompleteAcceptFlagged
}

// Tier returns the tier with the given id.
func (p *Policy) Tier(id string) (*Tier, bool) {
	i, ok := p.tierIdx[id]
	if !ok {
		return nil, false
	}
	return &p.Tiers[i], true
}

// Team returns the team with the given id.
func (p *Policy) Team(id string) (*Team, bool) {
	i, ok := p.teamIdx[id]
	if !ok {
		return nil, false
	}
	return &p.Teams[i], true
}

// Agent returns the agent with the given id.
func (p *Policy) Agent(id string) (*Agent, bool) {
	i, ok := p.agentIdx[id]
	if !ok {
		return nil, false
	}
	return &p.Agents[i], true
}

// Supervisor is a person who oversees teams: Teams are the ones they look after (none: all).
type Supervisor struct {
	ID    string
	Name  string
	Teams []string
	Email string
}

// Supervisor returns the supervisor with the given id.
func (p *Policy) Supervisor(id string) (*Supervisor, bool) {
	i, ok := p.supIdx[id]
	if !ok {
		return nil, false
	}
	return &p.Supervisors[i], true
}

// Calendar returns the calendar with the given id.
func (p *Policy) Calendar(id string) (*Calendar, bool) {
	i, ok := p.calIdx[id]
	if !ok {
		return nil, false
	}
	return &p.Calendars[i], true
}

// TierOfTeam returns the tier the team belongs to.
func (p *Policy) TierOfTeam(teamID string) (*Tier, bool) {
	t, ok := p.Team(teamID)
	if !ok {
		return nil, false
	}
	return p.Tier(t.Tier)
}

// IntakeTeam returns the team a new ticket enters when the request names none: the policy's
// intake, else the first team (file order) of tier level 1, else the first team of the lowest
// level, so that a policy whose levels start at 2 still has an entry point.
func (p *Policy) IntakeTeam() string {
	if p.Intake != "" {
		return p.Intake
	}
	best, bestLevel := "", 0
	for _, t := range p.Teams {
		tier, ok := p.Tier(t.Tier)
		if !ok {
			continue
		}
		if best == "" || tier.Level < bestLevel {
			best, bestLevel = t.ID, tier.Level
		}
		if bestLevel == 1 {
			break
		}
	}
	return best
}

// TeamsOfAgent returns the teams the agent is a member of, in policy order. The slice belongs to
// the policy, which is shared: callers must not modify it.
func (p *Policy) TeamsOfAgent(agentID string) []string {
	a, ok := p.Agent(agentID)
	if !ok {
		return nil
	}
	return a.Teams
}

// AccountTeamFor returns the first account team (file order) that lists the account.
func (p *Policy) AccountTeamFor(accountID string) (string, bool) {
	if accountID == "" {
		return "", false
	}
	for _, t := range p.Teams {
		if t.Kind == KindAccountTeam && slices.Contains(t.Accounts, accountID) {
			return t.ID, true
		}
	}
	return "", false
}

// Allowed reports whether moving a ticket from team `from` to team `to` is on a path. A move to
// an account team is also allowed from any team when accountID is one of that team's accounts,
// because an enterprise account's desk must be reachable from wherever its ticket happens to be.
// from == to is never allowed: that is not an escalation.
func (p *Policy) Allowed(from, to, accountID string) bool {
	if from == to {
		return false
	}
	if _, ok := p.teamIdx[from]; !ok {
		return false
	}
	target, ok := p.Team(to)
	if !ok {
		return false
	}
	if target.Kind == KindAccountTeam && accountID != "" && slices.Contains(target.Accounts, accountID) {
		return true
	}
	return slices.Contains(p.pathsFrom[from], to)
}

// NextTier returns the candidate teams for a `next_tier` escalation from `from`: the path
// targets of `from` (account teams excluded, since they serve named accounts rather than a
// level) whose tier level is the smallest level above from's, in path order. Routing picks one
// of them. Empty when from is unknown or already at the top of its paths.
func (p *Policy) NextTier(from string) []string {
	fromTier, ok := p.TierOfTeam(from)
	if !ok {
		return nil
	}
	var out []string
	best := 0
	for _, to := range p.pathsFrom[from] {
		t, _ := p.Team(to)
		if t == nil || t.Kind == KindAccountTeam {
			continue
		}
		tier, ok := p.Tier(t.Tier)
		if !ok || tier.Level <= fromTier.Level {
			continue
		}
		switch {
		case best == 0 || tier.Level < best:
			best, out = tier.Level, []string{to}
		case tier.Level == best:
			out = append(out, to)
		}
	}
	return out
}

// PathTargets returns every team a path allows from `from`, in path order without repeats. The
// slice belongs to the policy: callers must not modify it.
func (p *Policy) PathTargets(from string) []string {
	return p.pathsFrom[from]
}

// Summary is the one line `escalated check` prints for a valid policy.
func (p *Policy) Summary() string {
	parts := []string{
		count(len(p.Tiers), "tier"),
		count(len(p.Teams), "team"),
		count(len(p.Agents), "agent"),
		count(len(p.Paths), "path"),
		count(len(p.Calendars), "calendar"),
		count(len(p.Rules), "rule"),
		count(nodeLen(p.SLA), "SLA plan"),
		count(nodeLen(p.Channels), "channel"),
	}
	return "policy valid: " + strings.Join(parts, ", ")
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func nodeLen(n *yaml.Node) int {
	if n == nil || n.Kind != yaml.SequenceNode {
		return 0
	}
	return len(n.Content)
}

// SLAPlan is one SLA plan: targets for the clocks of the tickets it applies to.
type SLAPlan struct {
	ID string
	// When selects the tickets the plan applies to; nil applies to every ticket.
	When *Condition
	// Targets maps first_response, next_reply, resolution and acknowledge to their durations
	// in business time; a missing target has no clock.
	Targets map[string]time.Duration
	// WarnAt is the share of a target at which its clock warns (DefaultWarnAt unless set).
	WarnAt       float64
	Line, Column int
}

// PlanFor returns the first plan whose condition holds for env, or nil when none does. A
// condition that fails at run time does not hold.
func (pol *Policy) PlanFor(env *Env) *SLAPlan {
	var ev Evaluator
	ev.Reset(env)
	defer ev.Clear()
	for i := range pol.SLAPlans {
		pl := &pol.SLAPlans[i]
		if pl.When == nil {
			return pl
		}
		if ok, err := pl.When.Eval(&ev); err == nil && ok {
			return pl
		}
	}
	return nil
}
