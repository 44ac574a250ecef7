package sqlite

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// syncRing keeps how long the last syncs of the write-ahead log took: the disk's share of every
// write's latency (a caller is answered only once its commit is synced), which `escalated bench`
// reports beside the API's figure and an operator reads as the disk's health.
type syncRing struct {
	mu    sync.Mutex
	times [16384]time.Duration
	n     int64 // syncs recorded; the last min(n, len(times)) are kept
	hist  prometheus.Histogram
}

func newSyncRing() *syncRing {
	return &syncRing{hist: prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "escalated_sqlite_sync_seconds",
		Help:    "Time the SQLite store's syncs of its write-ahead log took; every write is answered only after one, so a slow disk shows here. (A failed sync stops writes: see escalated_store_errors_total.)",
		Buckets: []float64{.00025, .0005, .001, .002, .005, .01, .02, .05, .1, .25, 1},
	})}
}

func (s *syncRing) add(d time.Duration) {
	s.hist.Observe(d.Seconds())
	s.mu.Lock()
	s.times[s.n%int64(len(s.times))] = d
	s.n++
	s.mu.Unlock()
}

// since returns the durations of the syncs after the first n (Stats.Syncs counts them), as
// many of them as are still kept, oldest first.
func (s *syncRing) since(n int64) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	n = min(max(n, s.n-int64(len(s.times)), 0), s.n)
	out := make([]time.Duration, 0, s.n-n)
	for i := n; i < s.n; i++ {
		out = append(out, s.times[i%int64(len(s.times))])
	}
	return out
}

// count is how many syncs were recorded.
func (s *syncRing) count() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// SyncTimes returns how long the syncs after the first n took (n from an earlier Stats().Syncs;
// 0 for all), as many as are kept (the last 16,384), oldest first.
func (db *DB) SyncTimes(n int64) []time.Duration { return db.syncTimes.since(n) }

// Collectors returns the store's metrics for a Prometheus registry: the log's sync times, the
// writer's group commits (transactions committed and the write calls they held) and the
// batches undone because a fn failed after writing (docs/adr/0007). They read what the writer
// counts anyway.
func (db *DB) Collectors() []prometheus.Collector {
	counter := func(name, help string, read func() int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(read()) })
	}
	return []prometheus.Collector{
		db.syncTimes.hist,
		counter("escalated_sqlite_commits_total", "Group-commit transactions the SQLite writer committed.", db.stats.commits.Load),
		counter("escalated_sqlite_updates_total", "Write calls (store updates) the SQLite writer committed, in group commits.", db.stats.updates.Load),
		counter("escalated_sqlite_batches_undone_total",
			"Group-commit batches rolled back and run again because a write failed after writing without a savepoint (docs/adr/0007); more than a few means a write path that should be marked.",
			db.stats.undone.Load),
	}
}
