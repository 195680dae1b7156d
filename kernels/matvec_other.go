//go:build !amd64 || noasm

package kernels

// matvecVec computes every dot product in Go.
func matvecVec(out, x, w []float32, n, ldw int) int {
	matvecGo(out, x, w, n, ldw)
	return n
}

// vecmatVec computes the whole transposed product in Go.
func vecmatVec(out, p, w []float32, ldw int) int {
	vecmatGo(out, p, w, ldw)
	return len(out)
}
