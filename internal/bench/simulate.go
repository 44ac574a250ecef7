package bench

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/docs/examples"
	"github.com/escalated/escalated/internal/history"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/simulate"
	"github.com/escalated/escalated/internal/ticket"
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

// SignalsFloor computes the signals of every message a replay of events would compute them for
// (opening messages, messages, handoff transcripts) with the extractor of the policy src, one
// after the other as a replay's signals goroutine does (a handoff's transcript is the
// service's), and returns history events per second: a bound no replay through that policy
// passes on this CPU, whatever its store and service cost, since a rule can read a message only
// once its signals are known.
func SignalsFloor(t T, src []byte, events []history.Event) float64 {
	pol, err := policy.Parse("policy.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	x, err := ticket.NewExtractor(pol)
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, e := range events {
		if e.Message != nil {
			bodies = append(bodies, e.Message.Body)
		}
		if e.Handoff != nil {
			for _, l := range e.Handoff.Transcript {
				bodies = append(bodies, l.Body)
			}
		}
	}
	if len(bodies) == 0 {
		t.Fatal("the history has no messages")
	}
	start := time.Now()
	for _, b := range bodies {
		floorSink = x.Message(b)
	}
	return float64(len(events)) / time.Since(start).Seconds()
}

// floorSink keeps SignalsFloor's work from being optimised away.
var floorSink escalated.Signals

// runSimulate: a generated history of 200,000 events replayed in memory through the example
// policy; the baseline is the same simulator on a scratch SQLite database (its first store),
// replaying the history's first tenth in the same run.
func runSimulate(t T, o Options) []Row {
	n := o.scaled(200_000, 2_000)
	events := GenerateHistory(n, 1)
	base := RunReplay(t, events[:len(events)/10], true)
	mem := RunReplay(t, events, false)
	floor := SignalsFloor(t, examples.Policy, events)
	res := mem.Result
	return []Row{{
		Figure: fmt.Sprintf("simulation, %s events, in memory", count(float64(len(events)))), Target: ">= 200,000 events/s",
		Value: mem.Rate(), Unit: "events/s", Text: count(mem.Rate()) + " events/s",
		Baseline:      fmt.Sprintf("scratch SQLite %s events/s", count(base.Rate())),
		BaselineValue: base.Rate(), Ratio: mem.Rate() / base.Rate(), Met: verdict(mem.Rate() >= 200_000),
		Note: fmt.Sprintf("%s tickets: %s deadlines fired, %s agent actions, %s escalations; %.1f s; peak heap %s MB, peak RSS %s MB (baseline over the first %s events)",
			count(float64(res.Tickets)), count(float64(res.DeadlinesFired)), count(float64(res.AgentActions)), count(float64(res.Escalations.Total)),
			mem.Took.Seconds(), count(float64(mem.PeakHeap)/1e6), count(float64(mem.PeakRSS)/1e6), count(float64(base.Events))),
	}, {
		Figure: "simulation floor: the same history's signals alone", Target: "(context)",
		Value: floor, Unit: "events/s", Text: count(floor) + " events/s",
		Baseline: fmt.Sprintf("the replay above %s events/s", count(mem.Rate())), BaselineValue: mem.Rate(), Ratio: floor / mem.Rate(), Met: "n/a",
		Note: fmt.Sprintf("every message's signals (keywords, sentiment) computed one after the other and nothing else: %.1f µs per history event; "+
			"a replay decides in one goroutine (routing counts every ticket's load, and the result is the same byte for byte) and computes the messages' signals ahead in another, so at 200,000 events/s the signals' goroutine has 5 µs per event and the two cores together 10 µs of CPU per event for everything",
			1e6/floor),
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
