package gguf

import "math"

// F16ToF32 converts an IEEE 754 binary16 value to float32 exactly
// (subnormals, infinities and NaN payloads included).
func F16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf or NaN: keep the payload
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: shift the mantissa up until the implicit bit appears.
	e := uint32(127 - 15 + 1)
	for mant&0x400 == 0 {
		mant <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
}

// F32ToF16 converts a float32 to binary16 with round-to-nearest-even;
// values beyond the half range become infinities and NaN stays NaN.
func F32ToF16(f float32) uint16 {
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exp := int32(bits>>23) & 0xff
	mant := bits & 0x7fffff
	if exp == 0xff {
		if mant == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7e00 | uint16(mant>>13) // quiet NaN, top payload bits
	}
	e := exp - 127 + 15 // biased half exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal half (or zero): value = full * 2^(exp-150) with the
		// implicit bit in full, and the half mantissa counts units of
		// 2^-24, so m = full >> (14-e).
		if exp == 0 {
			return sign // float32 subnormals are far below half's range
		}
		return sign | uint16(roundShiftEven(mant|0x800000, uint32(14-e)))
	}
	// Normal: the carry of rounding may bump the exponent, up to infinity.
	q := uint32(e)<<10 | mant>>13
	q += roundIncrement(q, mant&0x1fff, 13)
	return sign | uint16(q)
}

// roundShiftEven returns x >> shift rounded to nearest, ties to even.
func roundShiftEven(x, shift uint32) uint32 {
	if shift > 31 {
		return 0
	}
	q := x >> shift
	return q + roundIncrement(q, x&(1<<shift-1), shift)
}

// roundIncrement is 1 when the dropped low bits rem (of width bits) round
// q up under round-to-nearest-even.
func roundIncrement(q, rem, width uint32) uint32 {
	half := uint32(1) << (width - 1)
	if rem > half || (rem == half && q&1 == 1) {
		return 1
	}
	return 0
}

// BF16ToF32 converts a bfloat16 value to float32 exactly.
func BF16ToF32(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// F32ToBF16 converts a float32 to bfloat16 with round-to-nearest-even;
// NaN stays NaN.
func F32ToBF16(f float32) uint16 {
	bits := math.Float32bits(f)
	if bits&0x7fffffff > 0x7f800000 {
		return uint16(bits>>16) | 0x40
	}
	return uint16((bits + 0x7fff + (bits>>16)&1) >> 16)
}
