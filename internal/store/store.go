// Package store is the persistence seam. Services talk to a Store through these small
// interfaces in domain types; internal/store/sqlite and internal/store/postgres implement them
// with their own SQL, and internal/store/storetest holds the conformance suite both must pass.
//
// Errors: a missing object is an *escalated.Error with code not_found; a write whose expected
// version no longer matches, or that breaks a uniqueness rule, is code conflict. Stores never
// return (nil, nil).
package store

import (
	"context"
	"time"

	"github.com/escalated/escalated"
)

// Store opens transactions. Update runs fn in a read-write transaction and returns only after
// the transaction committed durably (or failed); a store may run several concurrent Update calls
// in one physical transaction (group commit) as long as each fn's writes are all-or-nothing and
// fn's error rolls back only that fn's writes. View runs fn on a consistent read-only snapshot.
//
// fn may be called more than once when a store retries a transaction, so it must not cause side
// effects outside the Tx.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
	// Subscribe delivers a Change for every history event and every scheduled deadline
	// committed from now on by any node sharing the database (this one included), in commit
	// order per ticket, until ctx is done or the store closes; then the channel is closed. A
	// subscriber that falls more than SubscriberBuffer changes behind misses changes rather than
	// slowing writers down, and is told so by a Change with Lagged set. Subscribers that want
	// only history events skip changes of Type ChangeDeadline and ChangeDelivery.
	Subscribe(ctx context.Context) (<-chan Change, error)
	Close() error
}

// Rollback marks an error a caller's fn returns to roll its transaction back on purpose (a dry
// run): not a failure of the store, and not counted as one.
type Rollback interface {
	error
	Rollback()
}

// ExpectRollback marks ctx for an Update whose fn may well fail after it has written: a dry
// run, which always rolls back (Rollback), or a claim that fires many deadlines and fails when
// one of them does. A store that runs fns without a savepoint of their own (SQLite: its group
// commit undoes a fn that failed after writing by rolling back the whole batch and running the
// others again, docs/adr/0007-fns-without-savepoints.md) gives this one a savepoint, so that
// its failure costs the other callers of its batch nothing.
func ExpectRollback(ctx context.Context) context.Context {
	return context.WithValue(ctx, expectRollbackKey{}, true)
}

// RollbackExpected reports whether ctx was marked by ExpectRollback.
func RollbackExpected(ctx context.Context) bool {
	v, _ := ctx.Value(expectRollbackKey{}).(bool)
	return v
}

type expectRollbackKey struct{}

// Speculate marks ctx for an Update whose fn a store may first run ahead of its turn, off the
// one writer, against what the store knows of the rows it reads, and then only check and apply
// (SQLite: docs/adr/0005-deciding-outside-the-writer.md). The caller promises that fn's outcome
// rests on nothing but its own captured inputs (the request, the policy it loaded, the clock)
// and what it reads through the Tx: no memory that other writes change. A store checks the
// rows fn read before it applies what fn wrote, and runs fn again in its turn when any of them
// moved, so the result is the one fn would have had in its turn, decided a little earlier on
// the clock. Stores without a serial writer ignore the mark.
func Speculate(ctx context.Context) context.Context {
	return context.WithValue(ctx, speculateKey{}, true)
}

// Speculative reports whether ctx was marked by Speculate.
func Speculative(ctx context.Context) bool {
	v, _ := ctx.Value(speculateKey{}).(bool)
	return v
}

type speculateKey struct{}

// Change announces one committed write that other parts of the system wake up for: a history
// event (Type is the event type, Seq its place in the ticket's history) or a scheduled deadline
// (Type is ChangeDeadline, Due its due time, Seq 0). It carries identities, not content: a
// subscriber that needs the event reads it.
type Change struct {
	TicketID string `json:"ticket_id"`
	Seq      int64  `json:"seq"`
	Type     string `json:"type"`
	// Due is the due time of a scheduled deadline (UTC, millisecond precision); zero for history
	// events. The deadline engine compares it with the time it sleeps until, so that a node hears
	// of an earlier deadline written by any node without polling.
	Due time.Time `json:"due,omitzero"`
	// Lagged marks a gap: changes were dropped before this point because the subscriber was slow.
	Lagged bool `json:"lagged,omitempty"`
}

// ChangeDeadline is the Change.Type announcing that ScheduleDeadline committed. It is not a
// history event type: no event with this type is stored.
const ChangeDeadline = "deadline.scheduled"

// ChangeDelivery is the Change.Type announcing that EnqueueDelivery or RetryDelivery committed
// a pending delivery of the ticket (Seq 0, Due zero); a transaction announces it at least once
// per ticket whose deliveries it queued. The SQLite and PostgreSQL stores announce every one,
// which lets the outbox dispatcher claim only when something was queued instead of after
// every commit; a store that never announces it (memstore) leaves the dispatcher waking for
// every history event, as it must then. Not a history event type.
const ChangeDelivery = "delivery.queued"

// SubscriberBuffer is how many changes a subscriber may fall behind before it misses some.
const SubscriberBuffer = 4096

// Tx is everything a service can do inside one transaction. Inside Update, reads of a ticket or
// an escalation may lock that row until the transaction ends (PostgreSQL does, so that nodes
// serialise their read-modify-writes). After a write error other than a version conflict, fn
// must return the error: on PostgreSQL the transaction can run no further statement.
type Tx interface {
	Tickets
	History
	Escalations
	Accounts
	Audit
	Tokens
	Policies
	Decisions
	Deadlines
	Outbox
	Agents
	Feed
	Search
	Handoffs
	Facts
	Logins
}

// Deadline is a durable row for one future moment the deadline engine must act on: an SLA
// clock's warning or breach, or an escalation nobody acknowledged. Firing a deadline and
// applying what it causes happen in one transaction (ClaimDue inside Update), which is what
// makes a deadline fire exactly once, also across restarts and nodes.
type Deadline struct {
	ID       string
	TicketID string
	// Kind is the event the deadline raises: sla.warning, sla.breached or
	// escalation.unacknowledged.
	Kind string
	// Target names the SLA clock (first_response, next_reply, resolution, acknowledge).
	Target string
	// EscalationID is set for acknowledge clocks and unacknowledged escalations.
	EscalationID string
	DueAt        time.Time
	CreatedAt    time.Time
}

// Deadlines stores pending deadlines. A ticket has at most one pending deadline per kind and
// target.
type Deadlines interface {
	// ScheduleDeadline stores d, replacing the ticket's pending deadline of the same kind and
	// target if there is one. Once the transaction commits, every subscriber on every node gets
	// a Change{TicketID, Type: ChangeDeadline, Due: d.DueAt}; nothing is announced when it rolls
	// back.
	ScheduleDeadline(ctx context.Context, d *Deadline) error
	// CancelDeadlines removes the ticket's pending deadlines of a target, or all of them when
	// target is "".
	CancelDeadlines(ctx context.Context, ticketID, target string) error
	// ClaimDue removes and returns at most n deadlines due at or before now, earliest first.
	// Concurrent transactions never claim the same deadline (PostgreSQL: FOR UPDATE SKIP
	// LOCKED); a claim rolled back leaves the deadline pending.
	ClaimDue(ctx context.Context, now time.Time, n int) ([]*Deadline, error)
	// ClaimDeadline removes and returns the pending deadline with that id if it is due at or
	// before now; not_found when it is not pending (fired, cancelled or replaced by a later
	// schedule, which gives it a new id), not yet due, or (PostgreSQL) being claimed or
	// rescheduled by a concurrent transaction right now. The deadline engine uses it to fire the
	// rest of a batch without the one deadline whose firing failed, which ClaimDue, taking the
	// earliest first, would return again and again.
	ClaimDeadline(ctx context.Context, id string, now time.Time) (*Deadline, error)
	// NextDue returns the earliest pending due time, or the zero time when none is pending. Ids
	// in except are left out: the deadline engine passes the deadlines whose firing failed and
	// waits for a retry, so that it still wakes for the others.
	NextDue(ctx context.Context, except ...string) (time.Time, error)
	// CountDeadlines returns how many deadlines are pending and how many of those are due at or
	// before now (overdue: the engine has not fired them yet). For metrics: each store says what
	// one call costs.
	CountDeadlines(ctx context.Context, now time.Time) (pending, overdue int64, err error)
}

// Decisions keeps the policy's latest verdict per ticket for explain.
type Decisions interface {
	// SaveDecision stores d as its ticket's latest decision, replacing the previous one.
	SaveDecision(ctx context.Context, d *escalated.Decision) error
	// LatestDecision returns a ticket's latest decision; not_found when none was saved.
	LatestDecision(ctx context.Context, ticketID string) (*escalated.Decision, error)
}

// Tickets stores ticket rows.
type Tickets interface {
	// CreateTicket inserts t; conflict if the id exists.
	CreateTicket(ctx context.Context, t *escalated.Ticket) error
	// GetTicket returns the ticket with Customer and Account filled in when it has them.
	GetTicket(ctx context.Context, id string) (*escalated.Ticket, error)
	// UpdateTicket writes t (including its new t.Version) if the stored version still equals
	// prev, the version the caller read, else conflict. One operation may append several
	// history entries and so move Version by more than one; prev makes a lost update impossible.
	UpdateTicket(ctx context.Context, t *escalated.Ticket, prev int64) error
	// ListTickets returns tickets newest first (by id descending), at most f.Limit, and the
	// cursor for the next page ("" when there is none). Ids are time-ordered, so a page never
	// repeats or skips a ticket that existed when the first page was read.
	ListTickets(ctx context.Context, f TicketFilter) ([]*escalated.Ticket, string, error)
}

// TicketFilter selects tickets. Empty fields do not filter.
type TicketFilter struct {
	Team      string
	Tier      string
	Status    escalated.Status
	Priority  escalated.Priority
	Assignee  string
	AccountID string
	// Escalated filters on whether the ticket was ever escalated (nil: both).
	Escalated *bool
	// Cursor is the last id of the previous page; the page starts after it.
	Cursor string
	Limit  int
}

// MessagePick says which of a ticket's messages History.PickMessages returns.
type MessagePick struct {
	// Kind keeps the messages of one kind of author ("": any).
	Kind escalated.AuthorKind
	// Public leaves out internal notes.
	Public bool
	// Last picks from the end of the conversation rather than from its start.
	Last bool
	// Limit is how many at most; at least 1.
	Limit int
}

// Check says what is wrong with p.
func (p MessagePick) Check() error {
	if p.Limit < 1 {
		return escalated.Errorf(escalated.EINTERNAL, "pick messages: the limit must be at least 1, not %d", p.Limit)
	}
	return nil
}

// History stores the append-only messages and events of tickets.
type History interface {
	// AddMessage stores a message. The message.added event that announces it (its message_id,
	// store.EventMessageID) is appended in the same transaction, before or after: the service
	// always writes both.
	AddMessage(ctx context.Context, m *escalated.Message) error
	GetMessage(ctx context.Context, id string) (*escalated.Message, error)
	// ListMessages returns a ticket's messages in conversation order, found through the events
	// that announce them: a message no event of the ticket announces is not listed. The SQL
	// stores thus keep one index by ticket for both lists, not one each.
	ListMessages(ctx context.Context, ticketID string) ([]*escalated.Message, error)
	// PickMessages returns some of a ticket's messages, found as ListMessages finds them and in
	// the same order: the first p.Limit that match p, or with p.Last the last p.Limit. A
	// handoff package quotes the first public customer message and the last few; it read the
	// whole conversation, bodies and signals, in the store's one writer to escalate a ticket.
	PickMessages(ctx context.Context, ticketID string, p MessagePick) ([]*escalated.Message, error)
	AppendEvent(ctx context.Context, e *escalated.Event) error
	// ListEvents returns a ticket's events in Seq order with Message attached to message.added.
	ListEvents(ctx context.Context, ticketID string) ([]*escalated.Event, error)
	// ListWorkEvents returns, in Seq order, the ticket's events of the given types and its
	// message.added events of messages an agent wrote (types should not name message.added);
	// those carry a Message with its id, ticket, seq and author only, no body, signals or
	// times. Routing reads it to find the agent who last worked the ticket in a team: with
	// ListEvents the store's one writer decoded every customer message's body and signals of a
	// long conversation to escalate it.
	ListWorkEvents(ctx context.Context, ticketID string, types []string) ([]*escalated.Event, error)
}

// Escalations stores escalation records.
type Escalations interface {
	CreateEscalation(ctx context.Context, e *escalated.Escalation) error
	GetEscalation(ctx context.Context, id string) (*escalated.Escalation, error)
	// UpdateEscalation writes e if the stored version is e.Version-1, else conflict.
	UpdateEscalation(ctx context.Context, e *escalated.Escalation) error
	// ListEscalations returns escalations newest first with the same cursor rules as tickets.
	ListEscalations(ctx context.Context, f EscalationFilter) ([]*escalated.Escalation, string, error)
}

// EscalationFilter selects escalations. Empty fields do not filter.
type EscalationFilter struct {
	TicketID string
	// Team matches either side of the escalation.
	Team   string
	ToTeam string
	State  escalated.EscalationState
	Cursor string
	Limit  int
}

// Accounts stores customers and accounts. Upserts keep the newest data a ticket brought.
type Accounts interface {
	UpsertAccount(ctx context.Context, a *escalated.Account) error
	GetAccount(ctx context.Context, id string) (*escalated.Account, error)
	UpsertCustomer(ctx context.Context, c *escalated.Customer) error
	GetCustomer(ctx context.Context, id string) (*escalated.Customer, error)
}

// Audit stores the append-only audit trail.
type Audit interface {
	AppendAudit(ctx context.Context, a *escalated.AuditRecord) error
	// ListAudit returns records newest first, optionally for one object.
	ListAudit(ctx context.Context, f AuditFilter) ([]*escalated.AuditRecord, string, error)
}

// AuditFilter selects audit records.
type AuditFilter struct {
	ObjectKind string
	ObjectID   string
	Action     string
	Cursor     string
	Limit      int
}

// Tokens stores API tokens by the hash of their secret.
type Tokens interface {
	CreateToken(ctx context.Context, t *escalated.Token) error
	// TokenByHash returns the token with that hash; not_found when none (revoked ones included).
	TokenByHash(ctx context.Context, hash string) (*escalated.Token, error)
	// TouchToken records that the token was used at t.
	TouchToken(ctx context.Context, id string, t time.Time) error
	ListTokens(ctx context.Context) ([]*escalated.Token, error)
	// RevokeToken marks the token revoked at t and returns it; not_found for an unknown id,
	// conflict when it was revoked already (saying when).
	RevokeToken(ctx context.Context, id string, t time.Time) (*escalated.Token, error)
}

// Policies stores policy versions. Versions are numbered from 1 in the order they were saved.
type Policies interface {
	// SavePolicy stores p as a new version and sets p.Version, unless the newest stored version
	// has the same Hash: then nothing is stored and p.Version is set to that version. Nodes that
	// start together with the same file so agree on one version.
	SavePolicy(ctx context.Context, p *escalated.PolicyVersion) error
	// LatestPolicy returns the newest version; not_found when none was saved.
	LatestPolicy(ctx context.Context) (*escalated.PolicyVersion, error)
	GetPolicy(ctx context.Context, version int64) (*escalated.PolicyVersion, error)
	ListPolicies(ctx context.Context) ([]*escalated.PolicyVersion, error)
}

// DefaultLimit and MaxLimit bound list pages.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// ClampLimit returns n bounded to [1, MaxLimit], DefaultLimit for n <= 0.
func ClampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}
