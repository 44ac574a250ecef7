package memstore

import (
	"fmt"
	"math"
	"testing"
)

// TestKeyDigits: the key renderings are fmt's zero-padded decimal, and orderedInt sorts as the
// numbers do, negative ones too.
func TestKeyDigits(t *testing.T) {
	for _, n := range []int64{0, 1, 9, 10, 99, 12345, 1 << 40, math.MaxInt64} {
		if got, want := pad(n), fmt.Sprintf("%020d", n); got != want {
			t.Errorf("pad(%d) = %q, want %q", n, got, want)
		}
	}
	for _, u := range []uint64{0, 7, math.MaxUint64} {
		if got, want := digits20(u), fmt.Sprintf("%020d", u); got != want {
			t.Errorf("digits20(%d) = %q, want %q", u, got, want)
		}
	}
	ns := []int64{math.MinInt64, -1 << 40, -2, -1, 0, 1, 2, 1 << 40, math.MaxInt64}
	for i := 1; i < len(ns); i++ {
		if a, b := orderedInt(ns[i-1]), orderedInt(ns[i]); a >= b {
			t.Errorf("orderedInt(%d) = %q does not sort before orderedInt(%d) = %q", ns[i-1], a, ns[i], b)
		}
	}
}
