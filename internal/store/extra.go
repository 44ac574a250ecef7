package store

import (
	"encoding/json"
	"fmt"

	"github.com/escalated/escalated"
)

// ticketExtra is what both stores keep in the tickets.extra JSON column: ticket state that is
// read and written with the ticket but never filtered on.
type ticketExtra struct {
	Signals        escalated.TicketSignals   `json:"signals"`
	Recommendation *escalated.Recommendation `json:"recommendation,omitempty"`
}

// EncodeTicketExtra returns the tickets.extra column of t.
func EncodeTicketExtra(t *escalated.Ticket) (string, error) {
	b, err := json.Marshal(ticketExtra{Signals: t.Signals, Recommendation: t.Recommendation})
	return string(b), err
}

// DecodeTicketExtra fills t's signals and recommendation from the column, with empty lists
// rather than nil so that round trips compare equal.
func DecodeTicketExtra(col []byte, t *escalated.Ticket) error {
	var x ticketExtra
	if err := json.Unmarshal(col, &x); err != nil {
		return fmt.Errorf("ticket extra: %w", err)
	}
	if x.Signals.Trend == nil {
		x.Signals.Trend = []float64{}
	}
	if x.Signals.Keywords == nil {
		x.Signals.Keywords = []string{}
	}
	t.Signals, t.Recommendation = x.Signals, x.Recommendation
	return nil
}
