package kernels

import (
	"math"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
)

const smallestNormal32 = 1.1754943508222875e-38

// expArgs returns a dense sweep over every range exp32 treats differently,
// plus random points.
func expArgs() []float32 {
	var xs []float32
	for x := -110.0; x <= 90; x += 1.0 / 512 {
		xs = append(xs, float32(x))
	}
	for x := -1e-3; x <= 1e-3; x += 1e-6 {
		xs = append(xs, float32(x))
	}
	r := rng.New(1)
	for range 100000 {
		xs = append(xs, float32(r.Float64()*200-105))
	}
	return append(xs, -87.33654, 88, expOverflow, expUnderflow, 0, -104, 89,
		math.Nextafter32(expOverflow, 100), math.Nextafter32(expUnderflow, -200))
}

// expErr fails unless got is e^x within 2e-7 relative (normal results),
// two subnormal steps (tiny results) or exactly +Inf (overflow), and
// returns the relative error.
func expErr(t *testing.T, name string, x, got float32) float64 {
	t.Helper()
	g, want := float64(got), math.Exp(float64(x))
	switch {
	case want > math.MaxFloat32:
		if !math.IsInf(g, 1) {
			t.Fatalf("%s(%g) = %g, want +Inf", name, x, g)
		}
	case want >= smallestNormal32:
		if rel := math.Abs(g-want) / want; rel <= 2e-7 {
			return rel
		}
		t.Fatalf("%s(%g) = %g, want %g (rel err %.3g)", name, x, g, want, math.Abs(g-want)/want)
	default:
		if math.IsNaN(g) || g < 0 || math.Abs(g-want) > 2*math.SmallestNonzeroFloat32 {
			t.Fatalf("%s(%g) = %g, want %g", name, x, g, want)
		}
	}
	return 0
}

func TestExp32MatchesMathExp(t *testing.T) {
	worst := 0.0
	for _, x := range expArgs() {
		worst = math.Max(worst, expErr(t, "exp32", x, exp32(x)))
	}
	t.Logf("worst relative error %.3g", worst)
}

// TestExpRowMatchesMathExp covers the SIMD body and the scalar tail.
func TestExpRowMatchesMathExp(t *testing.T) {
	xs := expArgs()
	const shift = 3.5
	worst := 0.0
	for _, n := range []int{1, 7, 8, 9, 31, len(xs)} {
		dst := make([]float32, n)
		sum := expRow(dst, xs[:n], shift)
		want := 0.0
		for i, x := range xs[:n] {
			worst = math.Max(worst, expErr(t, "expRow", x-shift, dst[i]))
			want += float64(dst[i])
		}
		if math.Abs(sum-want) > 1e-15*want { // the same terms in another order
			t.Fatalf("n=%d: expRow sum %g, want %g", n, sum, want)
		}
		in := append([]float32(nil), xs[:n]...)
		expRow(in, in, shift)
		for i := range in {
			if math.Float32bits(in[i]) != math.Float32bits(dst[i]) {
				t.Fatalf("in-place expRow[%d] = %g, want %g", i, in[i], dst[i])
			}
		}
	}
	t.Logf("worst relative error %.3g", worst)
}

func TestExpSpecials(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	xs := []float32{0, -inf, -1000, -104, inf, 89, 1, nan}
	want := []float32{1, 0, 0, 0, inf, inf, float32(math.E), nan}
	check := func(name string, got []float32) {
		for i := range xs {
			if got[i] != want[i] && !(want[i] != want[i] && got[i] != got[i]) {
				t.Errorf("%s(%g) = %g, want %g", name, xs[i], got[i], want[i])
			}
		}
	}
	got := make([]float32, len(xs))
	for i, x := range xs {
		got[i] = exp32(x)
	}
	check("exp32", got)
	// Eight values: one SIMD vector where there is SIMD.
	expRow(got, xs, 0)
	check("expRow", got)
}

func TestTanhSigmoidRows(t *testing.T) {
	var xs []float32
	for x := -30.0; x <= 30; x += 1.0 / 1024 {
		xs = append(xs, float32(x))
	}
	th, sg := make([]float32, len(xs)), make([]float32, len(xs))
	tanhRow(th, xs)
	sigmoidRow(sg, xs)
	for i, x32 := range xs {
		x := float64(x32)
		if want := math.Tanh(x); math.Abs(float64(th[i])-want) > 2.5e-7*math.Abs(want)+1e-30 {
			t.Fatalf("tanh(%g) = %g, want %g", x, th[i], want)
		}
		if want := 1 / (1 + math.Exp(-x)); math.Abs(float64(sg[i])-want) > 3e-7*want {
			t.Fatalf("sigmoid(%g) = %g, want %g", x, sg[i], want)
		}
	}

	inf := float32(math.Inf(1))
	ext := []float32{-inf, -1e6, -200, -88, 88, 200, 1e6, inf}
	th, sg = make([]float32, len(ext)), make([]float32, len(ext))
	tanhRow(th, ext)
	sigmoidRow(sg, ext)
	for i, x := range ext {
		if want := float32(math.Copysign(1, float64(x))); th[i] != want {
			t.Errorf("tanh(%g) = %g, want %g", x, th[i], want)
		}
		if x > 0 && sg[i] != 1 || x < 0 && !(sg[i] >= 0 && sg[i] < 1e-38) {
			t.Errorf("sigmoid(%g) = %g", x, sg[i])
		}
	}
	nan := []float32{float32(math.NaN())}
	tanhRow(th[:1], nan)
	sigmoidRow(sg[:1], nan)
	if th[0] == th[0] || sg[0] == sg[0] {
		t.Errorf("tanh(NaN) = %g, sigmoid(NaN) = %g, want NaN", th[0], sg[0])
	}
}

func BenchmarkExpRow(b *testing.B) {
	src := make([]float32, 4096)
	for i := range src {
		src[i] = float32(i%97) * -0.25
	}
	dst := make([]float32, len(src))
	b.SetBytes(int64(4 * len(src)))
	for b.Loop() {
		expRow(dst, src, 1)
	}
}

func BenchmarkExp32(b *testing.B) {
	src := make([]float32, 4096)
	for i := range src {
		src[i] = float32(i%97) * -0.25
	}
	dst := make([]float32, len(src))
	b.SetBytes(int64(4 * len(src)))
	for b.Loop() {
		for i, x := range src {
			dst[i] = exp32(x)
		}
	}
}
