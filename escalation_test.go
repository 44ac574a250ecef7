package escalated

import (
	"errors"
	"fmt"
	"testing"
)

// TestStateMachine pins every allowed and refused escalation transition.
func TestStateMachine(t *testing.T) {
	allowed := map[[2]EscalationState]bool{
		{EscalationPending, EscalationAcknowledged}:   true,
		{EscalationPending, EscalationEscalated}:      true,
		{EscalationAcknowledged, EscalationResolved}:  true,
		{EscalationAcknowledged, EscalationReturned}:  true,
		{EscalationAcknowledged, EscalationEscalated}: true,
	}
	for _, from := range EscalationStates {
		for _, to := range EscalationStates {
			if got := CanTransition(from, to); got != allowed[[2]EscalationState{from, to}] {
				t.Errorf("CanTransition(%s, %s) = %v", from, to, got)
			}
		}
		if from.Active() != (from == EscalationPending || from == EscalationAcknowledged) {
			t.Errorf("%s.Active() = %v", from, from.Active())
		}
	}
}

func TestErrorsNeverLeakInternals(t *testing.T) {
	cases := []struct {
		err          error
		code, client string
	}{
		{nil, "", ""},
		{Errorf(EINTERNAL, "store update panicked: index out of range"), EINTERNAL, "internal error"},
		{fmt.Errorf("open: %w", errors.New("disk /var/x is full")), EINTERNAL, "internal error"},
		{fmt.Errorf("escalate: %w", Invalid("note", "too short")), EINVALID, "invalid note: too short"},
		{Errorf(ECONFLICT, "escalation is returned"), ECONFLICT, "escalation is returned"},
	}
	for _, c := range cases {
		if got := ErrorCode(c.err); got != c.code {
			t.Errorf("ErrorCode(%v) = %q, want %q", c.err, got, c.code)
		}
		if got := ErrorMessage(c.err); got != c.client {
			t.Errorf("ErrorMessage(%v) = %q, want %q", c.err, got, c.client)
		}
	}
	if got := Invalid("role", "must be admin").Error(); got != "invalid role: must be admin" {
		t.Errorf("single-field error prints its problem twice: %q", got)
	}
	fe := FieldErrors{}
	fe.Add("a", "x")
	fe.Add("b", "y")
	if got := fe.Err().Error(); got != "invalid request (a: x; b: y)" {
		t.Errorf("multi-field error: %q", got)
	}
}
