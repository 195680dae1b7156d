//go:build !unix

package train

// freeBytes cannot measure free space on this platform.
func freeBytes(string) (uint64, bool) { return 0, false }
