// Package storetest is the conformance suite every store.Store implementation must pass. It
// talks to the store only through the store interfaces, so the SQLite and PostgreSQL stores are
// held to exactly the same behaviour: round trips of every field, error codes, list filters and
// keyset paging, and the transaction guarantees services rely on (rollback of a failed fn, no
// lost update under concurrent writers, snapshot reads).
//
// A store package runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return mustOpen(t) })
//	}
package storetest

import (
	"testing"

	"github.com/escalated/escalated/internal/store"
)

// Run runs the conformance suite. open must return a new, empty store that is closed when t
// ends (t.Cleanup); Run calls it once per subtest, and subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Tickets", ticketTests},
		{"History", historyTests},
		{"Escalations", escalationTests},
		{"Accounts", accountTests},
		{"Audit", auditTests},
		{"Tokens", tokenTests},
		{"Policies", policyTests},
		{"Transactions", transactionTests},
		{"Changes", changeTests},
		{"Decisions", decisionTests},
		{"Deadlines", deadlineTests},
		{"Outbox", outboxTests},
		{"Agents", agentTests},
		{"Feed", feedTests},
		{"Search", searchTests},
		{"Handoffs", handoffTests},
		{"Facts", factTests},
		{"Logins", loginTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, newFx(t, open))
				})
			}
		})
	}
}

// test is one conformance check; f holds a fresh store.
type test struct {
	name string
	run  func(t *testing.T, f *fx)
}
