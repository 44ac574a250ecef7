package store

import (
	"context"
	"time"
)

// Analytics (E7) read two denormalised tables the ticket service keeps in step with every
// change, in the change's transaction: one row per ticket and one per escalation, each with
// the attributes reports group by and the outcomes they count. Every save of a row also applies
// its difference to daily rollups (rollup.go), which is what reports read: over a million
// tickets, scanning a 30-day window of the rows took 0.1-1 s a report; BenchmarkReportGroups in
// each store measures the reports over 1,000,000 tickets and 300,000 escalations.
//
// Both stores keep times to the millisecond (escalated.Truncate) and durations in whole
// milliseconds (truncated towards zero), and give the same answers to the same facts: the
// report arithmetic is this package's (BuildReport), and the conformance suite checks a
// hand-computed history on both.

// TicketFact is what analytics know of one ticket.
type TicketFact struct {
	TicketID  string
	CreatedAt time.Time
	// IssueType, Channel, CustomerTier (the account's tier) and AccountID as they are now.
	IssueType, Channel, CustomerTier, AccountID string
	// IntakeTeam and IntakeTier are where the ticket was opened; FirstAgent the first agent
	// assigned there ("" when none was).
	IntakeTeam, IntakeTier, FirstAgent string
	// Solved: the ticket is solved or closed now; SolvedAt when it last became so.
	Solved   bool
	SolvedAt *time.Time
	// Escalations counts the ticket's escalations; FirstEscalatedAt is the first one's time.
	Escalations      int
	FirstEscalatedAt *time.Time
	Reopens          int
	// BreachesBeforeEscalation counts SLA breaches that fired while the ticket had never been
	// escalated (under-escalation: it waited too long before going up).
	BreachesBeforeEscalation int
	// ReopenedAfterT1Solve: solved while in a tier of level 1, reopened later, and escalated
	// after that reopen (under-escalation: tier 1 closed what it could not fix).
	ReopenedAfterT1Solve bool
	// MaxFrustration is the highest frustration score the ticket reached (0..1).
	MaxFrustration float64
	// PingPongs counts escalations flagged as ping-pong.
	PingPongs int
}

// EscalationFact is what analytics know of one escalation.
type EscalationFact struct {
	EscalationID, TicketID string
	CreatedAt              time.Time
	FromTeam, ToTeam       string
	FromTier, ToTier       string
	// ByAgent is the escalating agent ("" for automation), Trigger and Reason as recorded,
	// RuleID the rule that escalated ("" for others).
	ByAgent, Trigger, Reason, RuleID string
	// The ticket's attributes when it was escalated.
	IssueType, Channel, CustomerTier, AccountID string
	// TimeToEscalate is from the ticket's creation to this escalation.
	TimeToEscalate time.Duration
	// AcknowledgedAt and TimeToAck (from this escalation's CreatedAt to its acknowledgement)
	// once acknowledged.
	AcknowledgedAt *time.Time
	TimeToAck      *time.Duration
	State          string
	// Returned: sent back; Unnecessary: returned with necessary=false; ResolvedAtTarget:
	// resolved by the receiving team; ReEscalated: moved further up (state escalated).
	Returned, Unnecessary, ResolvedAtTarget, ReEscalated bool
	// ResolvedAfter is from this escalation's CreatedAt to its resolution, for resolved
	// escalations.
	ResolvedAfter *time.Duration
	// InternalNotes counts internal notes written on the ticket while this escalation held it.
	InternalNotes int
	Completeness  float64
	// ContextInsufficient: acknowledged with context_sufficient=false.
	ContextInsufficient bool
	PingPong            bool
}

// Facts stores the analytics rows and answers the report queries over them.
type Facts interface {
	// SaveTicketFact inserts or replaces the ticket's row.
	SaveTicketFact(ctx context.Context, f *TicketFact) error
	// SaveEscalationFact inserts or replaces the escalation's row.
	SaveEscalationFact(ctx context.Context, f *EscalationFact) error
	// SetAccountTier sets the customer tier of every ticket row of the account: a ticket's
	// tier is the account's as it is now (escalation rows keep the tier they were made with).
	SetAccountTier(ctx context.Context, accountID, tier string) error
	// GetTicketFact and GetEscalationFact return a row; not_found when there is none.
	GetTicketFact(ctx context.Context, ticketID string) (*TicketFact, error)
	GetEscalationFact(ctx context.Context, escalationID string) (*EscalationFact, error)
	// ReportGroups aggregates the facts of q's window by q.GroupBy (see ReportQuery).
	ReportGroups(ctx context.Context, q ReportQuery) ([]ReportGroup, error)
	// ReportOutcomes counts the window's outcome measures.
	ReportOutcomes(ctx context.Context, q ReportQuery) (*Outcomes, error)
	// RebuildRollups recomputes the report rollups from the fact rows: for rows written
	// around the store (a bulk load) or rollups gone wrong. A store opening a database whose
	// facts predate the rollups runs it once by itself.
	RebuildRollups(ctx context.Context) error
}

// Report dimensions (ReportQuery.GroupBy).
const (
	GroupIssueType    = "issue_type"
	GroupAgent        = "agent"
	GroupTeam         = "team"
	GroupTarget       = "target"
	GroupTransition   = "transition"
	GroupCustomerTier = "customer_tier"
	GroupAccount      = "account"
	GroupChannel      = "channel"
	GroupRule         = "rule"
	GroupDay          = "day"
	GroupWeek         = "week"
)

// GroupBys lists the dimensions in the order the docs give them.
var GroupBys = []string{GroupIssueType, GroupAgent, GroupTeam, GroupTarget, GroupTransition, GroupCustomerTier,
	GroupAccount, GroupChannel, GroupRule, GroupDay, GroupWeek}

// ReportQuery selects a window of facts. Tickets count when created in [Since, Until),
// escalations when escalated in it. Team, when set, keeps the escalations from or to the team
// and the tickets the team took on: those opened in it (IntakeTeam) and those arriving in it
// by an escalation of the window (counted with the escalation's attributes, and by no agent);
// the outcome measures' tickets are the ones opened in it. Transition, when set ("t1 -> t2"),
// keeps only the escalations of that transition, wherever escalations are counted (groups'
// Escalations and escalation measures, the escalation counts of Outcomes); a ticket has no
// transition, so ticket counts are as without it. A GroupBy not in GroupBys is an invalid
// error naming the allowed values (ReportOutcomes ignores GroupBy).
//
// With a transition filter, reports by issue type, day and week and the outcome measures read
// the rollups; the other dimensions are computed from the window's fact rows (see rolledUp in
// rollup.go): the same answers, in time proportional to the window.
type ReportQuery struct {
	GroupBy      string
	Since, Until time.Time
	Team         string
	Transition   string
	// QuickSolve and HighFrustration are the outcome thresholds (ReportOutcomes); both are
	// inclusive and compared at the rollups' resolution: resolution times in whole minutes
	// rounded up (MinutesBucket) against QuickSolve's whole minutes, frustration in hundredths
	// rounded down (FrustrationBucket) against HighFrustration's hundredths rounded up.
	QuickSolve      time.Duration
	HighFrustration float64
}

// ReportGroup is one group's counts; the service turns them into rates and shares.
//
// Which tickets a group counts depends on the dimension: issue_type, customer_tier, channel,
// day and week group tickets by the same attribute (day and week of creation, UTC, days as
// "2026-11-26", weeks as ISO "2026-W48"); agent counts the tickets whose FirstAgent is the
// agent (a ticket no agent was assigned to counts in no agent's group, so the "" group of
// automation has no tickets); team counts the tickets opened in the team plus the escalations
// into it from another team (ToTeam <> FromTeam) in the window, each arrival once: a ticket
// that reaches a team twice is work the team took on twice; account groups tickets by AccountID ("" for none); target
// (the receiving team), transition ("t1 -> t2") and rule count no tickets. Escalations group
// by the escalation's attribute (agent: ByAgent, "" for automation; team: FromTeam; target:
// ToTeam; account: AccountID; rule: RuleID, rule escalations only).
//
// Groups come sorted by Escalations descending, then Key byte-wise; a group with tickets and
// no escalations is there with zero escalations and nil percentiles.
type ReportGroup struct {
	Key string
	// Tickets in the group, and those of them escalated at least once (by now: a report of a
	// past window counts the escalations its tickets had since). For team, an arrival by
	// escalation counts as escalated when the team escalated it further (the arriving
	// escalation's ReEscalated).
	Tickets, EscalatedTickets int
	// BreachesBeforeEscalation sums the group's tickets' BreachesBeforeEscalation (arrivals
	// by escalation add none).
	BreachesBeforeEscalation int
	Escalations              int
	// Nearest-rank percentiles (the value at rank ceil(p*n) in ascending order) of the
	// durations' histogram buckets (DurationBucket: to the second below 1,000 s, three
	// significant digits above, rounded down); nil with no values.
	TimeToEscalateP50, TimeToEscalateP90 *time.Duration
	TimeToAckP50, TimeToAckP90           *time.Duration
	Acknowledged, Returned, Unnecessary  int
	ResolvedAtTarget, ReEscalated        int
	ContextInsufficient                  int
	// CompletenessSum sums the escalations' package completeness (the mean is /Escalations).
	// It is a floating-point sum, so the stores, which add in their own order, may differ in
	// the last bits.
	CompletenessSum float64
}

// Outcomes are the window's outcome measures: the ticket counts over tickets created in the
// window, the escalation counts over escalations created in it (both filtered by Team when
// set). Escalations and Reopens are the ticket's counts now, not only the window's.
type Outcomes struct {
	Tickets int
	// FirstContactResolved: solved, never escalated, never reopened.
	FirstContactResolved int
	// Under-escalation signals.
	BreachedBeforeEscalation   int // tickets with a breach before any escalation
	ReopenedAfterT1Solve       int
	HighFrustrationUnescalated int // MaxFrustration >= HighFrustration and never escalated
	// Over-escalation signals (over escalations in the window).
	Escalations int
	Unnecessary int
	// QuickSolveNoNote: resolved at the target within QuickSolve of the escalation, with no
	// internal note while it held the ticket.
	QuickSolveNoNote int
	PingPongs        int
}
