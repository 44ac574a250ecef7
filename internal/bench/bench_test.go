package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// A server that stalls makes every request scheduled during the stall late: the load
// generator keeps sending on schedule and counts from the schedule (no coordinated omission).
func TestOpenLoopCountsFromTheSchedule(t *testing.T) {
	var mu sync.Mutex
	stall := make(chan struct{})
	load := OpenLoop(time.Now(), 1000, 100, func(i int) error {
		if i == 0 {
			mu.Lock()
			close(stall)
			time.Sleep(60 * time.Millisecond)
			mu.Unlock()
			return nil
		}
		<-stall
		mu.Lock()
		mu.Unlock()
		return nil
	})
	if len(load.Lat) != 100 || load.Failed != 0 {
		t.Fatalf("%d latencies, %d failed; want 100 and 0", len(load.Lat), load.Failed)
	}
	// Requests 1..50 were due 1..50 ms in and all waited until ~60 ms: at least the first 40
	// of them are 10 ms late or more. A closed loop would have sent them after the stall and
	// measured them as fast.
	late := 0
	for _, l := range load.Lat {
		if l >= 10*time.Millisecond {
			late++
		}
	}
	if late < 40 {
		t.Errorf("%d requests at least 10 ms late; want >= 40 (sorted latencies %v ...)", late, load.Lat[len(load.Lat)-45:])
	}
	if q := load.Quantile(1); q < 55*time.Millisecond {
		t.Errorf("max latency %s; want >= the 60 ms stall", q)
	}
	if r := load.Achieved(); r < 500 || r > 1100 {
		t.Errorf("achieved %.0f/s; want about 1,000/s", r)
	}
}

func TestOpenLoopCountsFailures(t *testing.T) {
	load := OpenLoop(time.Now(), 10000, 20, func(i int) error {
		if i%4 == 0 {
			return errFake
		}
		return nil
	})
	if load.Failed != 5 || load.FirstErr != errFake {
		t.Errorf("failed %d (first %v); want 5 (%v)", load.Failed, load.FirstErr, errFake)
	}
}

var errFake = &json.SyntaxError{}

func TestOptionsValidate(t *testing.T) {
	for _, tt := range []struct {
		o    Options
		want string
	}{
		{Options{Scale: 0}, "--scale 0: want a number above 0 and at most 1"},
		{Options{Scale: 2}, "--scale 2"},
		{Options{Scale: 1, Only: []string{"ingest", "speed"}}, `--only "speed": want a comma-separated list of rules, ingest`},
	} {
		err := tt.o.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v; want an error containing %q", tt.o, err, tt.want)
		}
	}
	if err := (Options{Scale: 0.5, Only: []string{"deadlines"}}).Validate(); err != nil {
		t.Error(err)
	}
}

// A benchmark that fails (Fatal) or fails a check (Errorf) gives rows that say so, and the
// run goes on; cleanups run either way.
func TestRunGroupFailures(t *testing.T) {
	o := Options{Scale: 1, Log: &bytes.Buffer{}}
	cleaned := 0
	rows := runGroup(context.Background(), t.TempDir(), o, "boom", func(t T, o Options) []Row {
		t.Cleanup(func() { cleaned++ })
		t.Fatalf("loading took %s", time.Second)
		return nil
	})
	if len(rows) != 1 || rows[0].Err != "loading took 1s" || rows[0].Figure != "boom" {
		t.Errorf("fatal: rows %+v", rows)
	}
	rows = runGroup(context.Background(), t.TempDir(), o, "check", func(t T, o Options) []Row {
		t.Cleanup(func() { cleaned++ })
		t.Errorf("%d breaches fired more than once", 3)
		return []Row{{Figure: "a", Met: "met"}, {Figure: "b", Met: "met"}}
	})
	if len(rows) != 2 || rows[0].Err != "3 breaches fired more than once" || rows[1].Err == "" {
		t.Errorf("check: rows %+v", rows)
	}
	rows = runGroup(context.Background(), t.TempDir(), o, "ok", func(t T, o Options) []Row {
		if d := t.TempDir(); d == "" {
			t.Fatal("no temporary directory")
		}
		return []Row{{Figure: "fine", Met: "met"}}
	})
	if len(rows) != 1 || rows[0].Err != "" {
		t.Errorf("ok: rows %+v", rows)
	}
	if cleaned != 2 {
		t.Errorf("%d cleanups ran; want 2", cleaned)
	}
}

func TestWriteTable(t *testing.T) {
	rep := &Report{Started: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC), Scale: 0.5, Machine: "2 cores", Took: "3s", Rows: []Row{
		{Figure: "ingest", Target: ">= 20,000 events/s", Text: "7,000 events/s", Baseline: "raw 40,000/s", Ratio: 0.175, Met: "missed", Note: "16 writers"},
		{Figure: "api", Target: "< 10 ms", Met: "missed", Err: "12 requests failed"},
	}}
	var buf bytes.Buffer
	if err := WriteTable(&buf, rep); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"scale 0.5", "FIGURE", "7,000 events/s", "raw 40,000/s", "0.175", "missed", "FAILED", "- api FAILED: 12 requests failed", "- ingest: 16 writers"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestCount(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 20000.4: "20,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := count(v); got != want {
			t.Errorf("count(%v) = %q; want %q", v, got, want)
		}
	}
}

// A cancelled run stops before the next benchmark and says so.
func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := Run(ctx, Options{Scale: 0.01, Dir: t.TempDir(), Only: []string{"rules"}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Cancelled || len(rep.Rows) != 0 {
		t.Errorf("cancelled run: %+v; want Cancelled and no rows", rep)
	}
	var buf bytes.Buffer
	WriteTable(&buf, rep)
	if !strings.Contains(buf.String(), "The run was cancelled") {
		t.Errorf("table does not say the run was cancelled:\n%s", buf.String())
	}
}

// A --postgres URL that does not connect fails the run before any benchmark, naming it.
func TestRunBadPostgres(t *testing.T) {
	_, err := Run(context.Background(), Options{Scale: 0.01, Dir: t.TempDir(), Only: []string{"rules"},
		Postgres: "postgres://nobody:secret@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"})
	if err == nil || !strings.Contains(err.Error(), "--postgres") || strings.Contains(err.Error(), "secret") {
		t.Errorf("Run with an unreachable PostgreSQL: %v; want an error naming --postgres without the password", err)
	}
}

func TestQuantileNearestRank(t *testing.T) {
	l := Load{}
	for i := 1; i <= 100; i++ {
		l.Lat = append(l.Lat, time.Duration(i)*time.Millisecond)
	}
	if q := l.Quantile(0.99); q != 99*time.Millisecond {
		t.Errorf("p99 of 1..100 ms = %s; want 99ms", q)
	}
	if q := l.Quantile(0.5); q != 50*time.Millisecond {
		t.Errorf("p50 of 1..100 ms = %s; want 50ms", q)
	}
	if q := l.Quantile(1); q != 100*time.Millisecond {
		t.Errorf("max = %s; want 100ms", q)
	}
	l.Failed, l.Took = 10, time.Second
	if a := l.Achieved(); a != 90 {
		t.Errorf("achieved %v/s with 10 of 100 failed over 1 s; want 90", a)
	}
}
