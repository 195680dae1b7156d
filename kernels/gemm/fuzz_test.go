package gemm

import (
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
)

// FuzzSgemm checks random shapes, strides, transposes, scalings and thread
// counts of the process's native kernel against Naive.
func FuzzSgemm(f *testing.F) {
	f.Add(uint8(7), uint8(17), uint8(5), uint8(0), uint8(1), uint8(2), uint64(1))
	f.Add(uint8(13), uint8(1), uint8(40), uint8(3), uint8(0), uint8(3), uint64(2))
	f.Add(uint8(0), uint8(9), uint8(9), uint8(1), uint8(4), uint8(1), uint64(3))
	f.Add(uint8(33), uint8(35), uint8(1), uint8(2), uint8(5), uint8(7), uint64(4))
	kern := selectedBackend().native
	f.Fuzz(func(t *testing.T, m, n, k, flags, scaling, threads uint8, seed uint64) {
		ab := scalings[int(scaling)%len(scalings)]
		tc := newCase(rng.New(seed), flags&1 != 0, flags&2 != 0, int(m%50), int(n%50), int(k%70),
			int(flags>>2)%4, ab[0], ab[1])
		got := tc.run(func(c []float32) {
			sgemm(kern, int(threads%8), tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha,
				tc.a, tc.lda, tc.b, tc.ldb, tc.beta, c, tc.ldc)
		})
		tc.check(t, kern.name, got)
	})
}
