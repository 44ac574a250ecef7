package engine

import (
	"context"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/escalated/escalated/internal/store"
)

// latenessBuckets span a millisecond (a prompt wake-up) to an hour (a catch-up after a long
// outage), in seconds.
var latenessBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
	10, 30, 60, 300, 3600}

// countTimeout bounds the CountDeadlines query a scrape runs.
const countTimeout = 2 * time.Second

// metrics are the engine's Prometheus collectors.
type metrics struct {
	lateness prometheus.Histogram
	fired    *prometheus.CounterVec
	dropped  prometheus.Counter
	backlog  *backlogCollector
}

func newMetrics(s store.Store, clock clockwork.Clock, log *slog.Logger) *metrics {
	return &metrics{
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "escalated_deadline_lateness_seconds",
			Help:    "Time from a deadline's due time to the commit of the transaction that fired it.",
			Buckets: latenessBuckets,
		}),
		fired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "escalated_deadlines_fired_total",
			Help: "Deadlines fired (committed), by kind.",
		}, []string{"kind"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "escalated_deadlines_dropped_total",
			Help: "Claimed deadlines dropped without firing because they no longer matched their clock.",
		}),
		backlog: &backlogCollector{
			store: s, clock: clock, log: log,
			pending: prometheus.NewDesc("escalated_deadlines_pending",
				"Deadlines in the store that have not fired yet, due or not.", nil, nil),
			overdue: prometheus.NewDesc("escalated_deadlines_overdue",
				"Pending deadlines whose due time has passed (the engine's backlog).", nil, nil),
		},
	}
}

// register registers every collector with r, or none of them.
func (m *metrics) register(r prometheus.Registerer) error {
	cs := []prometheus.Collector{m.lateness, m.fired, m.dropped, m.backlog}
	for i, c := range cs {
		if err := r.Register(c); err != nil {
			for _, done := range cs[:i] {
				r.Unregister(done)
			}
			return err
		}
	}
	return nil
}

// backlogCollector reports the pending and overdue gauges by counting rows when it is
// scraped. Counting on Collect rather than after every engine loop: the figures are exact at
// the moment they are read, the store is asked only as often as someone scrapes (never when
// nobody does), and an engine busy catching up does not spend a count query per batch. A
// GaugeFunc would do the same but with no way to bound the query; Collect gets countTimeout. A
// failed count is logged and the two gauges are left out of that scrape, so that the rest of
// the scrape still succeeds.
type backlogCollector struct {
	store            store.Store
	clock            clockwork.Clock
	log              *slog.Logger
	pending, overdue *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pending
	ch <- c.overdue
}

// Collect implements prometheus.Collector.
func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), countTimeout)
	defer cancel()
	var pending, overdue int64
	err := c.store.View(ctx, func(tx store.Tx) error {
		var err error
		pending, overdue, err = tx.CountDeadlines(ctx, c.clock.Now())
		return err
	})
	if err != nil {
		c.log.Warn("cannot count deadlines for metrics; the gauges are left out of this scrape",
			"err", err, "timeout", countTimeout)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(pending))
	ch <- prometheus.MustNewConstMetric(c.overdue, prometheus.GaugeValue, float64(overdue))
}
