package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// DefaultMaxBatch is how many Update calls the writer folds into one transaction at most. Past a
// few hundred the fsync is already amortised and a bigger batch only delays the first caller.
const DefaultMaxBatch = 256

// DefaultPageCache is the writer connection's page cache in MiB (WithPageCache). SQLite's own
// default, about 2 MiB, held a sliver of a million-ticket database: firings and messages on
// tickets scattered over the file read their pages again from the operating system, and the
// breach lateness p99 was 1.1-2.7 s where 64 MiB gave 0.1-0.28 s and 128 MiB no better
// (BENCHMARKS.md, E11). The cache fills only as pages are read: a small database never uses it all.
const DefaultPageCache = 64

// writerAutoCheckpoint is the write-ahead log's length, in pages, at which the writer's COMMIT
// copies it back into the database file (SQLite's wal_autocheckpoint; its default is 1,000).
// The writer serves no caller while it checkpoints, and each checkpoint syncs the log and the
// database file. At 1,000 pages that was 14% of the writer's time under ingest; at 10,000 (a log
// of about 40 MiB at 4 KiB pages) a page many commits changed is copied once instead of up to
// ten times and the syncs are a tenth as many: IngestDemo 4,049 and 4,381 -> 4,534 and 4,587
// msgs/s with 16 writers, 4,303 and 4,691 -> 5,069 and 5,574 with 128 (BENCHMARKS.md, E11). A
// checkpointer on a connection of its own (PASSIVE, every 200 ms) did no better: the log starts
// over only once fully copied while nothing new was committed, which under load is only at the
// writer's own checkpoint anyway.
const writerAutoCheckpoint = 10000

// Option configures a DB at Open.
type Option func(*config)

type config struct {
	logger      *slog.Logger
	maxBatch    int
	readers     int
	scratch     bool
	readOnly    bool
	ticketCache int
	stmtCache   int
	noSpeculate bool
	pageCache   int // MiB; 0: SQLite's own default
}

// Scratch opens a throwaway database: commits are not synced to disk (synchronous=OFF), so
// a crash of the machine may lose or corrupt it. For simulations, which build a database,
// read it and delete it; never for a database that holds anything of value.
func Scratch() Option {
	return func(c *config) { c.scratch = true }
}

// ReadOnly opens an existing database for View only, for commands that run beside nodes
// (reports): nothing is created, migrated or computed, and every connection is opened read-only
// (mode=ro), so Update fails. Open then refuses with a *store.SchemaError a database at another
// schema version than this build's or without its report rollups: bringing it up to date is a
// write, which a reader must not make behind the back of nodes that may be older.
func ReadOnly() Option {
	return func(c *config) { c.readOnly = true }
}

// WithLogger sets the logger for migrations, recovered panics and close errors. The default
// discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithMaxBatch bounds how many Update calls share one transaction (DefaultMaxBatch when n < 1).
// 1 turns group commit off, which is useful to measure what it buys.
func WithMaxBatch(n int) Option {
	return func(c *config) {
		if n >= 1 {
			c.maxBatch = n
		}
	}
}

// WithTicketCache sets how many tickets the writer keeps cached (DefaultTicketCache by
// default); 0 turns the cache off, which is useful to measure what it buys.
func WithTicketCache(n int) Option {
	return func(c *config) {
		if n >= 0 {
			c.ticketCache = n
		}
	}
}

// WithSpeculation turns deciding ahead on or off (on by default): Update calls marked
// store.Speculate run their fn in the caller's goroutine first and the writer only checks and
// applies what it wrote (speculate.go; docs/adr/0005-deciding-outside-the-writer.md). Off is
// useful to measure what it buys. It needs the ticket cache (WithTicketCache above 0).
func WithSpeculation(on bool) Option {
	return func(c *config) { c.noSpeculate = !on }
}

// WithStmtCache sets how many compiled statements each connection keeps (DefaultStmtCache by
// default); 0 turns the statement cache off, which is useful to measure what it buys.
func WithStmtCache(n int) Option {
	return func(c *config) {
		if n >= 0 {
			c.stmtCache = n
		}
	}
}

// WithPageCache sets the writer connection's page cache in MiB (DefaultPageCache by default;
// 0 leaves SQLite's own, about 2 MiB). Readers keep SQLite's default: they are many, and
// short-lived reads of a few pages gain little from a large one.
func WithPageCache(mib int) Option {
	return func(c *config) {
		if mib >= 0 {
			c.pageCache = mib
		}
	}
}

// WriterPageCache reports the writer connection's page cache in MiB (rounded down; SQLite's own
// default is 1), as SQLite has it: what WithPageCache asked for, checked where the node is
// configured. It waits for the writer to be between transactions.
func (db *DB) WriterPageCache(ctx context.Context) (int, error) {
	var n int
	if err := db.writer.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&n); err != nil {
		return 0, fmt.Errorf("read the writer's page cache size: %w", err)
	}
	if n < 0 {
		return -n / 1024, nil // KiB
	}
	var page int
	if err := db.writer.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&page); err != nil {
		return 0, fmt.Errorf("read the page size: %w", err)
	}
	return n * page >> 20, nil // pages
}

// WithReaders sets the size of the reader pool used by View (default: GOMAXPROCS, at least 2).
func WithReaders(n int) Option {
	return func(c *config) {
		if n >= 1 {
			c.readers = n
		}
	}
}

// DB is a SQLite database opened for escalated. It implements store.Store; see the package
// documentation for how writes are batched.
type DB struct {
	path    string
	log     *slog.Logger
	writer  *sql.DB
	readers *sql.DB
	// hub announces committed history events; SQLite has one node, so no other source exists.
	hub *store.Hub

	maxBatch int
	queue    chan *request
	stopped  chan struct{} // closed when the writer goroutine has drained the queue and exited

	// mu guards closed against the sends on queue: Update holds it shared while it enqueues, Close
	// exclusively while it closes the channel, so nothing is ever sent on a closed channel.
	mu        sync.RWMutex
	closed    bool
	closeOnce sync.Once
	closeErr  error

	stats struct {
		updates, failures, batches, maxBatch, undone atomic.Int64
		// The writes decided ahead (speculate.go): applied as recorded, decided again because a
		// row they read moved, restarted because one did not apply as recorded, and the
		// speculations declined (a read of the database, a write they cannot follow, fn's error).
		specApplied, specStale, specRestarted, specDeclined atomic.Int64
		// waitWork and waitSync are the time the writer goroutine was blocked: with nothing to
		// run, and with a batch ready to commit while the syncer was busy.
		waitWork, waitSync waitClock
	}
	// speculating: Updates marked store.Speculate are decided ahead (WithSpeculation); it needs
	// the ticket cache, which holds the rows a speculation reads.
	speculating bool
	// specTrace, when set (tests), hears why each speculation was declined; specHook runs after
	// each speculation that stands, before it is queued (with the speculations' turn held).
	specTrace func(why string)
	specHook  func()
	// ahead holds the ticket rows the writes decided ahead and queued will leave; specTurn, a
	// slot a speculation holds from its first read until it is queued, gives them their turns
	// (a channel rather than a mutex, so that a caller waiting for its turn can give up).
	ahead    aheadTable
	specTurn chan struct{}
	// syncTimes counts the log's syncs and holds the recent ones' times and their histogram;
	// commitTimes the same for the writer's commits (metrics.go).
	syncTimes, commitTimes *timingRing

	// pipelined: the writer commits with synchronous=NORMAL and the syncer goroutine makes each
	// commit durable before its callers hear of it (syncer.go); false for a Scratch database,
	// which never syncs, and a ReadOnly one, which never commits.
	pipelined  bool
	wal        *walSyncer
	toSync     chan *syncBatch       // a committed batch, from the writer to the syncer
	syncFree   chan struct{}         // holds the token while no batch is being synced
	syncDone   chan struct{}         // closed when the syncer has answered everything and exited
	syncFailed atomic.Pointer[error] // set once a sync failed; every later write gets it
	// cache holds hot tickets' rows for the writer (cache.go); nil when turned off.
	cache *ticketCache
	// watch counts the writer connection's row changes and rollbacks (stmtcache.go), so that
	// fns can run without savepoints (commit.go).
	watch *writeWatch
	// guarded is how many more batches run every fn in a savepoint, after one whose fn failed
	// having written (commit.go). Only the writer goroutine uses it.
	guarded int

	// unwritable is set while writes fail because the file cannot be written (disk full,
	// read-only, I/O error), so that the log says so once, and again once a commit succeeds.
	unwritable atomic.Bool

	// resolvedSeen is set once a transaction found a row in resolved_tickets. Until then each
	// SimilarResolved first asks whether there is any (search.go): on a database without
	// resolved tickets, as after a fresh install, an FTS5 match costs each escalation far more
	// than that look. Once set it stays: the look is skipped and the search runs.
	resolvedSeen atomic.Bool

	// recorder, while set, receives the statements of every write function that committed
	// (record.go).
	recorder atomic.Pointer[Recorder]
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the database file at path, applies pending migrations and
// starts the writer goroutine (with ReadOnly: opens the existing file as it is, and checks it).
// Close releases it.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	cfg := config{
		logger:      slog.New(slog.DiscardHandler),
		maxBatch:    DefaultMaxBatch,
		readers:     max(2, runtime.GOMAXPROCS(0)),
		ticketCache: DefaultTicketCache,
		stmtCache:   DefaultStmtCache,
		pageCache:   DefaultPageCache,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if path == "" {
		return nil, escalated.Invalid("path", "must name a database file")
	}

	var cache *ticketCache
	if cfg.ticketCache > 0 && !cfg.readOnly {
		cache = newTicketCache(cfg.ticketCache)
	}
	// The writer's statement journals stay in memory (temp_store): the savepoints of guarded
	// batches (commit.go) copy each page a fn is first to change there, and so do statements
	// that may fail half way. On disk that was a write system call per page, a few percent of
	// ingest's CPU with batches of eight (BENCHMARKS.md, E11), when every fn had a savepoint.
	// The writer runs NORMAL: the syncer adds the sync that FULL would make (syncer.go).
	writerSync, readerSync := "NORMAL", "FULL"
	if cfg.scratch {
		writerSync, readerSync = "OFF", "OFF"
	}
	writerDSN := dsn(path, writerSync, "_txlock=immediate", "_pragma=temp_store(MEMORY)",
		fmt.Sprintf("_pragma=wal_autocheckpoint(%d)", writerAutoCheckpoint))
	if cfg.pageCache > 0 {
		// Negative: a size in KiB rather than in pages.
		writerDSN += fmt.Sprintf("&_pragma=cache_size(%d)", -cfg.pageCache*1024)
	}
	readerDSN := dsn(path, readerSync, "_pragma=query_only(1)")
	if cfg.readOnly {
		// Without dsn's pragmas: journal_mode(WAL) would write to a file in rollback-journal
		// mode (a restored backup), and mode=ro never creates the file.
		writerDSN = plainDSN(path, "mode=ro", "_pragma=busy_timeout(5000)", "_pragma=query_only(1)")
		readerDSN = writerDSN
	}
	watch := new(writeWatch)
	writer := sql.OpenDB(newConnector(writerDSN, cfg.stmtCache, cache, watch))
	// One connection: SQLite has one writer at a time anyway, and owning it in-process means
	// writes queue in Go (cheaply, in order) instead of spinning on SQLITE_BUSY.
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)

	readers := sql.OpenDB(newConnector(readerDSN, cfg.stmtCache, nil, nil))
	readers.SetMaxOpenConns(cfg.readers)
	readers.SetMaxIdleConns(cfg.readers)
	readers.SetConnMaxIdleTime(0)

	db := &DB{
		hub:      store.NewHub(),
		path:     path,
		log:      cfg.logger,
		writer:   writer,
		readers:  readers,
		maxBatch: cfg.maxBatch,
		cache:    cache,
		watch:    watch,

		speculating: cache != nil && !cfg.noSpeculate,
		ahead:       aheadTable{m: map[string]aheadEntry{}},
		specTurn:    make(chan struct{}, 1),
		queue:       make(chan *request, cfg.maxBatch),
		stopped:     make(chan struct{}),

		pipelined:   !cfg.scratch && !cfg.readOnly,
		wal:         newWALSyncer(),
		syncTimes:   newSyncRing(),
		commitTimes: newCommitRing(),
		toSync:      make(chan *syncBatch, 1),
		syncFree:    make(chan struct{}, 1),
		syncDone:    make(chan struct{}),
	}

	// Migrate before the readers' first connection: query_only connections must find the file
	// already in WAL mode with its schema in place. A read-only open checks the file instead.
	check := db.Migrate
	if cfg.readOnly {
		check = db.checkCurrent
	}
	fail := func(err error) (*DB, error) {
		writer.Close()
		readers.Close()
		db.wal.Close()
		return nil, err
	}
	if db.pipelined {
		// Where SQLite keeps the log: next to the database file as SQLite resolved its name
		// (symbolic links followed), which path itself may not be.
		var file string
		if err := writer.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
			return fail(fmt.Errorf("open sqlite %s: find the database file: %w", path, err))
		}
		if file == "" {
			return fail(escalated.Errorf(escalated.EINTERNAL, "open sqlite %s: SQLite names no file for it", path))
		}
		db.wal.setPath(file + "-wal")
	}
	if err := check(ctx); err != nil {
		return fail(err)
	}
	if err := readers.PingContext(ctx); err != nil {
		return fail(fmt.Errorf("open sqlite readers %s: %w", path, err))
	}
	db.syncFree <- struct{}{}
	go db.runSyncer()
	go db.run()
	if cfg.readOnly {
		return db, nil
	}
	if err := db.ensureRollups(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// checkCurrent refuses, for a read-only open, a database this build cannot read as it is: at
// another schema version, or without the report rollups ensureRollups would compute.
func (db *DB) checkCurrent(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	var v int
	if err := db.readers.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return fmt.Errorf("read the schema version of %s (is it an escalated database?): %w", db.path, err)
	}
	if v != len(ms) {
		return &store.SchemaError{Database: db.path, Version: v, Want: len(ms)}
	}
	var built bool
	if err := db.readers.QueryRowContext(ctx, `SELECT built FROM rollup_state`).Scan(&built); err != nil {
		return fmt.Errorf("read rollup state of %s: %w", db.path, err)
	}
	if !built {
		return &store.SchemaError{Database: db.path, Version: v, Want: len(ms), RollupsPending: true}
	}
	return nil
}

// ensureRollups computes the report rollups of a database whose facts predate them
// (migration 11), once, in one transaction.
func (db *DB) ensureRollups(ctx context.Context) error {
	var built bool
	if err := db.readers.QueryRowContext(ctx, `SELECT built FROM rollup_state`).Scan(&built); err != nil {
		return fmt.Errorf("read rollup state: %w", err)
	}
	if built {
		return nil
	}
	start := time.Now()
	err := db.Update(ctx, func(t store.Tx) error { return t.RebuildRollups(ctx) })
	if err != nil {
		return fmt.Errorf("compute report rollups: %w", err)
	}
	db.log.Info("computed report rollups from the existing analytics facts", "path", db.path, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// dsn builds a modernc DSN. The pragmas go on every connection the pool opens, which is why they
// are DSN parameters and not statements run once after Open.
func dsn(path, synchronous string, extra ...string) string {
	params := []string{
		"_pragma=busy_timeout(5000)",
		"_pragma=foreign_keys(1)",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(" + synchronous + ")",
	}
	params = append(params, extra...)
	// The file: form hands the name to SQLite as a URI, where '?', '#' and '%' are special.
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + escaped + "?" + strings.Join(params, "&")
}

// errClosed is returned by Update and View once Close has begun.
func errClosed() error { return escalated.Errorf(escalated.EINTERNAL, "store closed") }

// Close stops accepting writes, commits everything already queued, and closes the connections.
// It is safe to call more than once; later calls return the first call's result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.mu.Lock()
		db.closed = true
		close(db.queue)
		db.mu.Unlock()

		<-db.stopped
		db.hub.Close()
		db.closeErr = errors.Join(db.readers.Close(), db.writer.Close())
		if db.closeErr != nil {
			db.log.Error("close sqlite store", "path", db.path, "err", db.closeErr)
		}
	})
	return db.closeErr
}

// Subscribe delivers a store.Change for every history event committed from now on.
func (db *DB) Subscribe(ctx context.Context) (<-chan store.Change, error) {
	if db.isClosed() {
		return nil, errClosed()
	}
	return db.hub.Subscribe(ctx)
}

func (db *DB) isClosed() bool {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.closed
}

// View runs fn in a read-only transaction on a reader connection. Every read inside fn sees
// the same committed snapshot, taken at its first read.
func (db *DB) View(ctx context.Context, fn func(store.Tx) error) error {
	if db.isClosed() {
		return errClosed()
	}
	sqlTx, err := db.readers.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read transaction: %w", err)
	}
	// The rollback ends the snapshot; a read transaction has nothing to commit.
	defer sqlTx.Rollback()
	t := &tx{q: sqlTx, resolvedSeen: &db.resolvedSeen}
	defer t.finish()
	return fn(t)
}

// Stats counts what the writer did since Open; it is what shows that group commit batches.
type Stats struct {
	// Updates is the number of Update calls whose writes were committed.
	Updates int64
	// Failures is the number of Update calls answered with an error (fn error, panic, cancelled
	// context, failed commit).
	Failures int64
	// Batches is the number of transactions the writer began.
	Batches int64
	// Commits is the number of those transactions that committed.
	Commits int64
	// MaxBatch is the largest number of Update calls committed by one transaction.
	MaxBatch int64
	// Syncs is the number of times the write-ahead log was synced to make commits durable.
	Syncs int64
	// Undone is the number of batches rolled back and run again without a fn that failed after
	// writing (commit.go): the price of running fns without savepoints.
	Undone int64
	// CacheHits and CacheMisses count the writer's ticket reads the cache answered and those
	// that went to the database.
	CacheHits, CacheMisses int64
	// Writes decided ahead (store.Speculate): SpecApplied were applied as decided; SpecStale
	// were decided again in the writer because a row they read had moved; SpecRestarted did not
	// apply as recorded and were decided again (a statement failed, as on a full disk, or a
	// defect: the speculation missed a read); SpecDeclined were not decided ahead (they read
	// the database, wrote what a speculation cannot follow, or failed). They count runs: a write
	// applied in a batch that was then rolled back and run again counts again.
	SpecApplied, SpecStale, SpecRestarted, SpecDeclined int64
	// WriterWaitWork is how long the writer goroutine waited with nothing to run: no write was
	// queued and no batch was open. WriterWaitSync is how long it waited with a batch to
	// commit (and, unless the batch was full, no write queued) while the syncer was still
	// syncing the previous commit. The rest of its time it was running writes and commits, or
	// ready to and waiting for a core. Over an interval, one minus their share is the writer's
	// load: near one, the writer is the limit of how fast this node writes.
	WriterWaitWork, WriterWaitSync time.Duration
}

// Stats returns the writer's counters.
func (db *DB) Stats() Stats {
	st := Stats{
		Updates:  db.stats.updates.Load(),
		Failures: db.stats.failures.Load(),
		Batches:  db.stats.batches.Load(),
		Commits:  db.commitTimes.count(),
		MaxBatch: db.stats.maxBatch.Load(),
		Syncs:    db.syncTimes.count(),
		Undone:   db.stats.undone.Load(),

		SpecApplied:   db.stats.specApplied.Load(),
		SpecStale:     db.stats.specStale.Load(),
		SpecRestarted: db.stats.specRestarted.Load(),
		SpecDeclined:  db.stats.specDeclined.Load(),

		WriterWaitWork: db.stats.waitWork.read(),
		WriterWaitSync: db.stats.waitSync.read(),
	}
	st.CacheHits, st.CacheMisses = db.cache.stats()
	return st
}
