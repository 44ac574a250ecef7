package main

import (
	"bytes"
	"context"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/escalated/escalated/internal/config"
)

// TestServeRateFlags: bad rate-limit settings, from flags or the environment, are usage errors
// that say what to give; the variables are read and the flags override them.
func TestServeRateFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"negative rate", nil, []string{"--rate-limit", "-1"}, "--rate-limit -1"},
		{"zero burst", nil, []string{"--rate-limit", "5", "--rate-burst", "0"}, "a burst of at least 1"},
		{"bad env rate", map[string]string{"ESCALATED_RATE_LIMIT": "fast"}, nil, `ESCALATED_RATE_LIMIT="fast"`},
		{"bad env burst", map[string]string{"ESCALATED_RATE_BURST": "1.5"}, nil, `ESCALATED_RATE_BURST="1.5"`},
		{"env burst, flag rate", map[string]string{"ESCALATED_RATE_BURST": "0"}, []string{"--rate-limit", "3"}, "--rate-limit 3 --rate-burst 0"},
		{"bad trusted proxy", nil, []string{"--trusted-proxies", "10.0.0.0/8,lb.internal"}, `"lb.internal" is neither an IP address nor a CIDR prefix`},
		{"bad env trusted proxy", map[string]string{"ESCALATED_TRUSTED_PROXIES": "300.1.1.1"}, nil, `"300.1.1.1"`},
		{"negative sqlite cache", nil, []string{"--sqlite-cache-mb", "-1"}, "--sqlite-cache-mb -1 (or ESCALATED_SQLITE_CACHE_MB) is out of range: give 1 to 65536 MiB, or 0 for the default (64)"},
		{"huge sqlite cache", map[string]string{"ESCALATED_SQLITE_CACHE_MB": "70000"}, nil, "--sqlite-cache-mb 70000"},
		{"bad env sqlite cache", map[string]string{"ESCALATED_SQLITE_CACHE_MB": "1G"}, nil, `ESCALATED_SQLITE_CACHE_MB="1G": give a whole number of MiB, e.g. 64`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var stderr bytes.Buffer
			code := run(context.Background(), append([]string{"serve", "--db", "sqlite:" + t.TempDir() + "/x.db"}, tc.args...), &bytes.Buffer{}, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr.String(), tc.want)
			}
		})
	}
	t.Run("env read", func(t *testing.T) {
		t.Setenv("ESCALATED_RATE_LIMIT", "7.5")
		t.Setenv("ESCALATED_RATE_BURST", "30")
		cfg := config.Default()
		if err := rateFromEnv(&cfg); err != nil || cfg.RateLimit != 7.5 || cfg.RateBurst != 30 {
			t.Fatalf("rateFromEnv: %v %v %d", err, cfg.RateLimit, cfg.RateBurst)
		}
		t.Setenv("ESCALATED_SQLITE_CACHE_MB", "64")
		if err := sqliteCacheFromEnv(&cfg); err != nil || cfg.SQLiteCacheMB != 64 {
			t.Fatalf("sqliteCacheFromEnv: %v %d", err, cfg.SQLiteCacheMB)
		}
	})
}

// TestNodeGC: a node runs the collector at nodeGCPercent unless GOGC is set, which wins.
func TestNodeGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	debug.SetGCPercent(100)
	nodeGC()
	if got := debug.SetGCPercent(100); got != nodeGCPercent {
		t.Errorf("GOGC unset: collector at %d, want %d", got, nodeGCPercent)
	}
	t.Setenv("GOGC", "150")
	debug.SetGCPercent(150) // what the runtime read from GOGC at start
	nodeGC()
	if got := debug.SetGCPercent(100); got != 150 {
		t.Errorf("GOGC=150: collector at %d, want the variable's 150", got)
	}
}
