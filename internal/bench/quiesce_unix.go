//go:build unix

package bench

import "syscall"

// flushDirtyPages asks the kernel to write every dirty page back now (sync(2)), so that the
// writeback of one phase's files does not fall into the next phase's measurements.
func flushDirtyPages() { syscall.Sync() }
