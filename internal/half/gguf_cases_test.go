package half

import (
	"math"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
)

// halfValue decodes binary16 from its definition, in float64.
func halfValue(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, mant := int(h>>10)&0x1f, float64(h&0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(mant, -24)
	case 0x1f:
		if mant != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	}
	return sign * math.Ldexp(1024+mant, exp-25)
}

func TestF16ToF32AllValues(t *testing.T) {
	for h := range 1 << 16 {
		got, want := F16ToF32(uint16(h)), halfValue(uint16(h))
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) {
				t.Fatalf("F16ToF32(%#04x) = %v, want NaN", h, got)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
			t.Fatalf("F16ToF32(%#04x) = %v, want %v", h, got, want)
		}
	}
}

func TestF16EdgeCases(t *testing.T) {
	cases := []struct {
		h uint16
		f float32
	}{
		{0x0000, 0},
		{0x0001, 5.9604645e-08}, // smallest subnormal, 2^-24
		{0x03ff, 6.0975552e-05}, // largest subnormal
		{0x0400, 6.1035156e-05}, // smallest normal, 2^-14
		{0x3c00, 1},             //
		{0x3c01, 1.0009766},     // 1 + 2^-10
		{0xc000, -2},            //
		{0x7bff, 65504},         // max
		{0x7c00, float32(math.Inf(1))},
		{0xfc00, float32(math.Inf(-1))},
	}
	for _, c := range cases {
		if got := F16ToF32(c.h); got != c.f {
			t.Errorf("F16ToF32(%#04x) = %v, want %v", c.h, got, c.f)
		}
		if got := F32ToF16(c.f); got != c.h {
			t.Errorf("F32ToF16(%v) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
	if got := F32ToF16(float32(math.Copysign(0, -1))); got != 0x8000 {
		t.Errorf("F32ToF16(-0) = %#04x, want 0x8000", got)
	}
	if got := F32ToF16(float32(math.NaN())); got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
		t.Errorf("F32ToF16(NaN) = %#04x, not a NaN", got)
	}
	if got := F16ToF32(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("F16ToF32(0x7e00) = %v, want NaN", got)
	}
	rounding := []struct {
		f float32
		h uint16
	}{
		{65519, 0x7bff},                                            // below the midpoint to 2^16: stays at max
		{65520, 0x7c00},                                            // midpoint, ties to even = infinity
		{1e10, 0x7c00},                                             // overflow
		{float32(math.Ldexp(1, -25)), 0x0000},                      // half the smallest subnormal: tie to even 0
		{float32(math.Ldexp(1.5, -25)), 0x0001},                    // above the tie
		{float32(math.Ldexp(3, -25)), 0x0002},                      // 1.5 units: tie to even 2
		{float32(math.Ldexp(5, -25)), 0x0002},                      // 2.5 units: tie to even 2
		{float32(1 + math.Ldexp(1, -11)), 0x3c00},                  // tie between 1 and 1+2^-10: even
		{float32(1 + 3*math.Ldexp(1, -11)), 0x3c02},                // tie: rounds up to even
		{float32(math.Ldexp(1, -14) - math.Ldexp(1, -25)), 0x0400}, // rounds up into the normals
		{1e-30, 0x0000},
		{-1e-30, 0x8000},
	}
	for _, c := range rounding {
		if got := F32ToF16(c.f); got != c.h {
			t.Errorf("F32ToF16(%g) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
}

// nearestHalf finds the round-to-nearest-even binary16 for x by search.
func nearestHalf(x float32) uint16 {
	best, bestErr := uint16(0), math.Inf(1)
	for h := range 0x7c01 { // finite magnitudes and infinity
		v := halfValue(uint16(h))
		if h == 0x7c00 {
			v = 65520 // values at or beyond the midpoint past max round to infinity
		}
		e := math.Abs(math.Abs(float64(x)) - v)
		if e < bestErr || (e == bestErr && h%2 == 0) {
			best, bestErr = uint16(h), e
		}
	}
	if x < 0 {
		best |= 0x8000
	}
	return best
}

func TestF32ToF16AgainstSearch(t *testing.T) {
	r := rng.New(7)
	for range 300 {
		// Spread over the half range, including subnormals and overflow.
		x := float32(math.Ldexp(r.Float64()*2-1, r.IntRange(-26, 18)))
		if got, want := F32ToF16(x), nearestHalf(x); got != want {
			t.Fatalf("F32ToF16(%g) = %#04x, want %#04x", x, got, want)
		}
	}
}

func TestF16RoundTrip(t *testing.T) {
	for h := range 1 << 16 {
		f := F16ToF32(uint16(h))
		if math.IsNaN(float64(f)) {
			continue
		}
		if got := F32ToF16(f); got != uint16(h) {
			t.Fatalf("F32ToF16(F16ToF32(%#04x)) = %#04x", h, got)
		}
	}
}

func TestBF16(t *testing.T) {
	cases := []struct {
		b uint16
		f float32
	}{
		{0x3f80, 1}, {0xc000, -2}, {0x7f80, float32(math.Inf(1))}, {0xff80, float32(math.Inf(-1))},
		{0x0001, float32(math.Ldexp(1, -133))},  // smallest subnormal
		{0x7f7f, float32(math.Ldexp(255, 120))}, // max finite: (2-2^-7) * 2^127
		{0x3f81, 1.0078125},
	}
	for _, c := range cases {
		if got := BF16ToF32(c.b); got != c.f {
			t.Errorf("BF16ToF32(%#04x) = %v, want %v", c.b, got, c.f)
		}
		if got := F32ToBF16(c.f); got != c.b {
			t.Errorf("F32ToBF16(%v) = %#04x, want %#04x", c.f, got, c.b)
		}
	}
	if !math.IsNaN(float64(BF16ToF32(0x7fc0))) || !math.IsNaN(float64(BF16ToF32(F32ToBF16(float32(math.NaN()))))) {
		t.Error("bfloat16 NaN not preserved")
	}
	if got := F32ToBF16(1 + 1.0/256); got != 0x3f80 { // tie: to even
		t.Errorf("F32ToBF16(1+2^-8) = %#04x, want 0x3f80", got)
	}
	if got := F32ToBF16(1 + 3.0/256); got != 0x3f82 { // tie: to even, upwards
		t.Errorf("F32ToBF16(1+3*2^-8) = %#04x, want 0x3f82", got)
	}
}
