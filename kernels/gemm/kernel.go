package gemm

import "unsafe"

// microKernel computes one mr×nr tile: C = alpha*(A·Bp) + beta*C. A is mr
// rows × k steps with element (r, p) at a[r*aRow + p*aStep]: a packed panel
// (aRow 1, aStep mr) or rows of op(A) read in place (aRow lda, aStep 1). Bp
// is a packed panel of k steps of nr values of op(B), and C starts at c with
// row stride ldc. Strides are in elements. beta must be +0 (not -0) when C
// must not be read.
type microKernel func(k int, a *float32, aRow, aStep int, b, c *float32, ldc int, alpha, beta float32)

// kernel is a micro-kernel with its tile shape and the cache blocking that
// suits it: packed A blocks are mc×kc, packed B blocks kc×nc. mc is a
// multiple of mr and nc of nr, so that every block starts on a tile
// boundary of C.
type kernel struct {
	name       string
	mr, nr     int
	mc, kc, nc int
	run        microKernel
}

// maxTile bounds mr*nr over all kernels; it sizes the edge-tile buffer.
const maxTile = 12 * 32

// goKernel is the portable fallback: a 4×4 tile held in scalar variables.
func goKernel() *kernel {
	return &kernel{name: "go", mr: 4, nr: 4, mc: 128, kc: 256, nc: 4096, run: kernelGo}
}

func kernelGo(k int, a *float32, aRow, aStep int, b, c *float32, ldc int, alpha, beta float32) {
	aLen := 0
	if k > 0 {
		aLen = 3*aRow + (k-1)*aStep + 1
	}
	as := unsafe.Slice(a, aLen)
	bp := unsafe.Slice(b, 4*k)
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	for p := 0; p < k; p++ {
		o := p * aStep
		a0, a1, a2, a3 := as[o], as[o+aRow], as[o+2*aRow], as[o+3*aRow]
		b0, b1, b2, b3 := bp[4*p], bp[4*p+1], bp[4*p+2], bp[4*p+3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	cs := unsafe.Slice(c, 3*ldc+4)
	storeRow4(cs[0:4:4], alpha, beta, c00, c01, c02, c03)
	storeRow4(cs[ldc:ldc+4:ldc+4], alpha, beta, c10, c11, c12, c13)
	storeRow4(cs[2*ldc:2*ldc+4:2*ldc+4], alpha, beta, c20, c21, c22, c23)
	storeRow4(cs[3*ldc:3*ldc+4:3*ldc+4], alpha, beta, c30, c31, c32, c33)
}

// storeRow4 writes alpha*acc + beta*row into row, reading row only when beta
// is non-zero.
func storeRow4(row []float32, alpha, beta, x0, x1, x2, x3 float32) {
	row = row[:4]
	if beta == 0 {
		row[0], row[1], row[2], row[3] = alpha*x0, alpha*x1, alpha*x2, alpha*x3
		return
	}
	row[0] = alpha*x0 + beta*row[0]
	row[1] = alpha*x1 + beta*row[1]
	row[2] = alpha*x2 + beta*row[2]
	row[3] = alpha*x3 + beta*row[3]
}
