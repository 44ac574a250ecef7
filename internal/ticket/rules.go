package ticket

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/decide"
	"github.com/escalated/escalated/internal/jsonenc"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/signals"
	"github.com/escalated/escalated/internal/store"
)

// policyEvents are the history events the policy hears, the deadline engine's among them.
var policyEvents = map[string]bool{
	escalated.EventTicketCreated:            true,
	escalated.EventMessageAdded:             true,
	escalated.EventTicketUpdated:            true,
	escalated.EventEscalationCreated:        true,
	escalated.EventEscalationReturned:       true,
	escalated.EventEscalationAcknowledged:   true,
	escalated.EventEscalationResolved:       true,
	escalated.EventHandoffReceived:          true,
	escalated.EventSLAWarning:               true,
	escalated.EventSLABreached:              true,
	escalated.EventEscalationUnacknowledged: true,
}

// maxCascade bounds how many events one change may feed through the policy: actions raise
// events (a set raises ticket.updated, an escalation escalation.created) that the policy hears
// in turn, and the loop guard (a rule fires once per cascade) already makes the chain finite.
const maxCascade = 32

// Step is the policy's verdict on one event of a cascade, as explain shows it.
type Step struct {
	Event   string       `json:"event"`
	Seq     int64        `json:"seq"`
	Rules   []RuleResult `json:"rules"`
	Applied []string     `json:"applied"`
}

// RuleResult is one rule's outcome on one event.
type RuleResult struct {
	Rule    string `json:"rule"`
	Line    int    `json:"line"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
}

// react runs the policy over the events ch has recorded and not yet shown it, and over those
// its own actions add, applying the actions in the caller's transaction. The verdicts are kept
// as the ticket's latest decision for explain.
func (s *Service) react(ctx context.Context, tx store.Tx, ch *change, live *Live) error {
	pol := live.Policy
	if len(pol.Rules) == 0 {
		ch.reacted = len(ch.events)
		return nil
	}
	// Conditions may read the ticket's active escalation on any event.
	if id := ch.t.ActiveEscalation; id != "" && ch.escs[id] == nil {
		e, err := tx.GetEscalation(ctx, id)
		if err != nil {
			return err
		}
		ch.touched(e)
	}
	// The loop guard and the cascade bound span the whole change: a handoff reacts in two
	// passes (service.go commit), and a rule must not fire twice in one change because of it.
	if ch.fired == nil {
		ch.fired = map[string]bool{}
	}
	fired := ch.fired
	var steps []Step
	for ch.reacted < len(ch.events) && len(ch.steps)+len(steps) < maxCascade {
		ev := ch.events[ch.reacted]
		ch.reacted++
		if !policyEvents[ev.Type] {
			continue
		}
		d := decide.Decide(decide.Input{
			Policy: pol, Event: ev.Type, Env: env(pol, ch, ev), Fired: fired, Escalations: ch.t.Counters.Escalations,
		})
		step := Step{Event: ev.Type, Seq: ev.Seq, Rules: make([]RuleResult, len(d.Trace)), Applied: []string{}}
		for i, rt := range d.Trace {
			step.Rules[i] = RuleResult{Rule: rt.Rule, Line: rt.Line, Outcome: rt.Outcome, Reason: rt.Reason}
			if rt.Outcome == decide.OutcomeFired {
				fired[rt.Rule] = true
			}
		}
		applied, err := s.apply(ctx, tx, ch, live, ev, d)
		if err != nil {
			return err
		}
		step.Applied = nonNil(applied)
		steps = append(steps, step)
	}
	if len(steps) == 0 {
		return nil
	}
	ch.steps = append(ch.steps, steps...)
	if s.replay {
		// A replay keeps no decision rows (ForReplay): nothing it decides reads one, and
		// rendering the trace as JSON was a twentieth of a replay's CPU.
		return nil
	}
	// The decision kept for explain is the whole change's, also when it reacted in passes.
	return tx.SaveDecision(ctx, &escalated.Decision{
		TicketID: ch.t.ID, Seq: ch.steps[0].Seq, Event: ch.steps[0].Event, PolicyVersion: live.Version,
		Trace: appendTrace(make([]byte, 0, traceSize(ch.steps)), ch.steps), CreatedAt: ch.now,
	})
}

// traceSize is about how long steps' trace is, so that it is built in one buffer (growing it
// step by step had made a tenth of the bytes a message allocated).
func traceSize(steps []Step) int {
	n := 4 // [] or null
	for _, st := range steps {
		n += 64 + len(st.Event)
		for _, r := range st.Rules {
			n += 48 + len(r.Rule) + len(r.Outcome) + len(r.Reason)
		}
		for _, a := range st.Applied {
			n += 3 + len(a)
		}
	}
	return n + n/8 // escapes
}

// appendTrace appends steps as encoding/json writes them (TestAppendTraceAsEncodingJSON), by
// hand: every change that the policy hears writes its trace, and encoding/json's reflection
// over it was 2% of a message's CPU. Steps hold only strings and integers, which jsonenc
// writes exactly, so there is nothing to leave to encoding/json.
func appendTrace(b []byte, steps []Step) []byte {
	if steps == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, st := range steps {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"event":`...)
		b = jsonenc.AppendString(b, st.Event)
		b = append(b, `,"seq":`...)
		b = strconv.AppendInt(b, st.Seq, 10)
		b = append(b, `,"rules":`...)
		if st.Rules == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for j, r := range st.Rules {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"rule":`...)
				b = jsonenc.AppendString(b, r.Rule)
				b = append(b, `,"line":`...)
				b = strconv.AppendInt(b, int64(r.Line), 10)
				b = append(b, `,"outcome":`...)
				b = jsonenc.AppendString(b, r.Outcome)
				b = append(b, `,"reason":`...)
				b = jsonenc.AppendString(b, r.Reason)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, `,"applied":`...)
		b = jsonenc.AppendStrings(b, st.Applied)
		b = append(b, '}')
	}
	return append(b, ']')
}

// apply carries out a decision's actions on ch's ticket and says in words what it did. An
// action the ticket's state refuses (an escalation off every path, say) is recorded as refused
// in the trace rather than failing the change that triggered it.
func (s *Service) apply(ctx context.Context, tx store.Tx, ch *change, live *Live, ev *escalated.Event, d decide.Decision) ([]string, error) {
	t := ch.t
	var done []string
	byRule := map[string][]string{}
	// bounced holds, per rule, why its escalation was flagged as ping-pong (F8): a rule's
	// escalation back to a team the ticket just left goes ahead, and rule.fired says so too.
	bounced := map[string]string{}
	for _, rt := range d.Trace {
		if rt.Outcome == decide.OutcomeFired {
			byRule[rt.Rule] = []string{} // a rule that fired is recorded even when it changed nothing
		}
	}
	changes := map[string]escalated.Change{}
	note := func(rule, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		done = append(done, rule+": "+msg)
		byRule[rule] = append(byRule[rule], msg)
	}
	for _, a := range d.Actions {
		if a.Suppressed != "" {
			note(a.Rule, "%s suppressed: %s", a.Kind, a.Suppressed)
			continue
		}
		switch a.Kind {
		case decide.ActionSet:
			for _, k := range slices.Sorted(maps.Keys(a.Set)) {
				if msg := setField(t, k, a.Set[k], changes); msg != "" {
					note(a.Rule, "%s", msg)
				}
			}
		case decide.ActionTag, decide.ActionUntag:
			next := slices.Clone(t.Tags)
			for _, tag := range a.Tags {
				if a.Kind == decide.ActionTag && !slices.Contains(next, tag) {
					next = append(next, tag)
				} else if a.Kind == decide.ActionUntag {
					next = slices.DeleteFunc(next, func(x string) bool { return x == tag })
				}
			}
			if !slices.Equal(next, t.Tags) {
				record(changes, "tags", t.Tags, next)
				t.Tags = next
				note(a.Rule, "%s %s", a.Kind, strings.Join(a.Tags, ", "))
			}
		case decide.ActionAssign:
			switch {
			case a.Agent == t.Assignee:
			case !memberOf(live.Policy, a.Agent, t.Team):
				note(a.Rule, "assign refused: agent %q is not a member of team %q", a.Agent, t.Team)
			default:
				if t.Assignee != "" {
					t.Counters.Reassignments++
				}
				record(changes, "assignee", nullable(t.Assignee), a.Agent)
				t.Assignee = a.Agent
				note(a.Rule, "assigned to %s", a.Agent)
			}
		case decide.ActionNotify:
			ch.event(escalated.EventNotificationRequested, map[string]any{"rule": a.Rule, "channel": a.Channel, "message": a.Text, "event": ev.Type})
			note(a.Rule, "notify %s", a.Channel)
		case decide.ActionRecommend:
			t.Recommendation = &escalated.Recommendation{Text: a.Text, Source: "rule:" + a.Rule}
			note(a.Rule, "recommend %q", a.Text)
		case decide.ActionEscalate:
			if ch.holdEscalations && ev.Type != escalated.EventHandoffReceived {
				// A handoff's own events (the ticket created, the transcript's messages) come
				// before handoff.received; where the handoff goes is for the rules on that.
				note(a.Rule, "escalation held: a handoff is being received; rules on handoff.received decide where it goes")
				continue
			}
			// Decide marks every escalation but the first as suppressed; this is that one.
			text := a.Note
			if text == "" {
				text = fmt.Sprintf("Escalated by rule %s on %s.", a.Rule, ev.Type)
			}
			// What caused the escalation: a rule on a ticket's own events, or a rule on a clock
			// running out (analytics and the package tell these apart).
			trigger := escalated.TriggerRule
			switch ev.Type {
			case escalated.EventSLAWarning, escalated.EventSLABreached:
				trigger = escalated.TriggerSLA
			case escalated.EventEscalationUnacknowledged:
				trigger = escalated.TriggerUnacknowledged
			case escalated.EventHandoffReceived:
				// The rule chose where the bot's handoff goes; the package quotes the bot's
				// note unless the rule wrote its own.
				trigger = escalated.TriggerHandoff
				if note, _ := ev.Data["note"].(string); a.Note == "" && note != "" {
					text = note
				}
			}
			e, err := s.escalateTx(ctx, tx, ch, live, escalation{
				To: a.To, Reason: escalated.Reason(a.Reason), Note: text, Trigger: trigger, RuleID: a.Rule,
			})
			code := escalated.ErrorCode(err)
			switch {
			case err == nil:
				note(a.Rule, "escalated to %s (%s)", e.ToTeam, e.Reason)
				if why := ch.pingPongOf(e.ID); why != "" {
					bounced[a.Rule] = why
				}
			case code == escalated.EINVALID || code == escalated.ECONFLICT:
				note(a.Rule, "escalation refused: %s", escalated.ErrorMessage(err))
			default:
				return nil, err
			}
		}
	}
	ch.updated(changes)
	for _, rule := range slices.Sorted(maps.Keys(byRule)) {
		acts := byRule[rule]
		if len(acts) == 0 {
			acts = []string{"no change"}
		}
		data := map[string]any{"rule": rule, "event": ev.Type, "event_seq": ev.Seq, "actions": acts}
		if why := bounced[rule]; why != "" {
			data["ping_pong"] = why
		}
		ch.event(escalated.EventRuleFired, data)
	}
	return done, nil
}

// pingPongOf returns the ping-pong flag the change recorded on escalation id's
// escalation.created event, or "".
func (c *change) pingPongOf(id string) string {
	for i := len(c.events) - 1; i >= 0; i-- {
		e := c.events[i]
		if e.Type == escalated.EventEscalationCreated && e.Data["escalation_id"] == id {
			why, _ := e.Data["ping_pong"].(string)
			return why
		}
	}
	return ""
}

// setField applies one `set` of a rule; it returns what it did, or "" when nothing changed.
func setField(t *escalated.Ticket, key string, v any, changes map[string]escalated.Change) string {
	str, _ := v.(string)
	v = normalise(v) // a policy's 5 must equal the 5.0 a stored field reads back as
	switch {
	case key == "priority" && escalated.Priority(str).Valid() && t.Priority != escalated.Priority(str):
		record(changes, "priority", string(t.Priority), str)
		t.Priority = escalated.Priority(str)
		return "set priority " + str
	case key == "status" && escalated.Status(str).Valid() && t.Status != escalated.Status(str):
		if escalated.Status(str).Done() && t.ActiveEscalation != "" {
			return "set status " + str + " refused: the ticket holds escalation " + t.ActiveEscalation
		}
		setStatus(t, escalated.Status(str), changes)
		return "set status " + str
	case key == "issue_type" && str != "" && t.IssueType != str:
		record(changes, "issue_type", t.IssueType, str)
		t.IssueType = str
		return "set issue_type " + str
	case strings.HasPrefix(key, "custom_fields."):
		name := strings.TrimPrefix(key, "custom_fields.")
		old, had := t.CustomFields[name]
		if (v == nil && !had) || (had && old == v) {
			return ""
		}
		next := maps.Clone(t.CustomFields)
		if next == nil {
			next = map[string]any{}
		}
		if v == nil { // null clears the field
			delete(next, name)
		} else {
			next[name] = v
		}
		record(changes, "custom_fields", t.CustomFields, next)
		t.CustomFields = next
		return fmt.Sprintf("set custom_fields.%s %v", name, v)
	}
	return ""
}

// messageSignals computes a message's signals with the live policy's keyword lists.
func messageSignals(live *Live, body string) escalated.Signals {
	var sig escalated.Signals
	if live.Signals != nil {
		sig = live.Signals.Message(body)
	}
	if sig.Keywords == nil {
		sig.Keywords = []string{}
	}
	return sig
}

// MessageSignals computes a message's signals as the service does with this policy.
func (l *Live) MessageSignals(body string) escalated.Signals { return messageSignals(l, body) }

// signalsOf is in's signals: those a replay computed ahead, else computed here.
func (s *Service) signalsOf(live *Live, in *MessageInput) escalated.Signals {
	if s.replay && in.Signals != nil {
		return *in.Signals
	}
	return messageSignals(live, in.Body)
}

// rescore recomputes the ticket's frustration after its counters moved without a message (a
// reopen by an agent or a rule).
func rescore(t *escalated.Ticket) {
	t.Signals.Frustration = signals.Frustration(t.Signals.Trend, t.Counters.Reopens, t.Counters.CustomerContacts, t.Signals.WantsHuman)
}

// addTicketSignals folds a customer message's signals into the ticket's aggregate.
func addTicketSignals(t *escalated.Ticket, m *escalated.Message) {
	agg := signals.Ticket{
		Sentiment: t.Signals.Sentiment, Trend: t.Signals.Trend, Keywords: t.Signals.Keywords,
		WantsHuman: t.Signals.WantsHuman, Frustration: t.Signals.Frustration,
	}.Add(m.Signals, t.Counters.Reopens, t.Counters.CustomerContacts)
	t.Signals = escalated.TicketSignals{Sentiment: agg.Sentiment, Trend: agg.Trend, Keywords: agg.Keywords,
		WantsHuman: agg.WantsHuman, Frustration: agg.Frustration}
}

// packageSignals is the ticket's signal summary as the handoff package carries it.
func packageSignals(t *escalated.Ticket) *escalated.PackageSignals {
	return &escalated.PackageSignals{SentimentTrend: nonNil(t.Signals.Trend), Frustration: t.Signals.Frustration,
		Keywords: nonNil(t.Signals.Keywords), WantsHuman: t.Signals.WantsHuman}
}

// NewExtractor builds the signal extractor for a policy's keyword lists, as the service does
// when the policy is loaded.
func NewExtractor(p *policy.Policy) (*signals.Extractor, error) {
	cfg := signals.Config{WantsHuman: p.Signals.WantsHuman, Profanity: p.Signals.Profanity}
	for _, k := range p.Signals.Keywords {
		cfg.Keywords = append(cfg.Keywords, signals.KeywordList{ID: k.ID, Phrases: k.Phrases})
	}
	return signals.New(cfg)
}

// WriteExplanation prints a decision for people: each event, each rule's outcome and why, and
// what was done.
func WriteExplanation(w io.Writer, d *escalated.Decision) error {
	var steps []Step
	if err := json.Unmarshal(d.Trace, &steps); err != nil {
		return fmt.Errorf("decision trace: %w", err)
	}
	fmt.Fprintf(w, "ticket %s, policy version %d, decided at %s\n", d.TicketID, d.PolicyVersion, escalated.FormatTime(d.CreatedAt))
	for _, st := range steps {
		fmt.Fprintf(w, "\non %s (history #%d):\n", st.Event, st.Seq)
		for _, r := range st.Rules {
			fmt.Fprintf(w, "  %-28s %-18s %s\n", r.Rule, r.Outcome, r.Reason)
		}
		for _, a := range st.Applied {
			fmt.Fprintf(w, "  -> %s\n", a)
		}
	}
	return nil
}
