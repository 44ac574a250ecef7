package notify

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/escalated/escalated/internal/store"
)

// countTimeout bounds the outbox count a scrape runs.
const countTimeout = 2 * time.Second

// Collectors returns the dispatcher's metrics for a Prometheus registry: delivery attempts by
// outcome on this node (delivered, failed for good, dead after the last attempt, retried), and
// the outbox's deliveries by state. The attempt counters read what the dispatcher keeps
// anyway, so sending pays nothing for them; the states are counted when scraped.
func (d *Dispatcher) Collectors() []prometheus.Collector {
	counter := func(outcome string, read func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "escalated_delivery_attempts_total",
			Help:        "Delivery attempts by outcome on this node: delivered, failed (for good), dead (after the last attempt), retried.",
			ConstLabels: prometheus.Labels{"outcome": outcome},
		}, read)
	}
	return []prometheus.Collector{
		counter("delivered", func() float64 { return float64(d.delivered.Load()) }),
		counter("failed", func() float64 { return float64(d.failed.Load()) }),
		counter("dead", func() float64 { return float64(d.dead.Load()) }),
		counter("retried", func() float64 { return float64(d.retried.Load()) }),
		&stateCollector{d: d, desc: prometheus.NewDesc("escalated_deliveries",
			"Deliveries in the outbox by state (pending, failed, dead; delivered ones are counted by escalated_delivery_attempts_total).",
			[]string{"state"}, nil)},
	}
}

// stateCollector counts the outbox by state on each scrape; a failed count leaves the gauge
// out of that scrape (and is logged) so the rest of the scrape still succeeds.
type stateCollector struct {
	d    *Dispatcher
	desc *prometheus.Desc
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), countTimeout)
	defer cancel()
	var counts map[store.DeliveryState]int64
	err := c.d.store.View(ctx, func(tx store.Tx) error {
		var err error
		counts, err = tx.CountDeliveries(ctx)
		return err
	})
	if err != nil {
		c.d.log.Warn("cannot count deliveries for metrics; the gauge is left out of this scrape", "err", err)
		return
	}
	for st, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), string(st))
	}
}
