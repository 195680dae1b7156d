package gemm

import (
	"fmt"
	"os"
	"sync"
)

// SgemmFunc has SgemmThreads's signature; OpenBLAS returns one.
type SgemmFunc func(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

// BackendEnv is the environment variable that selects the backend once per
// process: "openblas" for OpenBLAS, empty or "native" for the package's own
// kernels.
const BackendEnv = "LSALIGN_BLAS"

// backend is the implementation Sgemm uses in this process.
type backend struct {
	native *kernel   // used when blas is nil
	blas   *openBLAS // non-nil when OpenBLAS was requested and loaded
	err    error     // why the requested backend is not in use, if so
}

// selectedBackend reads the environment once; the choice is then fixed.
var selectedBackend = sync.OnceValue(func() backend { return chooseBackend(os.Getenv(BackendEnv)) })

// chooseBackend picks the backend for the value v of LSALIGN_BLAS.
func chooseBackend(v string) backend {
	be := backend{native: availableKernels()[0]}
	switch v {
	case "", "native":
	case "openblas":
		lib, err := loadOpenBLASOnce()
		if err != nil {
			be.err = fmt.Errorf("gemm: %s=openblas: %w; using the native %s kernels", BackendEnv, err, be.native.name)
		} else {
			be.blas = lib
		}
	default:
		be.err = fmt.Errorf("gemm: %s=%q is not a backend (want openblas or native); using the native %s kernels",
			BackendEnv, v, be.native.name)
	}
	return be
}

// Backend names what Sgemm uses in this process: "avx512", "avx2", "go" or
// "openblas".
func Backend() string {
	be := selectedBackend()
	if be.blas != nil {
		return "openblas"
	}
	return be.native.name
}

// BackendError reports why the backend requested through LSALIGN_BLAS is not
// in use (nil when it is, or when none was requested).
func BackendError() error { return selectedBackend().err }

// loadOpenBLASOnce loads OpenBLAS at most once per process.
var loadOpenBLASOnce = sync.OnceValues(loadOpenBLAS)

// OpenBLAS returns OpenBLAS's cblas_sgemm behind SgemmThreads's signature
// (threads <= 0 means GOMAXPROCS), whatever backend Sgemm uses, so the two
// can be compared in one process. It fails when the library cannot be
// loaded. OpenBLAS's thread count is a process-wide setting: concurrent
// calls with different thread counts race.
func OpenBLAS() (SgemmFunc, error) {
	lib, err := loadOpenBLASOnce()
	if err != nil {
		return nil, err
	}
	return lib.sgemm, nil
}
