package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/escalated/escalated/internal/bench"
)

// A quick run of the bench command: every row it prints comes from a benchmark that ran and
// passed its own checks (each deadline fired once, the replay's result, the reports' queries).
func TestBenchCommandQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("runs benchmarks")
	}
	code, out, errOut := runCLI(t, "bench", "--scale", "0.0001", "--only", "rules,reports,catchup,simulate", "--format", "json", "--dir", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var rep bench.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	figures := map[string]bench.Row{}
	for _, r := range rep.Rows {
		figures[strings.SplitN(r.Figure, ",", 2)[0]] = r
		if r.Err != "" || r.Text == "" || r.Target == "" || r.Value <= 0 {
			t.Errorf("row %+v: want a measured value, its text and target, no error", r)
		}
		if r.BaselineValue > 0 && (r.Ratio <= 0 || r.Baseline == "") {
			t.Errorf("row %q has a baseline value without its ratio or description", r.Figure)
		}
	}
	for _, want := range []string{"100-rule policy", "escalation report", "catch-up of 1", "simulation"} {
		if _, ok := figures[want]; !ok {
			t.Errorf("no row for %q in %v", want, rep.Rows)
		}
	}
	if !strings.Contains(errOut, "bench: rules ...") {
		t.Errorf("no progress on standard error: %q", errOut)
	}
}

func TestBenchCommandUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--scale", "0"}, "--scale 0: want a number above 0 and at most 1"},
		{[]string{"bench", "--only", "speed"}, `--only "speed": want a comma-separated list of rules, ingest, api`},
		{[]string{"bench", "--format", "xml"}, `--format "xml": give table or json`},
		{[]string{"bench", "extra"}, "usage: escalated bench"},
	} {
		code, _, errOut := runCLI(t, tt.args...)
		if code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tt.args, code, errOut, tt.want)
		}
	}
}
