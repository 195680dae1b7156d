package gguf

import (
	"encoding/binary"
	"math"

	"github.com/lsalign/lsalign/internal/half"
)

func canDequantize(t TensorType) bool {
	switch t {
	case TypeF32, TypeF16, TypeBF16, TypeF64, TypeI8, TypeI16, TypeI32,
		TypeQ4_0, TypeQ4_1, TypeQ5_0, TypeQ5_1, TypeQ8_0, TypeQ8_1, TypeQ4_K, TypeQ6_K:
		return true
	}
	return false
}

// dequantize converts raw (exactly len(out) elements of type t, whole
// blocks) to float32, following ggml's reference dequantize_row_* code.
func dequantize(t TensorType, raw []byte, out []float32) {
	le := binary.LittleEndian
	switch t {
	case TypeF32:
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	case TypeF16:
		for i := range out {
			out[i] = half.F16ToF32(le.Uint16(raw[2*i:]))
		}
	case TypeBF16:
		for i := range out {
			out[i] = half.BF16ToF32(le.Uint16(raw[2*i:]))
		}
	case TypeF64:
		for i := range out {
			out[i] = float32(math.Float64frombits(le.Uint64(raw[8*i:])))
		}
	case TypeI8:
		for i := range out {
			out[i] = float32(int8(raw[i]))
		}
	case TypeI16:
		for i := range out {
			out[i] = float32(int16(le.Uint16(raw[2*i:])))
		}
	case TypeI32:
		for i := range out {
			out[i] = float32(int32(le.Uint32(raw[4*i:])))
		}
	case TypeQ4_0:
		forBlocks(t, raw, out, dequantQ4_0)
	case TypeQ4_1:
		forBlocks(t, raw, out, dequantQ4_1)
	case TypeQ5_0:
		forBlocks(t, raw, out, dequantQ5_0)
	case TypeQ5_1:
		forBlocks(t, raw, out, dequantQ5_1)
	case TypeQ8_0:
		forBlocks(t, raw, out, dequantQ8_0)
	case TypeQ8_1:
		forBlocks(t, raw, out, dequantQ8_1)
	case TypeQ4_K:
		forBlocks(t, raw, out, dequantQ4K)
	case TypeQ6_K:
		forBlocks(t, raw, out, dequantQ6K)
	default:
		panic("gguf: dequantize called with unsupported type " + t.String())
	}
}

// forBlocks runs fn on each block of raw and its elements in out, with
// the block geometry of t.
func forBlocks(t TensorType, raw []byte, out []float32, fn func(b []byte, y []float32)) {
	blockBytes, blockSize := int(t.BlockBytes()), int(t.BlockSize())
	for i := 0; i*blockSize < len(out); i++ {
		fn(raw[i*blockBytes:(i+1)*blockBytes], out[i*blockSize:(i+1)*blockSize])
	}
}

// f16At reads a little-endian F16 scale at the start of b.
func f16At(b []byte) float32 { return half.F16ToF32(binary.LittleEndian.Uint16(b)) }

// block_q4_0 {half d; uint8 qs[16]}: y = (nibble - 8) * d, low nibbles first.
func dequantQ4_0(b []byte, y []float32) {
	d, qs := f16At(b), b[2:18]
	for j, q := range qs {
		y[j] = float32(int(q&0xf)-8) * d
		y[j+16] = float32(int(q>>4)-8) * d
	}
}

// block_q4_1 {half d, m; uint8 qs[16]}: y = nibble*d + m.
func dequantQ4_1(b []byte, y []float32) {
	d, m, qs := f16At(b), f16At(b[2:]), b[4:20]
	for j, q := range qs {
		y[j] = float32(q&0xf)*d + m
		y[j+16] = float32(q>>4)*d + m
	}
}

// block_q5_0 {half d; uint32 qh; uint8 qs[16]}: the fifth bit of element j
// is bit j of qh (bit j+16 for the upper half); y = (q - 16) * d.
func dequantQ5_0(b []byte, y []float32) {
	d, qh, qs := f16At(b), binary.LittleEndian.Uint32(b[2:]), b[6:22]
	for j, q := range qs {
		h0 := byte((qh>>j)<<4) & 0x10
		h1 := byte(qh>>(j+12)) & 0x10
		y[j] = float32(int32(q&0xf|h0)-16) * d
		y[j+16] = float32(int32(q>>4|h1)-16) * d
	}
}

// block_q5_1 {half d, m; uint32 qh; uint8 qs[16]}: y = q*d + m.
func dequantQ5_1(b []byte, y []float32) {
	d, m, qh, qs := f16At(b), f16At(b[2:]), binary.LittleEndian.Uint32(b[4:]), b[8:24]
	for j, q := range qs {
		h0 := byte((qh>>j)<<4) & 0x10
		h1 := byte(qh>>(j+12)) & 0x10
		y[j] = float32(q&0xf|h0)*d + m
		y[j+16] = float32(q>>4|h1)*d + m
	}
}

// block_q8_0 {half d; int8 qs[32]}: y = q * d.
func dequantQ8_0(b []byte, y []float32) {
	d := f16At(b)
	for j, q := range b[2:34] {
		y[j] = float32(int8(q)) * d
	}
}

// block_q8_1 {half d, s; int8 qs[32]}: y = q * d (s is a precomputed sum).
func dequantQ8_1(b []byte, y []float32) {
	d := f16At(b)
	for j, q := range b[4:36] {
		y[j] = float32(int8(q)) * d
	}
}

// block_q4_K {half d, dmin; uint8 scales[12]; uint8 qs[128]}: eight
// sub-blocks of 32 with 6-bit scales and mins packed in scales.
func dequantQ4K(b []byte, y []float32) {
	d, dmin := f16At(b), f16At(b[2:])
	scales, q := b[4:16], b[16:144]
	for j, is := 0, 0; j < 256; j, is = j+64, is+2 {
		sc, m := scaleMinK4(is, scales)
		d1, m1 := d*float32(sc), dmin*float32(m)
		sc, m = scaleMinK4(is+1, scales)
		d2, m2 := d*float32(sc), dmin*float32(m)
		for l := range 32 {
			y[j+l] = d1*float32(q[l]&0xf) - m1
			y[j+32+l] = d2*float32(q[l]>>4) - m2
		}
		q = q[32:]
	}
}

// scaleMinK4 unpacks the j-th 6-bit (scale, min) pair of a Q4_K/Q5_K block.
func scaleMinK4(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// block_q6_K {uint8 ql[128], qh[64]; int8 scales[16]; half d}: 6-bit
// quants from 4 low and 2 high bits, sixteen sub-blocks of 16.
func dequantQ6K(b []byte, y []float32) {
	ql, qh, sc := b[0:128], b[128:192], b[192:208]
	d := f16At(b[208:])
	for n := 0; n < 256; n += 128 {
		for l := range 32 {
			is := l / 16
			q1 := int8(ql[l]&0xf|(qh[l]>>0&3)<<4) - 32
			q2 := int8(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
			q3 := int8(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
			q4 := int8(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
			y[n+l] = d * float32(int8(sc[is])) * float32(q1)
			y[n+l+32] = d * float32(int8(sc[is+2])) * float32(q2)
			y[n+l+64] = d * float32(int8(sc[is+4])) * float32(q3)
			y[n+l+96] = d * float32(int8(sc[is+6])) * float32(q4)
		}
		ql, qh, sc = ql[64:], qh[32:], sc[8:]
	}
}
