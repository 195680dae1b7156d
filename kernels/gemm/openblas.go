//go:build (linux || darwin) && (amd64 || arm64)

package gemm

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/ebitengine/purego"

	"github.com/lsalign/lsalign/internal/parallel"
)

// CBLAS enum values.
const (
	cblasRowMajor = 101
	cblasNoTrans  = 111
	cblasTrans    = 112
)

// openBLAS is a loaded OpenBLAS library.
type openBLAS struct {
	cblasSgemm func(order, transA, transB, m, n, k int32, alpha float32, a *float32, lda int32,
		b *float32, ldb int32, beta float32, c *float32, ldc int32)
	setNumThreads func(n int32) // nil when the library lacks openblas_set_num_threads

	mu      sync.Mutex
	threads int // last value passed to setNumThreads
}

func openBLASNames() []string {
	if runtime.GOOS == "darwin" {
		return []string{"libopenblas.dylib", "libopenblas.0.dylib",
			"/opt/homebrew/opt/openblas/lib/libopenblas.dylib", "/usr/local/opt/openblas/lib/libopenblas.dylib"}
	}
	return []string{"libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0", "libopenblaso.so.0"}
}

// loadOpenBLAS dlopens the first OpenBLAS found and binds cblas_sgemm.
func loadOpenBLAS() (*openBLAS, error) {
	var errs []error
	for _, name := range openBLASNames() {
		h, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sym, err := purego.Dlsym(h, "cblas_sgemm")
		if err != nil {
			return nil, fmt.Errorf("%s has no cblas_sgemm: %w", name, err)
		}
		lib := new(openBLAS)
		purego.RegisterFunc(&lib.cblasSgemm, sym)
		if sym, err := purego.Dlsym(h, "openblas_set_num_threads"); err == nil {
			purego.RegisterFunc(&lib.setNumThreads, sym)
		}
		return lib, nil
	}
	return nil, fmt.Errorf("cannot load OpenBLAS: %w", errors.Join(errs...))
}

// sgemm checks the arguments and calls cblas_sgemm, with the same
// conventions as SgemmThreads.
func (lib *openBLAS) sgemm(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if max(m, n, k, lda, ldb, ldc) > math.MaxInt32 {
		panic(fmt.Sprintf("gemm: OpenBLAS takes 32-bit sizes, got m=%d n=%d k=%d lda=%d ldb=%d ldc=%d", m, n, k, lda, ldb, ldc))
	}
	lib.useThreads(threads)
	lib.cblasSgemm(cblasRowMajor, cblasTranspose(transA), cblasTranspose(transB), int32(m), int32(n), int32(k),
		alpha, &a[0], int32(lda), &b[0], int32(ldb), beta, &c[0], int32(ldc))
}

// useThreads sets OpenBLAS's thread count when it differs from the last call.
func (lib *openBLAS) useThreads(threads int) {
	if lib.setNumThreads == nil {
		return
	}
	if threads <= 0 {
		threads = parallel.Workers()
	}
	lib.mu.Lock()
	defer lib.mu.Unlock()
	if threads != lib.threads {
		lib.setNumThreads(int32(threads))
		lib.threads = threads
	}
}

func cblasTranspose(t bool) int32 {
	if t {
		return cblasTrans
	}
	return cblasNoTrans
}
