// Package half converts between float32 and the 16-bit floats model files
// store: IEEE 754 binary16 (F16) and bfloat16 (BF16), rounding to nearest
// with ties to even and keeping NaNs NaN. The format packages share it.
package half

import "math"

// F32ToF16 converts f to IEEE 754 binary16, rounding to nearest with ties
// to even. Values beyond the largest half (65504) round to infinity, NaNs
// stay NaN (quiet) with the top payload bits kept.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7e00 | uint16(mant>>13)
	}
	e := exp - 127 + 15 // biased half exponent
	switch {
	case e >= 0x1f:
		return sign | 0x7c00
	case e <= 0:
		// Subnormal half (or zero). Below 2^-25 everything rounds to zero;
		// exactly 2^-25 is a tie that goes to the even zero.
		if e < -10 {
			return sign
		}
		mant |= 0x800000 // the implicit leading bit
		shift := uint(14 - e)
		return sign | uint16(roundShift(mant, shift))
	}
	// A carry out of the mantissa correctly bumps the exponent, up to Inf.
	return sign | uint16(roundShift(uint32(e)<<23|mant, 13))
}

// roundShift returns v >> shift rounded to nearest, ties to even.
func roundShift(v uint32, shift uint) uint32 {
	q := v >> shift
	rem := v & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rem > half || (rem == half && q&1 == 1) {
		q++
	}
	return q
}

// F16ToF32 converts an IEEE 754 binary16 value to float32 (exact).
func F16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0:
		// Subnormal: shift the leading one up to the implicit position.
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// F32ToBF16 converts f to bfloat16, rounding to nearest with ties to
// even; NaNs stay NaN (quiet).
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x0040
	}
	return uint16(roundShift(b, 16))
}

// BF16ToF32 converts a bfloat16 value to float32 (exact).
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }
