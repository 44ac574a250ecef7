//go:build !unix

package bench

// flushDirtyPages does nothing where there is no sync(2).
func flushDirtyPages() {}
