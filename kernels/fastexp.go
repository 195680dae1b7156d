package kernels

import "math"

// Fast float32 exponentials for the hot loops (softmax over the vocabulary,
// SiLU, GELU), with max relative error near 1e-7 (about 1 ulp). exp32 is
// the portable scalar version, about twice as fast as float64 math.Exp;
// the row functions run eight lanes at a time with AVX2+FMA where the CPU
// has them (fastexp_amd64.s, about 9x faster again) and exp32 elsewhere.

const (
	log2e = 1.44269504088896341
	// ln2 split so that n*ln2Hi is exact for the n that occur (ln2Hi has 9
	// significant bits): the Cody-Waite range reduction of Cephes expf.
	ln2Hi = 0.693359375
	ln2Lo = -2.12194440e-4
	// Adding roundMagic (1.5*2^23) to a float32 of magnitude < 2^22 rounds
	// it to an integer, held in the low mantissa bits.
	roundMagic     = 12582912.0
	roundMagicBits = 0x4b400000 // math.Float32bits(roundMagic)
	// exp(x) overflows float32 above expOverflow and rounds to 0 below
	// expUnderflow (half the smallest subnormal).
	expOverflow  = 88.72283935546875
	expUnderflow = -103.972084045410
)

// exp32 returns e^x in float32 with max relative error about 1e-7 for
// normal results. It returns +Inf above ~88.72, subnormals down to ~-103.97
// and exactly 0 below, and propagates NaN, all without branching on the
// range: the argument is clamped just beyond the limits and 2^n is applied
// in two steps, so no intermediate overflows or flushes. The call costs
// little next to the arithmetic, so loops call it rather than inline it.
func exp32(x float32) float32 {
	if x < expUnderflow {
		x = -104 // e^-104 rounds to 0; comparisons leave NaN alone
	}
	if x > expOverflow {
		x = 89 // e^89 overflows to +Inf
	}
	t := x*log2e + roundMagic // n = round(x*log2e) sits in t's low mantissa bits
	nf := t - roundMagic
	n := int32(math.Float32bits(t) - roundMagicBits) // in [-150, 128]
	// Reduced argument |r| <= ln2/2 and the Cephes expf minimax polynomial.
	r := x - nf*ln2Hi - nf*ln2Lo
	p := ((((1.9875691500e-4*r+1.3981999507e-3)*r+8.3334519073e-3)*r+4.1665795894e-2)*r+1.6666665459e-1)*r + 5.0000001201e-1
	e := p*r*r + r + 1
	// 2^n = 2^n1 * 2^n2, each a normal float32 built from its exponent bits;
	// the first product is exact, so the result is rounded once.
	n1 := n >> 1
	n2 := n - n1
	return e * math.Float32frombits(uint32(n1+127)<<23) * math.Float32frombits(uint32(n2+127)<<23)
}

// expRow sets dst[i] = e^(src[i]-shift) and returns the float64 sum of
// dst: the softmax hot loop. dst may alias src (the same slice, not an
// offset one).
func expRow(dst, src []float32, shift float32) float64 { return expAffine(dst, src, 1, shift) }

// expAffine sets dst[i] = e^(scale*src[i] - shift) and returns the float64
// sum of dst, with SIMD where the CPU allows (fastexp_amd64.s) and exp32
// for the rest. dst may alias src exactly.
func expAffine(dst, src []float32, scale, shift float32) float64 {
	src = src[:len(dst)]
	done, sum := expAffineVec(dst, src, scale, shift)
	tail := dst[done:]
	for i, v := range src[done:] {
		tail[i] = exp32(scale*v - shift)
	}
	return sum + sum64(tail)
}

// sum64 returns the float64 sum of x with four interleaved partial sums,
// which hide the add latency; the order is fixed, so the result is too.
func sum64(x []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += float64(x[i])
		s1 += float64(x[i+1])
		s2 += float64(x[i+2])
		s3 += float64(x[i+3])
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// sigmoidRow sets dst[i] = 1/(1+e^-src[i]), saturating to exactly 0 and 1
// without NaN (unless src holds one). dst may alias src.
func sigmoidRow(dst, src []float32) {
	expAffine(dst, src, -1, 0)
	for i, e := range dst {
		dst[i] = 1 / (1 + e)
	}
}

// tanhRow sets dst[i] = tanh(src[i]): the Cephes tanhf polynomial near 0,
// where 1-2/(e^2|x|+1) would cancel, and that form elsewhere (exactly ±1
// once e^2|x| is huge or +Inf). dst must not alias src: it first holds
// e^2|x|.
func tanhRow(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = abs32(x)
	}
	expAffine(dst, dst, 2, 0)
	for i, x := range src {
		if abs32(x) < 0.625 {
			s := x * x
			dst[i] = ((((-5.70498872745e-3*s+2.06390887954e-2)*s-5.37397155531e-2)*s+1.33314422036e-1)*s-3.33332819422e-1)*s*x + x
			continue
		}
		y := 1 - 2/(dst[i]+1)
		if x < 0 {
			y = -y
		}
		dst[i] = y
	}
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }
