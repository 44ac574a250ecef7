package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/escalated/escalated/internal/bench"
)

// benchCmd runs PRODUCT.md's quality-bar benchmarks with their baselines (internal/bench) and
// prints the table. Missing a target is a measurement, not a failure; a benchmark that fails
// its own checks (a deadline fired twice, requests refused) makes the command fail.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlags("bench", stderr)
	scale := fs.Float64("scale", 1, "multiply every size by this (1: the quality bars' sizes; 0.01 for a quick run)")
	only := fs.String("only", "", "run only these, comma-separated: "+strings.Join(bench.Figures, ", "))
	pg := fs.String("postgres", "", "also run the PostgreSQL rows on fresh schemas of this database URL")
	dir := fs.String("dir", "", "make the fresh data directory under this one (default: the system's temporary directory)")
	keep := fs.Bool("keep", false, "keep the data directory afterwards")
	format := fs.String("format", "table", "table or json")
	out := fs.String("out", "", "write the table to this file (default: standard output)")
	quiet := fs.Bool("quiet", false, "no progress lines on standard error")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{"usage: escalated bench [--scale 1] [--only " + strings.Join(bench.Figures, ",") + "] [--postgres URL] [--dir DIR] [--keep] [--format table|json] [--out FILE] [--quiet] [--cpuprofile FILE]"}
	}
	if *format != "table" && *format != "json" {
		return usageError{fmt.Sprintf("--format %q: give table or json", *format)}
	}
	// The nodes the benchmarks start run in this process: with the collector a node has.
	nodeGC()
	o := bench.Options{Dir: *dir, Keep: *keep, Scale: *scale, Postgres: *pg, Log: stderr}
	if *quiet {
		o.Log = io.Discard
	}
	if *only != "" {
		for _, g := range strings.Split(*only, ",") {
			o.Only = append(o.Only, strings.TrimSpace(g))
		}
	}
	if err := o.Validate(); err != nil {
		return usageError{err.Error()}
	}
	// Opened first: a path that cannot be written should fail now, not after an hour's run.
	w, done, err := output(*out, stdout)
	if err != nil {
		return err
	}
	defer closeOutput(done, &err)
	// The first Ctrl-C stops the run after the benchmark in progress gives up and prints what
	// finished; from then on the signals' default applies, so a second one ends the process.
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-ctx.Done():
			signal.Reset(os.Interrupt, syscall.SIGTERM)
		case <-finished:
		}
	}()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := bench.Run(ctx, o)
	if err != nil {
		return err
	}
	if *format == "json" {
		err = bench.WriteJSON(w, rep)
	} else {
		err = bench.WriteTable(w, rep)
	}
	if err != nil {
		return err
	}
	if rep.Failures > 0 {
		return fmt.Errorf("%d benchmarks failed their checks (see the notes under the table)", rep.Failures)
	}
	if rep.Cancelled {
		return fmt.Errorf("cancelled: the table holds the benchmarks that finished")
	}
	return nil
}
