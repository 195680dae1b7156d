package gemm

import (
	"fmt"
	"testing"
	"time"

	"github.com/lsalign/lsalign/internal/rng"
)

// benchShape is a product op(A)(m×k)·op(B)(k×n) as the engine calls it.
type benchShape struct {
	m, k, n int
	transB  bool
	threads int
	label   string
}

var benchShapes = []benchShape{
	{2048, 256, 1024, false, 1, "paper headline"},
	{2048, 256, 1024, false, 0, "paper headline"},
	{2048, 128, 384, true, 1, "qkv forward"},
	{2048, 128, 384, true, 0, "qkv forward"},
	{384, 2048, 128, false, 1, "weight gradient"},
	{384, 2048, 128, false, 0, "weight gradient"},
	{256, 32, 256, true, 1, "attention scores per head"},
}

func (s benchShape) String() string {
	t := "NN"
	if s.transB {
		t = "NT"
	}
	return fmt.Sprintf("%dx%dx%d_%s_t%d", s.m, s.k, s.n, t, s.threads)
}

// bench runs f on s and reports GFLOP/s.
func (s benchShape) bench(b *testing.B, f SgemmFunc) {
	r := rng.New(5)
	x, y, c := randomFloats(r, s.m*s.k), randomFloats(r, s.k*s.n), make([]float32, s.m*s.n)
	ldb := s.n
	if s.transB {
		ldb = s.k
	}
	call := func() { f(s.threads, false, s.transB, s.m, s.n, s.k, 1, x, s.k, y, ldb, 0, c, s.n) }
	call()
	b.ResetTimer()
	for b.Loop() {
		call()
	}
	b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkSgemm measures the native kernels and, when it loads, OpenBLAS
// at the engine's shapes (m×k×n). All native runs come first: after a
// multi-threaded call OpenBLAS's idle threads spin for a while and would
// steal the cores from the native runs that follow.
func BenchmarkSgemm(b *testing.B) {
	for _, s := range benchShapes {
		b.Run("native/"+s.String(), func(b *testing.B) { s.bench(b, nativeSgemm()) })
	}
	blas, blasErr := OpenBLAS()
	for _, s := range benchShapes {
		b.Run("openblas/"+s.String(), func(b *testing.B) {
			if blasErr != nil {
				b.Skipf("OpenBLAS not loadable: %v", blasErr)
			}
			s.bench(b, blas)
		})
	}
}

// BenchmarkSgemmVsOpenBLAS alternates native and OpenBLAS calls at
// 2048×256×1024, single-threaded, so both see the same machine load. It
// reports both mean rates, their ratio, and the ratio of the fastest calls,
// which is the steadier figure on a shared machine.
func BenchmarkSgemmVsOpenBLAS(b *testing.B) {
	blas, err := OpenBLAS()
	if err != nil {
		b.Skipf("OpenBLAS not loadable: %v", err)
	}
	const m, k, n = 2048, 256, 1024
	r := rng.New(6)
	x, y, c := randomFloats(r, m*k), randomFloats(r, k*n), make([]float32, m*n)
	fs := [2]SgemmFunc{nativeSgemm(), blas}
	var total, best [2]time.Duration
	for b.Loop() {
		for i, f := range fs {
			t0 := time.Now()
			f(1, false, false, m, n, k, 1, x, k, y, n, 0, c, n)
			d := time.Since(t0)
			total[i] += d
			if best[i] == 0 || d < best[i] {
				best[i] = d
			}
		}
	}
	flops := 2 * float64(m*n*k) * float64(b.N)
	b.ReportMetric(flops/total[0].Seconds()/1e9, "native-GFLOP/s")
	b.ReportMetric(flops/total[1].Seconds()/1e9, "openblas-GFLOP/s")
	b.ReportMetric(total[1].Seconds()/total[0].Seconds(), "ratio-mean")
	b.ReportMetric(best[1].Seconds()/best[0].Seconds(), "ratio-best")
}
