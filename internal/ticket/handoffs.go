package ticket

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/decide"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/sla"
	"github.com/escalated/escalated/internal/store"
)

// Time bounds of a transcript line (its size limits are in limits.go).
const (
	// clockSkew is how far in the future a transcript line's time may be: a bot's clock may run
	// a little ahead of the server's.
	clockSkew = 5 * time.Minute
	// MaxTranscriptAge is how far back a transcript line's time may be.
	MaxTranscriptAge = 365 * 24 * time.Hour
)

// Estimated wait: the median of the latest ackSample acknowledgements in the team within
// ackWindow, if there are at least ackMinSample of them.
const (
	ackSample    = 50
	ackMinSample = 5
	ackWindow    = 7 * 24 * time.Hour
)

// Where an estimated wait comes from (HandoffResult.EstimateBasis).
const (
	BasisMedianAck = "median_acknowledge_7d"
	BasisSLATarget = "sla_acknowledge_target"
	BasisUnknown   = "unknown"
)

// TranscriptLine is one line of the conversation a chatbot had before handing off.
type TranscriptLine struct {
	Author escalated.AuthorKind `json:"author"` // customer or bot
	Body   string               `json:"body"`
	At     time.Time            `json:"at"`
}

// HandoffInput is a chatbot's handoff: either a new ticket (Ticket, without a message) or an
// existing one (TicketID), the conversation so far, what the bot tried and what it recommends.
type HandoffInput struct {
	// HandoffID is the client's idempotency key: a retry with the same id and body gets the
	// first answer; the same id with another body is a conflict.
	HandoffID      string
	TicketID       string
	Ticket         CreateInput
	Transcript     []TranscriptLine
	BotSteps       []escalated.BotStep
	Recommendation string
	RequestedTeam  string
	Note           string
}

// HandoffResult is the answer to a handoff.
type HandoffResult struct {
	HandoffID    string `json:"handoff_id"`
	TicketID     string `json:"ticket_id"`
	EscalationID string `json:"escalation_id"`
	Team         string `json:"team"`
	// Position is the escalation's place among the team's pending escalations, oldest first
	// (1: next to be picked up); 0 once it is no longer pending.
	Position int `json:"position"`
	// EstimatedWaitSeconds is nil when no estimate can be made (EstimateBasis unknown).
	EstimatedWaitSeconds *int64   `json:"estimated_wait_seconds"`
	EstimateBasis        string   `json:"estimate_basis"`
	State                string   `json:"state"`
	Completeness         float64  `json:"completeness"`
	Missing              []string `json:"missing"`
	// Flagged: the package misses required fields and the policy accepts such handoffs
	// (on_incomplete: accept_flagged).
	Flagged bool `json:"flagged"`
	// Rules are the rules that fired on the handoff, in order.
	Rules      []string `json:"rules"`
	NewTicket  bool     `json:"new_ticket"`
	ReceivedAt string   `json:"received_at"`
}

// packageFieldInput names the request field that supplies a package field, for the 400 of an
// incomplete handoff; fields without one are named as package fields.
var packageFieldInput = map[string]string{
	escalated.FieldOriginalMessage: "transcript",
	escalated.FieldConversation:    "transcript",
	escalated.FieldBotSteps:        "bot_steps",
	escalated.FieldAccount:         "account",
	escalated.FieldCustomer:        "customer",
	escalated.FieldCustomerTier:    "account.tier",
	escalated.FieldNote:            "note",
	escalated.FieldRecommendation:  "recommendation",
}

// errDryRun rolls back an evaluation's transaction (store.Rollback).
var errDryRun error = dryRunError{}

type dryRunError struct{}

func (dryRunError) Error() string { return "dry run: roll back" }
func (dryRunError) Rollback()     {}

// Handoff hands a chatbot's conversation to people (F11). The transcript becomes the ticket's
// history (customer lines with their signals), a handoff.received event goes into the policy,
// whose rules may escalate it anywhere the paths allow; otherwise it goes to the requested team
// when the paths allow that, else it waits in the ticket's own team. Either way it is an
// escalation (trigger handoff, reason bot_handoff) with a package, an acknowledge clock and a
// place in the team's line. The policy's required package fields are enforced here.
func (s *Service) Handoff(ctx context.Context, in HandoffInput) (*HandoffResult, error) {
	p, err := access.Authorize(ctx, access.Handoff)
	if err != nil {
		return nil, err
	}
	// Handing off an existing ticket writes into it (the transcript as its customer's words, a
	// reopen, an escalation): that needs the right to change tickets, which a bot has not got.
	// A bot hands off the conversations it had, as new tickets.
	if in.TicketID != "" {
		if _, err := access.Authorize(ctx, access.WriteTickets); err != nil {
			return nil, escalated.Errorf(escalated.EFORBIDDEN, "role %s may hand off a new conversation, not add to an existing ticket (ticket_id)", p.Role)
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
	// The hash is of the checked request: trimmed, defaults filled from the request alone
	// (never from the clock: a line without a time keeps none until it is stored), so a retry
	// hashes alike however its whitespace differs.
	hash, err := requestHash(in)
	if err != nil {
		return nil, err
	}
	// handoff_ids are each bot's own: two bots choosing the same id do not collide.
	key := handoffKey(p, in.HandoffID)
	if in.HandoffID != "" {
		if res, err := s.priorHandoff(ctx, key, hash); res != nil || err != nil {
			return res, err
		}
	}
	var res *HandoffResult
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if in.HandoffID != "" {
			// Again inside the transaction: a concurrent request with the same id may have
			// written its record in this very batch (SQLite group commit), which only this
			// transaction can see yet.
			prior, err := tx.GetHandoff(ctx, key)
			switch {
			case err == nil:
				res, err = storedAnswer(prior, key, hash)
				return err
			case escalated.ErrorCode(err) != escalated.ENOTFOUND:
				return err
			}
		}
		var err error
		res, _, err = s.handoffTx(ctx, tx, live, p, in, now, false)
		if err != nil {
			return err
		}
		if in.HandoffID == "" {
			return nil
		}
		answer, err := json.Marshal(res)
		if err != nil {
			return err
		}
		return tx.SaveHandoff(ctx, &store.Handoff{ID: key, RequestHash: hash, TicketID: res.TicketID,
			EscalationID: res.EscalationID, Answer: answer, CreatedAt: now})
	})
	if err != nil && in.HandoffID != "" && escalated.ErrorCode(err) == escalated.ECONFLICT {
		// A concurrent request with the same handoff_id won the race: answer as it was answered.
		if res, perr := s.priorHandoff(ctx, key, hash); res != nil || perr != nil {
			return res, perr
		}
	}
	if err != nil {
		return nil, fmt.Errorf("handoff: %w", err)
	}
	return res, nil
}

// handoffKey is the stored id of a bot's handoff_id: the token's name, a slash, the id.
func handoffKey(p escalated.Principal, id string) string {
	return p.Name + "/" + id
}

// priorHandoff returns the stored answer of handoff id, nil when there is none, or a conflict
// when the id was used for another request.
func (s *Service) priorHandoff(ctx context.Context, id, hash string) (*HandoffResult, error) {
	var h *store.Handoff
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		h, err = tx.GetHandoff(ctx, id)
		return err
	})
	switch {
	case escalated.ErrorCode(err) == escalated.ENOTFOUND:
		return nil, nil
	case err != nil:
		return nil, err
	}
	return storedAnswer(h, id, hash)
}

// storedAnswer is the first answer of handoff h for a retry whose request hashes to hash; a
// conflict when the id was used for another request.
func storedAnswer(h *store.Handoff, key, hash string) (*HandoffResult, error) {
	if h.RequestHash != hash {
		_, shown, _ := strings.Cut(key, "/")
		return nil, escalated.Errorf(escalated.ECONFLICT,
			"handoff_id %q was already used for a different handoff (ticket %s); send a new handoff_id for a new handoff, or the same body to retry", shown, h.TicketID)
	}
	var res HandoffResult
	if err := json.Unmarshal(h.Answer, &res); err != nil {
		return nil, fmt.Errorf("stored answer of handoff %s: %w", key, err)
	}
	return &res, nil
}

// GetHandoff reports where a handoff stands now: its escalation's state, and while it is
// pending its current place in the team's line and the wait estimated from there.
func (s *Service) GetHandoff(ctx context.Context, id string) (*HandoffResult, error) {
	p, err := access.Authorize(ctx, access.Handoff)
	if err != nil {
		return nil, err
	}
	live, err := s.policy()
	if err != nil {
		return nil, err
	}
	var res HandoffResult
	err = s.store.View(ctx, func(tx store.Tx) error {
		h, err := tx.GetHandoff(ctx, handoffKey(p, id))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(h.Answer, &res); err != nil {
			return fmt.Errorf("stored answer of handoff %s: %w", id, err)
		}
		e, err := tx.GetEscalation(ctx, h.EscalationID)
		if err != nil {
			return err
		}
		// An escalation nobody picked up may have moved on (state escalated): the customer now
		// waits in the next team's line.
		for hops := 0; e.State == escalated.EscalationEscalated && e.NextID != "" && hops < 100; hops++ {
			if e, err = tx.GetEscalation(ctx, e.NextID); err != nil {
				return err
			}
		}
		res.EscalationID = e.ID
		t, err := tx.GetTicket(ctx, h.TicketID)
		if err != nil {
			return err
		}
		return s.placeInLine(ctx, tx, live, t, e, s.now(), &res)
	})
	if escalated.ErrorCode(err) == escalated.ENOTFOUND && res.TicketID == "" {
		return nil, escalated.Errorf(escalated.ENOTFOUND, "no handoff %q from %s (handoff ids are each bot token's own)", id, p.Name)
	}
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// handoffTx does the handoff inside the caller's transaction and returns the answer and the
// change. dry (evaluate) reports an incomplete package instead of refusing it.
func (s *Service) handoffTx(ctx context.Context, tx store.Tx, live *Live, p escalated.Principal, in HandoffInput, now time.Time, dry bool) (*HandoffResult, *change, error) {
	pol := live.Policy
	var ch *change
	changes := map[string]escalated.Change{}
	newTicket := in.TicketID == ""
	if newTicket {
		var err error
		if ch, err = s.createTx(ctx, tx, live, p.Actor(), in.Ticket, escalated.NewID(escalated.PrefixTicket, now), now); err != nil {
			return nil, nil, err
		}
	} else {
		t, err := s.writeTicket(ctx, tx, in.TicketID)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case t.Status == escalated.StatusClosed:
			return nil, nil, escalated.Errorf(escalated.ECONFLICT, "ticket %s is closed; hand off a new ticket instead (omit ticket_id)", t.ID)
		case t.ActiveEscalation != "":
			return nil, nil, escalated.Errorf(escalated.ECONFLICT, "ticket %s is already held by escalation %s; people have it, a handoff cannot move it", t.ID, t.ActiveEscalation)
		}
		ch = newChange(t, p.Actor(), now)
		if t.Status.Done() {
			// The customer is back with the bot about a solved ticket: it is open again.
			setStatus(t, escalated.StatusOpen, changes)
		}
		if acc := in.Ticket.Account; acc != nil {
			a := *acc
			if err := mergeAccount(ctx, tx, &a); err != nil {
				return nil, nil, err
			}
			if t.AccountID != "" && t.AccountID != a.ID {
				return nil, nil, escalated.Invalid("account.id", fmt.Sprintf("ticket %s belongs to account %q, not %q", t.ID, t.AccountID, a.ID))
			}
			ch.t.Account, ch.t.AccountID = &a, a.ID
		}
	}
	t := ch.t
	var lastCustomer *escalated.Message
	for _, line := range in.Transcript {
		author := escalated.Author{Kind: line.Author}
		switch line.Author {
		case escalated.AuthorCustomer:
			if c := t.Customer; c != nil {
				author.ID, author.Name = c.ID, c.Name
			}
		case escalated.AuthorBot:
			author.ID, author.Name = p.Name, p.Name
		}
		// The id is the server's (ids order records as they are made); the time is when it was
		// said, which the bot knows.
		m := s.newMessage(t, &MessageInput{Author: author, Body: line.Body}, now)
		if !line.At.IsZero() {
			m.CreatedAt = line.At
		}
		m.Signals = messageSignals(live, line.Body)
		applyMessage(t, m, changes)
		ch.message(m)
		if line.Author == escalated.AuthorCustomer {
			lastCustomer = m
		}
	}
	ch.updated(changes)
	t.Bot = &escalated.BotHandoff{HandoffID: in.HandoffID, Bot: p.Name, Steps: slices.Clone(in.BotSteps),
		Recommendation: in.Recommendation, RequestedTeam: in.RequestedTeam, At: escalated.FormatTime(now)}
	ch.handoffMsg = lastCustomer
	ch.holdEscalations = true
	ch.event(escalated.EventHandoffReceived, map[string]any{
		"handoff_id": in.HandoffID, "bot": p.Name, "bot_steps": len(in.BotSteps), "transcript_lines": len(in.Transcript),
		"requested_team": in.RequestedTeam, "recommendation": in.Recommendation, "note": in.Note,
	})
	before := t.ActiveEscalation
	var esc *escalated.Escalation
	ch.afterReact = func() error {
		ch.holdEscalations = false
		if t.ActiveEscalation != before && t.ActiveEscalation != "" {
			esc = ch.escs[t.ActiveEscalation] // a rule escalated the handoff
			return nil
		}
		if t.ActiveEscalation != "" {
			return escalated.Errorf(escalated.ECONFLICT, "ticket %s is held by escalation %s", t.ID, t.ActiveEscalation)
		}
		// No note stays no note: a policy that requires one must see it missing.
		target := escalation{Reason: escalated.ReasonBotHandoff, Note: in.Note, Trigger: escalated.TriggerHandoff, Here: true}
		if in.RequestedTeam != "" && in.RequestedTeam != t.Team {
			if !pol.Allowed(t.Team, in.RequestedTeam, t.AccountID) {
				return escalated.Invalid("requested_team", fmt.Sprintf("the policy's paths do not lead from %s to %s; allowed from %s: %s",
					t.Team, in.RequestedTeam, t.Team, strings.Join(allowedTargets(pol, t), ", ")))
			}
			target.To, target.Here = in.RequestedTeam, false
		}
		var err error
		esc, err = s.escalateTx(ctx, tx, ch, live, target)
		if msg, ok := escalated.ErrorFields(err)["to"]; ok {
			// Named for the request: the bot asked for a team, or the ticket cannot take
			// another escalation (max_per_ticket).
			if target.To != "" {
				return escalated.Invalid("requested_team", msg)
			}
			return escalated.Errorf(escalated.ECONFLICT, "ticket %s cannot be handed off: %s", t.ID, msg)
		}
		return err
	}
	if err := s.commit(ctx, tx, ch, live); err != nil {
		return nil, nil, err
	}
	if esc == nil {
		return nil, nil, escalated.Errorf(escalated.EINTERNAL, "handoff of ticket %s made no escalation", t.ID)
	}
	res := &HandoffResult{
		HandoffID: in.HandoffID, TicketID: t.ID, EscalationID: esc.ID, Team: esc.ToTeam, NewTicket: newTicket,
		Missing: []string{}, Rules: []string{}, ReceivedAt: escalated.FormatTime(now),
	}
	for _, st := range ch.steps {
		for _, r := range st.Rules {
			if r.Outcome == decide.OutcomeFired && !slices.Contains(res.Rules, r.Rule) {
				res.Rules = append(res.Rules, r.Rule)
			}
		}
	}
	if pk := esc.Package; pk != nil {
		res.Completeness = pk.Completeness
		res.Missing = slices.Clone(pk.Missing)
	}
	if len(res.Missing) > 0 {
		if pol.Escalation.OnIncomplete != policy.OnIncompleteAcceptFlagged && !dry {
			return nil, nil, incompleteHandoff(res.Missing)
		}
		res.Flagged = true
	}
	if err := s.placeInLine(ctx, tx, live, t, esc, now, res); err != nil {
		return nil, nil, err
	}
	return res, ch, nil
}

// incompleteHandoff is the 400 for a handoff whose package misses required fields: one field
// error per missing package field, under the request field that supplies it.
func incompleteHandoff(missing []string) error {
	fe := escalated.FieldErrors{}
	for _, f := range missing {
		key := packageFieldInput[f]
		if key == "" {
			key = "package." + f
		}
		msg := fmt.Sprintf("the policy requires the package field %s (escalation.required_package_fields), and this handoff leaves it empty", f)
		if old := fe[key]; old != "" {
			msg = old + "; " + msg
		}
		fe[key] = msg
	}
	return fe.Err()
}

// placeInLine fills in the escalation's state, its place among the team's pending
// escalations and the estimated wait (see docs/handoff.md): the median time the team took to
// acknowledge its latest escalations (at most ackSample within ackWindow, at least
// ackMinSample of them), times the rounds of pickups ahead (position divided by the team's
// online agents, rounded up); without enough history, the ticket's acknowledge SLA target.
func (s *Service) placeInLine(ctx context.Context, tx store.Tx, live *Live, t *escalated.Ticket, e *escalated.Escalation, now time.Time, res *HandoffResult) error {
	res.State = string(e.State)
	res.Team = e.ToTeam
	res.Position, res.EstimatedWaitSeconds, res.EstimateBasis = 0, nil, BasisUnknown
	if e.State != escalated.EscalationPending {
		zero := int64(0)
		res.EstimatedWaitSeconds, res.EstimateBasis = &zero, "acknowledged"
		if e.State != escalated.EscalationAcknowledged {
			res.EstimateBasis = string(e.State)
		}
		return nil
	}
	ahead, err := tx.PendingAhead(ctx, e.ToTeam, e.CreatedAt, e.ID)
	if err != nil {
		return err
	}
	res.Position = ahead + 1
	delays, err := tx.AckDelays(ctx, e.ToTeam, now.Add(-ackWindow), ackSample)
	if err != nil {
		return err
	}
	if len(delays) >= ackMinSample {
		online := 0
		for i := range live.Policy.Agents {
			a := &live.Policy.Agents[i]
			if !slices.Contains(a.Teams, e.ToTeam) {
				continue
			}
			states, err := tx.AgentStates(ctx, a.ID)
			if err != nil {
				return err
			}
			if effectiveState(a, states[a.ID]).Status == policy.StatusOnline {
				online++
			}
		}
		rounds := math.Ceil(float64(res.Position) / float64(max(1, online)))
		wait := int64(math.Round(rounds * median(delays).Seconds()))
		res.EstimatedWaitSeconds, res.EstimateBasis = &wait, BasisMedianAck
		return nil
	}
	if c := t.SLA.Clock(sla.Acknowledge); c != nil && c.Escalation == e.ID && !c.DueAt.IsZero() && c.DueAt.Before(sla.Never) {
		// What is left of the promise: the acknowledge clock's due time from now.
		wait := max(0, int64(math.Round(c.DueAt.Sub(now).Seconds())))
		res.EstimatedWaitSeconds, res.EstimateBasis = &wait, BasisSLATarget
	}
	return nil
}

// median of the delays, each clamped at zero: nodes whose clocks disagree could record an
// acknowledgement a moment before the escalation's creation.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	for i := range s {
		s[i] = max(0, s[i])
	}
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// allowedTargets lists the teams the paths allow from the ticket's team.
func allowedTargets(pol *policy.Policy, t *escalated.Ticket) []string {
	var out []string
	for _, tm := range pol.Teams {
		if tm.ID != t.Team && pol.Allowed(t.Team, tm.ID, t.AccountID) {
			out = append(out, tm.ID)
		}
	}
	if len(out) == 0 {
		return []string{"(none)"}
	}
	return out
}

// requestHash identifies a handoff request's content, to tell a retry from another request
// reusing its handoff_id. It hashes the checked input, so formatting does not matter.
func requestHash(in HandoffInput) (string, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// checkHandoff validates and normalises a handoff request, collecting every problem.
func checkHandoff(pol *policy.Policy, in *HandoffInput, now time.Time) error {
	fe := escalated.FieldErrors{}
	in.HandoffID, in.TicketID = trim(in.HandoffID), trim(in.TicketID)
	if in.HandoffID != "" && !extIDRE.MatchString(in.HandoffID) {
		fe.Add("handoff_id", "must be 1-128 letters, digits or _.:@+- (a key the bot chooses per handoff, sent again on retries)")
	}
	if in.TicketID == "" {
		if in.Ticket.Message != nil {
			fe.Add("message", "is not part of a handoff: send the conversation as transcript")
		}
		checkCreate(fe, pol, &in.Ticket)
		if in.Ticket.Assignee != "" {
			fe.Add("assignee", "cannot be set by a handoff: routing or the receiving team assigns")
		}
	} else {
		t := in.Ticket
		if t.Subject != "" || t.Priority != "" || t.Channel != "" || t.IssueType != "" || t.Language != "" ||
			len(t.Tags) > 0 || t.Team != "" || t.Assignee != "" || t.Customer != nil || len(t.CustomFields) > 0 || t.Message != nil {
			fe.Add("ticket_id", "with ticket_id only account data may come along; change other ticket fields with PATCH /v1/tickets/{id}")
		}
		checkAccount(fe, t.Account)
		if t.Account != nil && t.Account.Attributes == nil {
			in.Ticket.Account.Attributes = map[string]any{}
		}
	}
	if len(in.Transcript) > MaxTranscript {
		fe.Add("transcript", fmt.Sprintf("has %d lines; at most %d are accepted", len(in.Transcript), MaxTranscript))
	}
	customer := false
	var last time.Time
	for i := range in.Transcript {
		if i >= MaxTranscript {
			break
		}
		l := &in.Transcript[i]
		key := fmt.Sprintf("transcript[%d]", i)
		switch l.Author {
		case escalated.AuthorCustomer:
			customer = true
		case escalated.AuthorBot:
		default:
			fe.Add(key+".author", "must be customer or bot")
		}
		checkText(fe, key+".body", l.Body, true, MaxBody)
		if l.At.IsZero() {
			continue // no time given: stored with the server's
		}
		l.At = escalated.Truncate(l.At)
		switch {
		case l.At.Before(now.Add(-MaxTranscriptAge)):
			fe.Add(key+".at", fmt.Sprintf("%s is more than %d days ago: a handoff carries the conversation the bot just had", escalated.FormatTime(l.At), int(MaxTranscriptAge.Hours()/24)))
		case l.At.After(now.Add(clockSkew)):
			fe.Add(key+".at", fmt.Sprintf("%s is in the future (server time %s)", escalated.FormatTime(l.At), escalated.FormatTime(now)))
		case l.At.Before(last):
			fe.Add(key+".at", fmt.Sprintf("%s is before the previous line's %s: send the transcript in order", escalated.FormatTime(l.At), escalated.FormatTime(last)))
		}
		last = l.At
	}
	if in.TicketID == "" && !customer {
		fe.Add("transcript", "must hold the conversation with at least one customer line: it becomes the new ticket's history")
	}
	if in.TicketID == "" && in.Ticket.Subject == "" && fe["subject"] != "" && customer {
		// checkCreate found no subject; take it from the customer's first line.
		delete(fe, "subject")
		for _, l := range in.Transcript {
			if l.Author == escalated.AuthorCustomer {
				in.Ticket.Subject = subjectFrom(l.Body)
				break
			}
		}
		checkText(fe, "subject", in.Ticket.Subject, true, MaxSubject)
	}
	if len(in.BotSteps) > MaxBotSteps {
		fe.Add("bot_steps", fmt.Sprintf("has %d steps; at most %d are accepted", len(in.BotSteps), MaxBotSteps))
	}
	for i := range in.BotSteps {
		if i >= MaxBotSteps {
			break
		}
		st := &in.BotSteps[i]
		key := fmt.Sprintf("bot_steps[%d]", i)
		st.Intent, st.Action, st.Outcome = trim(st.Intent), trim(st.Action), trim(st.Outcome)
		checkText(fe, key+".intent", st.Intent, true, MaxBotStepText)
		checkText(fe, key+".action", st.Action, true, MaxBotStepText)
		switch st.Outcome {
		case "resolved", "failed", "abandoned":
		default:
			fe.Add(key+".outcome", "must be resolved, failed or abandoned")
		}
		if math.IsNaN(st.Confidence) || st.Confidence < 0 || st.Confidence > 1 {
			fe.Add(key+".confidence", "must be a number from 0 to 1")
		}
	}
	in.Recommendation = trim(in.Recommendation)
	checkText(fe, "recommendation", in.Recommendation, false, MaxRecommendation)
	in.Note = trim(in.Note)
	checkText(fe, "note", in.Note, false, MaxNote)
	in.RequestedTeam = trim(in.RequestedTeam)
	if in.RequestedTeam != "" {
		if _, ok := pol.Team(in.RequestedTeam); !ok {
			fe.Add("requested_team", fmt.Sprintf("unknown team %q (known teams: %s)", in.RequestedTeam, teamIDs(pol)))
		}
	}
	return fe.Err()
}
