package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// MaxAttempts bounds how many times Update runs fn when PostgreSQL aborts its transaction with
// a deadlock or a serialization failure: the first run and up to four retries.
const MaxAttempts = 5

// Option configures a DB at Open.
type Option func(*config)

type config struct {
	logger   *slog.Logger
	schema   string
	maxConns int32
	readOnly bool
	// listenIdle is how long the listener waits for a notification before it pings its
	// connection (listenIdleCheck; tests shorten it).
	listenIdle time.Duration
}

// WithLogger sets the logger for migrations, retried transactions, recovered panics and the
// listener's reconnects. The default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithSchema keeps every table in the named schema: each connection runs with search_path set
// to it, and Open creates it when missing. Without it the store uses the URL's own search_path
// (PostgreSQL's default puts tables in public). Tests use a fresh schema per store; several
// deployments can share one database this way.
func WithSchema(name string) Option {
	return func(c *config) { c.schema = name }
}

// ReadOnly opens an existing schema for View only, for commands that run beside nodes
// (reports): nothing is created, migrated or computed, Update refuses, and every connection
// runs with default_transaction_read_only, so a read-only role or a hot standby serves as well
// as the primary. There is no listener either (a standby refuses LISTEN): Subscribe hears
// nothing. Open refuses with a *store.SchemaError a schema at another version than this build's
// or without its report rollups: bringing it up to date is a write, which a reader must not make
// behind the back of nodes that may be older.
func ReadOnly() Option {
	return func(c *config) { c.readOnly = true }
}

// WithMaxConns sets the size of the connection pool (default: pgxpool's, max(4, CPUs), or the
// URL's pool_max_conns). Every concurrent Update or View holds one connection for its duration;
// the listener has its own connection outside the pool.
func WithMaxConns(n int) Option {
	return func(c *config) {
		if n >= 1 {
			c.maxConns = int32(n)
		}
	}
}

// DB is a PostgreSQL database opened for escalated. It implements store.Store; several DBs (one
// per node) may share one database, and see each other's changes through Subscribe. See the
// package documentation for the transaction and locking design.
type DB struct {
	log    *slog.Logger
	pool   *pgxpool.Pool
	schema string // the schema the tables live in, as current_schema() names it
	// channel is the LISTEN/NOTIFY channel of this schema: nodes on the same tables share it,
	// stores in other schemas of the same database do not hear it.
	channel string

	// createSchema is set when WithSchema named the schema: Migrate then creates it if missing.
	createSchema bool
	// readOnly is set by ReadOnly: start checks the schema instead of migrating and listening.
	readOnly bool

	hub         *store.Hub
	listener    *listener
	closed      atomic.Bool
	closeOnce   sync.Once
	retries     atomic.Int64
	maxAttempts int
}

var _ store.Store = (*DB)(nil)

// Open connects to the database at url (a postgres:// URL or a libpq key=value string), applies
// pending migrations under an advisory lock, and starts listening for changes (with ReadOnly:
// only checks the schema). Close releases it.
func Open(ctx context.Context, url string, opts ...Option) (*DB, error) {
	cfg := config{logger: slog.New(slog.DiscardHandler), listenIdle: listenIdleCheck}
	for _, o := range opts {
		o(&cfg)
	}
	if url == "" {
		return nil, escalated.Invalid("url", "must name a PostgreSQL database (postgres://user@host:5432/db)")
	}
	if cfg.schema != "" && (len(cfg.schema) > 63 || strings.ContainsRune(cfg.schema, 0)) {
		return nil, escalated.Invalid("schema", "must be a PostgreSQL name of at most 63 bytes")
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn redacts the password in its parse errors.
		return nil, escalated.Invalid("url", err.Error())
	}
	if cfg.schema != "" {
		// A startup parameter rather than a SET after connecting: it costs no round trip and
		// holds for every connection the pool ever opens, the listener's included.
		pcfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{cfg.schema}.Sanitize()
	}
	if cfg.maxConns > 0 {
		pcfg.MaxConns = cfg.maxConns
	}
	if cfg.readOnly {
		pcfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres pool: %w", err)
	}
	db := &DB{log: cfg.logger, pool: pool, hub: store.NewHub(), maxAttempts: MaxAttempts,
		schema: cfg.schema, createSchema: cfg.schema != "" && !cfg.readOnly, readOnly: cfg.readOnly}
	if err := db.start(ctx, cfg.listenIdle); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) start(ctx context.Context, listenIdle time.Duration) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	if db.schema == "" {
		// The URL's search_path decides; current_schema() is where CREATE TABLE would put the
		// tables, and NULL when no schema on the path exists.
		var cur *string
		if err := db.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&cur); err != nil {
			return fmt.Errorf("read current schema: %w", err)
		}
		if cur == nil {
			return escalated.Invalid("url", "its search_path names no existing schema; create the schema first")
		}
		db.schema = *cur
	}
	db.channel = channelName(db.schema)
	if db.readOnly {
		return db.checkCurrent(ctx)
	}
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	if err := db.ensureRollups(ctx); err != nil {
		return err
	}
	l, err := startListener(ctx, db, listenIdle)
	if err != nil {
		return err
	}
	db.listener = l
	return nil
}

// checkCurrent refuses, for a read-only open, a schema this build cannot read as it is: at
// another version, or without the report rollups ensureRollups would compute.
func (db *DB) checkCurrent(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	var v int
	if err := db.pool.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return fmt.Errorf("read the schema version of schema %s (does it hold escalated's tables?): %w", db.schema, err)
	}
	where := "schema " + db.schema
	if v != len(ms) {
		return &store.SchemaError{Database: where, Version: v, Want: len(ms)}
	}
	var built bool
	if err := db.pool.QueryRow(ctx, `SELECT built FROM rollup_state`).Scan(&built); err != nil {
		return fmt.Errorf("read rollup state of schema %s: %w", db.schema, err)
	}
	if !built {
		return &store.SchemaError{Database: where, Version: v, Want: len(ms), RollupsPending: true}
	}
	return nil
}

// lockKeyOf derives the second key of the migration advisory lock from the schema, so that
// nodes on the same tables migrate one after the other while stores in other schemas (the
// tests' parallel schemas) do not wait for each other.
func lockKeyOf(schema string) int32 {
	h := fnv.New32a()
	h.Write([]byte(schema))
	return int32(h.Sum32())
}

var plainName = regexp.MustCompile(`^[a-z0-9_]+$`)

// channelName returns the NOTIFY channel for a schema. Channel names are identifiers of at most
// 63 bytes; a schema name that is not plain lower-case or would not fit is replaced by its
// hash, which every node computes the same way.
func channelName(schema string) string {
	const prefix = "escalated_changes_"
	if plainName.MatchString(schema) && len(prefix)+len(schema) <= 63 {
		return prefix + schema
	}
	h := fnv.New64a()
	h.Write([]byte(schema))
	return fmt.Sprintf("%s%016x", prefix, h.Sum64())
}

// Pool returns the connection pool, for tests, benchmarks and tools that need raw access.
// Statements run on it bypass the store's transactions and notifications.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Schema returns the schema the store's tables live in.
func (db *DB) Schema() string { return db.schema }

// Retries returns how many times Update ran fn again after a deadlock or serialization failure
// since Open.
func (db *DB) Retries() int64 { return db.retries.Load() }

// errClosed is returned by Update, View and Subscribe once Close has begun.
func errClosed() error { return escalated.Errorf(escalated.EINTERNAL, "store closed") }

// Close stops the listener, ends every subscription and closes the pool once the transactions
// in flight have finished. Update, View and Subscribe then return an internal "store closed"
// error. It is safe to call more than once.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.closed.Store(true)
		if db.listener != nil {
			db.listener.stop()
		}
		db.hub.Close()
		// Waits for the connections in use to come back: an Update in flight commits first.
		db.pool.Close()
	})
	return nil
}

// Subscribe delivers a store.Change for every history event committed from now on by any node
// on this schema, this one included: the listener hears this node's commits through PostgreSQL
// exactly as it hears the others'.
func (db *DB) Subscribe(ctx context.Context) (<-chan store.Change, error) {
	if db.closed.Load() {
		return nil, errClosed()
	}
	return db.hub.Subscribe(ctx)
}

// View runs fn in a REPEATABLE READ READ ONLY transaction: every read inside fn sees the one
// snapshot taken at its first statement. Nothing is locked.
func (db *DB) View(ctx context.Context, fn func(store.Tx) error) error {
	if db.closed.Load() {
		return errClosed()
	}
	// dialect: an explicit isolation level; SQLite's WAL read transactions are snapshots anyway.
	pgTx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return unavailable(fmt.Errorf("begin read transaction: %w", err))
	}
	// The rollback ends the snapshot; a read transaction has nothing to commit.
	defer pgTx.Rollback(context.WithoutCancel(ctx))
	t := &tx{q: pgTx}
	defer t.finish()
	return unavailable(fn(t))
}

// Update runs fn in a READ COMMITTED read-write transaction of its own and returns once it has
// committed (PostgreSQL flushes the WAL of concurrent commits together, so there is no group
// commit to build here), or with fn's error, its writes rolled back.
//
// When PostgreSQL aborts the transaction with a deadlock or a serialization failure, Update
// runs fn again in a fresh transaction, up to MaxAttempts times in all with a short jittered
// pause between; store.Store allows that. If every attempt fails that way the caller gets a
// conflict.
//
// A caller whose ctx is done before the transaction begins gets ctx.Err() and nothing is
// written. Once fn has started, statements and the commit run detached from ctx's
// cancellation, so the caller learns the real outcome of writes already made.
func (db *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if db.closed.Load() {
		return errClosed()
	}
	if db.readOnly {
		// A write transaction would override default_transaction_read_only (it begins READ
		// WRITE), and only the primary would refuse it as its role's privileges say.
		return escalated.Errorf(escalated.EINTERNAL, "store opened read-only: no writes")
	}
	for attempt := 1; ; attempt++ {
		retry, err := db.updateOnce(ctx, fn)
		if !retry {
			return unavailable(err)
		}
		if attempt >= db.maxAttempts {
			db.log.Warn("transaction kept failing; giving up", "attempts", attempt, "err", err)
			return escalated.Errorf(escalated.ECONFLICT,
				"the change collided with concurrent changes %d times in a row (%v): retry", attempt, pgCode(err))
		}
		db.retries.Add(1)
		db.log.Debug("retrying transaction", "attempt", attempt, "err", err)
		// Full jitter over an exponential ceiling (2, 4, 8, 16 ms): two transactions that just
		// deadlocked each other should not start again in lockstep.
		pause := time.Duration(rand.Int64N(int64(time.Millisecond) << attempt))
		select {
		case <-ctx.Done():
			// Every attempt so far rolled back: nothing of fn's is in the database.
			return ctx.Err()
		case <-time.After(pause):
		}
		if db.closed.Load() {
			return errClosed()
		}
	}
}

// updateOnce runs one attempt. retry reports that the transaction was aborted by a deadlock or
// a serialization failure (whatever fn made of the error it saw), so that fn may run again.
func (db *DB) updateOnce(ctx context.Context, fn func(store.Tx) error) (retry bool, err error) {
	// dialect: one READ COMMITTED transaction per call (SQLite: BEGIN IMMEDIATE on the single
	// writer, with a SAVEPOINT per caller inside a shared transaction).
	pgTx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite})
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return false, ctxErr
		}
		return false, fmt.Errorf("begin write transaction: %w", err)
	}
	// From here on nothing may be cut off by the caller: see Update.
	bg := context.WithoutCancel(ctx)
	defer pgTx.Rollback(bg) // a no-op once committed

	t := &tx{q: pgTx, write: true, channel: db.channel}
	fnErr := db.call(fn, t)
	if fnErr == nil && t.retry == nil {
		fnErr = t.flushCells(bg)
	}
	t.finish()
	if t.retry != nil {
		return true, t.retry
	}
	if fnErr != nil {
		return false, fnErr
	}
	if err := pgTx.Commit(bg); err != nil {
		if isRetryable(err) {
			return true, err
		}
		return false, fmt.Errorf("commit: %w", err)
	}
	return false, nil
}

// call runs fn, turning a panic into an internal error as the SQLite store does, so that both
// stores answer a buggy fn the same way. The deferred rollback in updateOnce still runs.
func (db *DB) call(fn func(store.Tx) error, t *tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			db.log.Error("panic in store update", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = escalated.Errorf(escalated.EINTERNAL, "store update panicked: %v", p)
		}
	}()
	return fn(t)
}

// SQLSTATE codes the store reacts to.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeCheckViolation       = "23514"
	codeNotNullViolation     = "23502"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// isRetryable reports whether err is PostgreSQL aborting a transaction that would succeed if
// run again: a deadlock victim or a serialization failure.
func isRetryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	return pe.Code == codeDeadlockDetected || pe.Code == codeSerializationFailure
}

// pgCode names a PostgreSQL error by its condition for messages; other errors by their text.
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case codeDeadlockDetected:
			return "deadlock detected"
		case codeSerializationFailure:
			return "serialization failure"
		}
		return "SQLSTATE " + pe.Code
	}
	return err.Error()
}

// unavailable turns an error meaning "the server cannot be reached" (a refused or dropped
// connection, a server shutting down or starting up) into the domain's unavailable (503, try
// again), leaving every other error as it is: while PostgreSQL restarts, clients are told to
// retry, not that the node failed.
func unavailable(err error) error {
	if err == nil || escalated.ErrorCode(err) != "" && escalated.ErrorCode(err) != escalated.EINTERNAL {
		return err
	}
	if !unreachable(err) {
		return err
	}
	return escalated.Errorf(escalated.EUNAVAILABLE, "the database cannot be reached (%v); try again later", err)
}

func unreachable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P01-57P03: the server is shutting down or starting.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.SafeToRetry(err)
}
