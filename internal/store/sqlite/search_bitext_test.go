package sqlite

import (
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/escalated/escalated/internal/store/storetest"
)

// bitextSample is the project's copy of the Bitext sample, beside the repository.
var bitextSample = filepath.Join("..", "..", "..", "..", "shared", "data", "bitext", "customer_support_training_sample.csv")

// TestSimilarResolvedQuality measures the similar-ticket ranking on the Bitext sample (see
// storetest.MeasureSimilar) and fails when it falls below what it measured when last tuned
// (hit@1 0.950, hit@3 0.987), less a small margin.
func TestSimilarResolvedQuality(t *testing.T) {
	if raceDetector() {
		// The measurement runs on one goroutine, so the detector has nothing to find, and it
		// makes the transpiled SQLite about 70 times slower: two minutes instead of two seconds.
		t.Skip("skipped under -race: run go test -run TestSimilarResolvedQuality -v ./internal/store/sqlite/ to measure")
	}
	q := storetest.MeasureSimilar(t, mustOpen(t), bitextSample)
	t.Logf("SQLite FTS5 bm25: %s", q)
	const floor1, floor3 = 0.93, 0.97
	if q.Hit1 < floor1 || q.Hit3 < floor3 {
		t.Errorf("similar-ticket quality fell: hit@1 %.3f (floor %.2f), hit@3 %.3f (floor %.2f)", q.Hit1, floor1, q.Hit3, floor3)
	}
}

// raceDetector reports whether the test binary was built with -race.
func raceDetector() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}
