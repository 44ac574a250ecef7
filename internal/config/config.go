// Package config is the typed configuration of an escalated node, with defaults and validation,
// so that flags, environment and tests all build the same struct.
package config

import (
	"fmt"
	"net"
	"strings"

	"github.com/escalated/escalated"
)

// Defaults.
const (
	DefaultDB       = "sqlite:escalated.db"
	DefaultDemoDB   = "sqlite:escalated-demo.db"
	DefaultAddr     = "127.0.0.1:8080"
	DefaultPolicy   = "escalated.yaml"
	DefaultLogLevel = "info"
)

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
}

// Default returns a Config with every default applied.
func Default() Config {
	return Config{DB: DefaultDB, Addr: DefaultAddr, LogLevel: DefaultLogLevel}
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
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		fe.Add("log-level", "must be one of debug, info, warn, error")
	}
	return fe.Err()
}
