package kernels

import "github.com/lsalign/lsalign/internal/parallel"

// ResidualForward sets out = a + b elementwise; out may alias a or b.
func ResidualForward(out, a, b []float32, n int) {
	mustLen("ResidualForward", "out", len(out), n)
	mustLen("ResidualForward", "a", len(a), n)
	mustLen("ResidualForward", "b", len(b), n)
	parallel.For(n, elemsPerTask, func(lo, hi int) {
		o, x, y := out[lo:hi], a[lo:hi], b[lo:hi]
		for i := range o {
			o[i] = x[i] + y[i]
		}
	})
}

// ResidualBackward accumulates da += dout and db += dout; a nil gradient is
// skipped.
func ResidualBackward(da, db, dout []float32, n int) {
	mustLen("ResidualBackward", "dout", len(dout), n)
	if da != nil {
		mustLen("ResidualBackward", "da", len(da), n)
	}
	if db != nil {
		mustLen("ResidualBackward", "db", len(db), n)
	}
	parallel.For(n, elemsPerTask, func(lo, hi int) {
		if da != nil {
			addTo(da[lo:hi], dout[lo:hi])
		}
		if db != nil {
			addTo(db[lo:hi], dout[lo:hi])
		}
	})
}
