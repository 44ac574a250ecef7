package app

import (
	"context"
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

// Migrate opens the database, applying any pending migrations, and reports the schema version.
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

// Report writes an escalation report of the database in format. It only reads (View), so it
// is safe beside running nodes.
func Report(ctx context.Context, db string, q analytics.Query, format string, w io.Writer, log *slog.Logger) error {
	st, err := openExisting(ctx, db, log)
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
// stored last (for team and tier names) and only reads, like Report.
func ReportInsights(ctx context.Context, db string, q analytics.Query, format string, w io.Writer, log *slog.Logger) error {
	st, err := openExisting(ctx, db, log)
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

// openExisting opens a database a report reads: a SQLite file that is not there is an error,
// not a new empty database reported on (a mistyped --db would otherwise say "no escalations").
func openExisting(ctx context.Context, db string, log *slog.Logger) (store.Store, error) {
	if kind, path, err := config.ParseDB(db); err == nil && kind == config.SQLite {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no database at %s: %w (give the --db a node runs with)", path, err)
		}
	}
	return OpenStore(ctx, db, log)
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
