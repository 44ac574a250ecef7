package policy

import (
	"fmt"
	"math"
	"time"
)

// ParseDuration parses a policy duration: Go's syntax ("30m", "4h30m") plus "d" for days of 24
// hours ("2d", "1d12h", "1.5d"), because SLA targets are naturally written in days and "72h"
// reads worse. A duration must be greater than zero: a zero or negative target would fire the
// moment its clock starts, which is never what the author meant.
func ParseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("bad duration %q (use Go durations like 30m, 4h, or days like 2d)", s)
	if s == "" {
		return 0, bad
	}
	// Split into number+unit segments; day segments are converted here and the rest is handed to
	// time.ParseDuration, which already knows every other unit and its edge cases.
	var total time.Duration
	rest := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		start := i
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == start {
			// A sign or stray letter: time.ParseDuration would accept "-", but a sign is never
			// meaningful for a target that must be positive.
			return 0, bad
		}
		num := s[start:i]
		for i < len(s) && !(s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		unit := s[start+len(num) : i]
		if unit == "" {
			return 0, bad
		}
		if unit != "d" {
			rest = append(rest, s[start:i]...)
			continue
		}
		// A day is 24 hours: parse the number as hours, which keeps ParseDuration's exact
		// decimal handling, then scale with an overflow check.
		h, err := time.ParseDuration(num + "h")
		if err != nil || h > math.MaxInt64/24 {
			return 0, bad
		}
		d := h * 24
		if total > math.MaxInt64-d {
			return 0, bad
		}
		total += d
	}
	if len(rest) > 0 {
		d, err := time.ParseDuration(string(rest))
		if err != nil || total > math.MaxInt64-d {
			return 0, bad
		}
		total += d
	}
	if total <= 0 {
		return 0, fmt.Errorf("bad duration %q: must be greater than zero", s)
	}
	return total, nil
}
