package escalated

import (
	"strings"
	"testing"
	"time"
)

// TestIDsGrowInCreationOrder interleaves ids for an earlier and a later millisecond, as
// concurrent requests do, and checks every id sorts after the one made before it.
func TestIDsGrowInCreationOrder(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	prev := ""
	for i := 0; i < 1000; i++ {
		at := t0
		if i%2 == 1 {
			at = t0.Add(5 * time.Millisecond)
		}
		id := strings.TrimPrefix(NewID(PrefixAudit, at), PrefixAudit)
		if id <= prev {
			t.Fatalf("id %d (%s) does not sort after the previous one (%s)", i, id, prev)
		}
		prev = id
	}
}
