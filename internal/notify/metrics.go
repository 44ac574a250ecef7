package notify

import "github.com/prometheus/client_golang/prometheus"

// Collectors returns the dispatcher's metrics for a Prometheus registry: delivery attempts by
// outcome on this node (delivered, failed for good, dead after the last attempt, retried).
// They read the counters the dispatcher keeps anyway, so sending pays nothing for them.
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
	}
}
