package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// tx implements store.Tx over one SQL transaction. A new tx is made for every fn, so that a
// caller that keeps it after fn returned gets an error instead of writing into someone else's
// part of the batch.
type tx struct {
	q     *sql.Tx
	write bool
	done  atomic.Bool
	// seen are the tickets this fn read or wrote (one, nearly always; seenBuf holds the first
	// two without an allocation): the indexed columns for UpdateTicket (indexKey) and the rows
	// it builds the row it wrote from (cache.go).
	seen    []seenTicket
	seenBuf [2]seenTicket
	// cache is the writer's ticket cache (nil for reads or when it is off).
	cache *ticketCache
	// changes are the history events appended, announced once the transaction commits.
	changes []store.Change
	// cells are the report rollup deltas of the caller's fact saves, merged and applied once
	// when its function returns (flushCells): a change saves its ticket's row and its
	// escalations' rows, often the same row twice, and one read and one write of the cells
	// they touch costs less than one per save.
	cells store.Deltas
	// resolvedSeen is the DB's: whether resolved_tickets is known to have had a row.
	resolvedSeen *atomic.Bool
	// rec, while the DB records (record.go), collects this fn's executed statements.
	rec *[]Statement
	// watch is the writer connection's (stmtcache.go), nil for reads; rollbacks its count of
	// rolled-back transactions when fn started; undoneRows the rows it counted for statements
	// that failed and undid themselves.
	watch      *writeWatch
	rollbacks  uint64
	undoneRows uint64
	// spec, when set, makes this a speculative run's tx (speculate.go): it executes nothing,
	// records the writes, answers reads from the writer's cache, and refuses the rest.
	spec *speculation
}

var _ store.Tx = (*tx)(nil)

func (t *tx) finish() { t.done.Store(true) }

// ctx returns the context for one statement, or an error when the Tx outlived its fn. Inside
// Update statements are detached from cancellation: interrupting a write could roll back the
// whole group-commit transaction, which holds other callers' writes too.
func (t *tx) ctx(ctx context.Context) (context.Context, error) {
	if t.done.Load() {
		return nil, escalated.Errorf(escalated.EINTERNAL, "store transaction used after its function returned")
	}
	if t.watch != nil && t.watch.rollbacks.Load() != t.rollbacks {
		return nil, errRolledBack
	}
	if t.write {
		return context.WithoutCancel(ctx), nil
	}
	return ctx, nil
}

func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c, err := t.ctx(ctx)
	if err != nil {
		return nil, err
	}
	if t.spec != nil {
		return t.spec.exec(query, args)
	}
	var rows uint64
	if t.watch != nil {
		rows = t.watch.rows.Load()
	}
	res, err := t.q.ExecContext(c, query, args...)
	if t.rec != nil && err == nil {
		t.record(query, args, res)
	}
	if err != nil && t.watch != nil && t.watch.rollbacks.Load() == t.rollbacks {
		// A statement that fails undoes its own changes (SQLite's statement journal; the store
		// uses no OR FAIL, the one conflict resolution that keeps them), as when a foreign key,
		// checked at the statement's end, is missing: the rows the watch saw are not fn's.
		t.undoneRows += t.watch.rows.Load() - rows
	}
	return res, err
}

func (t *tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c, err := t.ctx(ctx)
	if err != nil {
		return nil, err
	}
	if t.spec != nil {
		return nil, t.spec.abort(fmt.Sprintf("read %.50s", query))
	}
	return t.q.QueryContext(c, query, args...)
}

// queryRow is QueryRowContext that reports a used-up Tx through the returned scanner.
func (t *tx) queryRow(ctx context.Context, query string, args ...any) scanner {
	c, err := t.ctx(ctx)
	if err != nil {
		return errRow{err}
	}
	if t.spec != nil {
		return errRow{t.spec.abort(fmt.Sprintf("read %.50s", query))}
	}
	return t.q.QueryRowContext(c, query, args...)
}

// The writer's cache as fn sees it: the cache itself, or in a speculative run what the
// speculation makes of it (speculate.go).

func (t *tx) cachedTicket(id string) *ticketRow {
	if t.spec != nil {
		return t.spec.ticket(t.cache, id)
	}
	return t.cache.get(id)
}

func (t *tx) cacheWrites() uint64 {
	if t.spec != nil {
		return t.spec.ticketWrites
	}
	return t.cache.writes()
}

func (t *tx) stageTicket(id string, r *ticketRow) {
	if t.spec != nil {
		t.spec.ops = append(t.spec.ops, specOp{stmt: -1, id: id, row: r})
		return
	}
	t.cache.stage(id, r)
}

func (t *tx) cachedEsc(id string) *escRow {
	if t.spec != nil {
		return t.spec.esc(t.cache, id, true)
	}
	return t.cache.getEsc(id)
}

func (t *tx) peekEsc(id string) *escRow {
	if t.spec != nil {
		return t.spec.esc(t.cache, id, false)
	}
	return t.cache.peekEsc(id)
}

func (t *tx) stageEsc(id string, r *escRow) {
	if t.spec != nil {
		t.spec.ops = append(t.spec.ops, specOp{stmt: -1, id: id, esc: r, isEsc: true})
		return
	}
	t.cache.stageEsc(id, r)
}

// scanner is a *sql.Row or *sql.Rows positioned on a row.
type scanner = store.RowScanner

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// interpretError turns SQLite's constraint failures into the domain's codes so that services
// never look at driver errors: a duplicate key is conflict, a reference to a missing row is
// not_found, a file that cannot be written (disk full, read-only, I/O error) is unavailable
// (503: nothing is wrong with the request, it may succeed later). Anything else is returned
// unchanged (and is internal to the callers).
func interpretError(err error) error {
	var se *sqlite.Error
	if err == nil || !errors.As(err, &se) {
		return err
	}
	if reason := unwritable(err); reason != "" {
		return unavailable(reason)
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return escalated.Errorf(escalated.ECONFLICT, "already exists (%s)", constraintDetail(se))
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return escalated.Errorf(escalated.ENOTFOUND, "referenced object not found")
	}
	return err
}

// unwritable says why err means the database file cannot be written, or "" when it does not.
// SQLite answers SQLITE_FULL when the disk (or the process's file size limit) is full and a
// write came up short, SQLITE_READONLY when the file or its directory refuses writes, and
// SQLITE_IOERR_* when the system call itself failed (EFBIG, EPERM on an immutable file, EIO).
func unwritable(err error) string {
	var se *sqlite.Error
	if err == nil || !errors.As(err, &se) {
		return ""
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_FULL:
		return "the disk is full"
	case sqlite3.SQLITE_READONLY:
		return "the database file is read-only"
	case sqlite3.SQLITE_IOERR:
		return "I/O error writing the database file (disk full, read-only or failing storage)"
	}
	return ""
}

// unavailable is the error a write gets while the database cannot be written.
func unavailable(reason string) error {
	return escalated.Errorf(escalated.EUNAVAILABLE, "the database cannot be written: %s; try again later", reason)
}

// constraintDetail extracts "tickets.id" from SQLite's "UNIQUE constraint failed: tickets.id".
func constraintDetail(se *sqlite.Error) string {
	msg := se.Error()
	if _, after, ok := strings.Cut(msg, "constraint failed: "); ok {
		msg = after
	}
	if i := strings.LastIndex(msg, " ("); i > 0 {
		msg = msg[:i]
	}
	return msg
}

// writeErr interprets err and, when it is a conflict or not_found, replaces the generic message
// with one that names the object, which is what a person reading it can act on.
func writeErr(err error, op string, conflict, notFound string) error {
	err = interpretError(err)
	switch escalated.ErrorCode(err) {
	case "":
		return nil
	case escalated.ECONFLICT:
		if conflict != "" {
			return escalated.Errorf(escalated.ECONFLICT, "%s", conflict)
		}
		return err
	case escalated.ENOTFOUND:
		if notFound != "" {
			return escalated.Errorf(escalated.ENOTFOUND, "%s", notFound)
		}
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

func notFound(kind, id string) error {
	return escalated.Errorf(escalated.ENOTFOUND, "%s %s not found", kind, id)
}

// Times are unix milliseconds: that is the precision escalated.Truncate promises, and integers
// compare and index faster than text.

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// msPtr maps an optional time to NULL or milliseconds.
func msPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func fromNullMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func boolPtr(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

func fromNullBool(v sql.NullBool) *bool {
	if !v.Valid {
		return nil
	}
	b := v.Bool
	return &b
}

// page runs a keyset list query and splits off the cursor. The query must select one row per
// item ordered by id descending and end in "LIMIT ?": page asks for limit+1 rows, and the extra
// row, when present, proves a further page exists.
func page[T any](ctx context.Context, t *tx, query string, args []any, limit int,
	scan func(scanner) (T, error), id func(T) string) ([]T, string, error) {
	rows, err := t.query(ctx, query, append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	items := make([]T, 0, min(limit, 64))
	more := false
	for rows.Next() {
		if len(items) == limit {
			more = true
			break
		}
		v, err := scan(rows)
		if err != nil {
			return nil, "", err
		}
		items = append(items, v)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	cursor := ""
	if more {
		cursor = id(items[len(items)-1])
	}
	return items, cursor, nil
}

// list runs a non-paged query and scans every row.
func list[T any](ctx context.Context, t *tx, query string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	items := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		items = append(items, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return items, nil
}

// where accumulates "column = ?" conditions for list queries; empty values do not filter.
type where struct {
	conds []string
	args  []any
}

func (w *where) eq(column, value string) {
	if value != "" {
		w.conds = append(w.conds, column+" = ?")
		w.args = append(w.args, value)
	}
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// The JSON column codecs are shared with the PostgreSQL store (store.JSONText and friends);
// SQLite hands TEXT columns over as strings.
var (
	jsonText  = store.JSONText
	mapText   = store.MapText
	sliceText = store.SliceText
)

func parseMap(text string) (map[string]any, error) { return store.ParseMap([]byte(text)) }
func parseStrings(text string) ([]string, error)   { return store.ParseStrings([]byte(text)) }
