package main

import (
	"github.com/lsalign/lsalign/internal/memlimit"
)

// maxCount bounds the counts and sizes given on the command line (steps,
// tokens, lengths, matrix sides): a larger value is a typo or a
// misunderstanding, not a run anyone can wait for, and arithmetic on it
// could overflow. Such values are usage errors (exit 2); sound requests
// too big for this machine's memory are plain errors (exit 1).
const maxCount = 1_000_000_000

// checkCount reports a flag value outside [lo, maxCount] as a usage error.
func checkCount(flag string, v, lo int) error {
	if v < lo || v > maxCount {
		return usagef("%s must be in [%d, %d], got %d", flag, lo, maxCount, v)
	}
	return nil
}

// gemmMemory is the bytes of the float32 matrices A [m,k], B [k,n] and
// C [m,n] of one GEMM, saturating instead of wrapping around.
func gemmMemory(m, k, n int) int64 {
	M, K, N := int64(m), int64(k), int64(n)
	return memlimit.Product(memlimit.Sum(memlimit.Product(M, K), memlimit.Product(K, N), memlimit.Product(M, N)), 4)
}
