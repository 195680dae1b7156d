package kernels

// Helpers shared by this package's kernel tests.

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
)

// mustPanic fails unless fn panics with a message containing want.
func mustPanic(t *testing.T, want string, fn func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("no panic, want one containing %q", want)
		}
		if msg := fmt.Sprint(r); !strings.Contains(msg, want) {
			t.Fatalf("panic %q, want one containing %q", msg, want)
		}
	}()
	fn()
}

// filled returns n copies of v in float64, a ref gradient buffer starting
// where the kernel's guarded buffer starts.
func filled(n int, v float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = v
	}
	return x
}

// sameBitsAcrossProcs runs fn at several GOMAXPROCS settings (more than
// the CPUs, too, to vary the partition) and fails unless every output is
// bit-identical to the single-threaded run. fn must start from the same
// state each time and return its outputs.
func sameBitsAcrossProcs(t *testing.T, name string, fn func() [][]float32) {
	t.Helper()
	old := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(old)
	want := fn()
	for _, procs := range []int{2, 3, 7} {
		runtime.GOMAXPROCS(procs)
		got := fn()
		for i := range want {
			for j := range want[i] {
				if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
					t.Fatalf("%s: output %d[%d] = %g at GOMAXPROCS %d, %g at 1",
						name, i, j, got[i][j], procs, want[i][j])
				}
			}
		}
	}
}

func TestLengthMismatchPanics(t *testing.T) {
	mustPanic(t, "len(b) = 3, want 4", func() { ResidualForward(make([]float32, 4), make([]float32, 4), make([]float32, 3), 4) })
	mustPanic(t, "len(weight) = 5, want 4", func() {
		RMSNormForward(make([]float32, 8), make([]float32, 2), make([]float32, 8), make([]float32, 5), 2, 4, 1e-5)
	})
	mustPanic(t, "len(dbias) = 2, want 3", func() {
		MatmulBackward(nil, nil, make([]float32, 2), make([]float32, 6), make([]float32, 4), make([]float32, 6), 2, 2, 3)
	})
}
