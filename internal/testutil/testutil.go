// Package testutil holds helpers shared by the numerical tests: random
// inputs, NaN-guarded output buffers, max-difference reports and a
// central-difference gradient checker.
package testutil

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
)

// Rand32 returns n normal deviates scaled by std.
func Rand32(r *rng.RNG, n int, std float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * std)
	}
	return x
}

// To64 widens a float32 slice.
func To64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

const guardLen = 16

// Guarded is an output buffer with NaN-filled guard slices on both sides,
// so a kernel that writes past either end of its output is caught.
type Guarded struct {
	full []float32
	// S is the usable slice (length n), initially filled with fill.
	S []float32
}

// NewGuarded returns an n-element buffer filled with fill and surrounded by
// NaN guards.
func NewGuarded(n int, fill float32) *Guarded {
	full := make([]float32, n+2*guardLen)
	for i := range full {
		full[i] = float32(math.NaN())
	}
	s := full[guardLen : guardLen+n : guardLen+n]
	for i := range s {
		s[i] = fill
	}
	return &Guarded{full: full, S: s}
}

// Check fails the test if a guard was overwritten or the usable slice holds
// a NaN or Inf.
func (g *Guarded) Check(t testing.TB, name string) {
	t.Helper()
	n := len(g.S)
	for i := 0; i < guardLen; i++ {
		if !math.IsNaN(float64(g.full[i])) || !math.IsNaN(float64(g.full[guardLen+n+i])) {
			t.Fatalf("%s: guard slice overwritten", name)
		}
	}
	for i, v := range g.S {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("%s[%d] = %v", name, i, v)
		}
	}
}

// Diff reports the largest absolute difference between got and want and the
// index where it occurs.
func Diff(got []float32, want []float64) (maxAbs float64, at int) {
	at = -1
	for i := range got {
		d := math.Abs(float64(got[i]) - want[i])
		if math.IsNaN(d) {
			return math.Inf(1), i
		}
		if d > maxAbs {
			maxAbs, at = d, i
		}
	}
	return maxAbs, at
}

// Close fails the test if any |got-want| exceeds atol + rtol*|want|, and
// reports the max difference.
func Close(t testing.TB, name string, got []float32, want []float64, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: length %d, want %d", name, len(got), len(want))
	}
	for i := range got {
		d := math.Abs(float64(got[i]) - want[i])
		if !(d <= atol+rtol*math.Abs(want[i])) {
			m, at := Diff(got, want)
			t.Fatalf("%s[%d] = %g, want %g (max abs diff %g at %d)", name, i, got[i], want[i], m, at)
		}
	}
}

// NumGrad returns the central-difference gradient of f with respect to x,
// perturbing each element by h in float64.
func NumGrad(f func() float64, x []float64, h float64) []float64 {
	g := make([]float64, len(x))
	for i := range x {
		orig := x[i]
		x[i] = orig + h
		fp := f()
		x[i] = orig - h
		fm := f()
		x[i] = orig
		g[i] = (fp - fm) / (2 * h)
	}
	return g
}

// CheckGrad compares an analytic gradient with a numeric one and fails with
// the worst relative error if it exceeds tol. The relative error is
// |a-n| / max(|a|+|n|, floor).
func CheckGrad(t testing.TB, name string, analytic, numeric []float64, tol float64) {
	t.Helper()
	if len(analytic) != len(numeric) {
		t.Fatalf("%s: length %d vs %d", name, len(analytic), len(numeric))
	}
	worst, at := 0.0, -1
	for i := range analytic {
		den := math.Max(math.Abs(analytic[i])+math.Abs(numeric[i]), 1e-6)
		r := math.Abs(analytic[i]-numeric[i]) / den
		if math.IsNaN(r) {
			r = math.Inf(1)
		}
		if r > worst {
			worst, at = r, i
		}
	}
	if worst > tol {
		t.Fatalf("%s: gradient mismatch, worst relative error %.3g at %d (analytic %g, numeric %g)",
			name, worst, at, analytic[at], numeric[at])
	}
}

// SharedDir returns the path of ../shared/<rel> relative to the module root,
// or skips the test with a clear message if it is absent.
func SharedDir(t testing.TB, rel string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..") // module root
	p := filepath.Join(root, "..", "shared", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("skipping: %s not found (the ../shared fixtures are absent)", filepath.Join("../shared", rel))
	}
	return p
}
