package store

import (
	"context"
	"time"
)

// Handoff is the record of one chatbot handoff (POST /v1/handoffs) under the client's
// handoff_id: a retry with the same id gets Answer, the first answer, instead of a second
// ticket or escalation. RequestHash tells a retry from a different request reusing the id.
type Handoff struct {
	ID           string
	RequestHash  string
	TicketID     string
	EscalationID string
	// Answer is the JSON answered the first time.
	Answer    []byte
	CreatedAt time.Time
}

// Handoffs stores handoff records and answers the queue questions a handoff's answer needs.
type Handoffs interface {
	// SaveHandoff stores h; conflict when a handoff with its id exists.
	SaveHandoff(ctx context.Context, h *Handoff) error
	// GetHandoff returns the handoff with that id; not_found when there is none.
	GetHandoff(ctx context.Context, id string) (*Handoff, error)
	// PendingAhead counts the pending escalations to team created before (createdAt, id), in
	// (created_at, id) order: the tickets ahead in the line for an acknowledgement.
	PendingAhead(ctx context.Context, team string, createdAt time.Time, id string) (int, error)
	// AckDelays returns how long the latest n escalations to team acknowledged at or after since
	// waited for their acknowledgement (acknowledged_at - created_at), newest first.
	AckDelays(ctx context.Context, team string, since time.Time, n int) ([]time.Duration, error)
}
