package gguf

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// dequantOne stores one tensor of the given type and reads it back as F32.
func dequantOne(t *testing.T, typ TensorType, n int, data []byte) []float32 {
	t.Helper()
	b := rawGGUF(t, []rawTensor{{"q", []uint64{uint64(n)}, typ, data}})
	got, err := readBytes(t, b).TensorF32("q")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d values, want %d", len(got), n)
	}
	return got
}

func checkValues(t *testing.T, typ TensorType, got []float32, want func(i int) float32) {
	t.Helper()
	for i, g := range got {
		if w := want(i); g != w {
			t.Fatalf("%s[%d] = %v, want %v", typ, i, g, w)
		}
	}
}

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }

const (
	halfOne      = 0x3c00
	halfTwo      = 0x4000
	halfHalf     = 0x3800
	halfMinusOne = 0xbc00
	halfMinus2   = 0xc000
	halfQuarter  = 0x3400
	halfThree    = 0x4200
)

func TestQ8_0(t *testing.T) {
	// Two blocks: d = 0.5 with quants i-16, then d = -2 with quants -128..
	var data []byte
	data = append(data, le16(halfHalf)...)
	for i := range 32 {
		data = append(data, byte(int8(i-16)))
	}
	data = append(data, le16(halfMinus2)...)
	for i := range 32 {
		data = append(data, byte(int8(-128+8*i)))
	}
	got := dequantOne(t, TypeQ8_0, 64, data)
	checkValues(t, TypeQ8_0, got, func(i int) float32 {
		if i < 32 {
			return float32(i-16) * 0.5
		}
		return float32(-128+8*(i-32)) * -2
	})
}

// nibbles packs j in the low and 15-j in the high nibble of byte j.
func nibbles() []byte {
	qs := make([]byte, 16)
	for j := range qs {
		qs[j] = byte(j | (15-j)<<4)
	}
	return qs
}

// lowHigh returns the 4-bit quant of element i of a 32-block packed by
// nibbles: low nibbles hold elements 0..15, high nibbles 16..31.
func lowHigh(i int) int {
	if i < 16 {
		return i
	}
	return 15 - (i - 16)
}

func TestQ4_0AndQ4_1(t *testing.T) {
	got := dequantOne(t, TypeQ4_0, 32, append(le16(halfTwo), nibbles()...))
	checkValues(t, TypeQ4_0, got, func(i int) float32 { return float32(lowHigh(i)-8) * 2 })

	data := append(le16(halfHalf), le16(halfMinusOne)...)
	got = dequantOne(t, TypeQ4_1, 32, append(data, nibbles()...))
	checkValues(t, TypeQ4_1, got, func(i int) float32 { return float32(lowHigh(i))*0.5 - 1 })
}

func TestQ5_0AndQ5_1(t *testing.T) {
	const qh = 0xAAAA5555 // fifth bit of element i is bit i
	fifth := func(i int) int { return int(qh>>i&1) << 4 }
	data := append(le16(halfOne), binary.LittleEndian.AppendUint32(nil, qh)...)
	got := dequantOne(t, TypeQ5_0, 32, append(data, nibbles()...))
	checkValues(t, TypeQ5_0, got, func(i int) float32 { return float32(lowHigh(i) + fifth(i) - 16) })

	data = append(le16(halfQuarter), le16(halfThree)...)
	data = append(data, binary.LittleEndian.AppendUint32(nil, qh)...)
	got = dequantOne(t, TypeQ5_1, 32, append(data, nibbles()...))
	checkValues(t, TypeQ5_1, got, func(i int) float32 { return float32(lowHigh(i)+fifth(i))*0.25 + 3 })
}

func TestQ8_1(t *testing.T) {
	data := append(le16(halfTwo), le16(0x1234)...) // s is a precomputed sum, unused
	for i := range 32 {
		data = append(data, byte(int8(3*i-40)))
	}
	got := dequantOne(t, TypeQ8_1, 32, data)
	checkValues(t, TypeQ8_1, got, func(i int) float32 { return float32(3*i-40) * 2 })
}

// packQ4K builds a Q4_K block as ggml's quantize_row_q4_K_ref lays it out:
// 6-bit scale/min pairs for eight sub-blocks of 32, then nibbles with
// element j+l in the low and j+l+32 in the high half of byte l.
func packQ4K(d, dmin uint16, ls, lm [8]uint8, q [256]uint8) []byte {
	b := append(le16(d), le16(dmin)...)
	var sc [12]byte
	for j := range 8 {
		if j < 4 {
			sc[j] = ls[j]
			sc[j+4] = lm[j]
		} else {
			sc[j+4] = ls[j]&0xf | (lm[j]&0xf)<<4
			sc[j-4] |= (ls[j] >> 4) << 6
			sc[j] |= (lm[j] >> 4) << 6
		}
	}
	b = append(b, sc[:]...)
	for j := 0; j < 256; j += 64 {
		for l := range 32 {
			b = append(b, q[j+l]|q[j+l+32]<<4)
		}
	}
	return b
}

func TestQ4K(t *testing.T) {
	ls := [8]uint8{1, 2, 3, 4, 17, 6, 63, 8} // 17 and 63 use the high bits
	lm := [8]uint8{0, 1, 2, 3, 4, 5, 6, 40}  // 40 too
	var q [256]uint8
	for i := range q {
		q[i] = uint8((i * 7) % 16)
	}
	got := dequantOne(t, TypeQ4_K, 256, packQ4K(halfOne, halfHalf, ls, lm, q))
	checkValues(t, TypeQ4_K, got, func(i int) float32 {
		return 1*float32(ls[i/32])*float32(q[i]) - 0.5*float32(lm[i/32])
	})
}

// packQ6K builds a Q6_K block as ggml's quantize_row_q6_K_ref lays it out.
func packQ6K(d uint16, scales [16]int8, q [256]uint8) []byte {
	ql, qh := make([]byte, 128), make([]byte, 64)
	for j := 0; j < 256; j += 128 {
		for l := range 32 {
			q1, q2, q3, q4 := q[j+l], q[j+l+32], q[j+l+64], q[j+l+96]
			ql[j/2+l] = q1&0xf | (q3&0xf)<<4
			ql[j/2+l+32] = q2&0xf | (q4&0xf)<<4
			qh[j/4+l] = q1>>4 | (q2>>4)<<2 | (q3>>4)<<4 | (q4>>4)<<6
		}
	}
	b := append(ql, qh...)
	for _, s := range scales {
		b = append(b, byte(s))
	}
	return append(b, le16(d)...)
}

func TestQ6K(t *testing.T) {
	var scales [16]int8
	for k := range scales {
		scales[k] = int8(k*9 - 70)
	}
	var q [256]uint8
	for i := range q {
		q[i] = uint8((i * 37) % 64)
	}
	got := dequantOne(t, TypeQ6_K, 256, packQ6K(halfHalf, scales, q))
	checkValues(t, TypeQ6_K, got, func(i int) float32 {
		return 0.5 * float32(scales[i/16]) * float32(int(q[i])-32)
	})
}

func TestPlainTypes(t *testing.T) {
	got := dequantOne(t, TypeI8, 3, []byte{0xff, 5, 0x80})
	checkValues(t, TypeI8, got, func(i int) float32 { return []float32{-1, 5, -128}[i] })
	got = dequantOne(t, TypeI32, 2, binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 7), 0xfffffffe))
	checkValues(t, TypeI32, got, func(i int) float32 { return []float32{7, -2}[i] })
}

func TestUnsupportedType(t *testing.T) {
	b := rawGGUF(t, []rawTensor{{"blk.0.ffn_up.weight", []uint64{256}, TypeQ2_K, make([]byte, 84)}})
	f := readBytes(t, b)
	_, err := f.TensorF32("blk.0.ffn_up.weight")
	var fe *FormatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), `tensor "blk.0.ffn_up.weight": type: Q2_K`) {
		t.Fatalf("error %v, want one naming the tensor and Q2_K", err)
	}
	if raw, err := f.TensorBytes("blk.0.ffn_up.weight"); err != nil || len(raw) != 84 {
		t.Fatalf("TensorBytes: %d bytes, %v", len(raw), err)
	}
}
