// Package ticket holds the use cases of tickets and escalations: it authorises the caller,
// validates input against the live policy, and writes each change with its history, audit and
// escalation records in one store transaction, so that nothing half-done is ever visible.
//
// The escalation state machine (escalated.CanTransition):
//
//	            acknowledge             resolve
//	pending ───────────────> acknowledged ───────> resolved
//	   │                         │  │      return
//	   │                         │  └────────────> returned   (ticket goes back to from_team)
//	   │  timeout (E4)           │    escalate further
//	   └─────────────────────────┴───────────────> escalated  (a new escalation takes over)
//
// At most one escalation holds a ticket at a time (Ticket.ActiveEscalation). A person must
// acknowledge a pending escalation before escalating further; only the deadline engine may move
// a pending escalation on (escalation.unacknowledged).
package ticket
