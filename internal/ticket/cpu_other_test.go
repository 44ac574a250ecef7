//go:build !unix

package ticket_test

import "time"

// processCPU is not measured on this platform: the benchmark reports 0 µs of CPU.
func processCPU() time.Duration { return 0 }
