// Package bench runs the quality-bar benchmarks of PRODUCT.md section 7 side by side with the
// baselines they are judged against, measured in the same run: `escalated bench` prints their
// table, and the Go benchmarks of the packages (go test -bench) call the same bodies.
//
// A benchmark body takes a T, which *testing.B satisfies and so does the command's runner: the
// code that loads a million clocks or drives a node over HTTP is the same whichever runs it.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// T is what a benchmark body needs from whoever runs it.
type T interface {
	// Context is done when the run is cancelled (Ctrl-C): long waits give up then.
	Context() context.Context
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Fatal(args ...any)
	TempDir() string
	Cleanup(func())
}

// Figures are the groups `escalated bench --only` accepts, in the order they run.
var Figures = []string{"rules", "ingest", "api", "reports", "deadlines", "catchup", "simulate"}

// Options says what to run and how big.
type Options struct {
	// Dir is where the run's fresh data directory is made (removed afterwards unless Keep).
	Dir  string
	Keep bool
	// Scale multiplies every size (1: the sizes of PRODUCT.md's bars). Rates and targets stay.
	Scale float64
	// Only limits the run to these groups of Figures (none: all).
	Only []string
	// Postgres, when set, adds the PostgreSQL rows (ingest, deadlines, reports) on fresh
	// schemas of this database.
	Postgres string
	// Log receives progress lines ("" lines are never written); nil: discarded.
	Log io.Writer
}

// Row is one line of the table: a figure, its target, what was measured, and the baseline it
// is compared with in the same run.
type Row struct {
	Figure string `json:"figure"`
	Target string `json:"target"`
	// Value and Unit are the measurement; Text is how the table shows it.
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	Text  string  `json:"measured"`
	// Baseline describes the baseline and its value (empty when the figure has none).
	Baseline      string  `json:"baseline,omitempty"`
	BaselineValue float64 `json:"baseline_value,omitempty"`
	// Ratio is Value / BaselineValue (0 when there is no baseline).
	Ratio float64 `json:"ratio,omitempty"`
	// Met is whether the target was reached ("met", "missed"; "n/a" for context rows).
	Met string `json:"met"`
	// Note says what else the reader needs (sizes, checks, achieved rates).
	Note string `json:"note,omitempty"`
	// Err is set when the benchmark itself failed; Value is then meaningless.
	Err string `json:"error,omitempty"`
}

// Report is a whole run.
type Report struct {
	Started time.Time `json:"started"`
	Took    string    `json:"took"`
	Scale   float64   `json:"scale"`
	Machine string    `json:"machine"`
	Rows    []Row     `json:"rows"`
	// Failures counts the benchmarks (not rows) that failed their own checks.
	Failures int `json:"failures"`
	// Cancelled says the run was stopped before every benchmark ran: the rows are those that
	// finished.
	Cancelled bool `json:"cancelled,omitempty"`
}

// Validate checks the options, naming what is wrong and what is allowed.
func (o Options) Validate() error {
	if o.Scale <= 0 || o.Scale > 1 || math.IsNaN(o.Scale) {
		return fmt.Errorf("--scale %v: want a number above 0 and at most 1 (1 runs the sizes of the quality bars; 0.01 a quick run)", o.Scale)
	}
	for _, g := range o.Only {
		if !slices.Contains(Figures, g) {
			return fmt.Errorf("--only %q: want a comma-separated list of %s", g, strings.Join(Figures, ", "))
		}
	}
	return nil
}

func (o Options) runs(group string) bool { return len(o.Only) == 0 || slices.Contains(o.Only, group) }

// scaled is n times the scale, at least lo.
func (o Options) scaled(n int, lo int) int { return max(lo, int(math.Round(float64(n)*o.Scale))) }

// scaledDur is d times the scale, at least lo.
func (o Options) scaledDur(d, lo time.Duration) time.Duration {
	return max(lo, time.Duration(float64(d)*o.Scale)).Round(time.Second)
}

// Run runs the selected benchmarks one after the other in a fresh data directory and returns
// their rows. A benchmark that fails gives a row with Err and the others still run.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	base := o.Dir
	if base == "" {
		base = os.TempDir()
	}
	dir, err := os.MkdirTemp(base, "escalated-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: data directory: %w", err)
	}
	if !o.Keep {
		defer os.RemoveAll(dir)
	}
	fmt.Fprintf(o.Log, "bench: data directory %s, scale %g\n", dir, o.Scale)
	rep := &Report{Started: time.Now().UTC(), Scale: o.Scale, Machine: machine()}
	if o.Postgres != "" {
		// A wrong URL should fail now, not after an hour of SQLite benchmarks.
		rows := runGroup(ctx, filepath.Join(dir, "postgres-check"), o, "postgres", func(t T, o Options) []Row {
			PostgresSchema(t, o.Postgres)
			return nil
		})
		if len(rows) > 0 {
			return nil, fmt.Errorf("bench: --postgres: %s", rows[0].Err)
		}
	}
	// Each store's part of a group is its own benchmark: a failed check on PostgreSQL must not
	// void the SQLite figures measured beside it.
	type group struct {
		name, store string
		run         func(T, Options) []Row
	}
	groups := []group{
		{"rules", "", runRules},
		{"ingest", "sqlite", runIngestSQLite}, {"ingest", "postgres", runIngestPostgres},
		{"api", "", runAPI},
		{"reports", "sqlite", runReportsSQLite}, {"reports", "postgres", runReportsPostgres},
		{"deadlines", "sqlite", runLatenessSQLite}, {"deadlines", "postgres", runLatenessPostgres},
		{"catchup", "sqlite", runCatchUpSQLite}, {"catchup", "postgres", runCatchUpPostgres},
		{"simulate", "", runSimulate},
	}
	for _, g := range groups {
		if !o.runs(g.name) || (g.store == "postgres" && o.Postgres == "") {
			continue
		}
		if ctx.Err() != nil {
			rep.Cancelled = true
			break
		}
		name := g.name
		if g.store != "" {
			name += "/" + g.store
		}
		fmt.Fprintf(o.Log, "bench: %s ...\n", name)
		started := time.Now()
		rows := runGroup(ctx, filepath.Join(dir, strings.ReplaceAll(name, "/", "-")), o, name, g.run)
		if slices.ContainsFunc(rows, func(r Row) bool { return r.Err != "" }) {
			rep.Failures++
		}
		if ctx.Err() != nil {
			// Figures of a benchmark cut short mean nothing.
			rep.Cancelled = true
			break
		}
		rep.Rows = append(rep.Rows, rows...)
		fmt.Fprintf(o.Log, "bench: %s took %s\n", name, time.Since(started).Round(100*time.Millisecond))
		// Give the next benchmark the memory this one left, and the disk: the kernel writes
		// this one's dirty pages back now rather than during the next one (see quiesce).
		debug.FreeOSMemory()
		flushDirtyPages()
	}
	rep.Took = time.Since(rep.Started).Round(time.Second).String()
	return rep, nil
}

// runGroup runs one group with its own runner and turns a failure into a row.
func runGroup(ctx context.Context, dir string, o Options, name string, fn func(T, Options) []Row) (rows []Row) {
	r := &runner{ctx: ctx, dir: dir, log: o.Log, name: name}
	defer func() {
		v := recover()
		// Cleanups first (stopping nodes, dropping schemas), so that what they report counts
		// too; one that fails with Fatal is recorded like the body's.
		func() {
			defer func() {
				if f, ok := recover().(fatal); ok {
					r.Errorf("cleanup: %s", string(f))
				}
			}()
			r.cleanup()
		}()
		if v == nil && len(r.errs) == 0 {
			return
		}
		msg := strings.Join(r.errs, "; ")
		if f, ok := v.(fatal); ok {
			msg = strings.TrimPrefix(msg+"; "+string(f), "; ")
		} else if v != nil {
			panic(v)
		}
		if len(rows) == 0 {
			rows = []Row{{Figure: name, Met: "missed"}}
		}
		// The checks a body makes (each deadline fired once, no request failed) invalidate
		// every figure it produced.
		for i := range rows {
			rows[i].Err = msg
		}
	}()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.Fatalf("data directory: %v", err)
	}
	return fn(r, o)
}

// fatal is what runner.Fatal panics with; runGroup recovers it.
type fatal string

// runner is the command's T: Fatal ends the benchmark (not the run), Errorf records a failed
// check, Logf writes progress.
type runner struct {
	ctx       context.Context
	dir, name string
	log       io.Writer
	mu        sync.Mutex
	errs      []string
	cleanups  []func()
	temps     int
}

func (r *runner) Helper()                  {}
func (r *runner) Context() context.Context { return r.ctx }
func (r *runner) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.log, "  %s: %s\n", r.name, fmt.Sprintf(format, args...))
}
func (r *runner) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
	fmt.Fprintf(r.log, "  %s: FAILED CHECK: %s\n", r.name, r.errs[len(r.errs)-1])
}
func (r *runner) Fatalf(format string, args ...any) { panic(fatal(fmt.Sprintf(format, args...))) }
func (r *runner) Fatal(args ...any)                 { panic(fatal(strings.TrimSuffix(fmt.Sprintln(args...), "\n"))) }
func (r *runner) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}
func (r *runner) TempDir() string {
	r.mu.Lock()
	r.temps++
	d := filepath.Join(r.dir, fmt.Sprintf("%03d", r.temps))
	r.mu.Unlock()
	if err := os.MkdirAll(d, 0o755); err != nil {
		r.Fatalf("temporary directory: %v", err)
	}
	return d
}
func (r *runner) cleanup() {
	for len(r.cleanups) > 0 {
		f := r.cleanups[len(r.cleanups)-1]
		r.cleanups = r.cleanups[:len(r.cleanups)-1]
		f()
	}
}

// machine describes where the run happened.
func machine() string {
	model := "unknown CPU"
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	// The collector's target: it moves CPU per write by a tenth or more.
	gc := debug.SetGCPercent(100)
	debug.SetGCPercent(gc)
	return fmt.Sprintf("%d cores (%s), %s, %s/%s, GOGC %d", runtime.NumCPU(), model, runtime.Version(), runtime.GOOS, runtime.GOARCH, gc)
}

// WriteTable writes the report as an aligned table with a line per figure.
func WriteTable(w io.Writer, rep *Report) error {
	fmt.Fprintf(w, "escalated bench, %s, scale %g, %s, took %s\n\n", rep.Started.Format(time.RFC3339), rep.Scale, rep.Machine, rep.Took)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tTARGET\tMEASURED\tBASELINE (same run)\tRATIO\tMET")
	for _, r := range rep.Rows {
		ratio := ""
		if r.Ratio != 0 {
			ratio = fmt.Sprintf("%.3g", r.Ratio)
		}
		met := r.Met
		text := r.Text
		if r.Err != "" {
			met, text = "FAILED", "(failed: see below)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Figure, r.Target, text, r.Baseline, ratio, met)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rep.Cancelled {
		fmt.Fprintf(w, "\nThe run was cancelled: the benchmarks after the last row did not run.\n")
	}
	var notes []string
	for _, r := range rep.Rows {
		if r.Err != "" {
			notes = append(notes, fmt.Sprintf("- %s FAILED: %s", r.Figure, r.Err))
		}
		if r.Note != "" {
			notes = append(notes, fmt.Sprintf("- %s: %s", r.Figure, r.Note))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(notes, "\n"))
	}
	_, err := fmt.Fprintf(w, "\nReliability bars (kill -9, two PostgreSQL nodes, a webhook receiver down) are checked by the test suite, not timed: see BENCHMARKS.md.\n")
	return err
}

// WriteJSON writes the report as one JSON document.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// verdict is "met" or "missed".
func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

// sized is the verdict of a target that is about the bar's sizes (a million clocks or tickets,
// 100,000 overdue deadlines): a run scaled down measures less work, so it gives no verdict.
func (o Options) sized(ok bool) string {
	if o.Scale < 1 {
		return "n/a (scaled)"
	}
	return verdict(ok)
}

// count formats a whole number with thousands separators.
func count(v float64) string {
	s := fmt.Sprintf("%.0f", math.Round(v))
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
