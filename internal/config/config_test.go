package config_test

import (
	"context"
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/analytics"
	"github.com/escalated/escalated/internal/app"
	"github.com/escalated/escalated/internal/config"
)

// analyticsSettings registers the analytics flags over env and parses args, as serve does.
func analyticsSettings(env map[string]string, args ...string) (config.Config, error) {
	cfg := config.Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := cfg.AnalyticsFlags(fs, func(k string) string { return env[k] }); err != nil {
		return cfg, err
	}
	err := fs.Parse(args)
	return cfg, err
}

// TestAnalyticsSettings: every per-request threshold has a node setting of the same name, from
// the environment or a flag, the flag winning.
func TestAnalyticsSettings(t *testing.T) {
	t.Parallel()
	cfg, err := analyticsSettings(map[string]string{
		"ESCALATED_ANALYTICS_MIN_SAMPLE":       "50",
		"ESCALATED_ANALYTICS_CONCENTRATION":    "0.4",
		"ESCALATED_ANALYTICS_HIGH_FRUSTRATION": "0.8",
	}, "--analytics-min-sample", "30", "--analytics-quick-solve", "15m", "--analytics-agent-ratio", "3",
		"--analytics-unnecessary", "0.5", "--analytics-context-insufficient", "0.6",
		"--analytics-account-breaches", "7", "--analytics-frustrated", "8")
	if err != nil {
		t.Fatal(err)
	}
	want := analytics.Options{QuickSolve: 15 * time.Minute, HighFrustration: 0.8, Insights: analytics.InsightOptions{
		MinSample: 30, Concentration: 0.4, AgentRatio: 3, Unnecessary: 0.5, ContextInsufficient: 0.6, AccountBreaches: 7, Frustrated: 8}}
	if cfg.Analytics != want {
		t.Errorf("settings read as %+v, want %+v", cfg.Analytics, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("good settings refused: %v", err)
	}
	for _, param := range analytics.OptionParams {
		if f := config.AnalyticsFlag(param); !strings.HasPrefix(f, "analytics-") || strings.ReplaceAll(strings.TrimPrefix(f, "analytics-"), "-", "_") != param {
			t.Errorf("the setting of %s is --%s", param, f)
		}
	}
	if cfg, err := analyticsSettings(nil); err != nil || cfg.Analytics != (analytics.Options{}) {
		t.Errorf("no settings: %+v, %v; want the zero Options (the built-in thresholds)", cfg.Analytics, err)
	}
}

// TestAnalyticsSettingsRefused: a bad value is refused naming the variable, the flag or the
// field, and saying what is allowed, before the node starts.
func TestAnalyticsSettingsRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		env, flag, value, allowed string
	}{
		{"ESCALATED_ANALYTICS_MIN_SAMPLE", "analytics-min-sample", "0", "whole number from 1 to 1000000"},
		{"ESCALATED_ANALYTICS_CONCENTRATION", "analytics-concentration", "1.5", "above 0 and at most 1"},
		{"ESCALATED_ANALYTICS_AGENT_RATIO", "analytics-agent-ratio", "1", "above 1"},
		{"ESCALATED_ANALYTICS_UNNECESSARY", "analytics-unnecessary", "NaN", "above 0 and at most 1"},
		{"ESCALATED_ANALYTICS_CONTEXT_INSUFFICIENT", "analytics-context-insufficient", "25%", "above 0 and at most 1"},
		{"ESCALATED_ANALYTICS_ACCOUNT_BREACHES", "analytics-account-breaches", "2.5", "whole number"},
		{"ESCALATED_ANALYTICS_FRUSTRATED", "analytics-frustrated", "-1", "whole number"},
		{"ESCALATED_ANALYTICS_QUICK_SOLVE", "analytics-quick-solve", "soon", "duration such as 10m"},
		{"ESCALATED_ANALYTICS_HIGH_FRUSTRATION", "analytics-high-frustration", "0", "above 0 and at most 1"},
	} {
		_, err := analyticsSettings(map[string]string{c.env: c.value})
		if err == nil || !strings.Contains(err.Error(), c.env) || !strings.Contains(err.Error(), c.allowed) || !strings.Contains(err.Error(), c.value) {
			t.Errorf("%s=%s: %v; want an error naming the variable, the value and %q", c.env, c.value, err, c.allowed)
		}
		_, err = analyticsSettings(nil, "--"+c.flag, c.value)
		if err == nil || !strings.Contains(err.Error(), c.flag) || !strings.Contains(err.Error(), c.allowed) {
			t.Errorf("--%s %s: %v; want an error naming the flag and %q", c.flag, c.value, err, c.allowed)
		}
	}

	// A Config built in code is checked too: each bad field names its setting.
	cfg := config.Default()
	cfg.Analytics = analytics.Options{QuickSolve: -time.Minute, HighFrustration: 2, Insights: analytics.InsightOptions{
		MinSample: -1, Concentration: 1.1, AgentRatio: 0.5, Unnecessary: -0.1, ContextInsufficient: 3, AccountBreaches: 2_000_000, Frustrated: -5}}
	fields := escalated.ErrorFields(cfg.Validate())
	for _, param := range analytics.OptionParams {
		if fields[config.AnalyticsFlag(param)] == "" {
			t.Errorf("bad %s passed Validate (fields %v)", param, fields)
		}
	}
}

// TestAnalyticsSettingsReachTheNode: the node's reports and insights (the API's and the
// console's) use the configured thresholds.
func TestAnalyticsSettingsReachTheNode(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.DB = "sqlite:" + filepath.Join(t.TempDir(), "escalated.db")
	cfg.Addr = "127.0.0.1:0"
	cfg.Analytics = analytics.Options{QuickSolve: 15 * time.Minute, Insights: analytics.InsightOptions{MinSample: 7, Concentration: 0.4}}
	ctx := escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "test", Role: escalated.RoleSupervisor})
	a, err := app.New(ctx, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown(context.Background())
	ins, err := a.Analytics.Insights(ctx, analytics.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if o := ins.Options; o.MinSample != 7 || o.Concentration != 0.4 || o.AgentRatio != analytics.DefaultInsightOptions.AgentRatio {
		t.Errorf("insight thresholds %+v, want min_sample 7, concentration 0.4 and the built-in agent_ratio", o)
	}
	rep, err := a.Analytics.Report(ctx, analytics.Query{GroupBy: "team"})
	if err != nil {
		t.Fatal(err)
	}
	if o := rep.Outcomes; o.QuickSolveSeconds != 900 || o.HighFrustration != analytics.DefaultHighFrustration {
		t.Errorf("report thresholds quick solve %vs, high frustration %v; want 900 and the built-in", o.QuickSolveSeconds, o.HighFrustration)
	}
}

// TestSQLiteCacheSetting: the SQLite page cache is 0 (the default) or 1 to MaxSQLiteCacheMB
// MiB; anything else is refused naming the setting and what it takes.
func TestSQLiteCacheSetting(t *testing.T) {
	for _, mb := range []int{0, 1, 512, config.MaxSQLiteCacheMB} {
		cfg := config.Default()
		cfg.SQLiteCacheMB = mb
		if err := cfg.Validate(); err != nil {
			t.Errorf("%d MiB refused: %v", mb, err)
		}
	}
	for _, mb := range []int{-1, config.MaxSQLiteCacheMB + 1} {
		cfg := config.Default()
		cfg.SQLiteCacheMB = mb
		msg := escalated.ErrorFields(cfg.Validate())["sqlite-cache-mb"]
		if !strings.Contains(msg, "must be from 1 to 65536 MiB, or 0 for the default") {
			t.Errorf("%d MiB: field message %q", mb, msg)
		}
	}
}
