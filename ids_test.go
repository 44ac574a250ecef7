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

// TestIDOutOfRangeTimes: a time a ULID cannot hold (a client's "1969" or "year 20000") gives
// an id rather than a panic, and leaves later ids intact.
func TestIDOutOfRangeTimes(t *testing.T) {
	for _, at := range []time.Time{time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if id := NewID(PrefixMessage, at); len(id) != len(PrefixMessage)+26 {
			t.Errorf("NewID(%v) = %q", at, id)
		}
	}
	// The year-20000 id pushed "last" to the maximum; later ids still come, in order.
	a, b := NewID(PrefixEvent, time.Now()), NewID(PrefixEvent, time.Now())
	if a >= b {
		t.Errorf("ids after an out-of-range time do not grow: %s then %s", a, b)
	}
}
