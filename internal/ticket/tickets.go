package ticket

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
)

// MessageInput is a new message.
type MessageInput struct {
	Author   escalated.Author
	Body     string
	Internal bool
	// Signals are the message's signals computed ahead by a replay (Live.MessageSignals), so
	// that it can compute them on another core; only a service ForReplay uses them, any other
	// computes its own.
	Signals *escalated.Signals
}

// CreateInput is a new ticket with its first message.
type CreateInput struct {
	Subject      string
	Priority     escalated.Priority
	Channel      escalated.Channel
	IssueType    string
	Language     string
	Tags         []string
	Team         string
	Assignee     string
	Customer     *escalated.Customer
	Account      *escalated.Account
	CustomFields map[string]any
	Message      *MessageInput
}

// CreateTicket opens a ticket with its first message in the requested team, else the policy's
// intake team.
func (s *Service) CreateTicket(ctx context.Context, in CreateInput) (*Detail, error) {
	p, live, err := s.checkNewTicket(ctx, access.WriteTickets, &in)
	if err != nil {
		return nil, err
	}
	now := escalated.Truncate(s.now())
	id := escalated.NewID(escalated.PrefixTicket, now)
	// Signals are pure text work: compute them before the transaction, off the writer.
	sig := s.signalsOf(live, in.Message)

	var d *Detail
	err = s.store.Update(ctx, func(tx store.Tx) error {
		ch, err := s.createTx(ctx, tx, live, p.Actor(), in, id, now)
		if err != nil {
			return err
		}
		m := s.newMessage(ch.t, in.Message, now)
		m.Signals = sig
		applyMessage(ch.t, m, map[string]escalated.Change{})
		ch.message(m)
		if err := s.commit(ctx, tx, ch, live); err != nil {
			return err
		}
		d = ch.detail(live)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create ticket: %w", err)
	}
	return d, nil
}

// checkNewTicket authorises action, reads the live policy and checks a new ticket with its
// first message.
func (s *Service) checkNewTicket(ctx context.Context, action access.Action, in *CreateInput) (escalated.Principal, *Live, error) {
	p, err := access.Authorize(ctx, action)
	if err != nil {
		return p, nil, err
	}
	live, err := s.policy()
	if err != nil {
		return p, nil, err
	}
	fe := escalated.FieldErrors{}
	if in.Message == nil {
		fe.Add("message", "is required: a ticket starts with the customer's first message")
	}
	checkCreate(fe, live.Policy, in)
	if err := fe.Err(); err != nil {
		return p, live, err
	}
	// An agent opens tickets in a team of theirs (the intake team, unless team names another).
	if sc := s.scope(ctx); !sc.Has(in.Team) {
		return p, live, escalated.Errorf(escalated.EFORBIDDEN, "team %s is not in the work of %s (%s): name one of those teams", in.Team, sc.Person, sc.describe())
	}
	return p, live, nil
}

// detail is the ticket as the change left it, for the answer to the request that made it.
func (c *change) detail(live *Live) *Detail {
	d := &Detail{Ticket: c.t, History: c.events, SLA: clockStatuses(live, c.t, c.now)}
	if len(c.escs) > 0 {
		d.Escalations = slices.Collect(maps.Values(c.escs))
	}
	return d
}

// checkCreate validates and normalises the fields of a new ticket (its first message, when
// given, too), filling in defaults: subject from the message, priority normal, channel api,
// language en, the intake team.
func checkCreate(fe escalated.FieldErrors, pol *policy.Policy, in *CreateInput) {
	if in.Message != nil {
		if in.Message.Author.Kind == "" {
			in.Message.Author.Kind = escalated.AuthorCustomer
		}
		checkMessage(fe, pol, "message.", in.Message)
	}
	in.Subject = trim(in.Subject)
	if in.Subject == "" && in.Message != nil {
		in.Subject = subjectFrom(in.Message.Body)
	}
	checkText(fe, "subject", in.Subject, true, MaxSubject)
	if in.Priority == "" {
		in.Priority = escalated.PriorityNormal
	} else if !in.Priority.Valid() {
		fe.Add("priority", oneOf(escalated.Priorities))
	}
	if in.Channel == "" {
		in.Channel = escalated.ChannelAPI
	} else if !in.Channel.Valid() {
		fe.Add("channel", oneOf(escalated.Channels))
	}
	in.IssueType = strings.ToLower(trim(in.IssueType))
	checkSlug(fe, "issue_type", in.IssueType)
	if in.Language == "" {
		in.Language = "en"
	} else if !languageRE.MatchString(in.Language) {
		fe.Add("language", "must be a language code such as en, pt or pt-BR")
	}
	in.Tags = normTags(fe, "tags", in.Tags)
	checkCustomFields(fe, "custom_fields", in.CustomFields)
	if in.Team == "" {
		in.Team = pol.IntakeTeam()
	} else if _, ok := pol.Team(in.Team); !ok {
		fe.Add("team", fmt.Sprintf("unknown team %q (known teams: %s)", in.Team, teamIDs(pol)))
	}
	checkAgent(fe, pol, "assignee", in.Assignee)
	if in.Assignee != "" && fe["team"] == "" && fe["assignee"] == "" && !memberOf(pol, in.Assignee, in.Team) {
		fe.Add("assignee", fmt.Sprintf("agent %q is not a member of team %q", in.Assignee, in.Team))
	}
	checkCustomer(fe, in.Customer)
	checkAccount(fe, in.Account)
	if in.Account != nil && in.Account.Attributes == nil {
		in.Account.Attributes = map[string]any{}
	}
	if in.Customer != nil && in.Account != nil {
		in.Customer.AccountID = in.Account.ID
	}
	if in.CustomFields == nil {
		in.CustomFields = map[string]any{}
	}
}

// createTx starts the change that creates ticket id from a checked CreateInput inside the
// caller's transaction: customer and account merged, ticket.created recorded and the ticket
// routed in its team. The caller adds the first messages and commits.
func (s *Service) createTx(ctx context.Context, tx store.Tx, live *Live, actor string, in CreateInput, id string, now time.Time) (*change, error) {
	pol := live.Policy
	tier, _ := pol.TierOfTeam(in.Team)
	// Everything the transaction changes is built inside it: a store may run fn again.
	t := &escalated.Ticket{
		ID: id, Subject: in.Subject, Status: escalated.StatusNew,
		Priority: in.Priority, Channel: in.Channel, IssueType: in.IssueType, Tags: slices.Clone(in.Tags),
		Language: in.Language, Team: in.Team, Tier: tier.ID, Assignee: in.Assignee,
		CustomFields: maps.Clone(in.CustomFields), CreatedAt: now,
	}
	if in.Account != nil {
		acc := *in.Account
		if err := mergeAccount(ctx, tx, &acc); err != nil {
			return nil, err
		}
		t.Account, t.AccountID = &acc, acc.ID
	}
	if in.Customer != nil {
		cus := *in.Customer
		if err := mergeCustomer(ctx, tx, &cus); err != nil {
			return nil, err
		}
		t.Customer, t.CustomerID = &cus, cus.ID
	}
	ch := newChange(t, actor, now)
	ch.created = true
	ch.event(escalated.EventTicketCreated, map[string]any{
		"team": t.Team, "tier": t.Tier, "priority": string(t.Priority), "channel": string(t.Channel),
		"subject": t.Subject,
	})
	if t.Assignee == "" {
		r, err := s.routeInto(ctx, tx, ch, live, t.Team, "", "")
		if err != nil {
			return nil, err
		}
		applyRouting(pol, t, r, map[string]escalated.Change{})
		ch.routedEvents(r)
	}
	return ch, nil
}

// AddMessage appends a message to a ticket and moves the ticket's status the way a help desk
// does: a customer writing reopens a solved ticket and ends a wait on them; an agent's public
// reply opens a new ticket.
func (s *Service) AddMessage(ctx context.Context, ticketID string, in MessageInput) (*escalated.Message, error) {
	p, err := access.Authorize(ctx, access.WriteTickets)
	if err != nil {
		return nil, err
	}
	live, err := s.policy()
	if err != nil {
		return nil, err
	}
	if in.Author, err = authorAs(ctx, in.Author); err != nil {
		return nil, err
	}
	fe := escalated.FieldErrors{}
	checkMessage(fe, live.Policy, "", &in)
	if err := fe.Err(); err != nil {
		return nil, err
	}
	sig := s.signalsOf(live, &in)
	var out *escalated.Message
	// Decided ahead where the store can (store.Speculate): a message is the commonest write,
	// and what it decides rests on the ticket (and its active escalation) it reads and the
	// inputs captured here; everything else the reaction may read sends it to the writer.
	err = s.store.Update(store.Speculate(ctx), func(tx store.Tx) error {
		t, err := s.writeTicket(ctx, tx, ticketID)
		if err != nil {
			return err
		}
		if t.Status == escalated.StatusClosed {
			return escalated.Errorf(escalated.ECONFLICT, "ticket %s is closed; open a new ticket for a follow-up", t.ID)
		}
		now := escalated.Truncate(s.now())
		ch := newChange(t, p.Actor(), now)
		m := s.newMessage(t, &in, now)
		m.Signals = sig
		changes := map[string]escalated.Change{}
		wasDone := t.Status.Done()
		applyMessage(t, m, changes)
		ch.message(m)
		ch.updated(changes)
		// Of the ticket's row the policy's reaction reads only what routing counts (tickets
		// open per assignee, tx.OpenCounts); a message never moves the assignee, so unless it
		// reopened a solved ticket the row waits for the reaction's write and the ticket is
		// updated once per message instead of twice. The message and its events are still
		// written first: an escalation's package reads them.
		ch.rowAfterReact = wasDone == t.Status.Done()
		out = m
		return s.commit(ctx, tx, ch, live)
	})
	if err != nil {
		return nil, fmt.Errorf("add message: %w", err)
	}
	return out, nil
}

func (s *Service) newMessage(t *escalated.Ticket, in *MessageInput, now time.Time) *escalated.Message {
	return &escalated.Message{
		ID: escalated.NewID(escalated.PrefixMessage, now), TicketID: t.ID, Author: in.Author,
		Body: in.Body, Internal: in.Internal, CreatedAt: now,
	}
}

// applyMessage updates counters and status for a new message.
func applyMessage(t *escalated.Ticket, m *escalated.Message, changes map[string]escalated.Change) {
	t.Counters.Messages++
	switch {
	case m.Author.Kind == escalated.AuthorCustomer:
		t.Counters.CustomerContacts++
		if t.Status == escalated.StatusSolved || t.Status == escalated.StatusPending {
			setStatus(t, escalated.StatusOpen, changes)
		}
		// After the status: a reopen this message causes counts in its frustration.
		addTicketSignals(t, m)
	case m.Author.Kind == escalated.AuthorAgent && !m.Internal && t.Status == escalated.StatusNew:
		setStatus(t, escalated.StatusOpen, changes)
	}
}

func checkMessage(fe escalated.FieldErrors, pol *policy.Policy, prefix string, in *MessageInput) {
	if !in.Author.Kind.Valid() {
		fe.Add(prefix+"author.kind", oneOf(escalated.AuthorKinds))
	}
	checkText(fe, prefix+"body", in.Body, true, MaxBody)
	in.Author.ID = trim(in.Author.ID)
	in.Author.Name = trim(in.Author.Name)
	checkText(fe, prefix+"author.name", in.Author.Name, false, MaxNameLen)
	switch in.Author.Kind {
	case escalated.AuthorAgent:
		if in.Author.ID == "" {
			fe.Add(prefix+"author.id", "is required for an agent: the agent's id from the policy")
		} else if a, ok := pol.Agent(in.Author.ID); !ok {
			fe.Add(prefix+"author.id", fmt.Sprintf("unknown agent %q (agents are defined in the policy's agents section)", in.Author.ID))
		} else if in.Author.Name == "" {
			in.Author.Name = a.Name
		}
	case escalated.AuthorCustomer:
		if in.Internal {
			fe.Add(prefix+"internal", "a customer cannot write an internal note")
		}
		if in.Author.ID != "" && !extIDRE.MatchString(in.Author.ID) {
			fe.Add(prefix+"author.id", fmt.Sprintf("must be 1-%d letters, digits or _.:@+- (got %s)", MaxIDLen, sent(in.Author.ID)))
		}
	case escalated.AuthorBot:
		if in.Internal {
			fe.Add(prefix+"internal", "a bot cannot write an internal note")
		}
	}
}

func checkCustomer(fe escalated.FieldErrors, c *escalated.Customer) {
	if c == nil {
		return
	}
	c.ID, c.Email, c.Name = trim(c.ID), strings.ToLower(trim(c.Email)), trim(c.Name)
	if c.ID == "" {
		c.ID = c.Email
	}
	switch {
	case c.ID == "":
		fe.Add("customer.id", "is required (or give customer.email)")
	case !extIDRE.MatchString(c.ID):
		fe.Add("customer.id", fmt.Sprintf("must be 1-%d letters, digits or _.:@+- (got %s)", MaxIDLen, sent(c.ID)))
	}
	if c.Email != "" && (!strings.Contains(c.Email, "@") || len(c.Email) > 254) {
		fe.Add("customer.email", "must be an email address")
	} else {
		checkText(fe, "customer.email", c.Email, false, 254)
	}
	checkText(fe, "customer.name", c.Name, false, MaxNameLen)
}

func checkAccount(fe escalated.FieldErrors, a *escalated.Account) {
	if a == nil {
		return
	}
	a.ID, a.Name, a.Tier = trim(a.ID), trim(a.Name), strings.ToLower(trim(a.Tier))
	switch {
	case a.ID == "":
		fe.Add("account.id", "is required when an account is given")
	case !extIDRE.MatchString(a.ID):
		fe.Add("account.id", fmt.Sprintf("must be 1-%d letters, digits or _.:@+- (got %s)", MaxIDLen, sent(a.ID)))
	}
	checkSlug(fe, "account.tier", a.Tier)
	checkText(fe, "account.name", a.Name, false, MaxNameLen)
	checkCustomFields(fe, "account.attributes", a.Attributes)
}

// subjectFrom derives a subject from a chat message's first line, as help desks do for
// channels without subjects.
func subjectFrom(body string) string {
	line := trim(strings.SplitN(trim(body), "\n", 2)[0])
	if utf8.RuneCountInString(line) > 80 {
		r := []rune(line)
		line = strings.TrimSpace(string(r[:77])) + "..."
	}
	return line
}

func teamIDs(pol *policy.Policy) string {
	ids := make([]string, len(pol.Teams))
	for i, t := range pol.Teams {
		ids[i] = t.ID
	}
	return strings.Join(ids, ", ")
}

// mergeAccount stores what a request says about an account without erasing what earlier tickets
// said: a chatbot that knows only the account id must not blank its tier. Given values win;
// attributes merge key by key.
func mergeAccount(ctx context.Context, tx store.Tx, a *escalated.Account) error {
	old, err := tx.GetAccount(ctx, a.ID)
	switch {
	case escalated.ErrorCode(err) == escalated.ENOTFOUND:
	case err != nil:
		return err
	default:
		a.Name = cmp.Or(a.Name, old.Name)
		a.Tier = cmp.Or(a.Tier, old.Tier)
		merged := maps.Clone(old.Attributes)
		if merged == nil {
			merged = map[string]any{}
		}
		maps.Copy(merged, a.Attributes)
		// The limit holds for what is stored, not only for one request: fifty new names a
		// request would otherwise grow the account without end.
		if len(merged) > MaxCustomFields {
			return escalated.Invalid("account.attributes", fmt.Sprintf("account %s would have %d attributes with these; at most %d are kept (it has %d)",
				a.ID, len(merged), MaxCustomFields, len(old.Attributes)))
		}
		a.Attributes = merged
		if a.Tier != old.Tier {
			// The account's other tickets move to the new tier in the reports too.
			if err := tx.SetAccountTier(ctx, a.ID, a.Tier); err != nil {
				return err
			}
		}
	}
	return tx.UpsertAccount(ctx, a)
}

// mergeCustomer is mergeAccount for customers.
func mergeCustomer(ctx context.Context, tx store.Tx, c *escalated.Customer) error {
	old, err := tx.GetCustomer(ctx, c.ID)
	switch {
	case escalated.ErrorCode(err) == escalated.ENOTFOUND:
	case err != nil:
		return err
	default:
		c.Name = cmp.Or(c.Name, old.Name)
		c.Email = cmp.Or(c.Email, old.Email)
		c.AccountID = cmp.Or(c.AccountID, old.AccountID)
	}
	return tx.UpsertCustomer(ctx, c)
}
