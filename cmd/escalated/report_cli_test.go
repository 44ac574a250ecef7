package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/escalated/escalated/internal/store"
)

// TestReportUsageErrors: a bad flag of `escalated report` is a usage error (exit 2) naming the
// flag and what it allows, found before any database is opened (the --db here does not exist).
func TestReportUsageErrors(t *testing.T) {
	t.Parallel()
	missing := "sqlite:" + filepath.Join(t.TempDir(), "missing.db")
	cases := []struct {
		name  string
		args  []string
		wants []string
	}{
		{"no group-by", []string{"report"}, []string{"report needs --group-by", "issue_type"}},
		{"bad group-by", []string{"report", "--group-by", "colour"}, []string{`--group-by "colour"`, "use one of", "issue_type", "transition"}},
		{"bad since", []string{"report", "--group-by", "team", "--since", "last tuesday"}, []string{"--since:"}},
		{"bad until", []string{"report", "--group-by", "team", "--until", "soon"}, []string{"--until:"}},
		{"bad format", []string{"report", "--group-by", "team", "--format", "xml"}, []string{`--format "xml"`, "table, csv or json"}},
		{"bad quick-solve", []string{"report", "--group-by", "team", "--quick-solve", "0"}, []string{"--quick-solve: must be a duration"}},
		{"bad thresholds", []string{"report", "insights", "--min-sample", "lots", "--agent-ratio", "1"},
			[]string{"--min-sample: must be a whole number", "--agent-ratio: must be a number above 1"}},
		{"insights csv", []string{"report", "insights", "--format", "csv"}, []string{`--format "csv"`, "table or json"}},
		{"insights group-by", []string{"report", "insights", "--group-by", "team"}, []string{"report insights takes no --group-by"}},
		{"insights transition", []string{"report", "insights", "--transition", "t1 -> t2"}, []string{"report insights takes no --transition"}},
		{"arguments", []string{"report", "team"}, []string{"report takes no arguments"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCLI(t, append(c.args, "--db", missing)...)
			if code != 2 || out != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2", code, out, errOut)
			}
			for _, w := range c.wants {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not say %q", errOut, w)
				}
			}
			if strings.Contains(errOut, "no database") {
				t.Errorf("the database was looked at before the flags: %q", errOut)
			}
		})
	}
}

// TestReportOlderSchema: `escalated report` on a database an older build left refuses (exit 1)
// with both schema versions and the command that upgrades it; once that ran, it reports.
func TestReportOlderSchema(t *testing.T) {
	t.Parallel()
	ms, err := store.Migrations(os.DirFS("../../internal/store/sqlite"), "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`}
	for _, m := range ms[:10] {
		stmts = append(stmts, m.SQL, fmt.Sprintf(`INSERT INTO schema_migrations VALUES (%d, 0)`, m.Version))
	}
	for _, s := range stmts {
		if _, err := raw.Exec(s); err != nil {
			t.Fatalf("%.60s: %v", s, err)
		}
	}
	raw.Close()
	db := "sqlite:" + path

	code, _, errOut := runCLI(t, "report", "--group-by", "team", "--db", db)
	for _, w := range []string{"schema version 10", fmt.Sprintf("reads version %d", len(ms)), "escalated migrate --db " + db} {
		if code != 1 || !strings.Contains(errOut, w) {
			t.Errorf("report on schema version 10: exit %d, stderr does not say %q: %s", code, w, errOut)
		}
	}
	if code, out, errOut := runCLI(t, "migrate", "--db", db); code != 0 || !strings.Contains(out, fmt.Sprintf("schema version %d", len(ms))) {
		t.Fatalf("migrate: exit %d: %s%s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, "report", "--group-by", "team", "--format", "csv", "--db", db); code != 0 || !strings.HasPrefix(out, "team,") {
		t.Fatalf("report after migrate: exit %d: %s%s", code, out, errOut)
	}
}

// TestReportNodeDefaults: `escalated report` takes the node's default thresholds from the
// environment (ESCALATED_ANALYTICS_*) as a node's API does, its own flags override them, and
// a bad variable is refused by name. Not parallel: it sets the environment.
func TestReportNodeDefaults(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "env.db")
	if code, out, errOut := runCLI(t, "migrate", "--db", db); code != 0 {
		t.Fatalf("migrate: exit %d: %s%s", code, out, errOut)
	}
	quick := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, append([]string{"report", "--group-by", "team", "--format", "json", "--db", db}, args...)...)
		if code != 0 {
			t.Fatalf("report %v: exit %d: %s", args, code, errOut)
		}
		i := strings.Index(out, `"quick_solve_seconds"`)
		if i < 0 {
			t.Fatalf("no quick_solve_seconds in %s", out)
		}
		return strings.SplitN(strings.TrimSpace(out[i+len(`"quick_solve_seconds"`)+1:]), ",", 2)[0]
	}
	if got := quick(); got != "600" {
		t.Errorf("built-in quick solve: %s seconds, want 600", got)
	}
	t.Setenv("ESCALATED_ANALYTICS_QUICK_SOLVE", "4m")
	if got := quick(); got != "240" {
		t.Errorf("quick solve with ESCALATED_ANALYTICS_QUICK_SOLVE=4m: %s seconds, want 240", got)
	}
	if got := quick("--quick-solve", "2m"); got != "120" {
		t.Errorf("quick solve with the variable and --quick-solve 2m: %s seconds, want 120", got)
	}
	t.Setenv("ESCALATED_ANALYTICS_QUICK_SOLVE", "soon")
	code, _, errOut := runCLI(t, "report", "--group-by", "team", "--db", db)
	if code != 2 || !strings.Contains(errOut, "ESCALATED_ANALYTICS_QUICK_SOLVE") {
		t.Errorf("a bad ESCALATED_ANALYTICS_QUICK_SOLVE: exit %d, stderr %q; want exit 2 naming the variable", code, errOut)
	}
}
