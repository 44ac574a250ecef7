// Package simulate replays a recorded ticket history (internal/history) through a policy with
// the production services — the ticket service's decisions, routing, SLA arithmetic and the
// deadline firing of the engine — on a virtual clock, and measures what the policy did.
//
// # How a replay runs
//
// The store is in memory (internal/store/memstore, which passes the stores' conformance suite),
// driven by the same ticket.Service a server runs; its clock is a variable the replay sets. Three sources of work are merged in time order, and at equal times in this
// order:
//
//  1. deadlines (SLA warnings and breaches, unacknowledged escalations) due by then, each fired
//     at its own due time, as the engine would with no lateness;
//  2. the history's events in file order: tickets opened, messages, updates, handoffs and the
//     manual escalations agents made (escalations the policy made live are not replayed: the
//     policy under test makes its own). A manual escalation to a team the policy offers no
//     path to from the ticket's team goes to the next tier instead, counted in the report;
//  3. what the receiving agents do with each escalation the replay makes (acknowledge, return,
//     resolve), scheduled when the escalation is made.
//
// # Agent behaviour
//
// The n-th escalation a replay makes on a ticket is handled like the n-th escalation the history
// records on it: acknowledged as long after it was made as the recorded one was, then returned
// or resolved as long after that, by the same agent when that agent is in the receiving team
// (else by the ticket's assignee there, else the team's first agent). A recorded escalation
// that was never acknowledged is not acknowledged in the replay either. An escalation with no
// recorded counterpart draws its time to acknowledge, and then to resolve, from Options.Ack
// and Options.Resolve (log-normal, given by median and 90th percentile, from a seeded random
// source). A recorded status change to solved that finds the ticket's escalation still
// pending has it acknowledged first by the ticket's assignee, as the service requires.
//
// Nothing reads the wall clock and nothing runs concurrently, so the same history, policy and
// options give the same result, byte for byte in every output format.
package simulate

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/history"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/memstore"
	"github.com/escalated/escalated/internal/store/sqlite"
	"github.com/escalated/escalated/internal/ticket"
)

// Dist is a log-normal distribution of durations, given by its median and 90th percentile.
type Dist struct {
	Median, P90 time.Duration
}

// Check says what is wrong with d; name is the option's name.
func (d Dist) Check(name string) error {
	if d.Median <= 0 || d.P90 < d.Median {
		return escalated.Invalid(name, fmt.Sprintf("needs a median above zero and a 90th percentile at least as long (got median %s, p90 %s)", d.Median, d.P90))
	}
	return nil
}

// draw returns a duration from d, rounded to the second.
func (d Dist) draw(r *rand.Rand) time.Duration {
	// ln X ~ N(mu, sigma): the median is e^mu and the 90th percentile e^(mu + 1.2816 sigma).
	mu := math.Log(d.Median.Seconds())
	sigma := (math.Log(d.P90.Seconds()) - mu) / 1.2815515655446004
	secs := math.Exp(mu + sigma*r.NormFloat64())
	return time.Duration(math.Round(min(secs, 365*24*3600))) * time.Second
}

// Defaults for agents' times when the history does not give them.
var (
	DefaultAck     = Dist{Median: 30 * time.Minute, P90: 4 * time.Hour}
	DefaultResolve = Dist{Median: 4 * time.Hour, P90: 48 * time.Hour}
)

// Options tune a replay.
type Options struct {
	// Ack and Resolve are the times agents take, for escalations the history has no
	// counterpart for (zero: the defaults).
	Ack, Resolve Dist
	// Seed seeds the draws from Ack and Resolve.
	Seed uint64
	// Until ends the replay (zero: the last event of the history); deadlines due later do not
	// fire.
	Until time.Time
	// OnDisk replays on a scratch SQLite database in Dir ("": the system's temporary
	// directory) instead of in memory: slower, and the same result (the benchmark compares them).
	OnDisk bool
	Dir    string
	Log    *slog.Logger
}

// replay is one run in progress.
type replay struct {
	ctx  context.Context
	st   store.Store
	svc  *ticket.Service
	pol  *policy.Policy
	now  time.Time
	rand *rand.Rand
	opts Options
	res  *Result

	changes <-chan store.Change
	// nextDue is the earliest deadline the replay knows of (zero: none); it may be earlier than
	// the store's (a deadline since cancelled), never later.
	nextDue time.Time

	ids  map[string]string // history ticket id -> replay ticket id
	hist map[string]string // replay ticket id -> history ticket id
	// recorded holds, per history ticket, its recorded escalations in order.
	recorded map[string][]*recordedEscalation
	// made counts the escalations the replay made per replay ticket.
	made map[string]int
	// agenda holds the agents' actions to come, in time order.
	agenda agenda
	// ahead computes the messages' signals ahead of the replay.
	ahead *ahead
}

// recordedEscalation is what the history says happened to one escalation.
type recordedEscalation struct {
	created                 time.Time
	by                      string
	ack, returned, resolved *history.Event
}

// Run replays events (a history, as history.Read returns it) through the policy src (parsed
// under name) and returns what happened.
func Run(ctx context.Context, name string, src []byte, events []history.Event, opts Options) (*Result, error) {
	pol, err := policy.Parse(name, src)
	if err != nil {
		return nil, err
	}
	if opts.Ack == (Dist{}) {
		opts.Ack = DefaultAck
	}
	if opts.Resolve == (Dist{}) {
		opts.Resolve = DefaultResolve
	}
	if err := opts.Ack.Check("ack"); err != nil {
		return nil, err
	}
	if err := opts.Resolve.Check("resolve"); err != nil {
		return nil, err
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if len(events) == 0 {
		return nil, escalated.Invalid("history", "has no events to replay")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A replay allocates a great deal that dies young (copies in and out of the store): the
	// collector runs a quarter as often, for a larger heap, but works harder again as the heap
	// nears half the machine's memory (a large history keeps gigabytes live).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	if total := physicalMemory(); total > 0 && os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(int64(total / 2)))
	}
	var db store.Store = memstore.New()
	if opts.OnDisk {
		dir, err := os.MkdirTemp(opts.Dir, "escalated-simulate-")
		if err != nil {
			return nil, fmt.Errorf("scratch directory for the replay: %w", err)
		}
		defer os.RemoveAll(dir)
		if db, err = sqlite.Open(ctx, filepath.Join(dir, "replay.db"), sqlite.Scratch(), sqlite.WithLogger(opts.Log)); err != nil {
			return nil, err
		}
	}
	defer db.Close()

	r := &replay{
		ctx: escalated.WithPrincipal(ctx, escalated.Principal{Name: "simulate", Role: escalated.RoleAdmin}),
		st:  db, pol: pol, opts: opts, now: events[0].At,
		rand: rand.New(rand.NewPCG(opts.Seed, 0x5eed)),
		ids:  map[string]string{}, hist: map[string]string{},
		recorded: map[string][]*recordedEscalation{}, made: map[string]int{},
	}
	r.svc = ticket.New(db, func() time.Time { return r.now }, opts.Log)
	r.svc.ForReplay()
	if r.changes, err = db.Subscribe(ctx); err != nil {
		return nil, err
	}
	if _, err := r.svc.LoadPolicy(r.ctx, pol, "simulate"); err != nil {
		return nil, err
	}
	r.record(events)
	r.ahead = startAhead(ctx, r.svc.Policy(), events)
	until := opts.Until
	if until.IsZero() {
		until = events[len(events)-1].At
	}
	if until.Before(events[0].At) {
		return nil, escalated.Invalid("until", fmt.Sprintf("%s is before the history's first event (%s)", escalated.FormatTime(until), escalated.FormatTime(events[0].At)))
	}
	r.res = newResult(name, pol, events[0].At, until)
	if err := r.run(events, until); err != nil {
		return nil, err
	}
	if err := r.measure(); err != nil {
		return nil, err
	}
	return r.res, nil
}

// record indexes the recorded escalations and what became of them.
func (r *replay) record(events []history.Event) {
	for i := range events {
		e := &events[i]
		switch e.Type {
		case history.EscalationCreated:
			r.recorded[e.Ticket] = append(r.recorded[e.Ticket], &recordedEscalation{created: e.At, by: e.By})
		case history.EscalationAcknowledged, history.EscalationReturned, history.EscalationResolved:
			rec := r.recorded[e.Ticket][e.Escalation-1]
			switch e.Type {
			case history.EscalationAcknowledged:
				rec.ack = e
			case history.EscalationReturned:
				rec.returned = e
			default:
				rec.resolved = e
			}
		}
	}
}

// run merges deadlines, history and the agenda in time order until until.
func (r *replay) run(events []history.Event, until time.Time) error {
	i := 0
	for {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		next, src := until.Add(time.Millisecond), 0
		if i < len(events) && events[i].At.Before(next) {
			next, src = events[i].At, 1
		}
		if a := r.agenda.peek(); a != nil && a.at.Before(next) {
			next, src = a.at, 2
		}
		if !r.nextDue.IsZero() && !r.nextDue.After(next) && !r.nextDue.After(until) {
			if err := r.fireDue(r.nextDue); err != nil {
				return err
			}
			continue
		}
		if src == 0 {
			return nil
		}
		r.now = next
		var err error
		if src == 1 {
			err = r.apply(events, i)
			i++
		} else {
			err = r.act(r.agenda.pop())
		}
		if err != nil {
			return err
		}
		if err := r.drain(); err != nil {
			return err
		}
	}
}

// fireDue fires, at its due time, every deadline due by at, then learns the next one.
func (r *replay) fireDue(at time.Time) error {
	r.now = at
	const batch = 64
	for {
		claimed := 0
		err := r.st.Update(r.ctx, func(tx store.Tx) error {
			ds, err := tx.ClaimDue(r.ctx, at, batch)
			if err != nil {
				return err
			}
			claimed = len(ds)
			for _, d := range ds {
				fired, err := r.svc.FireDeadline(r.ctx, tx, d, d.DueAt)
				if err != nil {
					return err
				}
				if fired {
					r.res.DeadlinesFired++
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("fire deadlines due at %s: %w", escalated.FormatTime(at), err)
		}
		if claimed < batch {
			break
		}
	}
	if err := r.drain(); err != nil {
		return err
	}
	// The store knows best what is due next once these are gone.
	return r.st.View(r.ctx, func(tx store.Tx) error {
		next, err := tx.NextDue(r.ctx)
		r.nextDue = next
		return err
	})
}

// drain reads the changes the last operation committed: new deadlines move nextDue, new
// escalations get their agents' actions scheduled.
func (r *replay) drain() error {
	var made []string // tickets with a new escalation, in commit order
	for {
		select {
		case c, ok := <-r.changes:
			if !ok {
				return fmt.Errorf("the replay's store closed")
			}
			switch {
			case c.Lagged:
				return fmt.Errorf("the replay fell behind its own store's changes")
			case c.Type == store.ChangeDeadline:
				if r.nextDue.IsZero() || c.Due.Before(r.nextDue) {
					r.nextDue = c.Due
				}
			case c.Type == escalated.EventEscalationCreated:
				made = append(made, c.TicketID)
			}
			continue
		default:
		}
		break
	}
	for _, id := range made {
		if err := r.escalated(id); err != nil {
			return err
		}
	}
	return nil
}

// ticket reads a ticket and its escalations, oldest first, as ticket.Service.GetTicket does
// for the replay's admin, without the history the replay does not read.
func (r *replay) ticket(id string) (*ticket.Detail, error) {
	d := &ticket.Detail{}
	err := r.st.View(r.ctx, func(tx store.Tx) error {
		var err error
		if d.Ticket, err = tx.GetTicket(r.ctx, id); err != nil {
			return err
		}
		f := store.EscalationFilter{TicketID: id, Limit: store.MaxLimit}
		for {
			page, next, err := tx.ListEscalations(r.ctx, f)
			if err != nil {
				return err
			}
			d.Escalations = append(d.Escalations, page...)
			if next == "" {
				break
			}
			f.Cursor = next
		}
		slices.Reverse(d.Escalations)
		return nil
	})
	return d, err
}

// escalated schedules what the receiving agents do with the newest escalation of ticket id.
func (r *replay) escalated(id string) error {
	d, err := r.ticket(id)
	if err != nil {
		return err
	}
	n := len(d.Escalations)
	if n <= r.made[id] {
		return nil // announced twice (one change, several events): handled already
	}
	r.made[id] = n
	e := d.Escalations[n-1]
	var rec *recordedEscalation
	if recs := r.recorded[r.hist[id]]; n <= len(recs) {
		rec = recs[n-1]
	}
	by := r.receiver(e.ToTeam, d.Ticket, rec)
	switch {
	case rec != nil && rec.ack == nil:
		return nil // nobody picked it up live: nobody does here
	case rec != nil:
		ackAt := e.CreatedAt.Add(rec.ack.At.Sub(rec.created))
		r.agenda.push(action{at: ackAt, kind: history.EscalationAcknowledged, ticket: id, esc: e.ID, by: by, ev: rec.ack})
		switch {
		case rec.returned != nil:
			r.agenda.push(action{at: ackAt.Add(rec.returned.At.Sub(rec.ack.At)), kind: history.EscalationReturned, ticket: id, esc: e.ID, by: by, ev: rec.returned})
		case rec.resolved != nil:
			r.agenda.push(action{at: ackAt.Add(rec.resolved.At.Sub(rec.ack.At)), kind: history.EscalationResolved, ticket: id, esc: e.ID, by: by, ev: rec.resolved})
		}
	default:
		ackAt := e.CreatedAt.Add(r.opts.Ack.draw(r.rand))
		r.agenda.push(action{at: ackAt, kind: history.EscalationAcknowledged, ticket: id, esc: e.ID, by: by})
		r.agenda.push(action{at: ackAt.Add(r.opts.Resolve.draw(r.rand)), kind: history.EscalationResolved, ticket: id, esc: e.ID, by: by})
	}
	return nil
}

// receiver picks the agent who handles an escalation to team.
func (r *replay) receiver(team string, t *escalated.Ticket, rec *recordedEscalation) string {
	member := func(agent string) bool { return agent != "" && slices.Contains(r.pol.TeamsOfAgent(agent), team) }
	switch {
	case rec != nil && rec.ack != nil && member(rec.ack.By):
		return rec.ack.By
	case member(t.Assignee):
		return t.Assignee
	}
	for _, a := range r.pol.Agents {
		if slices.Contains(a.Teams, team) {
			return a.ID
		}
	}
	return ""
}

// apply replays events[i].
func (r *replay) apply(events []history.Event, i int) error {
	e := &events[i]
	r.res.EventsReplayed++
	id := r.ids[e.Ticket]
	var err error
	switch e.Type {
	case history.TicketCreated:
		var d *ticket.Detail
		in := createInput(e.New)
		in.Message = &ticket.MessageInput{Author: e.Message.Author, Body: e.Message.Body, Internal: e.Message.Internal, Signals: r.ahead.signals(i)}
		if d, err = r.svc.CreateTicket(r.ctx, in); err == nil {
			r.opened(e.Ticket, d.Ticket.ID)
		}
	case history.MessageAdded:
		_, err = r.svc.AddMessage(r.ctx, id, ticket.MessageInput{Author: e.Message.Author, Body: e.Message.Body, Internal: e.Message.Internal, Signals: r.ahead.signals(i)})
	case history.TicketUpdated:
		err = r.update(id, e)
	case history.HandoffReceived:
		err = r.handoff(e)
	case history.EscalationCreated:
		if e.Trigger != "" && e.Trigger != string(escalated.TriggerManual) {
			r.res.EventsReplayed-- // the policy's own doing live: the policy under test decides again
			return nil
		}
		in := ticket.EscalateInput{To: e.To, Reason: escalated.Reason(e.Reason), Note: e.Note, By: r.agentOr(e.By)}
		_, err = r.svc.Escalate(r.ctx, id, in)
		if escalated.ErrorFields(err)["to"] != "" && e.To != "next_tier" {
			// The policy has no path from the ticket's team to the recorded one (a draft that
			// puts a team in between): the agent escalates to the next tier instead, and the
			// report says how often.
			in.To = "next_tier"
			if _, err2 := r.svc.Escalate(r.ctx, id, in); err2 == nil {
				r.res.skip("escalation.created (sent to next_tier instead)", err)
				err = nil
			}
		}
	case history.EscalationAcknowledged, history.EscalationReturned, history.EscalationResolved:
		// Handled as agent behaviour (escalated), on the replay's own escalations.
		r.res.EventsReplayed--
		return nil
	}
	if err != nil {
		if code := escalated.ErrorCode(err); code == escalated.EINVALID || code == escalated.ECONFLICT || code == escalated.ENOTFOUND {
			r.res.skip(e.Type, err)
			return nil
		}
		return fmt.Errorf("replay %s of ticket %s at %s: %w", e.Type, e.Ticket, escalated.FormatTime(e.At), err)
	}
	return nil
}

// opened links a history ticket to the replay's.
func (r *replay) opened(histID, id string) {
	r.ids[histID], r.hist[id] = id, histID
	r.res.Tickets++
	r.res.order = append(r.res.order, histID)
}

// agentOr keeps an agent id the policy knows and drops one it does not (a history from before
// an agent left, or from another system): the action is then the integration's.
func (r *replay) agentOr(id string) string {
	if _, ok := r.pol.Agent(id); ok {
		return id
	}
	return ""
}

func createInput(n *history.NewTicket) ticket.CreateInput {
	return ticket.CreateInput{
		Subject: n.Subject, Priority: escalated.Priority(n.Priority), Channel: escalated.Channel(n.Channel),
		IssueType: n.IssueType, Language: n.Language, Tags: n.Tags, Team: n.Team,
		Customer: n.Customer, Account: n.Account, CustomFields: n.CustomFields,
	}
}

// update replays a change of fields; solving a ticket whose escalation is still pending in the
// replay has the assignee acknowledge it first.
func (r *replay) update(id string, e *history.Event) error {
	u := e.Update
	p := ticket.Patch{By: r.agentOr(e.By), Assignee: u.Assignee, Tags: u.Tags}
	if u.Status != "" {
		s := escalated.Status(u.Status)
		p.Status = &s
	}
	if u.Priority != "" {
		pr := escalated.Priority(u.Priority)
		p.Priority = &pr
	}
	if u.IssueType != "" {
		p.IssueType = &u.IssueType
	}
	if p.Assignee != nil && *p.Assignee != "" && r.agentOr(*p.Assignee) == "" {
		p.Assignee = nil // an agent the policy does not know: routing's choice stands
		if p.Status == nil && p.Priority == nil && p.IssueType == nil && p.Tags == nil {
			return nil
		}
	}
	if p.Status != nil && p.Status.Done() {
		if err := r.acknowledgePending(id); err != nil {
			return err
		}
	}
	return r.svc.ApplyPatch(r.ctx, id, p)
}

// acknowledgePending acknowledges the ticket's pending escalation, if any, by its receiver.
func (r *replay) acknowledgePending(id string) error {
	d, err := r.ticket(id)
	if err != nil {
		return err
	}
	for _, e := range d.Escalations {
		if e.ID == d.Ticket.ActiveEscalation && e.State == escalated.EscalationPending {
			by := r.receiver(e.ToTeam, d.Ticket, nil)
			if _, err := r.svc.Acknowledge(r.ctx, e.ID, by); err != nil {
				return err
			}
			r.res.AgentActions++
		}
	}
	return nil
}

// handoff replays a chatbot's handoff, of a new ticket or into an open one.
func (r *replay) handoff(e *history.Event) error {
	h := e.Handoff
	in := ticket.HandoffInput{
		HandoffID: h.ID, BotSteps: h.BotSteps, Recommendation: h.Recommendation,
		RequestedTeam: h.RequestedTeam, Note: h.Note,
	}
	if in.HandoffID == "" {
		in.HandoffID = fmt.Sprintf("sim-%s-%d", e.Ticket, e.At.UnixMilli())
	}
	for _, l := range h.Transcript {
		in.Transcript = append(in.Transcript, ticket.TranscriptLine{Author: escalated.AuthorKind(l.Author), Body: l.Body, At: e.At})
	}
	if e.New != nil {
		in.Ticket = createInput(e.New)
	} else if in.TicketID = r.ids[e.Ticket]; in.TicketID == "" {
		// The policy refused to open the ticket: there is nothing to hand off into (an empty
		// id would open a new, unlinked ticket).
		return escalated.Errorf(escalated.ENOTFOUND, "ticket %s was not opened in this replay", e.Ticket)
	}
	res, err := r.svc.Handoff(r.ctx, in)
	if err != nil {
		return err
	}
	if e.New != nil {
		r.opened(e.Ticket, res.TicketID)
	}
	return nil
}

// act carries out one agent action from the agenda; one the ticket has moved past (the
// escalation was closed or moved on meanwhile) is dropped.
func (r *replay) act(a action) error {
	var err error
	switch a.kind {
	case history.EscalationAcknowledged:
		in := ticket.AckInput{By: a.by}
		if a.ev != nil {
			in.ContextSufficient = a.ev.ContextSufficient
		}
		_, err = r.svc.AcknowledgeWith(r.ctx, a.esc, in)
	case history.EscalationReturned:
		_, err = r.svc.Return(r.ctx, a.esc, ticket.ReturnInput{By: a.by, Reason: a.ev.ReturnReason, Necessary: a.ev.Necessary})
	case history.EscalationResolved:
		resolution := "Resolved in the simulation."
		if a.ev != nil && a.ev.Resolution != "" {
			resolution = a.ev.Resolution
		}
		_, err = r.svc.Resolve(r.ctx, a.esc, a.by, resolution)
	}
	switch code := escalated.ErrorCode(err); {
	case err == nil:
		r.res.AgentActions++
	case code == escalated.ECONFLICT || code == escalated.EINVALID:
		// Overtaken: the escalation moved on, was returned or the ticket solved first.
	default:
		return fmt.Errorf("replay %s of escalation %s at %s: %w", a.kind, a.esc, escalated.FormatTime(a.at), err)
	}
	return nil
}

// action is an agent's action to come.
type action struct {
	at     time.Time
	seq    int
	kind   string
	ticket string
	esc    string
	by     string
	ev     *history.Event // the recorded action it copies; nil when drawn
}

// agenda is a min-heap of actions by (time, order scheduled).
type agenda struct {
	items []action
	seq   int
}

func (g *agenda) less(i, j int) bool {
	a, b := g.items[i], g.items[j]
	if c := a.at.Compare(b.at); c != 0 {
		return c < 0
	}
	return a.seq < b.seq
}

func (g *agenda) push(a action) {
	g.seq++
	a.seq = g.seq
	g.items = append(g.items, a)
	for i := len(g.items) - 1; i > 0; {
		p := (i - 1) / 2
		if !g.less(i, p) {
			break
		}
		g.items[i], g.items[p] = g.items[p], g.items[i]
		i = p
	}
}

func (g *agenda) peek() *action {
	if len(g.items) == 0 {
		return nil
	}
	return &g.items[0]
}

func (g *agenda) pop() action {
	top := g.items[0]
	last := len(g.items) - 1
	g.items[0] = g.items[last]
	g.items = g.items[:last]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < len(g.items) && g.less(l, m) {
			m = l
		}
		if l+1 < len(g.items) && g.less(l+1, m) {
			m = l + 1
		}
		if m == i {
			break
		}
		g.items[i], g.items[m] = g.items[m], g.items[i]
		i = m
	}
	return top
}

// physicalMemory is the machine's memory in bytes (Linux's MemTotal), 0 when unknown.
func physicalMemory() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
