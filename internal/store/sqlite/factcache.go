package sqlite

import (
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// The writer keeps the analytics rows it last read or wrote (ticket_facts, escalation_facts)
// beside the tickets: saving a fact row subtracts the row it replaces from the rollup cells
// (rollup.go), so every save read that row first, and on an escalating breach those two reads
// cost the writer more than the two writes (the ticket's fact 36 µs to read against 18 to
// write, in a slow hour's profile of the catch-up). A row created in the same write is known
// to have no predecessor without a read at all.
//
// The rows follow the tickets' rules (cache.go): the pre-update hook drops a row whatever
// statement changes it (the saves themselves, an account's new tier, anything to come), a
// failed fn's staging is forgotten, another connection's commit empties the cache. A saved row
// enters it as a read would return it (normalised: milliseconds), which
// TestFactCacheHoldsWhatAReadReturns holds to the database.

// factRow is an analytics row as a read inside the writer's transaction would return it: v nil
// means there is no row.
type factRow[T any] struct{ v *T }

// factRows caches one table's rows by key.
type factRows[T any] struct {
	rows   map[string]factRow[T]
	staged map[string]*factRow[T] // nil: drop when the fn succeeds
}

func newFactRows[T any]() factRows[T] {
	return factRows[T]{rows: map[string]factRow[T]{}, staged: map[string]*factRow[T]{}}
}

// lookup returns the row of key, the running fn's staging first; ok false when not known.
func (s *factRows[T]) lookup(key string) (factRow[T], bool) {
	if p, staged := s.staged[key]; staged {
		if p == nil {
			return factRow[T]{}, false
		}
		return *p, true
	}
	r, ok := s.rows[key]
	return r, ok
}

func (s *factRows[T]) stage(key string, r *factRow[T]) { s.staged[key] = r }

// drop forgets key: the cached row at once, and what the running fn staged of it, which must
// not enter the cache when the fn succeeds. Only a staged key is marked: a bulk load runs on
// the writer's connection with no fn around it, and marking every row it writes would hold
// them all in the staging until the next fn.
func (s *factRows[T]) drop(key string) {
	delete(s.rows, key)
	if _, ok := s.staged[key]; ok {
		s.staged[key] = nil
	}
}

// release moves the staging into the cache, evicting at random past max rows.
func (s *factRows[T]) release(max int) {
	for key, r := range s.staged {
		if r == nil {
			delete(s.rows, key)
			continue
		}
		if _, ok := s.rows[key]; !ok && len(s.rows) >= max {
			for victim := range s.rows {
				delete(s.rows, victim)
				break
			}
		}
		s.rows[key] = *r
	}
	clear(s.staged)
}

func (s *factRows[T]) reset() {
	clear(s.rows)
	clear(s.staged)
}

// cachedFact returns a copy of the cached row of key in rows (copy makes it): known false when
// the cache does not know it, f nil when it knows there is none.
func cachedFact[T any](c *ticketCache, rows *factRows[T], key string, copy func(*T) *T) (f *T, known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := rows.lookup(key)
	if !ok || r.v == nil {
		return nil, ok
	}
	return copy(r.v), true
}

// stageFact records key's row in rows as the running fn leaves it (v nil: none), made as a
// read would return it by normal.
func stageFact[T any](c *ticketCache, rows *factRows[T], key string, v *T, normal func(*T) *T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rows.stage(key, &factRow[T]{v: normal(v)})
}

// ticketFact and escalationFact are cachedFact of the two tables; stageTicketFact and
// stageEscalationFact stageFact. All four do nothing on a nil cache.
func (c *ticketCache) ticketFact(id string) (*store.TicketFact, bool) {
	if c == nil {
		return nil, false
	}
	return cachedFact(c, &c.ticketFacts, id, copyTicketFact)
}

func (c *ticketCache) escalationFact(id string) (*store.EscalationFact, bool) {
	if c == nil {
		return nil, false
	}
	return cachedFact(c, &c.escFacts, id, copyEscalationFact)
}

func (c *ticketCache) stageTicketFact(id string, f *store.TicketFact) {
	if c != nil {
		stageFact(c, &c.ticketFacts, id, f, normalTicketFact)
	}
}

func (c *ticketCache) stageEscalationFact(id string, f *store.EscalationFact) {
	if c != nil {
		stageFact(c, &c.escFacts, id, f, normalEscalationFact)
	}
}

// normalTicketFact is a copy of f as the database returns it (nil for nil): times to the
// millisecond, in UTC.
func normalTicketFact(f *store.TicketFact) *store.TicketFact {
	if f == nil {
		return nil
	}
	cp := *f
	cp.CreatedAt = fromMS(ms(f.CreatedAt))
	cp.SolvedAt, cp.FirstEscalatedAt = normalTime(f.SolvedAt), normalTime(f.FirstEscalatedAt)
	return &cp
}

func normalEscalationFact(f *store.EscalationFact) *store.EscalationFact {
	if f == nil {
		return nil
	}
	cp := *f
	cp.CreatedAt = fromMS(ms(f.CreatedAt))
	cp.AcknowledgedAt = normalTime(f.AcknowledgedAt)
	cp.TimeToEscalate = time.Duration(durMS(f.TimeToEscalate)) * time.Millisecond
	cp.TimeToAck, cp.ResolvedAfter = normalDur(f.TimeToAck), normalDur(f.ResolvedAfter)
	return &cp
}

func normalTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	n := fromMS(ms(*t))
	return &n
}

func normalDur(d *time.Duration) *time.Duration {
	if d == nil {
		return nil
	}
	n := time.Duration(durMS(*d)) * time.Millisecond
	return &n
}

// copyTicketFact and copyEscalationFact copy a cached row for a caller, who may change it.
func copyTicketFact(f *store.TicketFact) *store.TicketFact {
	cp := *f
	cp.SolvedAt, cp.FirstEscalatedAt = escalated.ClonePtr(f.SolvedAt), escalated.ClonePtr(f.FirstEscalatedAt)
	return &cp
}

func copyEscalationFact(f *store.EscalationFact) *store.EscalationFact {
	cp := *f
	cp.AcknowledgedAt = escalated.ClonePtr(f.AcknowledgedAt)
	cp.TimeToAck, cp.ResolvedAfter = escalated.ClonePtr(f.TimeToAck), escalated.ClonePtr(f.ResolvedAfter)
	return &cp
}
