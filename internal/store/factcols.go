package store

import "fmt"

// Reading some of a fact table's columns (EdgeColumns): what the two SQL stores share. Each
// store reads the time and duration columns its own way (SQLite keeps milliseconds,
// PostgreSQL timestamptz and bigint milliseconds) and hands the rest to TicketFactField and
// EscalationFactField.

// RowScanner is a row of a query (*sql.Rows, pgx.Rows).
type RowScanner interface{ Scan(dest ...any) error }

// ScanColumns scans a row of the named columns into a new T; field says where each goes: a
// pointer to scan into, and what to do after the scan (nil: nothing), or nil for a column T
// has no field for, an error.
func ScanColumns[T any](cols []string, field func(*T, string) (any, func())) func(RowScanner) (*T, error) {
	return func(s RowScanner) (*T, error) {
		v := new(T)
		dest := make([]any, len(cols))
		var after []func()
		for i, c := range cols {
			d, then := field(v, c)
			if d == nil {
				return nil, fmt.Errorf("fact column %q: no field", c)
			}
			dest[i] = d
			if then != nil {
				after = append(after, then)
			}
		}
		if err := s.Scan(dest...); err != nil {
			return nil, err
		}
		for _, fn := range after {
			fn()
		}
		return v, nil
	}
}

// TicketFactField is where a ticket_facts column that needs no conversion (text, integers,
// booleans, reals) goes in f; nil for the time columns and unknown ones. A column added to
// the table belongs here when EdgeColumns may name it.
func TicketFactField(f *TicketFact, col string) any {
	switch col {
	case "ticket_id":
		return &f.TicketID
	case "intake_team":
		return &f.IntakeTeam
	case "intake_tier":
		return &f.IntakeTier
	case "escalations":
		return &f.Escalations
	case "breaches_before_escalation":
		return &f.BreachesBeforeEscalation
	case "solved":
		return &f.Solved
	case "reopens":
		return &f.Reopens
	case "reopened_after_t1_solve":
		return &f.ReopenedAfterT1Solve
	case "max_frustration":
		return &f.MaxFrustration
	case "ping_pongs":
		return &f.PingPongs
	case "issue_type":
		return &f.IssueType
	case "customer_tier":
		return &f.CustomerTier
	case "channel":
		return &f.Channel
	case "account_id":
		return &f.AccountID
	case "first_agent":
		return &f.FirstAgent
	}
	return nil
}

// EscalationFactField is TicketFactField for escalation_facts.
func EscalationFactField(f *EscalationFact, col string) any {
	switch col {
	case "id":
		return &f.EscalationID
	case "ticket_id":
		return &f.TicketID
	case "from_team":
		return &f.FromTeam
	case "to_team":
		return &f.ToTeam
	case "from_tier":
		return &f.FromTier
	case "to_tier":
		return &f.ToTier
	case "by_agent":
		return &f.ByAgent
	case "trigger_kind":
		return &f.Trigger
	case "reason":
		return &f.Reason
	case "rule_id":
		return &f.RuleID
	case "issue_type":
		return &f.IssueType
	case "channel":
		return &f.Channel
	case "customer_tier":
		return &f.CustomerTier
	case "account_id":
		return &f.AccountID
	case "state":
		return &f.State
	case "returned":
		return &f.Returned
	case "unnecessary":
		return &f.Unnecessary
	case "resolved_at_target":
		return &f.ResolvedAtTarget
	case "re_escalated":
		return &f.ReEscalated
	case "internal_notes":
		return &f.InternalNotes
	case "completeness":
		return &f.Completeness
	case "context_insufficient":
		return &f.ContextInsufficient
	case "ping_pong":
		return &f.PingPong
	}
	return nil
}
