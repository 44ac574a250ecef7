package simulate_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/escalated/escalated/docs/examples"
	"github.com/escalated/escalated/internal/bench"
	"github.com/escalated/escalated/internal/simulate"
)

// TestSignalsAheadChangeNothing: a replay whose messages' signals are computed ahead, on a
// goroutine of their own, reports exactly what a replay computing them in the service does.
func TestSignalsAheadChangeNothing(t *testing.T) {
	events := bench.GenerateHistory(3000, 7)
	defer simulate.SetSignalsAhead(simulate.SetSignalsAhead(true))
	var out [2]bytes.Buffer
	for i, on := range []bool{true, false} {
		simulate.SetSignalsAhead(on)
		res, err := simulate.Run(context.Background(), "policy.yaml", examples.Policy, events, simulate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Escalations.Total == 0 {
			t.Fatalf("the history should make escalations: %+v", res)
		}
		if err := simulate.WriteResult(&out[i], res, "json"); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(out[0].Bytes(), out[1].Bytes()) {
		t.Errorf("with the signals computed ahead and without, the reports differ:\n%s\n---\n%s", out[0].String(), out[1].String())
	}
}
