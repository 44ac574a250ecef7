package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/escalated/escalated/internal/analytics"
	"github.com/escalated/escalated/internal/app"
	"github.com/escalated/escalated/internal/config"
	"github.com/escalated/escalated/internal/history"
	"github.com/escalated/escalated/internal/simulate"
)

// simulateCmd: escalated simulate --policy DRAFT.yaml [--baseline LIVE.yaml] --history FILE.jsonl
func simulateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlags("simulate", stderr)
	draft := fs.String("policy", "", "the policy to try (YAML file)")
	baseline := fs.String("baseline", "", "the policy to compare with, e.g. the live one (YAML file; optional)")
	hist := fs.String("history", "", "the history to replay (JSON Lines: escalated export, escalated history from-csv)")
	format := fs.String("format", "table", "table, json or html")
	out := fs.String("out", "", "write the report to this file (default: standard output)")
	seed := fs.Uint64("seed", 1, "seed of the draws of agents' times the history does not give")
	ackMedian := fs.Duration("ack-median", simulate.DefaultAck.Median, "median time to acknowledge an escalation the history has no counterpart for")
	ackP90 := fs.Duration("ack-p90", simulate.DefaultAck.P90, "90th percentile of that time")
	resMedian := fs.Duration("resolve-median", simulate.DefaultResolve.Median, "median time from acknowledging such an escalation to resolving it")
	resP90 := fs.Duration("resolve-p90", simulate.DefaultResolve.P90, "90th percentile of that time")
	until := fs.String("until", "", "end of the replay, RFC 3339 (default: the history's last event)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *draft == "" || *hist == "" {
		return usageError{"usage: escalated simulate --policy DRAFT.yaml [--baseline LIVE.yaml] --history FILE.jsonl [--format table|json|html] [--out FILE] [--seed N] [--ack-median 30m --ack-p90 4h] [--resolve-median 4h --resolve-p90 48h] [--until T]"}
	}
	if !oneOf(*format, simulate.Formats) {
		return usageError{fmt.Sprintf("--format %q: give one of %s", *format, strings.Join(simulate.Formats, ", "))}
	}
	opts := simulate.Options{Seed: *seed, Ack: simulate.Dist{Median: *ackMedian, P90: *ackP90}, Resolve: simulate.Dist{Median: *resMedian, P90: *resP90}}
	if *until != "" {
		if opts.Until, err = time.Parse(time.RFC3339Nano, *until); err != nil {
			return usageError{fmt.Sprintf("--until %q: give an RFC 3339 time like 2026-10-31T23:59:59Z", *until)}
		}
	}
	f, err := os.Open(*hist)
	if err != nil {
		return err
	}
	events, err := history.Read(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", *hist, err)
	}
	run := func(path string) (*simulate.Result, error) {
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return simulate.Run(ctx, path, src, events, opts)
	}
	w, done, err := output(*out, stdout)
	if err != nil {
		return err
	}
	defer closeOutput(done, &err)
	start := time.Now()
	res, err := run(*draft)
	if err != nil {
		return err
	}
	if *baseline == "" {
		err = simulate.WriteResult(w, res, *format)
	} else {
		var base *simulate.Result
		if base, err = run(*baseline); err != nil {
			return err
		}
		err = simulate.WriteComparison(w, simulate.Compare(base, res), *format)
	}
	if err != nil {
		return err
	}
	// Timing goes to standard error: the report itself stays the same from run to run.
	fmt.Fprintf(stderr, "replayed %d events of %d tickets in %s\n", len(events), res.Tickets, time.Since(start).Round(time.Millisecond))
	return nil
}

func oneOf(s string, allowed []string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return false
}

// exportCmd: escalated export [--since 30d] [--db ...] [--out FILE]
func exportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlags("export", stderr)
	since := fs.String("since", "30d", "tickets opened since: RFC 3339, a date, or a duration back from now (30d)")
	db := fs.String("db", config.DefaultDB, "database: sqlite:PATH or postgres://...")
	out := fs.String("out", "", "write the history to this file (default: standard output)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{"usage: escalated export [--since 30d] [--db ...] [--out FILE]"}
	}
	from, err := analytics.ParseTime(*since, time.Now())
	if err != nil {
		return usageError{"--since: " + err.Error()}
	}
	w, done, err := output(*out, stdout)
	if err != nil {
		return err
	}
	defer closeOutput(done, &err)
	tickets, events, err := app.Export(ctx, *db, from, w, logger("warn", stderr))
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "exported %d events of %d tickets opened since %s\n", events, tickets, from.UTC().Format(time.RFC3339))
	return nil
}

// historyCmd: escalated history from-csv FILE.csv [--out FILE]
func historyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	const use = "usage: escalated history from-csv FILE.csv [--out FILE.jsonl]"
	if len(args) == 0 || args[0] != "from-csv" {
		return usageError{use}
	}
	fs := newFlags("history from-csv", stderr)
	out := fs.String("out", "", "write the history to this file (default: standard output)")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{use}
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	events, err := history.FromCSV(f)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	w, done, err := output(*out, stdout)
	if err != nil {
		return err
	}
	defer closeOutput(done, &err)
	hw := history.NewWriter(w)
	for _, e := range events {
		if err := hw.Write(e); err != nil {
			return err
		}
	}
	if err := hw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %d events\n", len(events))
	return nil
}

// closeOutput runs done (closing an output file) and keeps its error unless err already holds
// one: a failed close is a failed write.
func closeOutput(done func() error, err *error) {
	if cerr := done(); *err == nil {
		*err = cerr
	}
}

// output is where a command writes its result: the file path (created or truncated), or stdout
// when path is "". done closes the file and reports a failed write that only closing reveals.
func output(path string, stdout io.Writer) (w io.Writer, done func() error, err error) {
	if path == "" {
		return stdout, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}
