// Package config is the typed configuration of an escalated node, with defaults and validation,
// so that flags, environment and tests all build the same struct.
package config

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/analytics"
	"github.com/escalated/escalated/internal/clientip"
)

// Defaults.
const (
	DefaultDB       = "sqlite:escalated.db"
	DefaultDemoDB   = "sqlite:escalated-demo.db"
	DefaultAddr     = "127.0.0.1:8080"
	DefaultPolicy   = "escalated.yaml"
	DefaultLogLevel = "info"
)

// Default per-token API rate limit (serve --rate-limit, --rate-burst; ESCALATED_RATE_LIMIT,
// ESCALATED_RATE_BURST). A token bucket per API token: DefaultRateLimit requests per second
// sustained, DefaultRateBurst at once. The figures, from BENCHMARKS.md (2-core machine):
//
//   - A busy chatbot: a node handles ~200 handoffs/s from one client and ~350 from 16. A bot
//     handing off 5 conversations a second all day (432,000 a day, more than most help desks'
//     whole ticket volume) with an evaluate before each and a status read after makes
//     3 × 5 = 15 requests/s: 30% of the limit.
//   - A busy help-desk sync: 1,000,000 messages a day is 11.6/s on average; at 3× the mean in
//     the peak hour, 35 requests/s: under the limit. The burst lets it post 200 queued messages
//     at once (a few seconds of its peak after a hiccup) without a 429.
//   - A runaway loop: one client looping without a pause makes one request per round trip,
//     ~900/s on POST /v1/tickets/{id}/messages (p50 1.1 ms) and ~200/s on POST /v1/handoffs
//     (p50 5 ms). It spends the burst within 200 / (200 - 50) = 1.3 s at the slowest and is
//     then held to 50/s: ~1% of the node's ~4,400 messages/s, ~14% of its handoffs/s.
//
// An operator whose one integration really needs more raises the limit; 0 turns it off.
const (
	DefaultRateLimit = 50
	DefaultRateBurst = 200
)

// MaxSQLiteCacheMB bounds SQLiteCacheMB: a larger page cache than the machine's memory is a
// typo, and SQLite would take it at its word.
const MaxSQLiteCacheMB = 1 << 16

// Config configures one node.
type Config struct {
	// DB is "sqlite:PATH" (a bare path means SQLite too) or a postgres:// URL.
	DB string
	// PolicyPath is the policy file; "" means: the demo policy with Demo, else escalated.yaml
	// when it exists, else the newest version stored in the database.
	PolicyPath string
	Addr       string
	// Demo loads the built-in demo policy and sample tickets and prints an admin token.
	Demo     bool
	LogLevel string
	// PublicURL is where people reach this server; notifications link to tickets under it.
	// "" means http://<Addr>.
	PublicURL string
	// SMTP is the relay email channels send through (ESCALATED_SMTP_* or the serve flags).
	SMTP SMTP
	// StreamHeartbeat is how often an idle GET /v1/events stream sends a keepalive comment;
	// keep it below the idle timeout of any proxy in front of the node. 0 means 15 s.
	StreamHeartbeat time.Duration
	// RateLimit is the requests per second each API token may make, sustained; RateBurst how
	// many it may make at once. 0 (RateLimit) means no limit. Default sets DefaultRateLimit
	// and DefaultRateBurst.
	RateLimit float64
	RateBurst int
	// TrustedProxies are the reverse proxies (addresses and CIDR prefixes, comma-separated)
	// whose X-Forwarded-For header names the client for the limits kept per address; "" trusts
	// none, and every client is its peer address (see internal/clientip).
	TrustedProxies string
	// SQLiteCacheMB is the page cache of a SQLite database's writer connection in MiB; 0 keeps
	// the store's default (sqlite.DefaultPageCache). Ignored on PostgreSQL.
	SQLiteCacheMB int
	// Analytics are the node's default thresholds of reports and insights, for the API and the
	// console dashboard alike; zero fields keep the built-in ones, and a request's own
	// thresholds override these. Set with AnalyticsFlags.
	Analytics analytics.Options
}

// SMTP are the email relay settings. Email channels fail their deliveries, saying so, while
// Addr or From is missing.
type SMTP struct {
	Addr     string // host:port
	From     string
	User     string
	Password string
}

// Configured reports whether email can be sent.
func (s SMTP) Configured() bool { return s.Addr != "" && s.From != "" }

// PublicBase returns PublicURL, or http://<Addr> when it is not set.
func (c Config) PublicBase() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	return "http://" + c.Addr
}

// Default returns a Config with every default applied.
func Default() Config {
	return Config{DB: DefaultDB, Addr: DefaultAddr, LogLevel: DefaultLogLevel, RateLimit: DefaultRateLimit, RateBurst: DefaultRateBurst}
}

// DBKind is which store a DB setting selects.
type DBKind string

// Store kinds.
const (
	SQLite   DBKind = "sqlite"
	Postgres DBKind = "postgres"
)

// ParseDB splits a DB setting into its kind and the path or URL.
func ParseDB(db string) (DBKind, string, error) {
	switch {
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		return Postgres, db, nil
	case strings.HasPrefix(db, "sqlite:"):
		p := strings.TrimPrefix(strings.TrimPrefix(db, "sqlite:"), "//")
		if p == "" {
			return "", "", escalated.Invalid("db", "sqlite: needs a file path, e.g. sqlite:escalated.db")
		}
		return SQLite, p, nil
	case db == "":
		return "", "", escalated.Invalid("db", "is required: sqlite:PATH or postgres://...")
	case strings.Contains(db, "://"):
		return "", "", escalated.Invalid("db", fmt.Sprintf("unsupported database %q: use sqlite:PATH or postgres://...", db))
	}
	return SQLite, db, nil
}

// Validate checks the configuration and says what is allowed.
func (c Config) Validate() error {
	fe := escalated.FieldErrors{}
	if _, _, err := ParseDB(c.DB); err != nil {
		fe.Add("db", escalated.ErrorFields(err)["db"])
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		fe.Add("addr", fmt.Sprintf("must be host:port, e.g. %s (got %q)", DefaultAddr, c.Addr))
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fe.Add("public-url", fmt.Sprintf("must be an http:// or https:// URL, e.g. https://escalated.example.com (got %q)", c.PublicURL))
		}
	}
	if c.SMTP.Addr != "" {
		if _, _, err := net.SplitHostPort(c.SMTP.Addr); err != nil {
			fe.Add("smtp-addr", fmt.Sprintf("must be host:port, e.g. smtp.example.com:587 (got %q)", c.SMTP.Addr))
		}
	}
	if c.SMTP.From != "" && !strings.Contains(c.SMTP.From, "@") {
		fe.Add("smtp-from", fmt.Sprintf("must be an email address (got %q)", c.SMTP.From))
	}
	if c.RateLimit < 0 || math.IsNaN(c.RateLimit) || math.IsInf(c.RateLimit, 0) {
		fe.Add("rate-limit", fmt.Sprintf("must be a number of requests per second per token, 0 for no limit (got %v)", c.RateLimit))
	}
	if c.RateLimit > 0 && c.RateBurst < 1 {
		fe.Add("rate-burst", fmt.Sprintf("must be at least 1 while a rate limit is set (got %d); e.g. %d", c.RateBurst, DefaultRateBurst))
	}
	if c.SQLiteCacheMB < 0 || c.SQLiteCacheMB > MaxSQLiteCacheMB {
		fe.Add("sqlite-cache-mb", fmt.Sprintf("must be from 1 to %d MiB, or 0 for the default (got %d)", MaxSQLiteCacheMB, c.SQLiteCacheMB))
	}
	if _, err := clientip.ParsePrefixes(c.TrustedProxies); err != nil {
		fe.Add("trusted-proxies", err.Error())
	}
	for param, problem := range escalated.ErrorFields(c.Analytics.Validate()) {
		fe.Add(AnalyticsFlag(param), problem)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		fe.Add("log-level", "must be one of debug, info, warn, error")
	}
	return fe.Err()
}

// AnalyticsFlag is the serve flag (without dashes) of a report threshold named as in a request
// (analytics.OptionParams): analytics-min-sample for min_sample. The prefix keeps a node's
// defaults apart from the per-request flags of `escalated report` (--min-sample).
func AnalyticsFlag(param string) string { return "analytics-" + strings.ReplaceAll(param, "_", "-") }

// AnalyticsEnv is the environment variable of a report threshold: ESCALATED_ANALYTICS_MIN_SAMPLE
// for min_sample.
func AnalyticsEnv(param string) string { return "ESCALATED_ANALYTICS_" + strings.ToUpper(param) }

// AnalyticsFlags registers on fs a flag per report threshold (AnalyticsFlag of each of
// analytics.OptionParams) that sets c.Analytics. Each starts from its environment variable
// (AnalyticsEnv) as getenv reads it, so a flag overrides the environment. A bad variable is an
// error naming it and what is allowed; a bad flag fails fs.Parse the same way.
func (c *Config) AnalyticsFlags(fs *flag.FlagSet, getenv func(string) string) error {
	fe := escalated.FieldErrors{}
	for _, param := range analytics.OptionParams {
		v := &analyticsValue{opts: &c.Analytics, param: param}
		if s := getenv(AnalyticsEnv(param)); s != "" {
			if err := v.Set(s); err != nil {
				fe.Add(AnalyticsEnv(param), fmt.Sprintf("%s (got %q)", err, s))
			}
		}
		fs.Var(v, AnalyticsFlag(param), fmt.Sprintf("node default of the report and insight threshold %s, which a request's own overrides (see docs/analytics.md; env %s)",
			param, AnalyticsEnv(param)))
	}
	return fe.Err()
}

// analyticsValue is one threshold as a flag. It parses with analytics.ParseOptions, so a
// setting allows exactly what the request parameter of the same name allows.
type analyticsValue struct {
	opts  *analytics.Options
	param string
	raw   string
}

func (v *analyticsValue) String() string { return v.raw }

func (v *analyticsValue) Set(s string) error {
	o, err := analytics.ParseOptions(func(name string) string {
		if name == v.param {
			return s
		}
		return ""
	})
	if err != nil {
		return errors.New(escalated.ErrorFields(err)[v.param])
	}
	if o == nil {
		return errors.New("needs a value; leave the setting out for the default")
	}
	*v.opts, v.raw = o.Over(*v.opts), s
	return nil
}
