// Package observe wraps a store.Store with Prometheus metrics of what it commits: history
// events by type, escalations by trigger and reason, and store errors by operation. Counting at
// the store seam sees every writer (API, deadline engine, demo loader, simulation) without any
// of them knowing, and counts only what committed: a transaction's tallies are added after its
// Update returned nil, and a store that runs fn again starts them afresh.
package observe

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// Store is a store.Store that counts what it commits.
type Store struct {
	store.Store
	events      *prometheus.CounterVec
	escalations *prometheus.CounterVec
	errs        *prometheus.CounterVec
}

// New wraps st and registers its metrics with reg.
func New(st store.Store, reg prometheus.Registerer) (*Store, error) {
	s := &Store{
		Store: st,
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "escalated_events_committed_total",
			Help: "History events this node committed, by event type (message.added counts ingested messages).",
		}, []string{"type"}),
		escalations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "escalated_escalations_total",
			Help: "Escalations this node committed, by trigger and reason.",
		}, []string{"trigger", "reason"}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "escalated_store_errors_total",
			Help: "Store operations that failed for a reason other than the request itself (not a conflict, not found or invalid input), by operation.",
		}, []string{"op"}),
	}
	for _, c := range []prometheus.Collector{s.events, s.escalations, s.errs} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// tally is what one transaction wrote.
type tally struct {
	events      map[string]int
	escalations map[[2]string]int
}

// Update runs fn through the wrapped store and counts its writes once it committed.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	var t tally
	var fnErr error
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		t = tally{events: map[string]int{}, escalations: map[[2]string]int{}}
		fnErr = fn(&countingTx{Tx: tx, t: &t})
		return fnErr
	})
	if err != nil {
		s.failed("update", err, fnErr)
		return err
	}
	for typ, n := range t.events {
		s.events.WithLabelValues(typ).Add(float64(n))
	}
	for k, n := range t.escalations {
		s.escalations.WithLabelValues(k[0], k[1]).Add(float64(n))
	}
	return nil
}

// View runs fn through the wrapped store, counting store failures.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	var fnErr error
	err := s.Store.View(ctx, func(tx store.Tx) error {
		fnErr = fn(tx)
		return fnErr
	})
	if err != nil {
		s.failed("view", err, fnErr)
	}
	return err
}

// failed counts err when it is the store's fault rather than the request's: conflicts, missing
// objects, refused input, a caller's cancellation and a deliberate rollback (store.Rollback)
// are outcomes, not store errors. What fn returned counts only when it is one of those store
// failures passed on (a Tx method's I/O error, say), which carries no request error code or
// the internal one. Unavailable counts too: it is what the stores answer when the database
// cannot be written (disk full, read-only file, I/O error) or reached (PostgreSQL down), the
// failures this metric is watched for.
func (s *Store) failed(op string, err, fnErr error) {
	var rb store.Rollback
	if errors.As(err, &rb) || (fnErr != nil && errors.As(fnErr, &rb)) {
		return
	}
	switch escalated.ErrorCode(err) {
	case escalated.ECONFLICT, escalated.ENOTFOUND, escalated.EINVALID, escalated.EFORBIDDEN, escalated.EUNAUTHORIZED:
		return
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return
	}
	var e *escalated.Error
	if errors.As(err, &e) && e.Code != escalated.EINTERNAL && e.Code != escalated.EUNAVAILABLE {
		return
	}
	s.errs.WithLabelValues(op).Inc()
}

// countingTx tallies the writes metrics report.
type countingTx struct {
	store.Tx
	t *tally
}

func (c *countingTx) AppendEvent(ctx context.Context, e *escalated.Event) error {
	err := c.Tx.AppendEvent(ctx, e)
	if err == nil {
		c.t.events[e.Type]++
	}
	return err
}

func (c *countingTx) CreateEscalation(ctx context.Context, e *escalated.Escalation) error {
	err := c.Tx.CreateEscalation(ctx, e)
	if err == nil {
		c.t.escalations[[2]string{string(e.Trigger), string(e.Reason)}]++
	}
	return err
}
