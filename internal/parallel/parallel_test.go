package parallel

import (
	"runtime"
	"sync/atomic"
	"testing"
)

func TestForCoversEveryIndexOnce(t *testing.T) {
	for _, procs := range []int{1, 2, 3, 8} {
		for _, n := range []int{0, 1, 2, 7, 100, 1001} {
			hits := make([]int32, n)
			ForWorkers(procs, n, 3, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					atomic.AddInt32(&hits[i], 1)
				}
			})
			for i, h := range hits {
				if h != 1 {
					t.Fatalf("workers %d n %d: index %d visited %d times", procs, n, i, h)
				}
			}
		}
	}
}

func TestChunksAreFixed(t *testing.T) {
	old := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(old)
	var a, b [5][2]int
	Chunks(103, 5, func(c, lo, hi int) { a[c] = [2]int{lo, hi} })
	runtime.GOMAXPROCS(4)
	Chunks(103, 5, func(c, lo, hi int) { b[c] = [2]int{lo, hi} })
	if a != b {
		t.Fatalf("chunk bounds depend on GOMAXPROCS: %v vs %v", a, b)
	}
	if a[0][0] != 0 || a[4][1] != 103 {
		t.Fatalf("chunks do not cover [0,103): %v", a)
	}
}
