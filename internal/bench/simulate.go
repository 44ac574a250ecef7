package bench

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/escalated/escalated/docs/examples"
	"github.com/escalated/escalated/internal/history"
	"github.com/escalated/escalated/internal/simulate"
)

// Replay is what one replay measured.
type Replay struct {
	Events   int
	Took     time.Duration
	Result   *simulate.Result
	PeakHeap uint64 // bytes, sampled every 50 ms
	PeakRSS  uint64 // bytes (VmHWM, reset at the start; 0 where /proc has none)
}

// Rate is replayed history events per second.
func (r Replay) Rate() float64 { return float64(r.Events) / r.Took.Seconds() }

// RunReplay replays events through docs/examples/policy.yaml, in memory or on a scratch
// SQLite database in a temporary directory.
func RunReplay(t T, events []history.Event, onDisk bool) Replay {
	runtime.GC()
	resetPeakRSS()
	start := time.Now()
	peak := watchHeap()
	res, err := simulate.Run(context.Background(), "policy.yaml", examples.Policy, events, simulate.Options{OnDisk: onDisk, Dir: t.TempDir()})
	heap := peak()
	if err != nil {
		t.Fatal(err)
	}
	return Replay{Events: len(events), Took: time.Since(start), Result: res, PeakHeap: heap, PeakRSS: peakRSS()}
}

// runSimulate: a generated history of 200,000 events replayed in memory through the example
// policy; the baseline is the same simulator on a scratch SQLite database (its first store),
// replaying the history's first tenth in the same run.
func runSimulate(t T, o Options) []Row {
	n := o.scaled(200_000, 2_000)
	events := GenerateHistory(n, 1)
	base := RunReplay(t, events[:len(events)/10], true)
	mem := RunReplay(t, events, false)
	res := mem.Result
	return []Row{{
		Figure: fmt.Sprintf("simulation, %s events, in memory", count(float64(len(events)))), Target: ">= 200,000 events/s",
		Value: mem.Rate(), Unit: "events/s", Text: count(mem.Rate()) + " events/s",
		Baseline:      fmt.Sprintf("scratch SQLite %s events/s", count(base.Rate())),
		BaselineValue: base.Rate(), Ratio: mem.Rate() / base.Rate(), Met: verdict(mem.Rate() >= 200_000),
		Note: fmt.Sprintf("%s tickets: %s deadlines fired, %s agent actions, %s escalations; %.1f s; peak heap %s MB, peak RSS %s MB (baseline over the first %s events)",
			count(float64(res.Tickets)), count(float64(res.DeadlinesFired)), count(float64(res.AgentActions)), count(float64(res.Escalations.Total)),
			mem.Took.Seconds(), count(float64(mem.PeakHeap)/1e6), count(float64(mem.PeakRSS)/1e6), count(float64(base.Events))),
	}}
}

// watchHeap samples the live heap every 50 ms until the returned function is called, which
// returns the largest sample (the history itself included, and garbage not yet collected).
func watchHeap() func() uint64 {
	stop, done := make(chan struct{}), make(chan uint64)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stop:
				done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { close(stop); return <-done }
}
