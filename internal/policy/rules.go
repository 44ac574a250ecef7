package policy

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/escalated/escalated"
)

// Events fired by the deadline engine rather than by a change to a ticket.
const (
	EventSLAWarning               = escalated.EventSLAWarning
	EventSLABreached              = escalated.EventSLABreached
	EventEscalationUnacknowledged = escalated.EventEscalationUnacknowledged
)

// EventTypes are the events a rule may listen to (its `on` list).
var EventTypes = []string{
	escalated.EventTicketCreated, escalated.EventMessageAdded, escalated.EventTicketUpdated,
	escalated.EventEscalationCreated, escalated.EventEscalationReturned, escalated.EventEscalationAcknowledged,
	escalated.EventEscalationResolved, escalated.EventHandoffReceived,
	EventSLAWarning, EventSLABreached, EventEscalationUnacknowledged,
}

// Action kinds: the one key of each entry of a rule's `do` list.
const (
	ActionEscalate  = "escalate"
	ActionSet       = "set"
	ActionTag       = "tag"
	ActionUntag     = "untag"
	ActionAssign    = "assign"
	ActionNotify    = "notify"
	ActionRecommend = "recommend"
)

// ActionKinds lists every action kind, in the order messages list them.
var ActionKinds = []string{ActionEscalate, ActionSet, ActionTag, ActionUntag, ActionAssign, ActionNotify, ActionRecommend}

// Keys a `set` action may change; custom fields are set as custom_fields: {key: value} and
// appear in Action.Set as "custom_fields.<key>".
const (
	SetPriority     = "priority"
	SetStatus       = "status"
	SetIssueType    = "issue_type"
	SetCustomFields = "custom_fields"
)

var (
	ruleKeys     = []string{"id", "on", "when", "stop", "do"}
	escalateKeys = []string{"to", "reason", "note"}
	setKeys      = []string{SetPriority, SetStatus, SetIssueType, SetCustomFields}
	notifyKeys   = []string{"channel", "message"}
	recommendKey = []string{"text"}
	signalKeys   = []string{"keywords", "wants_human", "profanity"}
)

// Rule is one automated trigger: when an event it listens to happens and its condition holds,
// its actions run. Rules are tried in file order (see package decide for the semantics).
type Rule struct {
	ID string
	// On are the event types the rule listens to, without repeats.
	On []string
	// When is the compiled condition, or nil when the rule has none and matches every event it
	// listens to.
	When *Condition
	// Stop ends the decision after this rule fires: later rules are not tried.
	Stop bool
	Do   []Action
	// Line and Column are where the rule's entry starts in the policy file.
	Line, Column int

	// onText and stopText are the trace's reasons, built once at load (see DescribeOn).
	onText, stopText string
}

// Listens reports whether the rule is subscribed to the event type.
func (r *Rule) Listens(event string) bool { return slices.Contains(r.On, event) }

// DescribeOn is the trace's reason for a rule that does not listen to an event: the events it
// does listen to. Like DescribeStop it returns text built at load, so a decision that tries a
// hundred rules does not format a hundred strings.
func (r *Rule) DescribeOn() string {
	if r.onText == "" {
		return "listens only to " + strings.Join(r.On, ", ")
	}
	return r.onText
}

// DescribeStop is the trace's reason for the rules after this one when it fired with stop.
func (r *Rule) DescribeStop() string {
	if r.stopText == "" {
		return fmt.Sprintf("rule %q (line %d) fired and says stop: true", r.ID, r.Line)
	}
	return r.stopText
}

// Action is one entry of a rule's `do` list, validated: team, agent and channel ids exist,
// reasons and set values are allowed values. Only the fields of its Kind are set.
type Action struct {
	Kind string // one of ActionKinds

	// escalate: To is a team id, escalated.TargetNextTier or escalated.TargetAccountTeam.
	To     string
	Reason escalated.Reason
	Note   string

	// set: keys "priority", "status", "issue_type" (string values, already validated) and
	// "custom_fields.<key>" (string, int, float64, bool, or nil to clear the field). The map
	// belongs to the policy, which is shared: read it, never modify it.
	Set map[string]any

	Tags    []string // tag, untag; shared like Set
	Agent   string   // assign
	Channel string   // notify
	Text    string   // notify (the message; may be empty), recommend

	// Line and Column are where the action's key is in the policy file.
	Line, Column int
}

// SignalsConfig is the policy's signals section: what the signal extractor looks for in every
// message when it arrives.
type SignalsConfig struct {
	// Keywords are the keyword lists in file order; a message's keywords signal holds the ids
	// of the lists it hits.
	Keywords   []KeywordList
	WantsHuman []string // phrases that ask for a person ("talk to a human")
	Profanity  []string // words counted as profanity
}

// KeywordList is one named list of phrases under signals.keywords.
type KeywordList struct {
	ID      string
	Phrases []string
	// Line and Column are where the list's id is in the policy file.
	Line, Column int
}

// Keyword returns the keyword list with the given id.
func (s *SignalsConfig) Keyword(id string) (*KeywordList, bool) {
	for i := range s.Keywords {
		if s.Keywords[i].ID == id {
			return &s.Keywords[i], true
		}
	}
	return nil, false
}

// signals reads the signals section; its outer shape was checked by raw.
func (p *parser) signals(n *yaml.Node, pol *Policy) {
	m, ok := p.mapOf(n, "signals", "signals", signalKeys)
	if !ok {
		return
	}
	if kn := m.get("keywords"); kn != nil {
		km, ok := p.mapOf(kn, "signals.keywords", "keyword lists", nil)
		if ok {
			for i := 0; i+1 < len(kn.Content); i += 2 {
				k, v := kn.Content[i], kn.Content[i+1]
				if k.Kind != yaml.ScalarNode || km.keys[k.Value] != k {
					continue // reported by mapOf
				}
				path := "signals.keywords." + k.Value
				if !idRe.MatchString(k.Value) {
					p.errorf(k, "%s", at("signals.keywords", fmt.Sprintf("bad keyword list id %s (use %s)", q(k.Value), idRule)))
					continue
				}
				list := KeywordList{ID: k.Value, Line: k.Line, Column: k.Column}
				if isNull(v) || v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
					p.errorf(v, "%s", at(path, `at least one phrase is required, like ["legal action", "lawyer"]`))
				} else {
					list.Phrases = texts(p.unique(p.strList(v, path, `["legal action", "lawyer"]`, false), "phrase"))
				}
				pol.Signals.Keywords = append(pol.Signals.Keywords, list)
				p.keywordNodes = append(p.keywordNodes, k)
			}
		}
	}
	if items := p.unique(p.optList(m, "wants_human", "signals", `["talk to a human", "real person"]`), "phrase"); len(items) > 0 {
		pol.Signals.WantsHuman = texts(items)
	}
	if items := p.unique(p.optList(m, "profanity", "signals", `["damn"]`), "word"); len(items) > 0 {
		pol.Signals.Profanity = texts(items)
	}
}

// channelIDs collects the ids of the channels section, which the notification package owns:
// only what a notify action needs (the ids) is read here.
func (p *parser) channels(n *yaml.Node, pol *Policy) {
	if n == nil {
		return
	}
	seen := map[string]bool{}
	for _, c := range n.Content {
		if c.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(c.Content); i += 2 {
			if k, v := c.Content[i], c.Content[i+1]; k.Value == "id" && v.Kind == yaml.ScalarNode && !isNull(v) && v.Value != "" {
				if !seen[v.Value] {
					seen[v.Value] = true
					pol.ChannelIDs = append(pol.ChannelIDs, v.Value)
				}
				p.channelIDs, p.channelSet = pol.ChannelIDs, seen
				break
			}
		}
	}
}

// ruleInfo keeps the nodes of a rule that lint blames.
type ruleInfo struct {
	path    string
	idNode  *yaml.Node
	onNodes []*yaml.Node // parallel to Rule.On
	when    *yaml.Node
	actions []*yaml.Node // the value node of each action, parallel to Rule.Do
}

// rules reads and compiles the rules section; its outer shape was checked by raw.
func (p *parser) rules(n *yaml.Node, pol *Policy) {
	set := newIDs("rule")
	for i, item := range n.Content {
		path := fmt.Sprintf("rules[%d]", i)
		m, ok := p.mapOf(item, path, "rule", ruleKeys)
		if !ok {
			continue
		}
		r := Rule{Line: item.Line, Column: item.Column}
		info := ruleInfo{path: path, idNode: m.get("id")}
		r.ID = p.id(m, path, set)

		if on := m.get("on"); on == nil {
			p.errorf(m.where("on"), "%s", at(path, fmt.Sprintf("on is required: the events the rule listens to, like on: [message.added] (allowed: %s)", strings.Join(EventTypes, ", "))))
		} else {
			items := p.unique(p.strList(on, path+".on", "[ticket.created, message.added]", true), "event")
			if on.Kind == yaml.SequenceNode && len(on.Content) == 0 {
				p.errorf(on, "%s", at(path+".on", fmt.Sprintf("at least one event is required (allowed: %s)", strings.Join(EventTypes, ", "))))
			}
			for _, it := range items {
				if !slices.Contains(EventTypes, it.s) {
					p.errorf(it.node, "%s", at(it.path, fmt.Sprintf("unknown event %s (allowed: %s)", q(it.s), strings.Join(EventTypes, ", "))))
					continue
				}
				r.On = append(r.On, it.s)
				info.onNodes = append(info.onNodes, it.node)
			}
		}

		if wn := m.get("when"); wn != nil {
			info.when = wn
			if wn.Kind != yaml.ScalarNode {
				p.errorf(wn, "%s", at(path+".when", fmt.Sprintf("must be a condition, like when: account.tier == \"enterprise\", got %s", describe(wn))))
			} else if c, err := CompileConditionNode(p.file, p.src, wn, path+".when"); err != nil {
				p.errs = append(p.errs, err)
			} else {
				r.When = c
			}
		}

		if sn := m.get("stop"); sn != nil {
			if sn.Kind != yaml.ScalarNode || sn.ShortTag() != "!!bool" || sn.Decode(&r.Stop) != nil {
				p.errorf(sn, "%s", at(path+".stop", fmt.Sprintf("must be true or false, got %s", describe(sn))))
			}
		}

		if dn := m.get("do"); dn == nil {
			p.errorf(m.where("do"), "%s", at(path, "do is required: the actions to run, like do: [{escalate: {to: next_tier, reason: complexity}}]"))
		} else if items, ok := p.listOf(dn, path+".do", "actions"); ok {
			if len(items) == 0 {
				p.errorf(dn, "%s", at(path+".do", "at least one action is required, like - escalate: {to: next_tier, reason: complexity}"))
			}
			for j, an := range items {
				if a, vn, ok := p.action(an, fmt.Sprintf("%s.do[%d]", path, j)); ok {
					r.Do = append(r.Do, a)
					info.actions = append(info.actions, vn)
				}
			}
		}
		r.onText, r.stopText = r.DescribeOn(), r.DescribeStop()
		pol.Rules = append(pol.Rules, r)
		p.ruleInfo = append(p.ruleInfo, info)
	}
}

// action reads one entry of a `do` list: a mapping with exactly one key, the action's kind.
func (p *parser) action(n *yaml.Node, path string) (Action, *yaml.Node, bool) {
	const shape = "a mapping with one key, like escalate: {to: next_tier, reason: complexity}"
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		got := describe(n)
		if n.Kind == yaml.MappingNode {
			got = "an empty mapping"
		}
		p.errorf(n, "%s", at(path, fmt.Sprintf("must be an action, %s (actions: %s), got %s", shape, strings.Join(ActionKinds, ", "), got)))
		return Action{}, nil, false
	}
	k, v := n.Content[0], n.Content[1]
	if len(n.Content) > 2 {
		p.errorf(n.Content[2], "%s", at(path, fmt.Sprintf("an action has exactly one key; write %s and %s as two entries of the list", q(k.Value), q(n.Content[2].Value))))
		return Action{}, nil, false
	}
	if k.Kind != yaml.ScalarNode || !slices.Contains(ActionKinds, k.Value) {
		p.errorf(k, "%s", at(path, fmt.Sprintf("unknown action %s (allowed: %s)", q(k.Value), strings.Join(ActionKinds, ", "))))
		return Action{}, nil, false
	}
	a := Action{Kind: k.Value, Line: k.Line, Column: k.Column}
	path += "." + k.Value
	ok := true
	switch a.Kind {
	case ActionEscalate:
		ok = p.escalateAction(v, path, &a)
	case ActionSet:
		ok = p.setAction(v, path, &a)
	case ActionTag, ActionUntag:
		if isNull(v) {
			p.errorf(v, "%s", at(path, "must be a tag or a list of tags, like [vip, legal]"))
			return a, v, false
		}
		items := p.unique(p.strList(v, path, "[vip, legal]", true), "tag")
		if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
			p.errorf(v, "%s", at(path, "at least one tag is required"))
		}
		a.Tags = texts(items)
		ok = len(a.Tags) > 0
	case ActionAssign:
		s, sok := p.str(v, path)
		switch {
		case !sok:
			ok = false
		case !p.agents.has(s):
			p.errorf(v, "%s", at(path, p.agents.unknown(s)))
			ok = false
		default:
			a.Agent = s
		}
	case ActionNotify:
		ok = p.notifyAction(v, path, &a)
	case ActionRecommend:
		if v.Kind == yaml.MappingNode {
			m, mok := p.mapOf(v, path, "recommendation", recommendKey)
			if !mok {
				return a, v, false
			}
			if tn := m.get("text"); tn == nil {
				p.errorf(m.where("text"), "%s", at(path, "text is required: the recommended next action"))
				ok = false
			} else {
				a.Text, ok = p.str(tn, path+".text")
			}
		} else {
			a.Text, ok = p.str(v, path)
		}
		if ok && strings.TrimSpace(a.Text) == "" {
			p.errorf(v, "%s", at(path, "must not be empty: say what the agent should do next"))
			ok = false
		}
	}
	return a, v, ok
}

func (p *parser) escalateAction(v *yaml.Node, path string, a *Action) bool {
	m, ok := p.mapOf(v, path, "escalation", escalateKeys)
	if !ok {
		return false
	}
	targets := func() string {
		return fmt.Sprintf("a team (known teams: %s), %s or %s", known(p.teams.order), escalated.TargetNextTier, escalated.TargetAccountTeam)
	}
	if tn := m.get("to"); tn == nil {
		p.errorf(m.where("to"), "%s", at(path, "to is required: "+targets()))
		ok = false
	} else if s, sok := p.str(tn, path+".to"); !sok {
		ok = false
	} else if s != escalated.TargetNextTier && s != escalated.TargetAccountTeam && !p.teams.has(s) {
		p.errorf(tn, "%s", at(path+".to", fmt.Sprintf("unknown target %s (use %s)", q(s), targets())))
		ok = false
	} else {
		a.To = s
	}
	reasons := make([]string, len(escalated.Reasons))
	for i, r := range escalated.Reasons {
		reasons[i] = string(r)
	}
	if rn := m.get("reason"); rn == nil {
		p.errorf(m.where("reason"), "%s", at(path, "reason is required (allowed: "+strings.Join(reasons, ", ")+")"))
		ok = false
	} else if s, sok := p.str(rn, path+".reason"); !sok {
		ok = false
	} else if !escalated.Reason(s).Valid() {
		p.errorf(rn, "%s", at(path+".reason", fmt.Sprintf("unknown reason %s (allowed: %s)", q(s), strings.Join(reasons, ", "))))
		ok = false
	} else {
		a.Reason = escalated.Reason(s)
	}
	if nn := m.get("note"); nn != nil {
		s, sok := p.str(nn, path+".note")
		ok = ok && sok
		a.Note = s
	}
	return ok
}

func (p *parser) setAction(v *yaml.Node, path string, a *Action) bool {
	m, ok := p.mapOf(v, path, "set action", setKeys)
	if !ok {
		return false
	}
	if len(v.Content) == 0 {
		p.errorf(v, "%s", at(path, "name at least one field to set (allowed: "+strings.Join(setKeys, ", ")+")"))
		return false
	}
	a.Set = map[string]any{}
	enum := func(key string, allowed []string) {
		n := m.get(key)
		if n == nil {
			if m.vals[key] != nil {
				p.errorf(m.vals[key], "%s", at(path+"."+key, "must be one of "+strings.Join(allowed, ", ")))
				ok = false
			}
			return
		}
		s, sok := p.str(n, path+"."+key)
		switch {
		case !sok:
			ok = false
		case !slices.Contains(allowed, s):
			p.errorf(n, "%s", at(path+"."+key, fmt.Sprintf("unknown %s %s (allowed: %s)", strings.ReplaceAll(key, "_", " "), q(s), strings.Join(allowed, ", "))))
			ok = false
		default:
			a.Set[key] = s
		}
	}
	enum(SetPriority, enumStrings(escalated.Priorities))
	enum(SetStatus, enumStrings(escalated.Statuses))
	if n := m.vals[SetIssueType]; n != nil {
		if s, sok := p.str(n, path+"."+SetIssueType); !sok {
			ok = false
		} else if s == "" {
			p.errorf(n, "%s", at(path+"."+SetIssueType, "must not be empty"))
			ok = false
		} else {
			a.Set[SetIssueType] = s
		}
	}
	if n := m.vals[SetCustomFields]; n != nil {
		cpath := path + "." + SetCustomFields
		cm, cok := p.mapOf(n, cpath, "custom fields", nil)
		if !cok || len(n.Content) == 0 {
			if cok {
				p.errorf(n, "%s", at(cpath, "name at least one field, like custom_fields: {plan: gold}"))
			}
			return false
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, fv := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || cm.keys[k.Value] != k {
				ok = false
				continue // reported by mapOf
			}
			if k.Value == "" {
				p.errorf(k, "%s", at(cpath, "a field name must not be empty"))
				ok = false
				continue
			}
			val, vok := scalarValue(fv)
			if !vok {
				p.errorf(fv, "%s", at(cpath+"."+k.Value, fmt.Sprintf("must be a single value (text, number, true/false, or null to clear the field), got %s", describe(fv))))
				ok = false
				continue
			}
			a.Set[SetCustomFields+"."+k.Value] = val
		}
	}
	return ok
}

// scalarValue decodes a scalar as the Go value a custom field holds.
func scalarValue(n *yaml.Node) (any, bool) {
	if n.Kind != yaml.ScalarNode {
		return nil, false
	}
	switch n.ShortTag() {
	case "!!null":
		return nil, true
	case "!!bool":
		var b bool
		return b, n.Decode(&b) == nil
	case "!!int":
		var i int
		if n.Decode(&i) == nil {
			return i, true
		}
		var f float64
		return f, n.Decode(&f) == nil
	case "!!float":
		var f float64
		return f, n.Decode(&f) == nil
	case "!!str":
		return n.Value, true
	}
	return nil, false
}

func (p *parser) notifyAction(v *yaml.Node, path string, a *Action) bool {
	m, ok := p.mapOf(v, path, "notification", notifyKeys)
	if !ok {
		return false
	}
	if cn := m.get("channel"); cn == nil {
		p.errorf(m.where("channel"), "%s", at(path, fmt.Sprintf("channel is required (known channels: %s)", known(p.channelIDs))))
		ok = false
	} else if s, sok := p.str(cn, path+".channel"); !sok {
		ok = false
	} else if !p.channelSet[s] {
		p.errorf(cn, "%s", at(path+".channel", fmt.Sprintf("unknown channel %s (known channels: %s)", q(s), known(p.channelIDs))))
		ok = false
	} else {
		a.Channel = s
	}
	if mn := m.get("message"); mn != nil {
		s, sok := p.str(mn, path+".message")
		ok = ok && sok
		a.Text = s
	}
	return ok
}

func enumStrings[T ~string](vals []T) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}
