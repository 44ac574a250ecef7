// Command escalated is the ticket escalation engine: one binary with subcommands.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/analytics"
	"github.com/escalated/escalated/internal/app"
	"github.com/escalated/escalated/internal/clientip"
	"github.com/escalated/escalated/internal/config"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"

	"golang.org/x/term"
)

const usage = `escalated — ticket escalation engine

Usage:
  escalated serve [--policy FILE] [--db sqlite:PATH] [--addr 127.0.0.1:8080] [--demo] [--log-level info]
                  [--public-url URL] [--stream-heartbeat 15s] [--rate-limit 50 --rate-burst 200] [--smtp-addr HOST:PORT --smtp-from ADDR [--smtp-user U --smtp-password P]]
  escalated policy check FILE
  escalated policy test FILE CASES.yaml...
  escalated policy explain --ticket ID [--db ...]
  escalated token create --role admin|supervisor|agent|bot|readonly --name NAME [--agent ID] [--expires 90d] [--db ...]
  escalated token list [--db ...]
  escalated token revoke ID [--db ...]
  escalated migrate [--db ...]
  escalated backup FILE [--db sqlite:PATH]   (online; PostgreSQL: pg_dump, see docs/operations.md)
  escalated restore BACKUP --db sqlite:PATH [--force]   (with every node on PATH stopped)
  escalated report --group-by DIM [--since 30d] [--until T] [--team ID] [--format table|csv|json] [--db ...]
  escalated report insights [--since 30d] [--until T] [--team ID] [--format table|json] [--db ...]
  escalated facts rebuild [--db ...]
  escalated user set-password ID [--db ...]   (the password from the terminal, or the first line of stdin)
  escalated export [--since 30d] [--db ...] [--out FILE.jsonl]   (the history of recent tickets, for simulate)
  escalated history from-csv TICKETS.csv [--out FILE.jsonl]      (a help desk's ticket export as a history)
  escalated simulate --policy DRAFT.yaml [--baseline LIVE.yaml] --history FILE.jsonl [--format table|json|html] [--out FILE]
  escalated bench [--scale 1] [--only rules,ingest,api,reports,deadlines,catchup,simulate] [--postgres URL] [--format table|json] [--out FILE]

--db defaults to sqlite:escalated.db (sqlite:escalated-demo.db with --demo).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command and returns the process exit code: 0 ok, 1 failure, 2 bad usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd := args[0]; cmd {
	case "serve":
		err = serve(ctx, args[1:], stderr)
	case "policy":
		return policyCmd(ctx, args[1:], stdout, stderr)
	case "token":
		err = tokenCmd(ctx, args[1:], stdout, stderr)
	case "migrate":
		err = migrate(ctx, args[1:], stdout, stderr)
	case "backup":
		err = backup(ctx, args[1:], stdout, stderr)
	case "restore":
		err = restore(ctx, args[1:], stdout, stderr)
	case "report":
		err = report(ctx, args[1:], stdout, stderr)
	case "facts":
		err = facts(ctx, args[1:], stdout, stderr)
	case "user":
		err = userCmd(ctx, args[1:], stdin, stdout, stderr)
	case "simulate":
		err = simulateCmd(ctx, args[1:], stdout, stderr)
	case "export":
		err = exportCmd(ctx, args[1:], stdout, stderr)
	case "history":
		err = historyCmd(ctx, args[1:], stdout, stderr)
	case "bench":
		err = benchCmd(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "escalated: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "escalated: %s\n", ue.msg)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "escalated: %v\n", err)
		return 1
	}
	return 0
}

// stdin is where commands read input from (the tests give their own).
var stdin io.Reader = os.Stdin

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("escalated "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses flags and turns flag errors into usage errors; flags may follow positionals.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func logger(level string, w io.Writer) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// nodeGCPercent is the garbage collector's target a node runs with unless GOGC says otherwise.
// A node allocates a great deal per write that dies at once (decoded requests, rows, JSON), so
// at Go's default of 100 the collector took about a tenth of the CPU of a write-heavy node:
// 400 cut the CPU per POST /v1/tickets/{id}/messages by 10-15% and its p99 at 5,000/s by about
// half (BENCHMARKS.md), for a heap up to five times the live data instead of twice (a node's
// data lives in the database, so that heap is small; the whole process with a million open
// tickets stayed under 400 MB). GOMEMLIMIT, when set, caps it as usual.
const nodeGCPercent = 400

// nodeGC applies nodeGCPercent unless the environment sets GOGC.
func nodeGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(nodeGCPercent)
	}
}

// sqliteCacheFromEnv reads ESCALATED_SQLITE_CACHE_MB into cfg; the flag, parsed later,
// overrides it.
func sqliteCacheFromEnv(cfg *config.Config) error {
	if v := os.Getenv("ESCALATED_SQLITE_CACHE_MB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return usageError{fmt.Sprintf("ESCALATED_SQLITE_CACHE_MB=%q: give a whole number of MiB, e.g. %d", v, app.DefaultSQLiteCacheMB)}
		}
		cfg.SQLiteCacheMB = n
	}
	return nil
}

// rateFromEnv applies ESCALATED_RATE_LIMIT and ESCALATED_RATE_BURST; the flags override them.
func rateFromEnv(cfg *config.Config) error {
	if v := os.Getenv("ESCALATED_RATE_LIMIT"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return usageError{fmt.Sprintf("ESCALATED_RATE_LIMIT=%q: give requests per second per token, e.g. %d (0: no limit)", v, config.DefaultRateLimit)}
		}
		cfg.RateLimit = f
	}
	if v := os.Getenv("ESCALATED_RATE_BURST"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return usageError{fmt.Sprintf("ESCALATED_RATE_BURST=%q: give a whole number of requests, e.g. %d", v, config.DefaultRateBurst)}
		}
		cfg.RateBurst = n
	}
	return nil
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	cfg := config.Default()
	fs := newFlags("serve", stderr)
	fs.StringVar(&cfg.PolicyPath, "policy", "", "policy file (default: escalated.yaml if present, else the newest stored version)")
	fs.StringVar(&cfg.DB, "db", "", "database: sqlite:PATH or postgres://... (default "+config.DefaultDB+")")
	fs.StringVar(&cfg.Addr, "addr", config.DefaultAddr, "address to listen on")
	fs.BoolVar(&cfg.Demo, "demo", false, "load the built-in demo policy and sample tickets, and print an admin token")
	fs.StringVar(&cfg.LogLevel, "log-level", config.DefaultLogLevel, "debug, info, warn or error")
	fs.StringVar(&cfg.PublicURL, "public-url", os.Getenv("ESCALATED_PUBLIC_URL"), "URL people reach this server at, for links in notifications (default http://ADDR; env ESCALATED_PUBLIC_URL)")
	fs.StringVar(&cfg.SMTP.Addr, "smtp-addr", os.Getenv("ESCALATED_SMTP_ADDR"), "SMTP relay host:port for email channels (env ESCALATED_SMTP_ADDR)")
	fs.StringVar(&cfg.SMTP.From, "smtp-from", os.Getenv("ESCALATED_SMTP_FROM"), "sender address of notification emails (env ESCALATED_SMTP_FROM)")
	fs.StringVar(&cfg.SMTP.User, "smtp-user", os.Getenv("ESCALATED_SMTP_USER"), "SMTP user, when the relay wants authentication (env ESCALATED_SMTP_USER)")
	fs.DurationVar(&cfg.StreamHeartbeat, "stream-heartbeat", 15*time.Second, "how often an idle GET /v1/events stream sends a keepalive (keep it below any proxy's idle timeout; 1s to 10m)")
	fs.StringVar(&cfg.SMTP.Password, "smtp-password", os.Getenv("ESCALATED_SMTP_PASSWORD"), "SMTP password (env ESCALATED_SMTP_PASSWORD; prefer the variable: flags show in ps)")
	if err := rateFromEnv(&cfg); err != nil {
		return err
	}
	if err := sqliteCacheFromEnv(&cfg); err != nil {
		return err
	}
	if err := cfg.AnalyticsFlags(fs, os.Getenv); err != nil {
		return usageError{err.Error()}
	}
	fs.Float64Var(&cfg.RateLimit, "rate-limit", cfg.RateLimit, "API requests per second each token may make, sustained; over it 429 with Retry-After; 0: no limit (env ESCALATED_RATE_LIMIT)")
	fs.IntVar(&cfg.RateBurst, "rate-burst", cfg.RateBurst, "API requests each token may make at once above --rate-limit (env ESCALATED_RATE_BURST)")
	fs.IntVar(&cfg.SQLiteCacheMB, "sqlite-cache-mb", cfg.SQLiteCacheMB, fmt.Sprintf("page cache of the SQLite writer in MiB, filled as pages are read; 0: the default, %d (env ESCALATED_SQLITE_CACHE_MB)", app.DefaultSQLiteCacheMB))
	fs.StringVar(&cfg.TrustedProxies, "trusted-proxies", os.Getenv("ESCALATED_TRUSTED_PROXIES"), "reverse proxies whose X-Forwarded-For names the client, for the per-address limits: addresses and CIDR prefixes, comma-separated, e.g. 10.0.0.0/8 (env ESCALATED_TRUSTED_PROXIES; default none)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if cfg.SQLiteCacheMB < 0 || cfg.SQLiteCacheMB > config.MaxSQLiteCacheMB {
		return usageError{fmt.Sprintf("--sqlite-cache-mb %d (or ESCALATED_SQLITE_CACHE_MB) is out of range: give 1 to %d MiB, or 0 for the default (%d)", cfg.SQLiteCacheMB, config.MaxSQLiteCacheMB, app.DefaultSQLiteCacheMB)}
	}
	if cfg.RateLimit < 0 || cfg.RateBurst < 0 || (cfg.RateLimit > 0 && cfg.RateBurst < 1) {
		return usageError{fmt.Sprintf("--rate-limit %v --rate-burst %d: give a rate of 0 (no limit) or more, and a burst of at least 1, e.g. --rate-limit %d --rate-burst %d",
			cfg.RateLimit, cfg.RateBurst, config.DefaultRateLimit, config.DefaultRateBurst)}
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments (got %q)", strings.Join(pos, " "))}
	}
	if _, err := clientip.ParsePrefixes(cfg.TrustedProxies); err != nil {
		return usageError{fmt.Sprintf("--trusted-proxies (or ESCALATED_TRUSTED_PROXIES): %v", err)}
	}
	if cfg.StreamHeartbeat < time.Second || cfg.StreamHeartbeat > 10*time.Minute {
		return usageError{fmt.Sprintf("--stream-heartbeat %s is out of range: give a duration from 1s to 10m, e.g. 15s", cfg.StreamHeartbeat)}
	}
	if cfg.DB == "" {
		cfg.DB = config.DefaultDB
		if cfg.Demo {
			cfg.DB = config.DefaultDemoDB
		}
	}
	log := logger(cfg.LogLevel, stderr)
	nodeGC()
	// Claim SIGHUP before anything slow: its default action would end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	a, err := app.New(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	if err := a.LoadPolicy(ctx); err != nil {
		a.Store.Close()
		return err
	}
	if err := a.Listen(); err != nil {
		a.Store.Close()
		return err
	}
	if cfg.Demo {
		if err := a.SeedDemo(ctx, stderr); err != nil {
			a.Store.Close()
			return err
		}
	}
	// SIGHUP re-reads the policy file; a bad file is logged and the live policy keeps running.
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := a.ReloadPolicy(ctx); err != nil {
					log.Error("policy reload", "err", err)
				}
			}
		}
	}()
	return a.Serve(ctx)
}

const policyUsage = `usage:
  escalated policy check FILE
  escalated policy test FILE CASES.yaml...
  escalated policy explain --ticket ID [--db ...]
`

func policyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, policyUsage)
		return 2
	}
	switch args[0] {
	case "check":
		if len(args) != 2 {
			fmt.Fprint(stderr, "usage: escalated policy check FILE\n")
			return 2
		}
		return policyCheck(args[1], stdout, stderr)
	case "test":
		if len(args) < 3 {
			fmt.Fprint(stderr, "usage: escalated policy test FILE CASES.yaml...\n")
			return 2
		}
		results, err := app.RunPolicyTests(ctx, args[1], args[2:], stdout)
		if err != nil {
			fmt.Fprintf(stderr, "escalated: %v\n", err)
			return 1
		}
		for _, r := range results {
			if len(r.Failures) > 0 {
				return 1
			}
		}
		return 0
	case "explain":
		fs := newFlags("policy explain", stderr)
		id := fs.String("ticket", "", "ticket id")
		db := fs.String("db", config.DefaultDB, "database: sqlite:PATH or postgres://...")
		pos, err := parse(fs, args[1:])
		if errors.Is(err, flag.ErrHelp) {
			return 0
		} else if err != nil || len(pos) > 0 || *id == "" {
			fmt.Fprint(stderr, "usage: escalated policy explain --ticket ID [--db ...]\n")
			return 2
		}
		if err := app.ExplainTicket(ctx, *db, *id, stdout, logger("warn", stderr)); err != nil {
			fmt.Fprintf(stderr, "escalated: %v\n", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "escalated: unknown policy command %q\n%s", args[0], policyUsage)
	return 2
}

func policyCheck(path string, stdout, stderr io.Writer) int {
	summary, warnings, err := app.CheckPolicy(path)
	var list policy.ErrorList
	switch {
	case errors.As(err, &list):
		for _, e := range list {
			fmt.Fprintln(stdout, e)
		}
		fmt.Fprintf(stdout, "%d problem(s) found\n", len(list))
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "escalated: %v\n", err)
		return 1
	}
	for _, w := range warnings {
		fmt.Fprintf(stdout, "%s (warning)\n", w)
	}
	fmt.Fprintln(stdout, summary)
	return 0
}

func tokenCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "usage: escalated token create --role ROLE --name NAME [--agent ID] [--expires 90d] | token list | token revoke ID  [--db ...]"
	if len(args) == 0 {
		return usageError{usage}
	}
	switch args[0] {
	case "create":
	case "list":
		fs := newFlags("token list", stderr)
		db := fs.String("db", config.DefaultDB, "database: sqlite:PATH or postgres://...")
		if pos, err := parse(fs, args[1:]); err != nil {
			return err
		} else if len(pos) > 0 {
			return usageError{"token list takes no arguments"}
		}
		toks, err := app.ListTokens(ctx, *db, logger("warn", stderr))
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tAGENT\tCREATED\tLAST USED\tEXPIRES\tSTATE")
		now := time.Now()
		for _, t := range toks {
			state := "active"
			switch {
			case t.RevokedAt != nil:
				state = "revoked " + escalated.FormatTime(*t.RevokedAt)
			case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
				state = "expired"
			}
			agent := t.Agent
			if agent == "" {
				agent = "-"
				if t.Role == escalated.RoleAgent {
					agent = "none: sees no ticket"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, agent, escalated.FormatTime(t.CreatedAt),
				timeOr(t.LastUsedAt, "never"), timeOr(t.ExpiresAt, "never"), state)
		}
		return tw.Flush()
	case "revoke":
		fs := newFlags("token revoke", stderr)
		db := fs.String("db", config.DefaultDB, "database: sqlite:PATH or postgres://...")
		pos, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageError{"token revoke takes the token's id (see token list)"}
		}
		tok, err := app.RevokeToken(ctx, *db, pos[0], logger("warn", stderr))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s token %q (%s); running nodes refuse it within 10 s\n", tok.Role, tok.Name, tok.ID)
		return nil
	default:
		return usageError{usage}
	}
	fs := newFlags("token create", stderr)
	role := fs.String("role", "", "admin, supervisor, agent, bot or readonly")
	name := fs.String("name", "", "what the token is for, e.g. frontline-bot")
	expires := fs.String("expires", "", "lifetime, e.g. 90d or 12h (default: does not expire)")
	agent := fs.String("agent", "", "for role agent (required): the policy agent the token acts for; their teams decide which tickets it sees")
	db := fs.String("db", config.DefaultDB, "database: sqlite:PATH or postgres://...")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("token create takes no arguments (got %q)", strings.Join(pos, " "))}
	}
	if *role == "" || *name == "" {
		return usageError{"token create needs --role (admin, supervisor, agent, bot or readonly) and --name"}
	}
	var ttl time.Duration
	if *expires != "" {
		if ttl, err = policy.ParseDuration(*expires); err != nil || ttl <= 0 {
			return usageError{fmt.Sprintf("--expires %q: give a lifetime like 90d, 12h or 30m", *expires)}
		}
	}
	if escalated.Role(*role) == escalated.RoleAgent && *agent == "" {
		return usageError{"token create --role agent needs --agent ID: the policy agent the token acts for (that agent's teams decide which tickets it sees)"}
	}
	secret, tok, err := app.CreateToken(ctx, *db, access.NewToken{Name: *name, Role: escalated.Role(*role), Agent: *agent, TTL: ttl}, logger("warn", stderr))
	if err != nil {
		return err
	}
	exp := "does not expire"
	if tok.ExpiresAt != nil {
		exp = "expires " + escalated.FormatTime(*tok.ExpiresAt)
	}
	kind := string(tok.Role)
	if tok.Agent != "" {
		kind += " (acting for " + tok.Agent + ")"
	}
	fmt.Fprintf(stdout, "created %s token %q (%s, %s); it is shown once, store it now:\n%s\n", kind, tok.Name, tok.ID, exp, secret)
	return nil
}

// timeOr formats t, or says or when there is none.
func timeOr(t *time.Time, or string) string {
	if t == nil {
		return or
	}
	return escalated.FormatTime(*t)
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr)
	db := fs.String("db", config.DefaultDB, "database: sqlite:PATH or postgres://...")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("migrate takes no arguments (got %q); name the database with --db", strings.Join(pos, " "))}
	}
	return app.Migrate(ctx, *db, stdout, logger("warn", stderr))
}

func backup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backup", stderr)
	db := fs.String("db", config.DefaultDB, "the database to copy: sqlite:PATH (PostgreSQL: use pg_dump)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] == "" {
		return usageError{"usage: escalated backup FILE [--db sqlite:PATH] (FILE must not exist yet)"}
	}
	if err := app.Backup(ctx, *db, pos[0], logger("warn", stderr)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s\n", *db, pos[0])
	return nil
}

func restore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("restore", stderr)
	db := fs.String("db", "", "the database file to create or (with --force) replace: sqlite:PATH")
	force := fs.Bool("force", false, "replace an existing database (every node using it must be stopped)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] == "" || *db == "" {
		return usageError{"usage: escalated restore BACKUP --db sqlite:PATH [--force] (stop every node on PATH first)"}
	}
	return app.Restore(ctx, pos[0], *db, *force, stdout, logger("warn", stderr))
}

func report(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	insights := len(args) > 0 && args[0] == "insights"
	if insights {
		args = args[1:]
	}
	fs := newFlags("report", stderr)
	db := fs.String("db", config.DefaultDB, "database: sqlite:PATH or postgres://...")
	groupBy := fs.String("group-by", "", "dimension: "+strings.Join(store.GroupBys, ", "))
	since := fs.String("since", "30d", "window start: RFC 3339, a date, or a duration back from --until (30d)")
	until := fs.String("until", "", "window end: RFC 3339, a date, or a duration back from now (default now)")
	team := fs.String("team", "", "only escalations from or to this team, and tickets opened in or escalated into it")
	transition := fs.String("transition", "", `only the escalations of this transition, e.g. "t1 -> t2" (reports only)`)
	format := fs.String("format", "table", "table, csv or json")
	thresholds := map[string]*string{}
	for _, name := range analytics.OptionParams {
		thresholds[name] = fs.String(strings.ReplaceAll(name, "_", "-"), "", "threshold "+name+" (see docs/analytics.md; default "+config.AnalyticsEnv(name)+", else the built-in one)")
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("report takes no arguments besides insights (got %q)", strings.Join(pos, " "))}
	}
	if insights {
		// Insights rank findings over every dimension and have no csv form: name the flag.
		switch {
		case *groupBy != "":
			return usageError{"report insights takes no --group-by (it looks at every dimension); it takes --since, --until, --team, --format table|json, the thresholds and --db"}
		case *transition != "":
			return usageError{"report insights takes no --transition; it takes --since, --until, --team, --format table|json, the thresholds and --db"}
		case *format == "csv":
			return usageError{`--format "csv": report insights writes table or json`}
		}
	}
	if *groupBy == "" && !insights {
		return usageError{"report needs --group-by: " + strings.Join(store.GroupBys, ", ")}
	}
	// Checked before the database is opened, so that a mistyped dimension is named as such and
	// not hidden behind a problem with the database.
	if !insights && !slices.Contains(store.GroupBys, *groupBy) {
		return usageError{fmt.Sprintf("--group-by %q: use one of %s", *groupBy, strings.Join(store.GroupBys, ", "))}
	}
	if !slices.Contains(analytics.Formats, *format) {
		return usageError{fmt.Sprintf("--format %q: use table, csv or json", *format)}
	}
	now := time.Now()
	q := analytics.Query{GroupBy: *groupBy, Team: *team, Transition: *transition}
	if q.Until, err = analytics.ParseTime(*until, now); err != nil {
		return usageError{"--until: " + err.Error()}
	}
	ref := q.Until
	if ref.IsZero() {
		ref = now
	}
	if q.Since, err = analytics.ParseTime(*since, ref); err != nil {
		return usageError{"--since: " + err.Error()}
	}
	if q.Options, err = analytics.ParseOptions(func(name string) string { return *thresholds[name] }); err != nil {
		return usageError{thresholdFlagsError(err)}
	}
	// The node defaults (ESCALATED_ANALYTICS_*) apply as they do to a node's API, so that the
	// command answers as a node with the same environment would; its own flags override them.
	var env config.Config
	if err := env.AnalyticsFlags(flag.NewFlagSet("report-env", flag.ContinueOnError), os.Getenv); err != nil {
		return usageError{err.Error()}
	}
	opts := env.Analytics
	if q.Options != nil {
		opts = q.Options.Over(opts)
	}
	q.Options = &opts
	if insights {
		return app.ReportInsights(ctx, *db, q, *format, stdout, logger("warn", stderr))
	}
	return app.Report(ctx, *db, q, *format, stdout, logger("warn", stderr))
}

// thresholdFlagsError names the flags of the thresholds analytics.ParseOptions refused (it names
// their parameters, quick_solve for --quick-solve), each with what it allows.
func thresholdFlagsError(err error) string {
	fields := escalated.ErrorFields(err)
	if len(fields) == 0 {
		return err.Error()
	}
	names := slices.Sorted(maps.Keys(fields))
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = "--" + strings.ReplaceAll(name, "_", "-") + ": " + fields[name]
	}
	return strings.Join(parts, "; ")
}

func facts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rebuild" {
		return usageError{"usage: escalated facts rebuild [--db ...]"}
	}
	fs := newFlags("facts rebuild", stderr)
	db := fs.String("db", config.DefaultDB, "database: sqlite:PATH or postgres://...")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("facts rebuild takes no arguments (got %q)", strings.Join(pos, " "))}
	}
	return app.RebuildFacts(ctx, *db, stdout, logger("warn", stderr))
}

// userCmd sets a person's console password: read without echo from a terminal (twice, to
// confirm), or as the first line of a pipe (for scripts: the password is never an argument,
// which other users of the machine could read in the process list).
func userCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "set-password" {
		return usageError{"usage: escalated user set-password ID [--db ...]"}
	}
	fs := newFlags("user set-password", stderr)
	db := fs.String("db", config.DefaultDB, "database: sqlite:PATH or postgres://...")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"user set-password takes the person's id (an agent or supervisor of the policy)"}
	}
	var password string
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(stderr, "New password for %s: ", pos[0])
		first, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return err
		}
		fmt.Fprint(stderr, "Again: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return err
		}
		if string(first) != string(again) {
			return errors.New("the two passwords differ; nothing was changed")
		}
		password = string(first)
	} else {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		password = strings.TrimRight(line, "\r\n")
	}
	return app.SetPassword(ctx, *db, pos[0], password, stdout, logger("warn", stderr))
}
