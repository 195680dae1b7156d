package kernels

import (
	"github.com/lsalign/lsalign/internal/parallel"
	"github.com/lsalign/lsalign/kernels/gemm"
)

// MatmulForward is a linear layer: out = inp @ weight^T (+ bias), with the
// weight in PyTorch layout [OUT, IN]. Shapes: out [N,OUT], inp [N,IN],
// weight [OUT,IN], bias [OUT] or nil.
func MatmulForward(out, inp, weight, bias []float32, N, IN, OUT int) {
	mustLen("MatmulForward", "out", len(out), N*OUT)
	mustLen("MatmulForward", "inp", len(inp), N*IN)
	mustLen("MatmulForward", "weight", len(weight), OUT*IN)
	var beta float32
	if bias != nil {
		mustLen("MatmulForward", "bias", len(bias), OUT)
		// Seed every row with the bias and let the GEMM add onto it.
		parallel.For(N, rowGrain(OUT), func(lo, hi int) {
			for n := lo; n < hi; n++ {
				copy(out[n*OUT:(n+1)*OUT], bias)
			}
		})
		beta = 1
	}
	if IN == 0 { // an empty product
		if bias == nil {
			clear(out)
		}
		return
	}
	if N == 0 || OUT == 0 {
		return
	}
	gemm.Sgemm(false, true, N, OUT, IN, 1, inp, IN, weight, IN, beta, out, OUT)
}

// MatmulBackward accumulates the gradients of MatmulForward (any of dinp,
// dweight, dbias may be nil):
//
//	dinp [N,IN]      += dout @ weight
//	dweight [OUT,IN] += dout^T @ inp
//	dbias [OUT]      += column sums of dout
func MatmulBackward(dinp, dweight, dbias, dout, inp, weight []float32, N, IN, OUT int) {
	mustLen("MatmulBackward", "dout", len(dout), N*OUT)
	mustLen("MatmulBackward", "inp", len(inp), N*IN)
	mustLen("MatmulBackward", "weight", len(weight), OUT*IN)
	if dinp != nil {
		mustLen("MatmulBackward", "dinp", len(dinp), N*IN)
	}
	if dweight != nil {
		mustLen("MatmulBackward", "dweight", len(dweight), OUT*IN)
	}
	if dbias != nil {
		mustLen("MatmulBackward", "dbias", len(dbias), OUT)
	}
	if N == 0 || IN == 0 || OUT == 0 {
		return // every gradient is empty or gets nothing added
	}
	if dinp != nil {
		gemm.Sgemm(false, false, N, IN, OUT, 1, dout, OUT, weight, IN, 1, dinp, IN)
	}
	if dweight != nil {
		gemm.Sgemm(true, false, OUT, IN, N, 1, dout, OUT, inp, IN, 1, dweight, IN)
	}
	if dbias != nil {
		reduceColumns(dbias, N, func(n, c0, c1 int, acc []float64) {
			for i, g := range dout[n*OUT+c0 : n*OUT+c1] {
				acc[i] += float64(g)
			}
		})
	}
}
