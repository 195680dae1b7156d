//go:build !noasm

package kernels

import "golang.org/x/sys/cpu"

// matvecAVX2 sets out[r] = dot(w[r*ldw : r*ldw+n], x[:n]) for r < rows, n
// a positive multiple of 8, with AVX2+FMA.
//
//go:noescape
func matvecAVX2(out, w, x *float32, rows, n, ldw int)

// vecmatAVX2 sets out[j] = sum_r p[r]*w[r*ldw+j] for j < n, r < rows, n a
// positive multiple of 8 and rows > 0, with AVX2+FMA.
//
//go:noescape
func vecmatAVX2(out, p, w *float32, n, rows, ldw int)

func hasAVX2FMA() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA }

// matvecVec computes the dot products over the longest multiple of 8
// columns with AVX2+FMA when the CPU has them, and otherwise every column
// in Go; it returns how many columns it covered. The caller has checked
// the bounds of w.
func matvecVec(out, x, w []float32, n, ldw int) int {
	n8 := n &^ 7
	if n8 == 0 || !hasAVX2FMA() {
		matvecGo(out, x, w, n, ldw)
		return n
	}
	matvecAVX2(&out[0], &w[0], &x[0], len(out), n8, ldw)
	return n8
}

// vecmatVec is matvecVec for the transposed product.
func vecmatVec(out, p, w []float32, ldw int) int {
	n8 := len(out) &^ 7
	if n8 == 0 || !hasAVX2FMA() {
		vecmatGo(out, p, w, ldw)
		return len(out)
	}
	vecmatAVX2(&out[0], &p[0], &w[0], n8, len(p), ldw)
	return n8
}
