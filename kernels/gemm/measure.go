package gemm

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lsalign/lsalign/internal/rng"
)

// measureReps is how many timed repetitions Measure takes the median of.
const measureReps = 5

// Measure runs the native kernels (or OpenBLAS when useOpenBLAS) on random
// m×k·k×n matrices (no transposes, beta 0) with the given threads for about
// dur after a warm-up and returns GFLOP/s, the median of several
// repetitions. The native kernels are measured even when LSALIGN_BLAS
// selects OpenBLAS for Sgemm, so the two can be compared in one process;
// measure native first when threads > 1, since OpenBLAS's idle threads
// keep spinning for a while after a multi-threaded call.
func Measure(m, k, n, threads int, useOpenBLAS bool, dur time.Duration) (gflops float64, err error) {
	if m <= 0 || k <= 0 || n <= 0 {
		return 0, fmt.Errorf("gemm: Measure needs positive sizes, got m=%d k=%d n=%d", m, k, n)
	}
	if dur <= 0 {
		return 0, errors.New("gemm: Measure needs a positive duration")
	}
	f := nativeSgemm()
	if useOpenBLAS {
		if f, err = OpenBLAS(); err != nil {
			return 0, err
		}
	}
	r := rng.New(uint64(m*131071 + k*8191 + n))
	a, b, c := randomFloats(r, m*k), randomFloats(r, k*n), make([]float32, m*n)
	call := func() { f(threads, false, false, m, n, k, 1, a, k, b, n, 0, c, n) }

	// timed runs call for at least d (and at least once) and returns GFLOP/s.
	timed := func(d time.Duration) float64 {
		calls, start := 0, time.Now()
		for calls == 0 || time.Since(start) < d {
			call()
			calls++
		}
		return 2 * float64(m) * float64(n) * float64(k) * float64(calls) / time.Since(start).Seconds() / 1e9
	}
	timed(dur / 10)
	rates := make([]float64, measureReps)
	for i := range rates {
		rates[i] = timed(dur / measureReps)
	}
	slices.Sort(rates)
	return rates[measureReps/2], nil
}

// nativeSgemm is SgemmThreads on the package's own best kernel, whatever
// backend LSALIGN_BLAS selects.
func nativeSgemm() SgemmFunc {
	kern := selectedBackend().native
	return func(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		sgemm(kern, threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

func randomFloats(r *rng.RNG, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.Float64()*2 - 1)
	}
	return x
}
