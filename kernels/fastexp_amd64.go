//go:build !noasm

package kernels

import "golang.org/x/sys/cpu"

// expAffineAVX2 sets dst[i] = e^(scale*src[i] - shift) for i < n, n a
// positive multiple of 8, and returns the float64 sum of those values.
//
//go:noescape
func expAffineAVX2(dst, src *float32, n int, scale, shift float32) float64

// expAffineVec handles the longest prefix of dst that is a multiple of 8
// with AVX2+FMA when the CPU has them, returning its length and sum; the
// caller finishes the rest with exp32.
func expAffineVec(dst, src []float32, scale, shift float32) (done int, sum float64) {
	n := len(dst) &^ 7
	if n == 0 || !hasAVX2FMA() {
		return 0, 0
	}
	return n, expAffineAVX2(&dst[0], &src[0], n, scale, shift)
}

// rowMaxAVX2 returns the largest of row[0..n), n a positive multiple of 8.
//
//go:noescape
func rowMaxAVX2(row *float32, n int) float32

// rowMaxVec returns the maximum of the longest prefix of row that is a
// multiple of 8 (done = its length), or done 0 without AVX2.
func rowMaxVec(row []float32) (done int, m float32) {
	n := len(row) &^ 7
	if n == 0 || !cpu.X86.HasAVX2 {
		return 0, 0
	}
	return n, rowMaxAVX2(&row[0], n)
}
