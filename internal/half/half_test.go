package half

import (
	"math"
	"sort"
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

func TestFloat16Edges(t *testing.T) {
	cases := []struct {
		in   float32
		want uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {0.1, 0x2e66}, {float32(math.Copysign(0, -1)), 0x8000},
		{65504, 0x7bff},     // largest half
		{65519.996, 0x7bff}, // just below the midpoint to infinity
		{65520, 0x7c00},     // the midpoint rounds to even, which is infinity
		{1e10, 0x7c00}, {-1e10, 0xfc00},
		{float32(math.Inf(1)), 0x7c00},
		{0x1p-14, 0x0400},     // smallest normal
		{0x1p-24, 0x0001},     // smallest subnormal
		{0x1p-25, 0x0000},     // tie between 0 and 2^-24: even is 0
		{0x1.8p-25, 0x0001},   // above the tie
		{0x3p-25, 0x0002},     // tie between 1 and 2 subnormal ulps: even is 2
		{0x3ffp-24, 0x03ff},   // largest subnormal
		{0x3ff.8p-24, 0x0400}, // tie between largest subnormal and smallest normal
		{1 + 0x1p-11, 0x3c00}, // tie: 1.0 has the even mantissa
		{1 + 0x3p-11, 0x3c02}, // tie: rounds up to the even mantissa
		{0x1p-30, 0}, {-0x1p-30, 0x8000},
	}
	for _, c := range cases {
		if got := F32ToF16(c.in); got != c.want {
			t.Errorf("F32ToF16(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	for _, in := range []uint32{0x7fc00000, 0x7f800001, 0xffc00001} {
		h := F32ToF16(math.Float32frombits(in))
		if h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
			t.Errorf("F32ToF16(NaN %#x) = %#04x, not a NaN", in, h)
		}
	}
	if v := F16ToF32(0x7e00); !math.IsNaN(float64(v)) {
		t.Errorf("F16ToF32(0x7e00) = %v, want NaN", v)
	}
	for h, want := range map[uint16]float32{0x0001: 0x1p-24, 0x03ff: 0x3ffp-24, 0x3c00: 1, 0xc000: -2, 0x7bff: 65504, 0x7c00: float32(math.Inf(1))} {
		if got := F16ToF32(h); got != want {
			t.Errorf("F16ToF32(%#04x) = %g, want %g", h, got, want)
		}
	}
}

func TestBFloat16Edges(t *testing.T) {
	cases := []struct {
		in   float32
		want uint16
	}{
		{1, 0x3f80}, {-2, 0xc000}, {math.Pi, 0x4049},
		{math.Float32frombits(0x3f808000), 0x3f80}, // tie: even mantissa
		{math.Float32frombits(0x3f818000), 0x3f82}, // tie: rounds up to even
		{math.Float32frombits(0x3f808001), 0x3f81}, // above the tie
		{math.MaxFloat32, 0x7f80},                  // beyond the largest bfloat16 midpoint
		{float32(math.Inf(-1)), 0xff80},
		{math.Float32frombits(0x00000001), 0x0000}, // float32 subnormals round like any value
	}
	for _, c := range cases {
		if got := F32ToBF16(c.in); got != c.want {
			t.Errorf("F32ToBF16(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	if h := F32ToBF16(math.Float32frombits(0x7f800001)); h&0x7f80 != 0x7f80 || h&0x7f == 0 {
		t.Errorf("F32ToBF16(signalling NaN) = %#04x, not a NaN", h)
	}
	if got := BF16ToF32(0x4049); got != math.Float32frombits(0x40490000) {
		t.Errorf("BF16ToF32(0x4049) = %g", got)
	}
}

// TestHalfRoundTripExhaustive checks that every non-NaN half and bfloat16
// survives conversion to float32 and back.
func TestHalfRoundTripExhaustive(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		if f := F16ToF32(h); !math.IsNaN(float64(f)) && F32ToF16(f) != h {
			t.Fatalf("half %#04x -> %g -> %#04x", h, f, F32ToF16(f))
		}
		if f := BF16ToF32(h); !math.IsNaN(float64(f)) && F32ToBF16(f) != h {
			t.Fatalf("bfloat16 %#04x -> %g -> %#04x", h, f, F32ToBF16(f))
		}
	}
}

// nearestOracle rounds x to the nearest of the non-negative values of a
// 16-bit format, ties to the even bit pattern, by binary search over the
// table of all of them (index = bit pattern, the last entry standing for
// infinity at the next power of two).
func nearestOracle(table []float64, x float64) uint16 {
	sign := uint16(0)
	if math.Signbit(x) {
		sign, x = 0x8000, -x
	}
	i := sort.SearchFloat64s(table, x) // table[i-1] < x <= table[i]
	switch {
	case i == len(table):
		return sign | uint16(len(table)-1)
	case i == 0 || table[i] == x:
		return sign | uint16(i)
	}
	lo, hi := table[i-1], table[i]
	if x-lo < hi-x || (x-lo == hi-x && (i-1)%2 == 0) {
		return sign | uint16(i-1)
	}
	return sign | uint16(i)
}

// formatTable lists the non-negative finite values of a 16-bit format by
// bit pattern, then infValue for the pattern inf. F16 is decoded by
// halfValue, from the definition; bfloat16 is by definition the top half of
// a float32.
func formatTable(decode func(uint16) float64, inf uint16, infValue float64) []float64 {
	table := make([]float64, inf+1)
	for h := range inf {
		table[h] = decode(h)
	}
	table[inf] = infValue
	return table
}

// TestRoundingOracle compares both conversions with the oracle on every
// midpoint between neighbouring values, its float32 neighbours, random
// float32 bit patterns, and random values across the half range.
func TestRoundingOracle(t *testing.T) {
	formats := []struct {
		name   string
		encode func(float32) uint16
		table  []float64
	}{
		{"F16", F32ToF16, formatTable(halfValue, 0x7c00, 65536)},
		{"BF16", F32ToBF16, formatTable(func(h uint16) float64 { return float64(BF16ToF32(h)) }, 0x7f80, 0x1p128)},
	}
	r := rng.New(42)
	for _, f := range formats {
		check := func(x float32) {
			if math.IsInf(float64(x), 0) || math.IsNaN(float64(x)) {
				return
			}
			if got, want := f.encode(x), nearestOracle(f.table, float64(x)); got != want {
				t.Fatalf("%s(%g [%#08x]) = %#04x, oracle %#04x", f.name, x, math.Float32bits(x), got, want)
			}
		}
		for i := 0; i+1 < len(f.table); i++ {
			mid := float32((f.table[i] + f.table[i+1]) / 2) // exact: one more bit than the format
			for _, x := range []float32{mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, float32(math.Inf(1)))} {
				check(x)
				check(-x)
			}
		}
		for range 200000 {
			check(math.Float32frombits(uint32(r.Uint64())))
		}
		// Spread over the half range, including subnormals and overflow.
		for range 300 {
			check(float32(math.Ldexp(r.Float64()*2-1, r.IntRange(-26, 18))))
		}
	}
}
