package gemm

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
)

// sentinel marks padding of C between rows, which Sgemm must leave alone.
const sentinel = 12345

// gemmCase is one call's inputs, stored with strides larger than the rows
// (pad) and NaN in A's and B's padding, so reading outside the matrices
// shows up as NaN in C.
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b           []float32
	lda, ldb, ldc  int
	c              *testutil.Guarded // NaN where beta is 0, sentinel in padding
}

func newCase(r *rng.RNG, transA, transB bool, m, n, k, pad int, alpha, beta float32) *gemmCase {
	tc := &gemmCase{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	tc.a, tc.lda = paddedMatrix(r, ar, ac, pad, float32(math.NaN()))
	tc.b, tc.ldb = paddedMatrix(r, br, bc, pad, float32(math.NaN()))
	var c []float32
	c, tc.ldc = paddedMatrix(r, m, n, pad, sentinel)
	tc.c = testutil.NewGuarded(len(c), 0)
	copy(tc.c.S, c)
	if beta == 0 {
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				tc.c.S[i*tc.ldc+j] = float32(math.NaN())
			}
		}
	}
	return tc
}

// paddedMatrix returns a random rows×cols matrix with row stride cols+pad
// whose padding holds fill.
func paddedMatrix(r *rng.RNG, rows, cols, pad int, fill float32) ([]float32, int) {
	ld := cols + pad
	if rows == 0 {
		return nil, ld
	}
	x := testutil.Rand32(r, (rows-1)*ld+cols, 1)
	for i := 0; i < rows-1; i++ {
		for j := cols; j < ld; j++ {
			x[i*ld+j] = fill
		}
	}
	return x, ld
}

func (tc *gemmCase) String() string {
	return fmt.Sprintf("tA=%v tB=%v m=%d n=%d k=%d lda=%d ldb=%d ldc=%d alpha=%g beta=%g",
		tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.lda, tc.ldb, tc.ldc, tc.alpha, tc.beta)
}

// run calls f on a fresh copy of C and returns the result.
func (tc *gemmCase) run(f func(c []float32)) *testutil.Guarded {
	out := testutil.NewGuarded(len(tc.c.S), 0)
	copy(out.S, tc.c.S)
	f(out.S)
	return out
}

// check compares got (a run of tc) with Naive. The tolerance is the
// standard float32 dot-product bound, (k+4)·2⁻²³ times the same product
// taken in absolute values, so it is tight for cancelling sums as well.
func (tc *gemmCase) check(t *testing.T, name string, got *testutil.Guarded) {
	t.Helper()
	got.Check(t, name+" "+tc.String())
	want := make([]float32, len(tc.c.S))
	copy(want, tc.c.S)
	Naive(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.a, tc.lda, tc.b, tc.ldb, tc.beta, want, tc.ldc)
	bound := make([]float32, len(tc.c.S))
	for i, v := range tc.c.S {
		bound[i] = float32(math.Abs(float64(v)))
	}
	Naive(tc.transA, tc.transB, tc.m, tc.n, tc.k, abs32(tc.alpha), absAll(tc.a), tc.lda, absAll(tc.b), tc.ldb,
		abs32(tc.beta), bound, tc.ldc)
	tol := float64(tc.k+4) * 0x1p-23
	for i := 0; i < tc.m; i++ {
		for j := 0; j < tc.n; j++ {
			x := i*tc.ldc + j
			if d := math.Abs(float64(got.S[x]) - float64(want[x])); !(d <= tol*float64(bound[x])) {
				t.Fatalf("%s %s: C[%d][%d] = %g, want %g (bound %g)", name, tc, i, j, got.S[x], want[x], tol*float64(bound[x]))
			}
		}
		for j := tc.n; j < tc.ldc && i < tc.m-1; j++ {
			if got.S[i*tc.ldc+j] != sentinel {
				t.Fatalf("%s %s: padding C[%d][%d] overwritten", name, tc, i, j)
			}
		}
	}
}

func abs32(x float32) float32 { return float32(math.Abs(float64(x))) }

func absAll(x []float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = abs32(v) // NaN padding stays NaN and is never read
	}
	return y
}

// scalings are the (alpha, beta) pairs every shape is tried with; beta 0
// and -0 must not read C, alpha 0 must not read A or B.
var scalings = [][2]float32{{1, 0}, {1, 1}, {-0.5, 0.75}, {0, 0.5}, {2, float32(math.Copysign(0, -1))}, {1.5, -1}}

var transposes = [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}}

// tinyBlocking is kern with blocks of a few tiles and kc=5, so that small
// matrices cross every block boundary and the kernel's unrolled-loop tail.
func tinyBlocking(kern *kernel) *kernel {
	k := *kern
	k.mc, k.kc, k.nc = 2*k.mr, 5, 3*k.nr
	return &k
}

// checkKernel runs kern, with its own and with tiny blocking, on every
// transpose, several scalings, sizes 0..17 and primes, and strides larger
// than the rows, against Naive.
func checkKernel(t *testing.T, kern *kernel) {
	r := rng.New(1)
	sizes := []int{0, 1, 2, 3, 5, 7, 11, 16, 17}
	big := [][3]int{{kern.mr*3 + 1, kern.nr*2 + 3, 37}, {97, 131, 53}, {kern.mr + 1, 2*kern.nr - 1, kern.kc + 3}}
	for _, kk := range []*kernel{kern, tinyBlocking(kern)} {
		name := fmt.Sprintf("%s mc=%d kc=%d nc=%d", kk.name, kk.mc, kk.kc, kk.nc)
		var shapes [][3]int
		for _, m := range sizes {
			for _, n := range sizes {
				for _, k := range []int{0, 1, 4, 5, 13} {
					shapes = append(shapes, [3]int{m, n, k})
				}
			}
		}
		for _, k := range []int{2, 3, 6, 7, 8, 9, 16, 17, 31} {
			shapes = append(shapes, [3]int{kern.mr, kern.nr, k}, [3]int{kern.mr + 1, kern.nr + 1, k})
		}
		shapes = append(shapes, big...)
		for i, s := range shapes {
			for j, tr := range transposes {
				ab := scalings[(i+j)%len(scalings)]
				tc := newCase(r, tr[0], tr[1], s[0], s[1], s[2], (i+j)%3*2, ab[0], ab[1])
				got := tc.run(func(c []float32) {
					sgemm(kk, 1, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.a, tc.lda, tc.b, tc.ldb, tc.beta, c, tc.ldc)
				})
				tc.check(t, name, got)
			}
		}
		// Every scaling on one awkward shape, all transposes.
		for _, ab := range scalings {
			for _, tr := range transposes {
				tc := newCase(r, tr[0], tr[1], 2*kern.mr+1, 2*kern.nr+1, kern.kc+1, 1, ab[0], ab[1])
				got := tc.run(func(c []float32) {
					sgemm(kk, 1, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.a, tc.lda, tc.b, tc.ldb, tc.beta, c, tc.ldc)
				})
				tc.check(t, name, got)
			}
		}
	}
}

// checkDeterminism requires bit-identical results for every partition of C
// and every thread count, on shapes whose edges are partial tiles.
func checkDeterminism(t *testing.T, kern *kernel) {
	r := rng.New(2)
	for _, kk := range []*kernel{kern, tinyBlocking(kern)} {
		for _, s := range [][3]int{{7*kern.mr + 5, 5*kern.nr + 3, 2*kern.kc + 7}, {101, 67, 300}} {
			for _, tr := range transposes {
				tc := newCase(r, tr[0], tr[1], s[0], s[1], s[2], 1, 0.75, 0.5)
				call := func(threads int) func(c []float32) {
					return func(c []float32) {
						sgemm(kk, threads, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.a, tc.lda, tc.b, tc.ldb, tc.beta, c, tc.ldc)
					}
				}
				want := tc.run(call(1))
				tc.check(t, kk.name, want)
				for _, threads := range []int{2, 3, 7} {
					sameBits(t, fmt.Sprintf("%s threads=%d %s", kk.name, threads, tc), tc.run(call(threads)).S, want.S)
				}
				// Force grids the cost model might not pick.
				mTiles, nTiles := ceilDiv(tc.m, kk.mr), ceilDiv(tc.n, kk.nr)
				for _, g := range [][2]int{{2, 1}, {1, 2}, {3, 1}, {2, 3}, {7, 1}, {1, 3}, {mTiles, nTiles}} {
					got := tc.run(func(c []float32) {
						op := &operands{transA: tc.transA, transB: tc.transB, k: tc.k, alpha: tc.alpha, beta: tc.beta,
							a: tc.a, b: tc.b, c: c, lda: tc.lda, ldb: tc.ldb, ldc: tc.ldc}
						runGrid(kk, op, tc.m, tc.n, min(g[0], mTiles), min(g[1], nTiles))
					})
					sameBits(t, fmt.Sprintf("%s grid %v %s", kk.name, g, tc), got.S, want.S)
				}
			}
		}
	}
}

func sameBits(t *testing.T, name string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: element %d is %g (bits %#x), single-thread run gave %g (bits %#x)",
				name, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func TestGoKernel(t *testing.T) {
	checkKernel(t, goKernel())
	checkDeterminism(t, goKernel())
}

// TestNaiveByHand checks the reference against a product worked by hand.
func TestNaiveByHand(t *testing.T) {
	a := []float32{1, 2, 3, 4, 5, 6}    // 2×3
	b := []float32{7, 8, 9, 10, 11, 12} // 3×2
	c := []float32{1, 1, 1, 1}
	// A·B = [[58, 64], [139, 154]]; C = 2·A·B - 1·C.
	Naive(false, false, 2, 2, 3, 2, a, 3, b, 2, -1, c, 2)
	want := []float32{115, 127, 277, 307}
	for i := range want {
		if c[i] != want[i] {
			t.Fatalf("Naive = %v, want %v", c, want)
		}
	}
	// Aᵀ (3×2 stored as 2×3) times Bᵀ (2×3 stored as 3×2): (B·A)ᵀ.
	// B·A is 3×3: row 0 = [7+32, 14+40, 21+48] = [39, 54, 69].
	c = make([]float32, 9)
	Naive(true, true, 3, 3, 2, 1, a, 3, b, 2, 0, c, 3)
	if c[0] != 39 || c[3] != 54 || c[6] != 69 {
		t.Fatalf("Naive transposed = %v, want first column 39 54 69", c)
	}
}

// TestSgemm runs the public entry points with the process's backend.
func TestSgemm(t *testing.T) {
	r := rng.New(3)
	for _, threads := range []int{0, 1, 2} {
		for i, tr := range transposes {
			ab := scalings[i]
			tc := newCase(r, tr[0], tr[1], 45, 70, 300, 3, ab[0], ab[1])
			got := tc.run(func(c []float32) {
				SgemmThreads(threads, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.a, tc.lda, tc.b, tc.ldb, tc.beta, c, tc.ldc)
			})
			tc.check(t, Backend(), got)
		}
	}
	tc := newCase(r, false, true, 33, 17, 9, 0, 1, 0)
	tc.check(t, Backend(), tc.run(func(c []float32) {
		Sgemm(false, true, tc.m, tc.n, tc.k, 1, tc.a, tc.lda, tc.b, tc.ldb, 0, c, tc.ldc)
	}))
}

func TestBackend(t *testing.T) {
	switch b := Backend(); b {
	case "avx512", "avx2", "go", "openblas":
	default:
		t.Fatalf("Backend() = %q", b)
	}
	if err := BackendError(); err != nil {
		t.Logf("backend note: %v", err)
	}
	want := availableKernels()[0].name
	if os.Getenv(BackendEnv) == "openblas" && BackendError() == nil {
		want = "openblas"
	}
	if got := Backend(); BackendError() == nil && got != want {
		t.Fatalf("Backend() = %q, want %q", got, want)
	}
}

func TestChooseBackend(t *testing.T) {
	for _, env := range []string{"", "native"} {
		if be := chooseBackend(env); be.err != nil || be.blas != nil || be.native == nil {
			t.Fatalf("chooseBackend(%q) = %+v, want the native kernel", env, be)
		}
	}
	be := chooseBackend("cublas")
	if be.err == nil || be.blas != nil || be.native == nil || !strings.Contains(be.err.Error(), "cublas") {
		t.Fatalf("chooseBackend(cublas) = %+v, want native with an error naming the value", be)
	}
	be = chooseBackend("openblas")
	if _, err := OpenBLAS(); (err == nil) != (be.blas != nil) || (err == nil) != (be.err == nil) {
		t.Fatalf("chooseBackend(openblas) = %+v, inconsistent with OpenBLAS() error %v", be, err)
	}
}

func TestOpenBLASMatchesNaive(t *testing.T) {
	f, err := OpenBLAS()
	if err != nil {
		t.Skipf("skipping: OpenBLAS is not loadable here: %v", err)
	}
	r := rng.New(4)
	for i, s := range [][3]int{{1, 1, 1}, {17, 13, 5}, {64, 48, 300}, {5, 0, 3}, {3, 4, 0}} {
		for j, tr := range transposes {
			for _, threads := range []int{1, 2} {
				ab := scalings[(i+j)%len(scalings)]
				tc := newCase(r, tr[0], tr[1], s[0], s[1], s[2], 2, ab[0], ab[1])
				tc.check(t, "openblas", tc.run(func(c []float32) {
					f(threads, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.a, tc.lda, tc.b, tc.ldb, tc.beta, c, tc.ldc)
				}))
			}
		}
	}
}

func TestContractViolationsPanic(t *testing.T) {
	a, b, c := make([]float32, 12), make([]float32, 12), make([]float32, 12)
	cases := []struct {
		name, want string
		call       func()
	}{
		{"negative m", "negative dimension", func() { Sgemm(false, false, -1, 3, 4, 1, a, 4, b, 3, 0, c, 3) }},
		{"short A", "A is 4×4", func() { Sgemm(false, false, 4, 3, 4, 1, a, 4, b, 3, 0, c, 3) }},
		{"short transposed A", "A is 4×3", func() { Sgemm(true, false, 3, 3, 4, 1, a, 4, b, 3, 0, c, 3) }},
		{"A stride below width", "its stride is 3", func() { Sgemm(false, false, 3, 3, 4, 1, a, 3, b, 3, 0, c, 3) }},
		{"short B", "B is 3×5", func() { Sgemm(false, true, 2, 3, 5, 1, a, 5, b, 5, 0, c, 3) }},
		{"short C", "C is 3×3 with stride 5", func() { Sgemm(false, false, 3, 3, 4, 1, a, 4, b, 3, 0, c, 5) }},
		{"naive short C", "C is 3×5", func() { Naive(false, false, 3, 5, 2, 1, a, 2, b, 5, 0, c, 5) }},
	}
	for _, tc := range cases {
		func() {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatalf("%s: no panic", tc.name)
				}
				if msg := fmt.Sprint(r); !strings.Contains(msg, tc.want) {
					t.Fatalf("%s: panic %q does not mention %q", tc.name, msg, tc.want)
				}
			}()
			tc.call()
		}()
	}
	// Empty products need no data at all.
	Sgemm(false, false, 0, 0, 0, 1, nil, 0, nil, 0, 0, nil, 0)
	Sgemm(false, false, 2, 2, 0, 1, nil, 0, nil, 2, 0, c, 2)
	if c[0] != 0 || c[3] != 0 {
		t.Fatalf("k=0, beta=0 must zero C, got %v", c[:4])
	}
}

// TestPartition checks that the grid uses the allowed workers on big
// products, stays single-threaded on small ones, and never exceeds threads
// or the tile counts.
func TestPartition(t *testing.T) {
	kern := &kernel{name: "t", mr: 6, nr: 16, mc: 144, kc: 256, nc: 4080}
	for _, tc := range []struct{ threads, m, n, k, wantWorkers int }{
		{1, 2048, 1024, 256, 1},
		{2, 2048, 1024, 256, 2},
		{8, 2048, 1024, 256, 8},
		{4, 512, 512, 256, 4},
		{4, 256, 256, 32, 1}, // 2M multiply-adds: not worth a goroutine
		{4, 16, 16, 16, 1},   // too little work for a second goroutine
		{8, 6, 4000, 2000, 8},
		{8, 5, 16, 10000, 1}, // a single tile cannot be split
	} {
		pm, pn := partition(kern, tc.threads, tc.m, tc.n, tc.k)
		if pm*pn != tc.wantWorkers || pm > ceilDiv(tc.m, kern.mr) || pn > ceilDiv(tc.n, kern.nr) {
			t.Errorf("partition(threads=%d, %d×%d×%d) = %d×%d, want %d workers",
				tc.threads, tc.m, tc.n, tc.k, pm, pn, tc.wantWorkers)
		}
	}
}

func TestMeasure(t *testing.T) {
	g, err := Measure(64, 32, 48, 1, false, 20*time.Millisecond)
	if err != nil || !(g > 0) || math.IsInf(g, 0) {
		t.Fatalf("Measure native = %v, %v; want a positive rate", g, err)
	}
	if _, err := Measure(0, 32, 48, 1, false, time.Millisecond); err == nil {
		t.Fatal("Measure with m=0 did not fail")
	}
	if _, err := Measure(8, 8, 8, 1, false, 0); err == nil {
		t.Fatal("Measure with no duration did not fail")
	}
	if _, blasErr := OpenBLAS(); blasErr == nil {
		if g, err := Measure(64, 32, 48, 1, true, 20*time.Millisecond); err != nil || !(g > 0) {
			t.Fatalf("Measure openblas = %v, %v; want a positive rate", g, err)
		}
	}
}
