package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync/atomic"

	"modernc.org/sqlite"
)

// DefaultStmtCache is how many compiled statements each connection keeps at most. The store
// runs a few dozen distinct statement texts on its hot paths; the bound only matters for texts
// built per call (list filters), which then take turns.
const DefaultStmtCache = 256

// maxCachedText is the longest statement text a connection keeps compiled. The store's own
// statements are well under it; longer texts are built per call (multi-row INSERTs of a bulk
// load or a rollup rebuild, hundreds of rows of placeholders), run once, and would pin tens of
// megabytes on the writer connection for the life of the process (measured in review: 256 such
// INSERTs, +47 MB).
const maxCachedText = 4096

// A cachingConn keeps every statement it ran compiled, keyed by its text, so that running the
// same text again skips SQLite's parser and planner (sqlite3_prepare was about a third of the
// writer's CPU in the deadline catch-up, and a fifth per message). It wraps one modernc
// connection and serves database/sql's ExecContext and QueryContext, which is the path every
// statement the store runs takes, in or out of a transaction.
//
// Why it is safe:
//
//   - a statement belongs to its connection and is finalized when the connection closes, so a
//     connection database/sql replaces starts with an empty cache;
//   - SQLite recompiles a statement prepared with sqlite3_prepare_v2 by itself when the schema
//     changed (a migration, on this or another connection) before it runs it again;
//   - a statement whose rows are still being read is busy: running the same text meanwhile (a
//     query inside a loop over the same query's rows) compiles a one-off statement instead of
//     resetting the one in use;
//   - database/sql uses a connection from one goroutine at a time (its driverConn lock covers
//     every call here, including closing rows), so the cache needs no lock of its own.
type cachingConn struct {
	conn  driver.Conn // the modernc connection
	max   int
	stmts map[string]*cachedStmt
	clock uint64 // counts uses, for least-recently-used eviction
}

type cachedStmt struct {
	st   driver.Stmt // a modernc statement: StmtExecContext and StmtQueryContext
	busy bool        // rows of it are open
	used uint64      // the connection's clock at its last use
}

var (
	_ driver.Conn               = (*cachingConn)(nil)
	_ driver.ConnBeginTx        = (*cachingConn)(nil)
	_ driver.ConnPrepareContext = (*cachingConn)(nil)
	_ driver.ExecerContext      = (*cachingConn)(nil)
	_ driver.QueryerContext     = (*cachingConn)(nil)
	_ driver.Pinger             = (*cachingConn)(nil)
	_ driver.SessionResetter    = (*cachingConn)(nil)
	_ driver.Validator          = (*cachingConn)(nil)
)

// modernc's connection implements all of these; newCachingConn checks, so that a driver
// upgrade that dropped one fails at Open instead of silently taking a slower path.
type moderncConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

func newCachingConn(c driver.Conn, max int) (*cachingConn, error) {
	if _, ok := c.(moderncConn); !ok {
		c.Close()
		return nil, fmt.Errorf("sqlite connection %T lacks an interface the statement cache needs", c)
	}
	return &cachingConn{conn: c, max: max, stmts: make(map[string]*cachedStmt, min(max, 64))}, nil
}

func (c *cachingConn) mc() moderncConn { return c.conn.(moderncConn) }

// stmt returns the cached statement for query, compiling and caching it first if needed, or
// nil when the cached one is busy.
func (c *cachingConn) stmt(ctx context.Context, query string) (*cachedStmt, error) {
	c.clock++
	if cs := c.stmts[query]; cs != nil {
		if cs.busy {
			return nil, nil
		}
		cs.used = c.clock
		return cs, nil
	}
	if len(query) > maxCachedText {
		return nil, nil // built for one call: run it uncached
	}
	if len(c.stmts) >= c.max && !c.evictOne() {
		return nil, nil // every cached statement is busy: run this one uncached
	}
	st, err := c.mc().PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	cs := &cachedStmt{st: st, used: c.clock}
	c.stmts[query] = cs
	return cs, nil
}

// evictOne finalizes the least recently used idle statement, and reports whether there was
// one. Texts built per call (IN lists of varying length) take turns there, while the hot
// statements, used on every write, stay.
func (c *cachingConn) evictOne() bool {
	var victim string
	var oldest *cachedStmt
	for q, cs := range c.stmts {
		if !cs.busy && (oldest == nil || cs.used < oldest.used) {
			victim, oldest = q, cs
		}
	}
	if oldest == nil {
		return false
	}
	delete(c.stmts, victim)
	oldest.st.Close()
	return true
}

// ExecContext runs query on its cached statement.
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.mc().ExecContext(ctx, query, args)
	}
	return cs.st.(driver.StmtExecContext).ExecContext(ctx, args)
}

// QueryContext runs query on its cached statement, which stays busy until the rows close.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.mc().QueryContext(ctx, query, args)
	}
	r, err := cs.st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err // modernc reset the statement
	}
	cs.busy = true
	return &cachedRows{Rows: r, cs: cs}, nil
}

// Close finalizes the cached statements, then closes the connection (SQLite keeps a
// connection with unfinalized statements open as a zombie).
func (c *cachingConn) Close() error {
	var errs []error
	for q, cs := range c.stmts {
		errs = append(errs, cs.st.Close())
		delete(c.stmts, q)
	}
	return errors.Join(append(errs, c.conn.Close())...)
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) { return c.conn.Prepare(query) }

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.mc().PrepareContext(ctx, query)
}

// Begin is required by driver.Conn; database/sql calls BeginTx.
func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.mc().BeginTx(context.Background(), driver.TxOptions{})
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.mc().BeginTx(ctx, opts)
}

func (c *cachingConn) Ping(ctx context.Context) error { return c.mc().Ping(ctx) }

func (c *cachingConn) ResetSession(ctx context.Context) error { return c.mc().ResetSession(ctx) }

func (c *cachingConn) IsValid() bool { return c.mc().IsValid() }

// cachedRows hands its statement back to the cache when closed.
type cachedRows struct {
	driver.Rows
	cs *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.cs.busy = false
	return err
}

// connector opens connections with a statement cache each and, for the writer, hooks that
// report its row changes and rollbacks to the write watch (below) and row changes to the
// ticket cache (cache.go) when that is on. Every connection gets them as it opens, so a
// connection database/sql replaces has them too; a new writer connection also empties the
// ticket cache, since it cannot vouch for what happened between.
type connector struct {
	dsn       string
	drv       *sqlite.Driver
	stmtCache int
}

func newConnector(dsn string, stmtCache int, cache *ticketCache, watch *writeWatch) *connector {
	c := &connector{dsn: dsn, drv: &sqlite.Driver{}, stmtCache: stmtCache}
	if cache != nil || watch != nil {
		c.drv.RegisterConnectionHook(func(conn sqlite.ExecQuerierContext, _ string) error {
			h, ok := conn.(sqlite.HookRegisterer)
			if !ok {
				return fmt.Errorf("sqlite connection %T cannot register hooks", conn)
			}
			h.RegisterPreUpdateHook(func(d sqlite.SQLitePreUpdateData) {
				if watch != nil {
					watch.rows.Add(1)
				}
				if cache != nil {
					cache.preUpdate(d)
				}
			})
			if watch != nil {
				h.RegisterRollbackHook(func() { watch.rollbacks.Add(1) })
			}
			if cache != nil {
				cache.reset()
			}
			return nil
		})
	}
	return c
}

// A writeWatch counts, on the writer connection, the rows SQLite is about to change (its
// pre-update hook: every INSERT, UPDATE and DELETE of a row of a table, WITHOUT ROWID ones and
// triggers' writes included, and a DELETE without WHERE row by row, since SQLite skips its
// truncation shortcut while the hook is set) and the transactions it rolled back (its rollback
// hook: an explicit ROLLBACK, or an error after which SQLite rolled the whole transaction back
// by itself; not a statement's own undo after a constraint error, nor ROLLBACK TO). It does not
// see writes to virtual tables, to sqlite_sequence or to the schema: the store's one virtual
// table (resolved_tickets_fts) is written only by triggers on resolved_tickets, which it sees,
// sqlite_sequence changes only with an insert into events, and no fn changes the schema. The
// writer runs each fn without a savepoint of its own and reads these two around it: a fn that
// failed having changed no row needs nothing undone, and one that changed rows, or during
// which the transaction went away, sends the batch down the slow path (commit.go).
type writeWatch struct {
	rows      atomic.Uint64
	rollbacks atomic.Uint64
}

func (c *connector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil || c.stmtCache <= 0 {
		return conn, err
	}
	return newCachingConn(conn, c.stmtCache)
}

func (c *connector) Driver() driver.Driver { return c.drv }
