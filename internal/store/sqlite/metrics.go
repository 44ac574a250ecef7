package sqlite

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Timing is when something the store does began and how long it took.
type Timing struct {
	At   time.Time
	Took time.Duration
}

// timingRing keeps the times of the last things of one kind the store did, and their
// histogram for Prometheus: the log's syncs (the disk's share of every write's latency, since a
// caller is answered only once its commit is synced) and the writer's commits (whose long ones
// are the checkpoints, during which the writer serves no one). `escalated bench` reports both
// beside the API's figure; an operator reads them as the disk's and the writer's health.
type timingRing struct {
	mu    sync.Mutex
	times [16384]Timing
	n     int64 // recorded; the last min(n, len(times)) are kept
	hist  prometheus.Histogram
}

// timingBuckets span a sync of a fast disk (a quarter of a millisecond) to a stalled one.
var timingBuckets = []float64{.00025, .0005, .001, .002, .005, .01, .02, .05, .1, .25, 1}

func newSyncRing() *timingRing {
	return &timingRing{hist: prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "escalated_sqlite_sync_seconds",
		Help:    "Time the SQLite store's syncs of its write-ahead log took; every write is answered only after one, so a slow disk shows here. (A failed sync stops writes: see escalated_store_errors_total.)",
		Buckets: timingBuckets,
	})}
}

func newCommitRing() *timingRing {
	return &timingRing{hist: prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "escalated_sqlite_commit_seconds",
		Help: "Time the SQLite writer's group commits took: writing the batch's pages to the write-ahead log and, each time the log has grown by " +
			fmt.Sprint(writerAutoCheckpoint) + " pages, copying it into the database file (a checkpoint). The writer runs no write meanwhile, so the long ones are every write's stalls.",
		Buckets: timingBuckets,
	})}
}

func (s *timingRing) add(at time.Time, d time.Duration) {
	s.hist.Observe(d.Seconds())
	s.mu.Lock()
	s.times[s.n%int64(len(s.times))] = Timing{At: at, Took: d}
	s.n++
	s.mu.Unlock()
}

// since returns the timings after the first n (a count from Stats), as many of them as are
// still kept, oldest first.
func (s *timingRing) since(n int64) []Timing {
	s.mu.Lock()
	defer s.mu.Unlock()
	n = min(max(n, s.n-int64(len(s.times)), 0), s.n)
	out := make([]Timing, 0, s.n-n)
	for i := n; i < s.n; i++ {
		out = append(out, s.times[i%int64(len(s.times))])
	}
	return out
}

// count is how many were recorded.
func (s *timingRing) count() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// SyncTimes returns when the syncs after the first n began and how long each took (n from an
// earlier Stats().Syncs; 0 for all), as many as are kept (the last 16,384), oldest first.
func (db *DB) SyncTimes(n int64) []Timing { return db.syncTimes.since(n) }

// CommitTimes returns when the commits after the first n began and how long each took (n from
// an earlier Stats().Commits; 0 for all), as many as are kept (the last 16,384), oldest first.
func (db *DB) CommitTimes(n int64) []Timing { return db.commitTimes.since(n) }

// Collectors returns the store's metrics for a Prometheus registry: the log's sync times, the
// writer's commit times, its group commits (transactions committed and the write calls they
// held) and the batches undone because a fn failed after writing (docs/adr/0007). They read
// what the writer counts anyway.
func (db *DB) Collectors() []prometheus.Collector {
	counter := func(name, help string, read func() int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(read()) })
	}
	return []prometheus.Collector{
		db.syncTimes.hist,
		db.commitTimes.hist,
		counter("escalated_sqlite_commits_total", "Group-commit transactions the SQLite writer committed.", db.commitTimes.count),
		counter("escalated_sqlite_updates_total", "Write calls (store updates) the SQLite writer committed, in group commits.", db.stats.updates.Load),
		counter("escalated_sqlite_batches_undone_total",
			"Group-commit batches rolled back and run again because a write failed after writing without a savepoint (docs/adr/0007); more than a few means a write path that should be marked.",
			db.stats.undone.Load),
		specCounter("applied", db.stats.specApplied.Load),
		specCounter("stale", db.stats.specStale.Load),
		specCounter("restarted", db.stats.specRestarted.Load),
		specCounter("declined", db.stats.specDeclined.Load),
		waitCounter("work", db.stats.waitWork.read),
		waitCounter("sync", db.stats.waitSync.read),
	}
}

// waitCounter is the time the writer waited for one reason (Stats.WriterWaitWork and
// WriterWaitSync), as a label of one counter.
func waitCounter(reason string, read func() time.Duration) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "escalated_sqlite_writer_wait_seconds_total",
		Help: "Time the SQLite writer goroutine waited, by reason: work, nothing queued to write; sync, a batch ready to commit " +
			"while the previous commit was still being synced. One minus their rate is the writer's load: near one, the writer limits this node's writes.",
		ConstLabels: prometheus.Labels{"reason": reason},
	}, func() float64 { return read().Seconds() })
}

// specCounter is one outcome of the writes decided ahead (speculate.go), as a label of one
// counter (one help text for all: a registry refuses a name with two).
func specCounter(outcome string, read func() int64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "escalated_sqlite_speculations_total",
		Help: "Writes the SQLite store decided ahead of its writer (docs/adr/0005), by outcome: applied as decided; " +
			"stale, decided again in the writer because a row they read had moved meanwhile; restarted, decided again " +
			"because they did not apply as recorded (a statement failed, as on a full disk, or a defect: report it); " +
			"declined, not decided ahead (they read the database, wrote what a speculation cannot follow, or failed).",
		ConstLabels: prometheus.Labels{"outcome": outcome},
	}, func() float64 { return float64(read()) })
}
