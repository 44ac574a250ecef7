package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "time/tzdata" // calendars name IANA zones; the binary must not depend on the host's zoneinfo

	"go.yaml.in/yaml/v3"

	"github.com/escalated/escalated"
)

var (
	idRe       = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	languageRe = regexp.MustCompile(`^[a-z]{2,3}(-[a-z0-9]{2,8})*$`)
)

const idRule = `1-64 lowercase letters, digits, "-" or "_", starting with a letter or digit`

// Allowed keys per mapping, in the order messages list them.
var (
	topKeys        = []string{"version", "intake", "calendars", "tiers", "teams", "agents", "supervisors", "paths", "escalation", "sla", "signals", "rules", "channels"}
	calendarKeys   = []string{"id", "timezone", "hours", "holidays"}
	tierKeys       = []string{"id", "name", "level"}
	teamKeys       = []string{"id", "name", "tier", "calendar", "kind", "skills", "accounts", "fallback", "routing"}
	agentKeys      = []string{"id", "name", "teams", "sees", "skills", "languages", "capacity", "status", "email"}
	supervisorKeys = []string{"id", "name", "teams", "email"}
	pathKeys       = []string{"from", "to"}
	escalationKeys = []string{"note_min_length", "required_package_fields", "max_per_ticket", "on_incomplete"}
	slaTargetKeys  = []string{"first_response", "next_reply", "resolution", "acknowledge"}
	agentStatuses  = []string{StatusOnline, StatusAway, StatusOffline}
	onIncomplete   = []string{OnIncompleteReject, OnIncompleteAcceptFlagged}
)

// Parse reads a policy document and checks it completely: shape, ids, and every reference
// between sections. filename is used only in error positions. On any problem it returns nil and
// a *ErrorList holding all problems found, sorted by position, each one saying where it is, what
// is wrong and what is allowed.
func Parse(filename string, src []byte) (*Policy, error) {
	p := &parser{
		file:   filename,
		src:    src,
		budget: 2*len(src) + aliasHeadroom,
		cals:   newIDs("calendar"),
		tiers:  newIDs("tier"),
		teams:  newIDs("team"),
		agents: newIDs("agent"),
		sups:   newIDs("supervisor"),
	}
	pol := p.policy(src)
	if len(p.errs) > 0 {
		p.errs.sort()
		errs := p.errs
		return nil, &errs
	}
	pol.index()
	pol.batch()
	pol.Warnings = p.lint(pol)
	return pol, nil
}

// ids collects the ids defined by one list, so a reference can be checked and a duplicate can
// name the line of the first definition.
type ids struct {
	what  string
	order []string
	defs  map[string]*yaml.Node
	paths map[string]string
	bad   map[string]bool // malformed ids, already reported; no further errors about them
}

func newIDs(what string) *ids {
	return &ids{what: what, defs: map[string]*yaml.Node{}, paths: map[string]string{}, bad: map[string]bool{}}
}

func (s *ids) has(id string) bool { _, ok := s.defs[id]; return ok }

// unknown is the message for a reference to an id that is not defined.
func (s *ids) unknown(id string) string {
	return fmt.Sprintf("unknown %s %s (known %ss: %s)", s.what, q(id), s.what, known(s.order))
}

func (p *parser) policy(src []byte) *Policy {
	raw := p.decode(src)
	if raw == nil {
		return nil
	}
	root := p.expand(raw, map[*yaml.Node]bool{})
	if p.tooBig {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "a policy must be a mapping of sections (allowed: %s), got %s", strings.Join(topKeys, ", "), describe(root))
		return nil
	}
	top, _ := p.mapOf(root, "", "policy", topKeys)
	sum := sha256.Sum256(src)
	pol := &Policy{
		Version: 1,
		Source:  bytes.Clone(src),
		Hash:    hex.EncodeToString(sum[:]),
		Escalation: EscalationSettings{
			OnIncomplete: OnIncompleteReject,
		},
	}
	if n := top.get("version"); n != nil {
		if n.Kind != yaml.ScalarNode || n.Value != "1" {
			p.errorf(n, "version: unsupported version %s (this release reads version 1)", describe(n))
		}
	}
	// Order matters: each section is checked against the ids of the sections it refers to.
	p.calendars(top, pol)
	p.tierList(top, pol)
	p.teamList(top, pol)
	p.agentList(top, pol)
	p.supervisorList(top, pol)
	p.paths(top, pol)
	if n := top.get("intake"); n != nil {
		if s, ok := p.str(n, "intake"); ok {
			pol.Intake = s
			if !p.teams.has(s) {
				p.errorf(n, "intake: %s", p.teams.unknown(s))
			}
		}
	}
	p.escalation(top, pol)
	pol.SLA = p.sla(top, pol)
	if n := p.raw(top, "signals", yaml.MappingNode, "must be a mapping of signal settings (like keywords: {legal: [lawyer]})"); n != nil {
		p.signals(n, pol)
	}
	pol.Channels = p.raw(top, "channels", yaml.SequenceNode, `must be a list of channels (one "- id: ..." entry each)`)
	p.channels(pol.Channels, pol)
	// Rules last: they refer to teams, agents and channels.
	if n := p.raw(top, "rules", yaml.SequenceNode, `must be a list of rules (one "- id: ..." entry each)`); n != nil {
		p.rules(n, pol)
	}
	return pol
}

// list returns the items of a top-level list section; it reports a missing section when
// required says what an entry looks like.
func (p *parser) list(top mapping, key, required string) []*yaml.Node {
	n := top.get(key)
	if n == nil {
		if required != "" {
			p.errorf(top.where(key), "%s: at least one %s is required, like %s", key, strings.TrimSuffix(key, "s"), required)
		}
		return nil
	}
	items, ok := p.listOf(n, key, key)
	if ok && len(items) == 0 && required != "" {
		p.errorf(n, "%s: at least one %s is required, like %s", key, strings.TrimSuffix(key, "s"), required)
	}
	return items
}

// id reads and registers the id of one list entry. A malformed id is still registered, so that
// references to it do not each add a second error for the same mistake.
func (p *parser) id(m mapping, path string, set *ids) string {
	n := m.get("id")
	if n == nil {
		p.errorf(m.where("id"), "%s", at(path, fmt.Sprintf("id is required (%s)", idRule)))
		return ""
	}
	s, ok := p.str(n, path+".id")
	if !ok {
		return ""
	}
	if !idRe.MatchString(s) {
		p.errorf(n, "%s", at(path+".id", fmt.Sprintf("bad %s id %s (use %s)", set.what, q(s), idRule)))
		set.bad[s] = true
	}
	if first, dup := set.defs[s]; dup {
		p.errorf(n, "%s", at(path+".id", fmt.Sprintf("duplicate %s id %s (first defined at line %d)", set.what, q(s), first.Line)))
		return ""
	}
	if s != "" {
		set.defs[s] = n
		set.paths[s] = path
		set.order = append(set.order, s)
	}
	return s
}

// optStr reads an optional text setting.
func (p *parser) optStr(m mapping, key, path string) (string, *yaml.Node) {
	n := m.get(key)
	if n == nil {
		return "", nil
	}
	s, _ := p.str(n, path+"."+key)
	return s, n
}

// optList reads an optional list of strings.
func (p *parser) optList(m mapping, key, path, example string) []item {
	n := m.get(key)
	if n == nil {
		return nil
	}
	return p.strList(n, path+"."+key, example, false)
}

// unique reports items listed twice; a repeat is harmless on its own but usually means that a
// different value was meant.
func (p *parser) unique(items []item, what string) []item {
	seen := map[string]bool{}
	out := items[:0:0]
	for _, it := range items {
		if seen[it.s] {
			p.errorf(it.node, "%s", at(it.path, fmt.Sprintf("%s %s is listed twice", what, q(it.s))))
			continue
		}
		seen[it.s] = true
		out = append(out, it)
	}
	return out
}

func (p *parser) calendars(top mapping, pol *Policy) {
	for i, n := range p.list(top, "calendars", "") {
		path := fmt.Sprintf("calendars[%d]", i)
		m, ok := p.mapOf(n, path, "calendar", calendarKeys)
		if !ok {
			continue
		}
		c := Calendar{ID: p.id(m, path, p.cals)}
		if tz := m.get("timezone"); tz != nil {
			c.Timezone, c.Location = p.location(tz, path+".timezone")
		} else {
			p.errorf(m.where("timezone"), "%s", at(path, "timezone is required (an IANA name like Europe/Berlin or UTC)"))
		}
		if h := m.get("hours"); h != nil {
			c.Hours = p.hours(h, path+".hours")
		} else {
			p.errorf(m.where("hours"), "%s", at(path, `hours is required, like hours: {mon-fri: "09:00-17:00"}`))
		}
		if h := m.get("holidays"); h != nil {
			c.Holidays = p.holidays(h, path+".holidays")
		}
		pol.Calendars = append(pol.Calendars, c)
	}
}

func (p *parser) tierList(top mapping, pol *Policy) {
	type levelDef struct {
		tier string
		line int
	}
	levels := map[int]levelDef{}
	for i, n := range p.list(top, "tiers", "{id: t1, name: Frontline, level: 1}") {
		path := fmt.Sprintf("tiers[%d]", i)
		m, ok := p.mapOf(n, path, "tier", tierKeys)
		if !ok {
			continue
		}
		t := Tier{ID: p.id(m, path, p.tiers)}
		t.Name, _ = p.optStr(m, "name", path)
		const rule = "a whole number >= 1 (1 = frontline, higher = further up)"
		if ln := m.get("level"); ln == nil {
			p.errorf(m.where("level"), "%s", at(path, "level is required: "+rule))
		} else if lv, ok := p.intVal(ln, path+".level", 1, rule); ok {
			t.Level = lv
			if first, dup := levels[lv]; dup {
				p.errorf(ln, "%s", at(path+".level", fmt.Sprintf("level %d is already used by tier %s (line %d); each tier needs its own level", lv, q(first.tier), first.line)))
			} else {
				levels[lv] = levelDef{t.ID, ln.Line}
			}
		}
		pol.Tiers = append(pol.Tiers, t)
	}
}

func (p *parser) teamList(top mapping, pol *Policy) {
	type fallbackRef struct {
		team string
		node *yaml.Node
		path string
	}
	var fallbacks []fallbackRef
	staffed := map[string]bool{} // tiers that have at least one team
	teamsNode := top.get("teams")
	for i, n := range p.list(top, "teams", "{id: frontline, tier: t1}") {
		path := fmt.Sprintf("teams[%d]", i)
		m, ok := p.mapOf(n, path, "team", teamKeys)
		if !ok {
			continue
		}
		t := Team{ID: p.id(m, path, p.teams)}
		t.Name, _ = p.optStr(m, "name", path)
		if tn := m.get("tier"); tn == nil {
			p.errorf(m.where("tier"), "%s", at(path, fmt.Sprintf("tier is required (known tiers: %s)", known(p.tiers.order))))
		} else if s, ok := p.str(tn, path+".tier"); ok {
			t.Tier = s
			if p.tiers.has(s) {
				staffed[s] = true
			} else {
				p.errorf(tn, "%s", at(path+".tier", p.tiers.unknown(s)))
			}
		}
		var cn *yaml.Node
		if t.Calendar, cn = p.optStr(m, "calendar", path); cn != nil && t.Calendar != "" && !p.cals.has(t.Calendar) {
			p.errorf(cn, "%s", at(path+".calendar", p.cals.unknown(t.Calendar)))
		}
		kindOK := true
		var kn *yaml.Node
		if t.Kind, kn = p.optStr(m, "kind", path); kn != nil && t.Kind != "" && t.Kind != KindAccountTeam {
			kindOK = false
			p.errorf(kn, "%s", at(path+".kind", fmt.Sprintf("unknown kind %s (allowed: %s, or leave kind out for a regular team)", q(t.Kind), KindAccountTeam)))
		}
		t.Skills = texts(p.optList(m, "skills", path, "[billing, api]"))
		t.Accounts = texts(p.unique(p.optList(m, "accounts", path, "[acme, globex]"), "account"))
		switch {
		case !kindOK:
			// The kind is wrong already; whether accounts fit it is not knowable.
		case t.Kind == KindAccountTeam && len(t.Accounts) == 0:
			if an := m.vals["accounts"]; an == nil || isNull(an) || an.Kind == yaml.SequenceNode && len(an.Content) == 0 {
				p.errorf(m.where("accounts"), "%s", at(path, "an account_team must list the accounts it serves, like accounts: [acme]"))
			}
		case t.Kind != KindAccountTeam && len(t.Accounts) > 0:
			p.errorf(m.keys["accounts"], "%s", at(path+".accounts", "only a team of kind account_team serves accounts (add kind: account_team, or remove accounts)"))
		}
		var rn *yaml.Node
		if t.Routing, rn = p.optStr(m, "routing", path); rn != nil && t.Routing != "" && !slices.Contains(RoutingMethods, t.Routing) {
			p.errorf(rn, "%s", at(path+".routing", fmt.Sprintf("unknown routing method %s (allowed: %s; default %s)", q(t.Routing), strings.Join(RoutingMethods, ", "), RoutingMethods[0])))
		}
		if t.Routing == "" {
			t.Routing = RoutingMethods[0]
		}
		if fb, fn := p.optStr(m, "fallback", path); fn != nil && fb != "" {
			t.Fallback = fb
			fallbacks = append(fallbacks, fallbackRef{t.ID, fn, path + ".fallback"})
		}
		pol.Teams = append(pol.Teams, t)
	}
	// Fallbacks may name a team defined further down, so they are checked once all are known.
	for _, f := range fallbacks {
		switch {
		case f.node.Value == f.team:
			p.errorf(f.node, "%s", at(f.path, "a team cannot be its own fallback (name another team that takes the overflow)"))
		case !p.teams.has(f.node.Value):
			p.errorf(f.node, "%s", at(f.path, p.teams.unknown(f.node.Value)))
		}
	}
	// A tier without a team can receive nothing; next_tier would skip it silently. Skipped when
	// the teams section itself is broken, since every tier would then look unstaffed.
	if teamsNode != nil && teamsNode.Kind == yaml.SequenceNode && len(teamsNode.Content) > 0 {
		for _, id := range p.tiers.order {
			if !staffed[id] && !p.tiers.bad[id] {
				p.errorf(p.tiers.defs[id], "%s", at(p.tiers.paths[id], fmt.Sprintf("tier %s has no team (add a team with tier: %s, or remove the tier)", q(id), id)))
			}
		}
	}
}

func (p *parser) agentList(top mapping, pol *Policy) {
	for i, n := range p.list(top, "agents", "") {
		path := fmt.Sprintf("agents[%d]", i)
		m, ok := p.mapOf(n, path, "agent", agentKeys)
		if !ok {
			continue
		}
		a := Agent{ID: p.id(m, path, p.agents), Capacity: DefaultCapacity, Status: StatusOnline}
		a.Name, _ = p.optStr(m, "name", path)
		if tn := m.get("teams"); tn == nil {
			p.errorf(m.where("teams"), "%s", at(path, fmt.Sprintf("teams is required: the teams the agent works in (known teams: %s)", known(p.teams.order))))
		} else {
			items := p.unique(p.strList(tn, path+".teams", "[frontline]", false), "team")
			if tn.Kind == yaml.SequenceNode && len(tn.Content) == 0 {
				p.errorf(tn, "%s", at(path+".teams", fmt.Sprintf("at least one team is required (known teams: %s)", known(p.teams.order))))
			}
			for _, it := range items {
				if !p.teams.has(it.s) {
					p.errorf(it.node, "%s", at(it.path, p.teams.unknown(it.s)))
				}
			}
			a.Teams = texts(items)
		}
		for _, it := range p.unique(p.optList(m, "sees", path, "[billing] or [\"*\"]"), "team") {
			switch {
			case it.s == "*":
				a.SeesAll = true
			case !p.teams.has(it.s):
				p.errorf(it.node, "%s", at(it.path, p.teams.unknown(it.s)+` (or "*" for every team)`))
			default:
				a.Sees = append(a.Sees, it.s)
			}
		}
		a.Skills = texts(p.optList(m, "skills", path, "[billing, api]"))
		for _, it := range p.unique(p.optList(m, "languages", path, "[en, pt]"), "language") {
			if !languageRe.MatchString(it.s) {
				p.errorf(it.node, "%s", at(it.path, fmt.Sprintf("bad language code %s (use lowercase codes like en, pt or pt-br)", q(it.s))))
				continue
			}
			a.Languages = append(a.Languages, it.s)
		}
		if cn := m.get("capacity"); cn != nil {
			if c, ok := p.intVal(cn, path+".capacity", 0, fmt.Sprintf("a whole number >= 0: the most open tickets at once (0 means the default, %d)", DefaultCapacity)); ok && c > 0 {
				a.Capacity = c
			}
		}
		if s, sn := p.optStr(m, "status", path); sn != nil {
			if !slices.Contains(agentStatuses, s) {
				p.errorf(sn, "%s", at(path+".status", fmt.Sprintf("unknown status %s (allowed: %s; default %s)", q(s), strings.Join(agentStatuses, ", "), StatusOnline)))
			} else {
				a.Status = s
			}
		}
		if e, en := p.optStr(m, "email", path); en != nil {
			if addr, err := mail.ParseAddress(e); err != nil || addr.Address != e {
				p.errorf(en, "%s", at(path+".email", fmt.Sprintf("bad email address %s (use a plain address like ana@example.com)", q(e))))
			} else {
				a.Email = e
			}
		}
		pol.Agents = append(pol.Agents, a)
	}
}

// supervisorList reads the people who oversee teams in the console (dashboard, policy) without
// taking tickets: routing never assigns them work. An id names one person: it may not also be
// an agent's.
func (p *parser) supervisorList(top mapping, pol *Policy) {
	for i, n := range p.list(top, "supervisors", "") {
		path := fmt.Sprintf("supervisors[%d]", i)
		m, ok := p.mapOf(n, path, "supervisor", supervisorKeys)
		if !ok {
			continue
		}
		s := Supervisor{ID: p.id(m, path, p.sups)}
		if first, clash := p.agents.defs[s.ID]; clash && s.ID != "" {
			p.errorf(m.get("id"), "%s", at(path+".id", fmt.Sprintf("%s is already an agent's id (line %d): a person signs in by one id, so agents and supervisors need different ones", q(s.ID), first.Line)))
		}
		s.Name, _ = p.optStr(m, "name", path)
		for _, it := range p.unique(p.optList(m, "teams", path, "[frontline, billing]"), "team") {
			if !p.teams.has(it.s) {
				p.errorf(it.node, "%s", at(it.path, p.teams.unknown(it.s)))
				continue
			}
			s.Teams = append(s.Teams, it.s)
		}
		if e, en := p.optStr(m, "email", path); en != nil {
			if addr, err := mail.ParseAddress(e); err != nil || addr.Address != e {
				p.errorf(en, "%s", at(path+".email", fmt.Sprintf("bad email address %s (use a plain address like sam@example.com)", q(e))))
			} else {
				s.Email = e
			}
		}
		pol.Supervisors = append(pol.Supervisors, s)
	}
}

func (p *parser) paths(top mapping, pol *Policy) {
	pairs, tooMany := 0, false
	for i, n := range p.list(top, "paths", "") {
		path := fmt.Sprintf("paths[%d]", i)
		m, ok := p.mapOf(n, path, "path", pathKeys)
		if !ok {
			continue
		}
		side := func(key string) []item {
			sn := m.get(key)
			if sn == nil {
				p.errorf(m.where(key), "%s", at(path, fmt.Sprintf("%s is required: a team or a list of teams (known teams: %s)", key, known(p.teams.order))))
				return nil
			}
			items := p.unique(p.strList(sn, path+"."+key, "[billing, integrations]", true), "team")
			if sn.Kind == yaml.SequenceNode && len(sn.Content) == 0 {
				p.errorf(sn, "%s", at(path+"."+key, fmt.Sprintf("at least one team is required (known teams: %s)", known(p.teams.order))))
			}
			for _, it := range items {
				if !p.teams.has(it.s) {
					p.errorf(it.node, "%s", at(it.path, p.teams.unknown(it.s)))
				}
			}
			return items
		}
		from, to := side("from"), side("to")
		fromSet := make(map[string]bool, len(from))
		for _, f := range from {
			fromSet[f.s] = true
		}
		for _, t := range to {
			if fromSet[t.s] {
				p.errorf(t.node, "%s", at(t.path, fmt.Sprintf("path from %s to itself (a team cannot escalate to itself; from and to must differ)", q(t.s))))
			}
		}
		pol.Paths = append(pol.Paths, Path{From: texts(from), To: texts(to)})
		if pairs+len(from)*len(to) <= maxPathPairs {
			for _, f := range from {
				for _, t := range to {
					if f.s != t.s {
						p.pathEdges = append(p.pathEdges, pathEdge{f.s, t.s, t.node, t.path})
					}
				}
			}
		}
		pairs += len(from) * len(to)
		if pairs > maxPathPairs && !tooMany {
			tooMany = true
			p.errorf(n, "%s", at(path, fmt.Sprintf("paths allow more than %d team-to-team moves; list fewer teams per path", maxPathPairs)))
		}
	}
}

// maxPathPairs bounds the from x to moves all paths allow together. Every real policy is far
// below it; without it, one path from a few thousand teams to as many would make loading the
// policy take minutes.
const maxPathPairs = 100_000

func (p *parser) escalation(top mapping, pol *Policy) {
	n := top.get("escalation")
	if n == nil {
		return
	}
	m, ok := p.mapOf(n, "escalation", "escalation", escalationKeys)
	if !ok {
		return
	}
	e := &pol.Escalation
	if v := m.get("note_min_length"); v != nil {
		e.NoteMinLength, _ = p.intVal(v, "escalation.note_min_length", 0, "a whole number >= 0: the fewest characters a manual escalation's note may have (0 = no minimum)")
	}
	if v := m.get("max_per_ticket"); v != nil {
		e.MaxPerTicket, _ = p.intVal(v, "escalation.max_per_ticket", 0, "a whole number >= 0: the most escalations one ticket may have (0 = unlimited)")
	}
	for _, it := range p.unique(p.optList(m, "required_package_fields", "escalation", "[original_message, account, note]"), "field") {
		if !slices.Contains(escalated.PackageFields, it.s) {
			p.errorf(it.node, "%s", at(it.path, fmt.Sprintf("unknown package field %s (allowed: %s)", q(it.s), strings.Join(escalated.PackageFields, ", "))))
			continue
		}
		e.RequiredPackageFields = append(e.RequiredPackageFields, it.s)
	}
	if s, sn := p.optStr(m, "on_incomplete", "escalation"); sn != nil {
		if !slices.Contains(onIncomplete, s) {
			p.errorf(sn, "escalation.on_incomplete: unknown value %s (allowed: %s; default %s)", q(s), strings.Join(onIncomplete, ", "), OnIncompleteReject)
		} else {
			e.OnIncomplete = s
		}
	}
}

// slaPlanKeys are the keys of one SLA plan.
var slaPlanKeys = []string{"id", "when", "targets", "warn_at"}

// DefaultWarnAt is the share of a target at which a clock warns when a plan does not say.
const DefaultWarnAt = 0.8

// sla reads the SLA plans: ids, a `when` condition compiled like a rule's, target names and
// durations, and warn_at. The first plan whose condition holds applies to a ticket.
func (p *parser) sla(top mapping, pol *Policy) *yaml.Node {
	n := top.get("sla")
	if n == nil {
		return nil
	}
	items, ok := p.listOf(n, "sla", "SLA plans")
	if !ok {
		return nil
	}
	plans := newIDs("SLA plan")
	for i, plan := range items {
		path := fmt.Sprintf("sla[%d]", i)
		m, ok := p.mapOf(plan, path, "SLA plan", slaPlanKeys)
		if !ok {
			continue
		}
		sp := SLAPlan{ID: p.id(m, path, plans), Targets: map[string]time.Duration{}, WarnAt: DefaultWarnAt, Line: plan.Line, Column: plan.Column}
		if wn := m.get("when"); wn != nil {
			if wn.Kind != yaml.ScalarNode {
				p.errorf(wn, "%s", at(path+".when", "must be a condition, like account.tier == \"enterprise\""))
			} else if c, err := CompileConditionNode(p.file, p.src, wn, path+".when"); err != nil {
				p.errs = append(p.errs, err)
			} else {
				sp.When = c
			}
		}
		if wn := m.get("warn_at"); wn != nil {
			if f, err := strconv.ParseFloat(wn.Value, 64); err == nil {
				sp.WarnAt = f
			}
		}
		if tn := m.get("targets"); tn != nil {
			tm, ok := p.mapOf(tn, path+".targets", "SLA targets", slaTargetKeys)
			if ok {
				for j := 0; j+1 < len(tn.Content); j += 2 {
					k, v := tn.Content[j], tn.Content[j+1]
					if k.Kind != yaml.ScalarNode || tm.keys[k.Value] != k || !slices.Contains(slaTargetKeys, k.Value) {
						continue // reported by mapOf
					}
					tpath := path + ".targets." + k.Value
					if s, ok := p.str(v, tpath); ok {
						if d, err := ParseDuration(s); err != nil {
							p.errorf(v, "%s", at(tpath, err.Error()))
						} else {
							sp.Targets[k.Value] = d
						}
					}
				}
			}
		}
		if wn := m.get("warn_at"); wn != nil {
			f, err := strconv.ParseFloat(wn.Value, 64)
			tag := wn.ShortTag()
			if wn.Kind != yaml.ScalarNode || tag != "!!float" && tag != "!!int" || err != nil || !(f > 0 && f < 1) {
				p.errorf(wn, "%s", at(path+".warn_at", fmt.Sprintf("must be a number between 0 and 1, like 0.8 (the share of the target at which to warn), got %s", describe(wn))))
			}
		}
		pol.SLAPlans = append(pol.SLAPlans, sp)
	}
	return n
}

// raw checks only the outer kind of a section another package compiles.
func (p *parser) raw(top mapping, key string, kind yaml.Kind, rule string) *yaml.Node {
	n := top.get(key)
	if n == nil {
		return nil
	}
	if n.Kind != kind {
		p.errorf(n, "%s: %s, got %s", key, rule, describe(n))
		return nil
	}
	if kind == yaml.MappingNode {
		p.mapOf(n, key, key, nil) // duplicate keys
	}
	return n
}

// index builds the lookup tables; called only on a policy without errors, so ids are unique.
func (pol *Policy) index() {
	pol.calIdx = make(map[string]int, len(pol.Calendars))
	for i, c := range pol.Calendars {
		pol.calIdx[c.ID] = i
	}
	pol.tierIdx = make(map[string]int, len(pol.Tiers))
	for i, t := range pol.Tiers {
		pol.tierIdx[t.ID] = i
	}
	pol.teamIdx = make(map[string]int, len(pol.Teams))
	for i, t := range pol.Teams {
		pol.teamIdx[t.ID] = i
	}
	pol.agentIdx = make(map[string]int, len(pol.Agents))
	for i, a := range pol.Agents {
		pol.agentIdx[a.ID] = i
	}
	pol.supIdx = make(map[string]int, len(pol.Supervisors))
	for i, s := range pol.Supervisors {
		pol.supIdx[s.ID] = i
	}
	pol.pathsFrom = map[string][]string{}
	seen := map[[2]string]bool{}
	for _, path := range pol.Paths {
		for _, from := range path.From {
			for _, to := range path.To {
				if !seen[[2]string{from, to}] {
					seen[[2]string{from, to}] = true
					pol.pathsFrom[from] = append(pol.pathsFrom[from], to)
				}
			}
		}
	}
}
