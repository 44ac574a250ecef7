package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// tx implements store.Tx over one PostgreSQL transaction. A new tx is made for every fn, so that
// a caller that keeps it after fn returned gets an error instead of writing into someone else's
// transaction.
type tx struct {
	q     pgx.Tx
	write bool
	done  atomic.Bool
	// channel is the NOTIFY channel AppendEvent announces on (write transactions only).
	channel string
	// cells are the report rollup deltas of the transaction's fact saves, applied together,
	// merged and in cell order, just before it commits (flushCells): the cells it locks are
	// then taken in one order by every transaction, and held only for the commit.
	cells store.Deltas
	// retry holds the deadlock or serialization failure that aborted this transaction, if a
	// statement hit one: Update then runs fn again whatever fn made of the error.
	retry error
}

var _ store.Tx = (*tx)(nil)

func (t *tx) finish() { t.done.Store(true) }

// ctx returns the context for one statement, or an error when the Tx outlived its fn. Inside
// Update statements are detached from cancellation: cancelling a statement makes pgx cancel it
// on the server and abort the transaction, and the caller would then not know which of its
// writes had been made. fn can still look at ctx itself and return early.
func (t *tx) ctx(ctx context.Context) (context.Context, error) {
	if t.done.Load() {
		return nil, escalated.Errorf(escalated.EINTERNAL, "store transaction used after its function returned")
	}
	if t.write {
		return context.WithoutCancel(ctx), nil
	}
	return ctx, nil
}

// note remembers a retryable failure; it returns err unchanged.
func (t *tx) note(err error) error {
	if err != nil && t.retry == nil && isRetryable(err) {
		t.retry = err
	}
	return err
}

func (t *tx) exec(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error) {
	c, err := t.ctx(ctx)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := t.q.Exec(c, query, args...)
	return tag, t.note(err)
}

func (t *tx) query(ctx context.Context, query string, args ...any) (pgx.Rows, error) {
	c, err := t.ctx(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := t.q.Query(c, query, args...)
	return rows, t.note(err)
}

// queryRow is QueryRow that reports a used-up Tx, and remembers a retryable failure, through
// the returned scanner.
func (t *tx) queryRow(ctx context.Context, query string, args ...any) scanner {
	c, err := t.ctx(ctx)
	if err != nil {
		return errRow{err}
	}
	return noted{t.q.QueryRow(c, query, args...), t}
}

// lockAndQueryRow sends lock (a SELECT ... FOR NO KEY UPDATE) and then query in one round trip
// and returns query's row. They are two statements on purpose: under READ COMMITTED each
// statement takes a fresh snapshot, so query, which starts once the lock is granted, sees
// everything the previous holder of the lock committed, joined rows included. One statement
// locking and joining would read the joined customer and account as they were before it waited.
func (t *tx) lockAndQueryRow(ctx context.Context, lock string, lockArgs []any, query string, args ...any) scanner {
	c, err := t.ctx(ctx)
	if err != nil {
		return errRow{err}
	}
	b := &pgx.Batch{}
	b.Queue(lock, lockArgs...)
	b.Queue(query, args...)
	br := t.q.SendBatch(c, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return errRow{t.note(err)}
	}
	return batchRow{br: br, t: t}
}

// scanner is a pgx.Row or pgx.Rows positioned on a row.
type scanner = store.RowScanner

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// noted is a row whose Scan error is noted on the tx (a deadlock surfaces there).
type noted struct {
	row pgx.Row
	t   *tx
}

func (r noted) Scan(dest ...any) error { return r.t.note(r.row.Scan(dest...)) }

// batchRow is the second result of lockAndQueryRow; Scan closes the batch.
type batchRow struct {
	br pgx.BatchResults
	t  *tx
}

func (r batchRow) Scan(dest ...any) error {
	err := r.br.QueryRow().Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return r.t.note(err)
}

// interpretError turns PostgreSQL's errors into the domain's codes so that services never look
// at driver errors: no row is not_found, a duplicate key is conflict, a reference to a missing
// row is not_found naming it, and a value the column cannot hold (check or not-null violation,
// a NUL byte or invalid UTF-8 in text) is invalid. Anything else is returned unchanged (and is
// internal to the callers).
//
// dialect: SQLSTATE codes (SQLite: extended result codes); PostgreSQL also rejects values
// SQLite stores (NUL bytes in text and jsonb), which is why class 22 is mapped here.
func interpretError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return escalated.Errorf(escalated.ENOTFOUND, "not found")
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch {
	case pe.Code == codeUniqueViolation:
		return escalated.Errorf(escalated.ECONFLICT, "already exists (%s.%s: %s)", pe.TableName, pe.ConstraintName, pe.Detail)
	case pe.Code == codeForeignKeyViolation:
		return escalated.Errorf(escalated.ENOTFOUND, "%s", missingParent(pe))
	case pe.Code == codeCheckViolation || pe.Code == codeNotNullViolation:
		return escalated.Errorf(escalated.EINVALID, "invalid value for %s: %s", pe.TableName, pe.Message)
	case strings.HasPrefix(pe.Code, "22"): // data exception: bad encoding, NUL, out of range...
		return escalated.Errorf(escalated.EINVALID, "value cannot be stored: %s", pe.Message)
	}
	return err
}

// fkDetail matches PostgreSQL's foreign key detail:
// Key (ticket_id)=(tkt_123) is not present in table "tickets".
var fkDetail = regexp.MustCompile(`^Key \((.+)\)=\((.*)\) is not present in table "(.+)"\.$`)

// missingParent words a foreign key violation as the missing parent: "tickets tkt_123 not found".
func missingParent(pe *pgconn.PgError) string {
	if m := fkDetail.FindStringSubmatch(pe.Detail); m != nil {
		return fmt.Sprintf("%s %s not found (referenced by %s.%s)", m[3], m[2], pe.TableName, m[1])
	}
	return "referenced object not found (" + pe.ConstraintName + ")"
}

// writeErr interprets err and, when it is a conflict or not_found, replaces the generic message
// with one that names the object, which is what a person reading it can act on. The wording is
// the SQLite store's.
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
	case escalated.EINVALID:
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

// readErr wraps a failed read of one object: not_found naming it for no row, the operation
// otherwise. pgx reports a missing row as pgx.ErrNoRows.
// An id PostgreSQL cannot even hold (a NUL byte, invalid UTF-8) names nothing either: SQLite
// answers not_found for it, and so does this store.
func readErr(err error, kind, id string) error {
	if errors.Is(err, pgx.ErrNoRows) || escalated.ErrorCode(interpretError(err)) == escalated.EINVALID {
		return notFound(kind, id)
	}
	return fmt.Errorf("get %s %s: %w", kind, id, err)
}

func notFound(kind, id string) error {
	return escalated.Errorf(escalated.ENOTFOUND, "%s %s not found", kind, id)
}

// Times: dialect: timestamptz (SQLite: unix milliseconds). Written truncated to the
// millisecond, read back in UTC: pgx returns timestamptz in time.Local.

func ts(t time.Time) time.Time { return escalated.Truncate(t) }

func tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return escalated.Truncate(*t)
}

func fromTS(t time.Time) time.Time { return t.UTC() }

func fromTSPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

// page runs a keyset list query and splits off the cursor. The query must select one row per
// item ordered by id descending and end before its LIMIT: page appends "LIMIT $n" for limit+1
// rows, and the extra row, when present, proves a further page exists.
func page[T any](ctx context.Context, t *tx, query string, args []any, limit int,
	scan func(scanner) (T, error), id func(T) string) ([]T, string, error) {
	// dialect: LIMIT $n (SQLite: LIMIT ?).
	query += " LIMIT $" + strconv.Itoa(len(args)+1)
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
	rows.Close()
	if err := t.note(rows.Err()); err != nil {
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
	if err := t.note(rows.Err()); err != nil {
		return nil, err
	}
	return items, nil
}

// where accumulates "column = $n" conditions for list queries; empty values do not filter.
// dialect: numbered placeholders (SQLite: ?), so the builder counts its arguments.
type where struct {
	conds []string
	args  []any
}

// arg adds a value and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

func (w *where) eq(column, value string) {
	if value != "" {
		w.conds = append(w.conds, column+" = "+w.arg(value))
	}
}

// add adds a condition whose one "$?" stands for v.
func (w *where) add(cond string, v any) {
	w.conds = append(w.conds, strings.Replace(cond, "$?", w.arg(v), 1))
}

func (w *where) sql() string {
	return whereSQL(w.conds)
}

func whereSQL(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// The JSON column codecs are shared with the SQLite store. dialect: pgx sends a string
// parameter of a jsonb column as the JSON text itself (SQLite: TEXT).
var (
	jsonText     = store.JSONText
	mapText      = store.MapText
	sliceText    = store.SliceText
	parseMap     = store.ParseMap
	parseStrings = store.ParseStrings
)
