package ticket

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/notify"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/signals"
	"github.com/escalated/escalated/internal/sla"
	"github.com/escalated/escalated/internal/store"
)

// Live is the policy in force, the stored version number it was saved under, and what was
// built from it once at load (the signal extractor for its keyword lists).
type Live struct {
	Policy  *policy.Policy
	Version int64
	Signals *signals.Extractor
	// Calendars are the policy's calendars prepared for SLA arithmetic, by id.
	Calendars map[string]*sla.Calendar
	// Channels are the policy's notification channels, compiled once (outbox.go).
	Channels []notify.Channel
}

// Service runs ticket and escalation use cases.
type Service struct {
	store store.Store
	now   func() time.Time
	log   *slog.Logger
	live  atomic.Pointer[Live]
	// loading serialises policy loads, so that of two racing loads the newer version stays live.
	loading sync.Mutex
	// publicURL is where people reach the server (SetPublicURL), for links in packages.
	publicURL string
	// replay leaves out analytics rows, outbox deliveries and (mostly) the similar-ticket
	// index (ForReplay).
	replay bool
}

// ForReplay stops the service from writing analytics rows (and so the report rollups), outbox
// deliveries, decision rows (explain's traces) and, unless the policy requires the
// recommendation in every package, the similar-resolved-ticket index (so packages cite no
// similar tickets). Nothing the service decides reads any of them then: the simulator, which
// measures a replay from its events and sends nothing anywhere, uses it to spend its time on
// decisions. (The search was the largest single cost of a long replay, and the index grew with
// every ticket solved.) Call it before the service is used.
func (s *Service) ForReplay() { s.replay = true }

// New returns a service over st. now is the clock every decision reads; tests and the demo
// loader pass their own.
func New(st store.Store, now func() time.Time, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: st, now: now, log: log}
}

// Policy returns the live policy, or nil before one was loaded.
func (s *Service) Policy() *Live { return s.live.Load() }

func (s *Service) policy() (*Live, error) {
	l := s.live.Load()
	if l == nil {
		return nil, escalated.Errorf(escalated.EINTERNAL, "no policy loaded")
	}
	return l, nil
}

// LoadPolicy stores p as a new policy version unless the newest stored version has the same
// text, makes it live, and audits the load either way.
func (s *Service) LoadPolicy(ctx context.Context, p *policy.Policy, actor string) (int64, error) {
	x, err := NewExtractor(p)
	if err != nil {
		return 0, escalated.Errorf(escalated.EINVALID, "policy signals: %v", err)
	}
	cals, err := calendars(p)
	if err != nil {
		return 0, escalated.Errorf(escalated.EINVALID, "policy calendars: %v", err)
	}
	chans, err := notify.ParseChannels(p)
	if err != nil {
		return 0, escalated.Errorf(escalated.EINVALID, "policy channels:\n%v", err)
	}
	s.loading.Lock()
	defer s.loading.Unlock()
	now := escalated.Truncate(s.now())
	var version int64
	err = s.store.Update(ctx, func(tx store.Tx) error {
		latest, err := tx.LatestPolicy(ctx)
		stored := false
		switch {
		case err == nil && latest.Hash == p.Hash:
			version = latest.Version
		case err == nil || escalated.ErrorCode(err) == escalated.ENOTFOUND:
			pv := &escalated.PolicyVersion{Hash: p.Hash, Source: string(p.Source), Actor: actor, CreatedAt: now}
			if err := tx.SavePolicy(ctx, pv); err != nil {
				return err
			}
			version, stored = pv.Version, true
		default:
			return err
		}
		return tx.AppendAudit(ctx, &escalated.AuditRecord{
			ID: escalated.NewID(escalated.PrefixAudit, now), Actor: actor, Action: escalated.AuditPolicyLoaded,
			ObjectKind: "policy", ObjectID: fmt.Sprint(version),
			Details:   map[string]any{"hash": p.Hash, "new_version": stored, "summary": p.Summary()},
			CreatedAt: now,
		})
	})
	if err != nil {
		return 0, fmt.Errorf("load policy: %w", err)
	}
	s.live.Store(&Live{Policy: p, Version: version, Signals: x, Calendars: cals, Channels: chans})
	s.log.Info("policy loaded", "version", version, "hash", p.Hash[:12])
	return version, nil
}

// Detail is a ticket with its full history, its escalations and its SLA clocks.
type Detail struct {
	Ticket      *escalated.Ticket
	History     []*escalated.Event
	Escalations []*escalated.Escalation
	SLA         []escalated.ClockStatus
}

// MarshalJSON renders the ticket's fields with history, escalations and sla beside them.
func (d Detail) MarshalJSON() ([]byte, error) {
	tb, err := json.Marshal(d.Ticket)
	if err != nil {
		return nil, err
	}
	extra, err := json.Marshal(struct {
		History     []*escalated.Event      `json:"history"`
		Escalations []*escalated.Escalation `json:"escalations"`
		SLA         []escalated.ClockStatus `json:"sla"`
	}{nonNil(d.History), nonNil(d.Escalations), nonNil(d.SLA)})
	if err != nil {
		return nil, err
	}
	// Splice the two objects: {ticket fields..., history, escalations, sla}.
	return append(append(tb[:len(tb)-1], ','), extra[1:]...), nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// change collects what one operation does to a ticket so that the ticket row, its history and
// audit are written together. Every history entry takes the next version number as its Seq.
type change struct {
	t       *escalated.Ticket
	prev    int64 // the version last written (or read)
	now     time.Time
	actor   string
	events  []*escalated.Event
	msgs    []*escalated.Message
	audit   []*escalated.AuditRecord
	created bool
	// inserted says the ticket row exists; written counts the events, messages and audit
	// records already written, so write can run more than once as the policy reacts.
	inserted                      bool
	eventsOut, msgsOut, auditsOut int
	// reacted counts the events the policy has already heard.
	reacted int
	// escs are the escalations this change touched, for the policy's `escalation` variable.
	escs map[string]*escalated.Escalation
	// live is the policy the change is decided under, read once per operation.
	live *Live
	// sla follows the ticket's SLA clocks through the change (clocks.go).
	sla slaTrack
	// startTeam is the team that held the ticket when the change began; events it writes
	// after a move carry it as FromTeam, for the live stream's team filter.
	startTeam string
	// afterReact runs once, after the policy reacted to the change's events (a handoff's own
	// escalation when no rule made one).
	afterReact func() error
	// steps are the policy's verdicts during the change (explain, evaluate); fired the rules
	// that fired, for the loop guard.
	steps []Step
	fired map[string]bool
	// holdEscalations defers rule escalations on a handoff's events before handoff.received.
	holdEscalations bool
	// handoffMsg is the customer message a handoff.received event shows rules as `message`.
	handoffMsg *escalated.Message
	// startStatus is the ticket's status when the change began: a change that solves or
	// reopens it updates the similar-ticket index.
	startStatus escalated.Status
	// startFact and startEscalations are the ticket's analytics row and escalation count when
	// the change began; analyticsOut counts the events trackAnalytics has read (facts.go).
	startFact        *store.TicketFact
	startEscalations int
	analyticsOut     int
	// escWritten are the escalations the change created or updated (their facts follow);
	// escCreated those it created, which have no analytics row to read yet.
	escWritten, escCreated map[string]bool
	// rowAfterReact leaves the ticket row out of the write before the policy reacts, for the
	// write after (commit): set by a change whose own edits before the reaction are ones
	// nothing in it reads back from the store (a clock firing moves only the clocks, in
	// tickets.extra, and the version), so the row is written once instead of twice.
	rowAfterReact bool
}

func newChange(t *escalated.Ticket, actor string, now time.Time) *change {
	return &change{t: t, prev: t.Version, now: now, actor: actor, sla: newSLATrack(t), startTeam: t.Team, startStatus: t.Status,
		startFact: ticketFact(t), startEscalations: t.Counters.Escalations}
}

func (c *change) event(typ string, data map[string]any) *escalated.Event {
	c.t.Version++
	e := &escalated.Event{
		ID: escalated.NewID(escalated.PrefixEvent, c.now), TicketID: c.t.ID, Seq: c.t.Version,
		Type: typ, Actor: c.actor, Data: data, CreatedAt: c.now,
	}
	c.events = append(c.events, e)
	return e
}

func (c *change) message(m *escalated.Message) {
	e := c.event(escalated.EventMessageAdded, map[string]any{"message_id": m.ID, "author_kind": string(m.Author.Kind), "internal": m.Internal})
	m.Seq = e.Seq
	e.Message = m
	c.msgs = append(c.msgs, m)
}

func (c *change) auditRec(action, kind, id string, details map[string]any) {
	c.audit = append(c.audit, &escalated.AuditRecord{
		ID: escalated.NewID(escalated.PrefixAudit, c.now), Actor: c.actor, Action: action,
		ObjectKind: kind, ObjectID: id, Details: details, CreatedAt: c.now,
	})
}

// updated records a ticket.updated event when anything changed.
func (c *change) updated(changes map[string]escalated.Change) {
	tidy(changes)
	if len(changes) > 0 {
		c.event(escalated.EventTicketUpdated, map[string]any{"changes": changes})
	}
}

// write stores what the change recorded since its last write: the ticket row when it moved,
// then new messages, events and audit records. It runs before the policy reacts (so a rule's
// escalation package sees the messages) and again after.
func (c *change) write(ctx context.Context, tx store.Tx) error {
	var err error
	switch {
	case c.created && !c.inserted:
		c.t.UpdatedAt = c.now
		err = tx.CreateTicket(ctx, c.t)
		c.inserted = true
	case c.rowAfterReact:
	case c.t.Version != c.prev:
		c.t.UpdatedAt = c.now
		err = tx.UpdateTicket(ctx, c.t, c.prev)
	}
	if err != nil {
		return err
	}
	if !c.rowAfterReact {
		c.prev = c.t.Version
	}
	for ; c.msgsOut < len(c.msgs); c.msgsOut++ {
		if err := tx.AddMessage(ctx, c.msgs[c.msgsOut]); err != nil {
			return err
		}
	}
	for ; c.eventsOut < len(c.events); c.eventsOut++ {
		e := c.events[c.eventsOut]
		e.Team, e.FromTeam = c.t.Team, ""
		if c.startTeam != c.t.Team {
			e.FromTeam = c.startTeam
		}
		if err := tx.AppendEvent(ctx, e); err != nil {
			return err
		}
	}
	for ; c.auditsOut < len(c.audit); c.auditsOut++ {
		if err := tx.AppendAudit(ctx, c.audit[c.auditsOut]); err != nil {
			return err
		}
	}
	return nil
}

// commit writes the change, lets the policy react to its events, and writes what that added.
// The SLA clocks follow the events before the policy hears them (so conditions read current
// clocks) and again after (the policy's own actions move them too); the deadline rows of the
// clocks that moved are written last, in the same transaction.
func (s *Service) commit(ctx context.Context, tx store.Tx, ch *change, live *Live) error {
	s.syncClocks(ch, live)
	ch.trackAnalytics(live)
	if err := ch.write(ctx, tx); err != nil {
		return err
	}
	if err := s.react(ctx, tx, ch, live); err != nil {
		return err
	}
	// A handoff escalates after the policy had its say (handoffs.go); the policy then hears
	// that escalation too.
	if hook := ch.afterReact; hook != nil {
		ch.afterReact = nil
		if err := hook(); err != nil {
			return err
		}
		if err := s.react(ctx, tx, ch, live); err != nil {
			return err
		}
	}
	s.syncClocks(ch, live)
	ch.trackAnalytics(live)
	ch.rowAfterReact = false
	if err := ch.write(ctx, tx); err != nil {
		return err
	}
	if err := ch.writeDeadlines(ctx, tx); err != nil {
		return err
	}
	if err := s.indexResolution(ctx, tx, ch, live); err != nil {
		return err
	}
	if s.replay {
		return nil
	}
	if err := s.writeFacts(ctx, tx, ch); err != nil {
		return err
	}
	return s.enqueueDeliveries(ctx, tx, ch, live)
}

// wroteEscalation notes that the change writes escalation id, so its analytics row follows.
func (c *change) wroteEscalation(id string) {
	if c.escWritten == nil {
		c.escWritten = map[string]bool{}
	}
	c.escWritten[id] = true
}

// createdEscalation notes that the change creates escalation id.
func (c *change) createdEscalation(id string) {
	if c.escCreated == nil {
		c.escCreated = map[string]bool{}
	}
	c.escCreated[id] = true
}

// touched remembers an escalation the change created or moved.
func (c *change) touched(e *escalated.Escalation) {
	if c.escs == nil {
		c.escs = map[string]*escalated.Escalation{}
	}
	c.escs[e.ID] = e
}

// agentOr names the agent a request speaks for, else the authenticated actor. `by` is a claim
// the token makes, so history and audit always keep the token as the actor and `by` beside it.
func agentOr(by, actor string) string {
	if by != "" {
		return by
	}
	return actor
}

// setStatus moves the ticket to st, keeping the reopen counter, and records the change.
func setStatus(t *escalated.Ticket, st escalated.Status, changes map[string]escalated.Change) {
	if t.Status == st {
		return
	}
	if t.Status.Done() && !st.Done() {
		t.Counters.Reopens++
		rescore(t)
	}
	record(changes, "status", t.Status, st)
	t.Status = st
}

// record notes a field's change, keeping the value from before the whole operation when
// several steps change the same field; tidy drops the ones that ended where they started.
func record(changes map[string]escalated.Change, key string, from, to any) {
	if c, ok := changes[key]; ok {
		from = c.From
	}
	changes[key] = escalated.Change{From: from, To: to}
}

// tidy removes recorded changes whose final value equals the first.
func tidy(changes map[string]escalated.Change) {
	for k, c := range changes {
		if reflect.DeepEqual(normalise(c.From), normalise(c.To)) {
			delete(changes, k)
		}
	}
}

// normalise makes values of the same meaning compare equal: typed strings as strings, whole
// numbers of any Go type as float64 (what a stored JSON value reads back as).
func normalise(v any) any {
	switch x := v.(type) {
	case escalated.Status:
		return string(x)
	case escalated.Priority:
		return string(x)
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case []string:
		if x == nil {
			return []string{}
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, v := range x {
			out[k] = normalise(v)
		}
		return out
	}
	return v
}

// GetTicket returns a ticket with its history and escalations.
func (s *Service) GetTicket(ctx context.Context, id string) (*Detail, error) {
	if _, err := access.Authorize(ctx, access.ReadTickets); err != nil {
		return nil, err
	}
	d := &Detail{}
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		if d.Ticket, err = tx.GetTicket(ctx, id); err != nil {
			return s.scope(ctx).notFound(err, id)
		}
		if d.History, err = tx.ListEvents(ctx, id); err != nil {
			return err
		}
		d.Escalations, err = ticketEscalations(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if sc := s.scope(ctx); !sc.Sees(d.Ticket, d.Escalations) {
		return nil, sc.hidden(id)
	}
	d.SLA = clockStatuses(s.Policy(), d.Ticket, s.now())
	return d, nil
}

// ticketEscalations returns all escalations of a ticket, oldest first.
func ticketEscalations(ctx context.Context, tx store.Tx, ticketID string) ([]*escalated.Escalation, error) {
	var all []*escalated.Escalation
	f := store.EscalationFilter{TicketID: ticketID, Limit: store.MaxLimit}
	for {
		page, next, err := tx.ListEscalations(ctx, f)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		f.Cursor = next
	}
	for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
		all[i], all[j] = all[j], all[i]
	}
	return all, nil
}

// ListTickets returns a page of tickets, newest first.
func (s *Service) ListTickets(ctx context.Context, f store.TicketFilter) ([]*escalated.Ticket, string, error) {
	if _, err := access.Authorize(ctx, access.ReadTickets); err != nil {
		return nil, "", err
	}
	var err error
	if f.Team, err = s.scope(ctx).team("team", f.Team); err != nil {
		return nil, "", err
	}
	f.Limit = store.ClampLimit(f.Limit)
	var items []*escalated.Ticket
	var next string
	err = s.store.View(ctx, func(tx store.Tx) error {
		var err error
		items, next, err = tx.ListTickets(ctx, f)
		return err
	})
	return items, next, err
}

// GetEscalation returns one escalation with its package.
func (s *Service) GetEscalation(ctx context.Context, id string) (*escalated.Escalation, error) {
	if _, err := access.Authorize(ctx, access.ReadTickets); err != nil {
		return nil, err
	}
	var e *escalated.Escalation
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		e, err = s.getEscalation(ctx, tx, id)
		return err
	})
	return e, err
}

// ListEscalations returns a page of escalations, newest first.
func (s *Service) ListEscalations(ctx context.Context, f store.EscalationFilter) ([]*escalated.Escalation, string, error) {
	if _, err := access.Authorize(ctx, access.ReadTickets); err != nil {
		return nil, "", err
	}
	// One ticket's escalations are as visible as the ticket; otherwise the list is one team's
	// (either side, or the receiving side with to_team) within the scope.
	sc := s.scope(ctx)
	if f.TicketID == "" && !sc.All {
		if f.ToTeam != "" && f.Team == "" {
			if _, err := sc.team("to_team", f.ToTeam); err != nil {
				return nil, "", err
			}
		} else {
			var err error
			if f.Team, err = sc.team("team", f.Team); err != nil {
				return nil, "", err
			}
		}
	}
	f.Limit = store.ClampLimit(f.Limit)
	var items []*escalated.Escalation
	var next string
	err := s.store.View(ctx, func(tx store.Tx) error {
		if f.TicketID != "" && !sc.All {
			t, err := tx.GetTicket(ctx, f.TicketID)
			if escalated.ErrorCode(err) == escalated.ENOTFOUND {
				return sc.hidden(f.TicketID)
			} else if err != nil {
				return err
			}
			if err := sc.checkTicket(ctx, tx, t); err != nil {
				return err
			}
		}
		var err error
		items, next, err = tx.ListEscalations(ctx, f)
		return err
	})
	return items, next, err
}

// ListAudit returns a page of audit records, newest first.
func (s *Service) ListAudit(ctx context.Context, f store.AuditFilter) ([]*escalated.AuditRecord, string, error) {
	if _, err := access.Authorize(ctx, access.ReadAudit); err != nil {
		return nil, "", err
	}
	f.Limit = store.ClampLimit(f.Limit)
	var items []*escalated.AuditRecord
	var next string
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		items, next, err = tx.ListAudit(ctx, f)
		return err
	})
	return items, next, err
}

// checkAgent validates an agent id against the policy; field names the request field.
func checkAgent(fe escalated.FieldErrors, pol *policy.Policy, field, id string) {
	if id == "" {
		return
	}
	if _, ok := pol.Agent(id); !ok {
		fe.Add(field, fmt.Sprintf("unknown agent %q (agents are defined in the policy's agents section)", id))
	}
}

// memberOf reports whether agent id belongs to team.
func memberOf(pol *policy.Policy, agentID, team string) bool {
	a, ok := pol.Agent(agentID)
	if !ok {
		return false
	}
	for _, t := range a.Teams {
		if t == team {
			return true
		}
	}
	return false
}

func trim(s string) string { return strings.TrimSpace(s) }

// WithClock returns a service over the same store and live policy that reads another clock.
// The demo loader uses it to replay tickets at their historical times.
func (s *Service) WithClock(now func() time.Time) *Service {
	c := New(s.store, now, s.log)
	c.live.Store(s.live.Load())
	return c
}
