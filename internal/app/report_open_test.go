package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/analytics"
	"github.com/escalated/escalated/internal/app"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/pgtest"
)

// olderVersion is the schema version the tests build with an older build's migrations: before
// the report rollups (11), as the database of the audit that found reports migrating it was.
const olderVersion = 10

// migrationsOf reads a store's migrations from its source directory, as the store embeds them.
func migrationsOf(t *testing.T, dir string) []store.Migration {
	t.Helper()
	ms, err := store.Migrations(os.DirFS(dir), "migrations/*.sql")
	if err != nil || len(ms) <= olderVersion {
		t.Fatalf("migrations of %s: %d (%v)", dir, len(ms), err)
	}
	return ms
}

// reportBoth runs a report and the insights on db and returns their errors.
func reportBoth(db string) (rep, ins error) {
	ctx := context.Background()
	rep = app.Report(ctx, db, analytics.Query{GroupBy: "team"}, "table", io.Discard, nil)
	ins = app.ReportInsights(ctx, db, analytics.Query{}, "table", io.Discard, nil)
	return rep, ins
}

// mustRefuse checks that err is a refusal (conflict) whose message has every one of wants.
func mustRefuse(t *testing.T, what string, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: the report ran; want it refused", what)
	}
	if escalated.ErrorCode(err) != escalated.ECONFLICT {
		t.Errorf("%s: error code %q, want %q: %v", what, escalated.ErrorCode(err), escalated.ECONFLICT, err)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: the error does not say %q:\n%v", what, w, err)
		}
	}
}

// sqliteState is what a read-only command must leave as it was: the file's bytes, the size of
// its -wal (a read-only connection leaves an empty -wal and -shm behind on a database no node
// has open, as it may not remove them; a write would fill the -wal), and its schema version,
// read last: that connection closes as the last one, which removes the -wal again.
func sqliteState(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var wal int64
	if fi, err := os.Stat(path + "-wal"); err == nil {
		wal = fi.Size()
	}
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var v int
	if err := raw.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("sha256 %x, %d bytes in the -wal, schema version %d", sha256.Sum256(b), wal, v)
}

// sqliteAt builds the SQLite database path at schema version v with the first v migrations, in
// WAL mode like a node's, as a build of that version leaves it when it stops.
func sqliteAt(t *testing.T, path string, ms []store.Migration, v int) {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	stmts := []string{`PRAGMA journal_mode=WAL`,
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`}
	for _, m := range ms[:v] {
		stmts = append(stmts, m.SQL, fmt.Sprintf(`INSERT INTO schema_migrations VALUES (%d, 0)`, m.Version))
	}
	for _, s := range stmts {
		if _, err := raw.Exec(s); err != nil {
			t.Fatalf("%.60s: %v", s, err)
		}
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReportNeverMigratesSQLite: `escalated report` and `report insights` open the database
// read-only. On a database of an older schema version, a newer one, or one whose rollups were
// never computed, they refuse, saying what to run, and leave the file as it was; after
// `escalated migrate` they report.
func TestReportNeverMigratesSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ms := migrationsOf(t, "../store/sqlite")
	want := len(ms)

	t.Run("older", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "old.db")
		sqliteAt(t, path, ms, olderVersion)
		db := "sqlite:" + path
		before := sqliteState(t, path)
		rep, ins := reportBoth(db)
		for what, err := range map[string]error{"report": rep, "insights": ins} {
			mustRefuse(t, what, err, fmt.Sprintf("schema version %d", olderVersion), fmt.Sprintf("reads version %d", want),
				"escalated migrate --db "+db, "never migrates")
		}
		if after := sqliteState(t, path); after != before {
			t.Fatalf("a refused report changed the database:\nbefore %s\nafter  %s", before, after)
		}
		// What the message says to run brings it up to date, and the report then runs.
		var out bytes.Buffer
		if err := app.Migrate(ctx, db, &out, nil); err != nil || !strings.Contains(out.String(), fmt.Sprintf("schema version %d", want)) {
			t.Fatalf("migrate: %v %s", err, out.String())
		}
		if rep, ins := reportBoth(db); rep != nil || ins != nil {
			t.Fatalf("after escalated migrate: report %v, insights %v", rep, ins)
		}
	})

	t.Run("newer", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "new.db")
		sqliteAt(t, path, ms, want)
		raw, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(`INSERT INTO schema_migrations VALUES (?, 0)`, want+1); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		before := sqliteState(t, path)
		rep, ins := reportBoth("sqlite:" + path)
		for what, err := range map[string]error{"report": rep, "insights": ins} {
			mustRefuse(t, what, err, fmt.Sprintf("schema version %d, newer than this escalated's %d", want+1, want))
		}
		if after := sqliteState(t, path); after != before {
			t.Fatalf("a refused report changed the database:\nbefore %s\nafter  %s", before, after)
		}
	})

	t.Run("rollups pending", func(t *testing.T) {
		t.Parallel()
		// The newest schema with the rollups never computed: a node stopped between migrating
		// and computing them. Migration 11 marks them not built when analytics rows exist; this
		// database has none, so the mark is set by hand.
		path := filepath.Join(t.TempDir(), "pending.db")
		sqliteAt(t, path, ms, want)
		raw, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(`UPDATE rollup_state SET built = 0`); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		db := "sqlite:" + path
		before := sqliteState(t, path)
		rep, ins := reportBoth(db)
		for what, err := range map[string]error{"report": rep, "insights": ins} {
			mustRefuse(t, what, err, "no report rollups", "escalated migrate --db "+db)
		}
		if after := sqliteState(t, path); after != before {
			t.Fatalf("a refused report changed the database:\nbefore %s\nafter  %s", before, after)
		}
		if err := app.Migrate(ctx, db, io.Discard, nil); err != nil {
			t.Fatal(err)
		}
		if rep, ins := reportBoth(db); rep != nil || ins != nil {
			t.Fatalf("after escalated migrate: report %v, insights %v", rep, ins)
		}
	})

	t.Run("current", func(t *testing.T) {
		t.Parallel()
		// A database a node made and left; the report reads it and leaves it as it was (a
		// node's database beside a running node: TestReportCommand).
		path := filepath.Join(t.TempDir(), "current.db")
		if err := app.Migrate(ctx, "sqlite:"+path, io.Discard, nil); err != nil {
			t.Fatal(err)
		}
		before := sqliteState(t, path)
		var out bytes.Buffer
		if err := app.Report(ctx, "sqlite:"+path, analytics.Query{GroupBy: "team"}, "csv", &out, nil); err != nil || !strings.HasPrefix(out.String(), "team,") {
			t.Fatalf("report on a current database: %v\n%s", err, out.String())
		}
		if after := sqliteState(t, path); after != before {
			t.Fatalf("a report changed the database:\nbefore %s\nafter  %s", before, after)
		}
	})
}

// TestReportNeverMigratesPostgres: on PostgreSQL too, a report on a schema of an older version
// is refused and leaves it as it was, also when it runs as a role that may only read, which is
// then all a report needs once the schema is current.
func TestReportNeverMigratesPostgres(t *testing.T) {
	t.Parallel()
	schema := pgtest.FreshSchema(t, "the read-only report test", "report_ro")
	base := os.Getenv(pgtest.Env)
	ctx := context.Background()
	ms := migrationsOf(t, "../store/postgres")
	want := len(ms)

	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	sch := pgx.Identifier{schema}.Sanitize()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := admin.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%.80s: %v", q, err)
		}
	}
	exec(`CREATE SCHEMA ` + sch)
	exec(`SET search_path TO ` + sch)
	exec(`CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`)
	for _, m := range ms[:olderVersion] {
		exec(m.SQL)
		exec(`INSERT INTO schema_migrations (version) VALUES ($1)`, m.Version)
	}

	// A role that may only read the schema, as for a reporting user or a standby.
	var b [6]byte
	rand.Read(b[:])
	role := "escalated_ro_" + hex.EncodeToString(b[:])
	exec(`CREATE ROLE ` + role + ` LOGIN PASSWORD 'ro'`)
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Errorf("drop role %s: %v", role, err)
			return
		}
		defer c.Close(context.Background())
		for _, q := range []string{`DROP OWNED BY ` + role, `DROP ROLE ` + role} {
			if _, err := c.Exec(context.Background(), q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
	})
	grant := func() {
		exec(`GRANT USAGE ON SCHEMA ` + sch + ` TO ` + role)
		exec(`GRANT SELECT ON ALL TABLES IN SCHEMA ` + sch + ` TO ` + role)
	}
	grant()

	withPath := func(raw string, user *url.Userinfo) string {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if user != nil {
			u.User = user
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	db := withPath(base, nil)
	roDB := withPath(base, url.UserPassword(role, "ro"))

	state := func() string {
		t.Helper()
		var v int
		if err := admin.QueryRow(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		rs, err := admin.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, schema)
		if err != nil {
			t.Fatal(err)
		}
		tables, err := pgx.CollectRows(rs, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("schema version %d, tables %v", v, tables)
	}
	before := state()
	if !strings.Contains(before, fmt.Sprintf("schema version %d,", olderVersion)) || slices.Contains(strings.Fields(before), "rollup_state") {
		t.Fatalf("the older schema is not what the test means to build: %s", before)
	}
	for _, u := range []string{db, roDB} {
		rep, ins := reportBoth(u)
		for what, err := range map[string]error{"report": rep, "insights": ins} {
			mustRefuse(t, what, err, fmt.Sprintf("schema version %d", olderVersion), fmt.Sprintf("reads version %d", want), "escalated migrate --db")
			if strings.Contains(err.Error(), "password=") || strings.Contains(err.Error(), ":ro@") {
				t.Errorf("%s: the error shows the password: %v", what, err)
			}
		}
	}
	if after := state(); after != before {
		t.Fatalf("a refused report changed the schema:\nbefore %s\nafter  %s", before, after)
	}

	// Migrated (as the nodes' role), the schema reports, also to the role that may only read.
	if err := app.Migrate(ctx, db, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	grant() // the tables the migrations added
	for _, u := range []string{db, roDB} {
		if rep, ins := reportBoth(u); rep != nil || ins != nil {
			t.Fatalf("after escalated migrate: report %v, insights %v", rep, ins)
		}
	}
}
