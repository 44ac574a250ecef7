package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// openCaching opens a one-connection pool over a fresh file whose connection caches up to max
// statements, and returns the pool and a function that reports the cached statement texts.
func openCaching(t *testing.T, max int) (*sql.DB, func() map[string]bool) {
	t.Helper()
	db := sql.OpenDB(newConnector(dsn(filepath.Join(t.TempDir(), "c.db"), "FULL"), max, nil, nil))
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	cached := func() map[string]bool {
		out := map[string]bool{}
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.Raw(func(dc any) error {
			for q := range dc.(*cachingConn).stmts {
				out[q] = true
			}
			return nil
		})
		return out
	}
	return db, cached
}

func TestStmtCacheReusesCompiledStatements(t *testing.T) {
	t.Parallel()
	db, cached := openCaching(t, 8)
	ctx := context.Background()
	mustExec(t, db, `CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER)`)
	const ins = `INSERT INTO kv (k, v) VALUES (?, ?)`
	const get = `SELECT v FROM kv WHERE k = ?`
	for i, k := range []string{"a", "b", "c"} {
		mustExec(t, db, ins, k, i)
	}
	if !cached()[ins] {
		t.Fatalf("the insert is not cached: %v", cached())
	}
	// The cached statement runs with each call's own arguments, in and out of transactions.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range []string{"a", "b", "c"} {
		var v int
		if err := tx.QueryRowContext(ctx, get, k).Scan(&v); err != nil || v != i {
			t.Fatalf("%s = %d, %v; want %d", k, v, err, i)
		}
	}
	if _, err := tx.ExecContext(ctx, ins, "d", 3); err != nil {
		t.Fatal(err)
	}
	tx.Rollback()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM kv`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("count after rollback = %d, %v; want 3", n, err)
	}
	// A constraint failure leaves the statement usable.
	if _, err := db.ExecContext(ctx, ins, "a", 9); err == nil {
		t.Fatal("duplicate key accepted")
	}
	mustExec(t, db, ins, "e", 4)
}

// A query run again while its own rows are open must not reset the statement being read.
func TestStmtCacheNestedSameQuery(t *testing.T) {
	t.Parallel()
	db, _ := openCaching(t, 8)
	ctx := context.Background()
	mustExec(t, db, `CREATE TABLE kv (k INTEGER PRIMARY KEY)`)
	for i := range 5 {
		mustExec(t, db, `INSERT INTO kv (k) VALUES (?)`, i)
	}
	const q = `SELECT k FROM kv WHERE k >= ? ORDER BY k`
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var outer []int
	for rows.Next() && len(outer) < 10 {
		var k int
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		outer = append(outer, k)
		inner, err := tx.QueryContext(ctx, q, 3)
		if err != nil {
			t.Fatal(err)
		}
		cnt := 0
		for inner.Next() {
			cnt++
		}
		if err := inner.Close(); err != nil || cnt != 2 {
			t.Fatalf("inner query: %d rows, %v; want 2", cnt, err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(outer) != 5 {
		t.Fatalf("outer query read %v, want 0..4: the inner query reset it", outer)
	}
}

// A schema change, by this connection or another, recompiles a cached statement.
func TestStmtCacheSchemaChange(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.db")
	db := sql.OpenDB(newConnector(dsn(path, "FULL"), 8, nil, nil))
	db.SetMaxOpenConns(1)
	defer db.Close()
	other, err := sql.Open("sqlite", dsn(path, "FULL"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	mustExec(t, db, `CREATE TABLE t (a INTEGER)`)
	mustExec(t, db, `INSERT INTO t (a) VALUES (1)`)
	const q = `SELECT * FROM t`
	cols := func() int {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		c, _ := rows.Columns()
		return len(c)
	}
	if n := cols(); n != 1 {
		t.Fatalf("%d columns", n)
	}
	if _, err := other.ExecContext(ctx, `ALTER TABLE t ADD COLUMN b INTEGER DEFAULT 7`); err != nil {
		t.Fatal(err)
	}
	if n := cols(); n != 2 {
		t.Fatalf("after another connection added a column: %d columns, want 2", n)
	}
	mustExec(t, db, `ALTER TABLE t ADD COLUMN c INTEGER`)
	if n := cols(); n != 3 {
		t.Fatalf("after this connection added a column: %d columns, want 3", n)
	}
}

// The cache holds at most its bound, finalizing idle statements to make room, and a statement
// that finds every slot busy runs uncached.
func TestStmtCacheBound(t *testing.T) {
	t.Parallel()
	db, cached := openCaching(t, 2)
	ctx := context.Background()
	mustExec(t, db, `CREATE TABLE t (a INTEGER)`)
	for i := range 10 {
		mustExec(t, db, `INSERT INTO t (a) VALUES (`+string(rune('0'+i))+`)`)
	}
	if n := len(cached()); n > 2 {
		t.Fatalf("%d statements cached, bound is 2", n)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	r1, err := tx.QueryContext(ctx, `SELECT a FROM t WHERE a < 5`)
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	r2, err := tx.QueryContext(ctx, `SELECT a FROM t WHERE a >= 5`)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM t`).Scan(&n); err != nil || n != 10 {
		t.Fatalf("count with every cached statement busy = %d, %v", n, err)
	}
	for _, r := range []*sql.Rows{r1, r2} {
		c := 0
		for r.Next() {
			c++
		}
		if c != 5 {
			t.Fatalf("busy query read %d rows, want 5", c)
		}
	}
}

// The least recently used statement is evicted, so a statement used on every write stays
// while texts built per call take turns; a text built for one call (longer than
// maxCachedText) is never kept.
func TestStmtCacheEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	db, cached := openCaching(t, 3)
	mustExec(t, db, `CREATE TABLE t (a INTEGER)`)
	const hot = `INSERT INTO t (a) VALUES (?)`
	for i := range 20 {
		mustExec(t, db, hot, i)
		mustExec(t, db, `INSERT INTO t (a) VALUES (`+strings.Repeat("1+", i)+`0)`)
		if !cached()[hot] {
			t.Fatalf("round %d: the statement used on every call was evicted: %v", i, cached())
		}
	}
	long := `INSERT INTO t (a) VALUES (0)` + strings.Repeat(`, (0)`, maxCachedText/5)
	mustExec(t, db, long)
	if cached()[long] {
		t.Errorf("a %d-byte statement was cached; the limit is %d", len(long), maxCachedText)
	}
	if !cached()[hot] {
		t.Errorf("the hot statement was evicted for a text that is not cached")
	}
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
