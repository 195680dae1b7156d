//go:build !amd64 || noasm

package kernels

// expAffineVec reports that no vector code handles any of dst: exp32 does
// it all.
func expAffineVec(dst, src []float32, scale, shift float32) (done int, sum float64) { return 0, 0 }

// rowMaxVec reports that no vector code handles any of row.
func rowMaxVec(row []float32) (done int, m float32) { return 0, 0 }
