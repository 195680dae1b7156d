//go:build unix

package train

import "golang.org/x/sys/unix"

// freeBytes is the space available to an unprivileged user on dir's file
// system; ok is false when it cannot be measured.
func freeBytes(dir string) (uint64, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return st.Bavail * uint64(st.Bsize), true
}
