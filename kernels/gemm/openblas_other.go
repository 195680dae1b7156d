//go:build !((linux || darwin) && (amd64 || arm64))

package gemm

import (
	"errors"
	"runtime"
)

// openBLAS is unavailable on this platform.
type openBLAS struct{}

func loadOpenBLAS() (*openBLAS, error) {
	return nil, errors.New("OpenBLAS loading is not supported on " + runtime.GOOS + "/" + runtime.GOARCH)
}

func (*openBLAS) sgemm(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	panic("gemm: OpenBLAS is unavailable")
}
