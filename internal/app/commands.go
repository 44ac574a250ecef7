package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/analytics"
	"github.com/escalated/escalated/internal/config"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/postgres"
	"github.com/escalated/escalated/internal/store/sqlite"
	"github.com/escalated/escalated/internal/ticket"
	"github.com/escalated/escalated/internal/web"
)

// CheckPolicy parses and validates a policy file. It returns the problems (one per line, as
// file:line:column: message), or a one-line summary and the lint warnings when the file is valid.
func CheckPolicy(path string) (summary string, warnings []*policy.Error, err error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return "", nil, fmt.Errorf("read policy: %w", err)
	}
	p, err := policy.Parse(path, src)
	if err != nil {
		return "", nil, err
	}
	return p.Summary(), p.Warnings, nil
}

// ExplainTicket prints the policy's latest decision on a ticket: for each event the ticket's
// last change raised, every rule, whether it fired, and why.
func ExplainTicket(ctx context.Context, db, ticketID string, w io.Writer, log *slog.Logger) error {
	st, err := OpenStore(ctx, db, log)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := ticket.New(st, time.Now, log)
	ctx = escalated.WithPrincipal(ctx, escalated.Principal{Name: "cli", Role: escalated.RoleReadonly})
	d, err := svc.Explain(ctx, ticketID)
	if err != nil {
		return err
	}
	return ticket.WriteExplanation(w, d)
}

// CreateToken opens (creating and migrating when needed) the database and stores a new token,
// returning its secret. A token that acts for an agent needs that agent in the newest stored
// policy, so the database must have one.
func CreateToken(ctx context.Context, db string, nt access.NewToken, log *slog.Logger) (string, *escalated.Token, error) {
	// Refuse bad input before the database file is created.
	if err := access.CheckToken(nt); err != nil {
		return "", nil, err
	}
	st, err := OpenStore(ctx, db, log)
	if err != nil {
		return "", nil, err
	}
	defer st.Close()
	if agent := strings.TrimSpace(nt.Agent); agent != "" {
		pol, version, err := storedPolicy(ctx, st)
		if err != nil {
			return "", nil, fmt.Errorf("the database has no policy yet to find agent %s in (start the server with one first): %w", agent, err)
		}
		if _, ok := pol.Agent(agent); !ok {
			return "", nil, escalated.Invalid("agent", fmt.Sprintf("no agent %q in the newest stored policy (v%d; agents are defined in its agents section)", agent, version))
		}
	}
	return access.NewService(st, time.Now, log).CreateToken(ctx, nt, "cli:token-create")
}

// storedPolicy parses the newest policy version stored in st and returns it with its version
// number; not_found when none is.
func storedPolicy(ctx context.Context, st store.Store) (*policy.Policy, int64, error) {
	var pv *escalated.PolicyVersion
	if err := st.View(ctx, func(tx store.Tx) error {
		var err error
		pv, err = tx.LatestPolicy(ctx)
		return err
	}); err != nil {
		return nil, 0, err
	}
	pol, err := policy.Parse(fmt.Sprintf("stored policy v%d", pv.Version), []byte(pv.Source))
	return pol, pv.Version, err
}

// ListTokens returns the database's tokens, newest first.
func ListTokens(ctx context.Context, db string, log *slog.Logger) ([]*escalated.Token, error) {
	st, err := openExisting(ctx, db, log)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	ctx = escalated.WithPrincipal(ctx, escalated.Principal{Name: "cli", Role: escalated.RoleAdmin})
	return access.NewService(st, time.Now, log).ListTokens(ctx)
}

// RevokeToken revokes a token by id (audited as the command line). Running nodes stop
// accepting it within seconds (they remember a token for at most 10 s).
func RevokeToken(ctx context.Context, db, id string, log *slog.Logger) (*escalated.Token, error) {
	st, err := openExisting(ctx, db, log)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return access.NewService(st, time.Now, log).RevokeToken(ctx, id, "cli:token-revoke")
}

// Migrate opens the database as a node does, applying any pending migrations and computing
// the report rollups if they are missing (what a report refuses to do), and writes the schema
// version.
func Migrate(ctx context.Context, db string, w io.Writer, log *slog.Logger) error {
	st, err := OpenStore(ctx, db, log)
	if err != nil {
		return err
	}
	defer st.Close()
	var v int
	switch s := st.(type) {
	case *sqlite.DB:
		v, err = s.SchemaVersion(ctx)
	case *postgres.DB:
		v, err = s.SchemaVersion(ctx)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "database %s is at schema version %d\n", redact(db), v)
	return nil
}

// Backup writes a consistent copy of the SQLite database db to the new file dest while nodes
// may be writing to it (see sqlite.BackupFile): the database as of one commit, checked and
// synced before it gets its name. It refuses a dest that exists and a database that does not
// (it never creates one), and never migrates the database it copies. PostgreSQL is refused
// with the pg_dump command to run instead: its own tool takes consistent online dumps.
func Backup(ctx context.Context, db, dest string, log *slog.Logger) error {
	kind, path, err := config.ParseDB(db)
	if err != nil {
		return err
	}
	if kind == config.Postgres {
		return escalated.Invalid("db", fmt.Sprintf("escalated backup copies SQLite databases only; "+
			"back up PostgreSQL with pg_dump, which takes a consistent dump while nodes write: "+
			"pg_dump --format=custom --schema=SCHEMA --file=%s \"$URL\" "+
			"(SCHEMA: the schema of the nodes' tables, public unless their URL sets a search_path; "+
			"restore with pg_restore, see docs/operations.md)", shellQuote(dest)))
	}
	if dest == "" {
		return escalated.Invalid("FILE", "name the backup file")
	}
	start := time.Now()
	if err := sqlite.BackupFile(ctx, path, dest); err != nil {
		return err
	}
	if log != nil {
		log.Info("backup written", "db", path, "file", dest, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// Restore puts the SQLite backup file backup in place as the database db, for nodes to start
// on (see sqlite.Restore): it checks the backup (integrity, a schema version this build knows),
// refuses an existing database unless force is set and no connection has it open, and copies
// through a temporary file and a rename. It writes the restored schema version to w.
func Restore(ctx context.Context, backup, db string, force bool, w io.Writer, log *slog.Logger) error {
	kind, path, err := config.ParseDB(db)
	if err != nil {
		return err
	}
	if kind == config.Postgres {
		return escalated.Invalid("db", "escalated restore writes SQLite databases only; restore a pg_dump "+
			"archive with pg_restore: pg_restore --dbname=\"$URL\" --no-owner FILE.dump (see docs/operations.md)")
	}
	v, err := sqlite.Restore(ctx, backup, path, force)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "restored %s to %s (schema version %d); start the node on --db sqlite:%s\n", backup, path, v, path)
	return nil
}

// shellQuote quotes s for a POSIX shell when it needs it, for commands printed to copy.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Report writes an escalation report of the database in format. It opens the database
// read-only (openReadOnly): it never migrates it or computes its rollups, so it is safe beside
// running nodes, also older ones, and works with a read-only PostgreSQL role or standby.
func Report(ctx context.Context, db string, q analytics.Query, format string, w io.Writer, log *slog.Logger) error {
	st, err := openReadOnly(ctx, db, log)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := analytics.New(st, time.Now, nil, analytics.Options{})
	ctx = escalated.WithPrincipal(ctx, escalated.Principal{Name: "cli", Role: escalated.RoleReadonly})
	rep, err := svc.Report(ctx, q)
	if err != nil {
		return err
	}
	return analytics.Write(w, rep, format)
}

// ReportInsights writes the ranked insights of the database's window. It reads the policy
// stored last (for team and tier names), and opens the database read-only like Report.
func ReportInsights(ctx context.Context, db string, q analytics.Query, format string, w io.Writer, log *slog.Logger) error {
	st, err := openReadOnly(ctx, db, log)
	if err != nil {
		return err
	}
	defer st.Close()
	var pol *policy.Policy
	err = st.View(ctx, func(tx store.Tx) error {
		pv, err := tx.LatestPolicy(ctx)
		if err != nil {
			return err
		}
		pol, err = policy.Parse(fmt.Sprintf("stored policy v%d", pv.Version), []byte(pv.Source))
		return err
	})
	if err != nil && escalated.ErrorCode(err) != escalated.ENOTFOUND {
		return err
	}
	svc := analytics.New(st, time.Now, func() *policy.Policy { return pol }, analytics.Options{})
	ctx = escalated.WithPrincipal(ctx, escalated.Principal{Name: "cli", Role: escalated.RoleReadonly})
	ins, err := svc.Insights(ctx, q)
	if err != nil {
		return err
	}
	return analytics.WriteInsights(w, ins, format)
}

// openExisting opens a database a command changes, migrating it like a node (OpenStore): a
// SQLite file that is not there is an error, not a new empty database (a mistyped --db would
// otherwise change a database no node uses).
func openExisting(ctx context.Context, db string, log *slog.Logger) (store.Store, error) {
	if err := sqliteMustExist(db); err != nil {
		return nil, err
	}
	return OpenStore(ctx, db, log)
}

// sqliteMustExist refuses a sqlite: db whose file is not there.
func sqliteMustExist(db string) error {
	if kind, path, err := config.ParseDB(db); err == nil && kind == config.SQLite {
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("no database at %s: %w (give the --db a node runs with)", path, err)
		}
	}
	return nil
}

// openReadOnly opens an existing database for reading only (sqlite.ReadOnly,
// postgres.ReadOnly): it creates, migrates and computes nothing, so a report beside running
// nodes never changes their schema under them, never holds their writes up while it computes
// rollups, and runs with a read-only PostgreSQL role or on a standby. A database this build
// cannot read as it is (another schema version, rollups not computed yet) is refused with what
// to run instead; a missing SQLite file is refused rather than reported on as empty (a mistyped
// --db would otherwise say "no escalations").
func openReadOnly(ctx context.Context, db string, log *slog.Logger) (store.Store, error) {
	kind, target, err := config.ParseDB(db)
	if err != nil {
		return nil, err
	}
	var st store.Store
	switch kind {
	case config.SQLite:
		if err := sqliteMustExist(db); err != nil {
			return nil, err
		}
		var s *sqlite.DB
		if s, err = sqlite.Open(ctx, target, sqlite.WithLogger(log), sqlite.ReadOnly()); err == nil {
			st = s
		}
	case config.Postgres:
		var s *postgres.DB
		if s, err = postgres.Open(ctx, target, postgres.WithLogger(log), postgres.ReadOnly()); err == nil {
			st = s
		}
	default:
		return nil, escalated.Invalid("db", "use sqlite:PATH or postgres://...")
	}
	var se *store.SchemaError
	switch {
	case errors.As(err, &se) && kind == config.Postgres:
		return nil, schemaRefusal(redact(db), se)
	case errors.As(err, &se):
		return nil, schemaRefusal(db, se)
	case err != nil && kind == config.Postgres:
		return nil, fmt.Errorf("open postgres %s read-only: %w", redact(target), err)
	case err != nil:
		return nil, fmt.Errorf("open sqlite %s read-only: %w", target, err)
	}
	return st, nil
}

// schemaRefusal says why a read-only command does not read the database db as it is, and what
// brings it up to date: escalated migrate, which does what a node does when it starts.
func schemaRefusal(db string, se *store.SchemaError) error {
	migrate := fmt.Sprintf("escalated migrate --db %s", shellQuote(db))
	switch {
	case se.Version < se.Want:
		return escalated.Errorf(escalated.ECONFLICT, "database %s is at schema version %d and this escalated reads version %d: "+
			"a report opens the database read-only and never migrates it (nodes of the older version may be running on it). "+
			"Once every node runs this version, upgrade the schema with %q (see docs/operations.md, Upgrades) and report again; "+
			"until then report with the escalated the nodes run", db, se.Version, se.Want, migrate)
	case se.Version > se.Want:
		return escalated.Errorf(escalated.ECONFLICT, "database %s is at schema version %d, newer than this escalated's %d: "+
			"report with the escalated the nodes run (or upgrade this one)", db, se.Version, se.Want)
	}
	return escalated.Errorf(escalated.ECONFLICT, "database %s (schema version %d) has no report rollups yet: "+
		"a node computes them once when it starts on a database from before schema version 11, and on this one that "+
		"has not happened or did not finish; a report never computes them (nodes' writes wait meanwhile, about 40 s per "+
		"million tickets). Start a node of this version on it, or run %q, then report again", db, se.Version, migrate)
}

// RebuildFacts recomputes the analytics rows of every ticket from its history (see
// ticket.Service.RebuildFacts), under the newest stored policy, then the report rollups from
// the rows. Safe beside running nodes, whose writes wait while the rollups are recomputed.
func RebuildFacts(ctx context.Context, db string, w io.Writer, log *slog.Logger) error {
	st, err := openExisting(ctx, db, log)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := ticket.New(st, time.Now, log)
	pol, _, err := storedPolicy(ctx, st)
	if err != nil {
		return fmt.Errorf("the database has no policy to rebuild analytics under: %w", err)
	}
	ctx = escalated.WithPrincipal(ctx, escalated.Principal{Name: "cli", Role: escalated.RoleAdmin})
	if _, err := svc.LoadPolicy(ctx, pol, "cli:facts-rebuild"); err != nil {
		return err
	}
	n, err := svc.RebuildFacts(ctx, func(done int) {
		if done%1000 == 0 {
			fmt.Fprintf(w, "%d tickets...\n", done)
		}
	})
	if err != nil {
		return err
	}
	// Every row was saved through the store, which kept the report rollups in step; they are
	// computed afresh from the rows anyway, so that rollups gone wrong are mended too.
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.RebuildRollups(ctx) }); err != nil {
		return fmt.Errorf("recompute the report rollups: %w", err)
	}
	fmt.Fprintf(w, "rebuilt the analytics of %d tickets and the report rollups\n", n)
	return nil
}

// SetPassword sets the console password of a person (an agent or supervisor of the newest
// stored policy) and ends their sessions, so a new password signs them out everywhere.
func SetPassword(ctx context.Context, db, id, password string, w io.Writer, log *slog.Logger) error {
	if n := utf8.RuneCountInString(password); n < web.MinPasswordLength {
		return escalated.Invalid("password", fmt.Sprintf("is %d characters; use at least %d", n, web.MinPasswordLength))
	}
	st, err := openExisting(ctx, db, log)
	if err != nil {
		return err
	}
	defer st.Close()
	pol, version, err := storedPolicy(ctx, st)
	if err != nil {
		return fmt.Errorf("the database has no policy yet to find %s in (start the server with one first): %w", id, err)
	}
	role := ""
	if _, ok := pol.Agent(id); ok {
		role = "agent"
	} else if _, ok := pol.Supervisor(id); ok {
		role = "supervisor"
	} else {
		return escalated.Errorf(escalated.ENOTFOUND, "%s is neither an agent nor a supervisor of policy v%d", id, version)
	}
	hash, err := web.HashPassword(password)
	if err != nil {
		return err
	}
	var ended int
	err = st.Update(ctx, func(tx store.Tx) error {
		if err := tx.SetCredential(ctx, &store.Credential{UserID: id, Hash: hash, UpdatedAt: time.Now()}); err != nil {
			return err
		}
		ended, err = tx.DeleteUserSessions(ctx, id)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "password set for %s (%s); %d session(s) ended\n", id, role, ended)
	return nil
}
