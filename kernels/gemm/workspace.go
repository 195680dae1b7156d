package gemm

import (
	"sync"
	"unsafe"
)

// workspace holds one goroutine's pack buffers and the edge-tile scratch.
// Workspaces are pooled so that a steady stream of calls allocates nothing.
type workspace struct {
	a, b []float32 // packed blocks, 64-byte aligned
	tile [maxTile]float32
}

// workspaces is the package's one shared value: a cache of scratch
// buffers, which holds no state that a result depends on.
var workspaces = sync.Pool{New: func() any { return new(workspace) }}

// getWorkspace returns a pooled workspace whose buffers fit a rows×cols
// block of C with inner dimension k under kern's blocking. Buffers only
// grow, and never beyond mc×kc and kc×nc.
func getWorkspace(kern *kernel, rows, cols, k int) *workspace {
	ws := workspaces.Get().(*workspace)
	kb := min(kern.kc, k)
	if need := ceilDiv(min(kern.mc, rows), kern.mr) * kern.mr * kb; len(ws.a) < need {
		ws.a = alignedFloats(need)
	}
	if need := ceilDiv(min(kern.nc, cols), kern.nr) * kern.nr * kb; len(ws.b) < need {
		ws.b = alignedFloats(need)
	}
	return ws
}

// alignedFloats returns n zeroed floats starting on a 64-byte boundary, so
// packed panels do not straddle cache lines more than they must.
func alignedFloats(n int) []float32 {
	const align = 64 / 4
	s := make([]float32, n+align-1)
	off := int(uintptr(unsafe.Pointer(unsafe.SliceData(s))) % 64 / 4)
	if off != 0 {
		off = align - off
	}
	return s[off : off+n : off+n]
}
