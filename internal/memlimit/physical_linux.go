package memlimit

import (
	"math"

	"golang.org/x/sys/unix"
)

// Physical returns the machine's physical memory in bytes (sysinfo's
// total RAM), or 0 when it cannot be read.
func Physical() int64 {
	var info unix.Sysinfo_t
	if err := unix.Sysinfo(&info); err != nil {
		return 0
	}
	total, unit := uint64(info.Totalram), uint64(max(info.Unit, 1))
	if total > math.MaxInt64/unit {
		return math.MaxInt64
	}
	return int64(total * unit)
}
