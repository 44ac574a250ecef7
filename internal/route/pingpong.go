package route

import (
	"fmt"
	"time"
)

// PingPongWindow is how recently a ticket must have left a team for a move back to count as
// ping-pong.
const PingPongWindow = time.Hour

// Move is one change of team in a ticket's past.
type Move struct {
	From, To string
	At       time.Time
	// Return marks a move back down by an escalation's return, which is the legitimate way
	// back.
	Return bool
}

// PingPong reports whether moving the ticket to `to` at `at` sends it back to a team it left
// within PingPongWindow, and says so in words. A move that is itself a return is never
// ping-pong. moves are the ticket's earlier moves in any order.
func PingPong(moves []Move, to string, at time.Time, isReturn bool) (bool, string) {
	if isReturn {
		return false, ""
	}
	var left *Move
	for i := range moves {
		m := &moves[i]
		if m.From != to || m.At.After(at) || at.Sub(m.At) >= PingPongWindow {
			continue
		}
		if left == nil || m.At.After(left.At) {
			left = m
		}
	}
	if left == nil {
		return false, ""
	}
	return true, fmt.Sprintf("the ticket left team %s for %s %s ago; sending it back without a return is ping-pong",
		to, left.To, at.Sub(left.At).Round(time.Second))
}
