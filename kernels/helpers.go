package kernels

// Helpers shared by the kernels of this package.

import (
	"fmt"

	"github.com/lsalign/lsalign/internal/parallel"
)

// addTo sets dst += src elementwise.
func addTo(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

// elemsPerTask is the least work (in elements touched) worth handing to a
// goroutine: about 10-30 µs, well above the cost of starting one.
const elemsPerTask = 1 << 15

// rowGrain is the least number of width-wide rows per parallel task.
func rowGrain(width int) int { return max(1, elemsPerTask/max(width, 1)) }

// columnGrain is the least number of columns per task when tasks split the
// columns of a weight gradient and each walks all N rows: at least one
// cache line of columns.
func columnGrain(N int) int { return max(16, elemsPerTask/max(N, 1)) }

// reduceColumns accumulates dst[c] += sum over rows n = 0..N-1 of a per-row
// term, for a weight gradient of width len(dst). Tasks own disjoint column
// ranges [c0, c1) and walk every row in order, calling
// fn(n, c0, c1, acc) to add row n's terms for those columns into acc
// (float64, indexed from c0). Each column is summed in the same order
// whatever the partition, so the result is bit-identical for any GOMAXPROCS.
func reduceColumns(dst []float32, N int, fn func(n, c0, c1 int, acc []float64)) {
	parallel.For(len(dst), columnGrain(N), func(c0, c1 int) {
		acc := make([]float64, c1-c0)
		for n := 0; n < N; n++ {
			fn(n, c0, c1, acc)
		}
		for i, v := range acc {
			dst[c0+i] += float32(v)
		}
	})
}

// mustLen panics, naming the kernel and argument, when a slice length does
// not match its dimensions: a programmer error, not bad input.
func mustLen(kernel, name string, got, want int) {
	if got != want {
		panic(fmt.Sprintf("kernels.%s: len(%s) = %d, want %d", kernel, name, got, want))
	}
}

// mustMinLen is mustLen for a slice that may be longer than it needs, such
// as a strided view or a KV cache.
func mustMinLen(kernel, name string, got, want int) {
	if got < want {
		panic(fmt.Sprintf("kernels.%s: len(%s) = %d, want at least %d", kernel, name, got, want))
	}
}

// mustPositive panics when a dimension that must be at least 1 is not.
func mustPositive(kernel, name string, v int) {
	if v < 1 {
		panic(fmt.Sprintf("kernels.%s: %s = %d, want >= 1", kernel, name, v))
	}
}
