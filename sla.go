package escalated

import "time"

// SLA event types: the deadline engine raises them when a clock's warning or breach instant
// passes, and when an escalation's acknowledge clock runs out.
const (
	EventSLAWarning               = "sla.warning"
	EventSLABreached              = "sla.breached"
	EventEscalationUnacknowledged = "escalation.unacknowledged"
)

// SLA is a ticket's service-level state: the plan that applies and its clocks. It is stored with
// the ticket; internal/sla does the arithmetic and internal/ticket decides when clocks start,
// pause and stop.
type SLA struct {
	// Plan is the id of the policy's SLA plan in force, "" when none matched.
	Plan string `json:"plan,omitempty"`
	// Clocks holds at most one clock per target.
	Clocks []Clock `json:"clocks,omitempty"`
	// Replied records that an agent has answered the customer publicly, so a first_response
	// clock is never started again (a plan that starts applying later begins with next_reply).
	Replied bool `json:"replied,omitempty"`
	// Tier is the account tier the plan was chosen with. The account is a row of its own that
	// another ticket may change, so the ticket remembers what its plan saw.
	Tier string `json:"tier,omitempty"`
}

// Clock returns the clock for target, or nil.
func (s *SLA) Clock(target string) *Clock {
	for i := range s.Clocks {
		if s.Clocks[i].Target == target {
			return &s.Clocks[i]
		}
	}
	return nil
}

// Clock is one SLA clock: a budget of business time, how much of it has been used, and the
// instants at which it warns and breaches. internal/sla.Clock has the same layout and the
// methods that move it; its doc comment holds the rules.
type Clock struct {
	Target string `json:"target"`
	Plan   string `json:"plan"`
	// Escalation is the escalation an acknowledge clock measures.
	Escalation string        `json:"escalation,omitempty"`
	Budget     time.Duration `json:"budget"` // the target, in business time
	WarnAt     float64       `json:"warn_at"`
	// Elapsed is the business time used before Since (the whole of it when not counting).
	Elapsed time.Duration `json:"elapsed"`
	// Since is when the current counting stretch began; zero when not counting.
	Since time.Time `json:"since,omitzero"`
	State string    `json:"state"`
	// DueAt is when the clock breaches (breached: when it did; stopped: the deadline it was
	// judged against); zero while paused.
	DueAt time.Time `json:"due_at,omitzero"`
	// WarnDue is when a running clock warns; zero once warned or when it never warns.
	WarnDue time.Time `json:"warn_due,omitzero"`
	// WarnFired records that the warning of the current run has fired, so that a clock paused
	// (or stopped) after its warning does not warn again when it counts on, and one paused or
	// re-planned past its warn point before the warning fired still warns.
	WarnFired bool `json:"warn_fired,omitempty"`
	// StoppedAt is when a met or breached clock was stopped; zero otherwise.
	StoppedAt time.Time `json:"stopped_at,omitzero"`
}

// ClockStatus is one SLA clock as the API and the handoff package report it. Times are RFC 3339
// in UTC, null when the clock has none; durations are seconds of business time.
type ClockStatus struct {
	Target string `json:"target"`
	Plan   string `json:"plan"`
	State  string `json:"state"`
	// DueAt is when the clock breaches (null while paused).
	DueAt *string `json:"due_at"`
	// WarningAt is when a running clock will warn (null once warned or when it never warns).
	WarningAt *string `json:"warning_at"`
	// TargetSeconds is the plan's target; ElapsedSeconds the business time used so far.
	TargetSeconds  float64 `json:"target_seconds"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	StoppedAt      *string `json:"stopped_at"`
	// EscalationID is the escalation an acknowledge clock measures.
	EscalationID *string `json:"escalation_id"`
}

// TimePtr formats t for a nullable API field: nil for the zero time.
func TimePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := FormatTime(t)
	return &s
}
