// Package parallel runs loops over index ranges on several goroutines with a
// static partition, so that the work done for an index never depends on how
// many workers there are.
package parallel

import (
	"runtime"
	"sync"
)

// Workers returns how many goroutines For uses: GOMAXPROCS.
func Workers() int { return runtime.GOMAXPROCS(0) }

// For splits [0, n) into at most Workers() contiguous chunks of at least grain
// indices and calls fn(lo, hi) on each chunk concurrently, returning when all
// are done. With one chunk fn runs on the calling goroutine.
//
// Callers must make fn's effect on index i independent of the chunk bounds
// (no cross-index reductions inside fn) to keep results bit-identical across
// GOMAXPROCS settings; use Chunks for reductions.
func For(n, grain int, fn func(lo, hi int)) {
	ForWorkers(Workers(), n, grain, fn)
}

// ForWorkers is For with an explicit worker limit.
func ForWorkers(workers, n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	chunks := min(workers, (n+grain-1)/grain)
	if chunks <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	wg.Add(chunks - 1)
	for c := 1; c < chunks; c++ {
		lo, hi := c*n/chunks, (c+1)*n/chunks
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	fn(0, n/chunks)
	wg.Wait()
}

// Chunks splits [0, n) into exactly k contiguous chunks (k fixed by the
// caller, not by the number of CPUs) and runs fn(chunk, lo, hi) for each,
// spreading chunks over the workers. A reduction that keeps one partial per
// chunk and sums the partials in chunk order is bit-identical whatever
// GOMAXPROCS is.
func Chunks(n, k int, fn func(chunk, lo, hi int)) {
	if n <= 0 || k <= 0 {
		return
	}
	For(k, 1, func(c0, c1 int) {
		for c := c0; c < c1; c++ {
			fn(c, c*n/k, (c+1)*n/k)
		}
	})
}
