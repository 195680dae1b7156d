package ref

import (
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
)

// Central differences with h = 1e-5 have truncation error ~h^2 = 1e-10
// relative and rounding noise ~eps*|out|/h = 2e-11 absolute, so even
// gradients near 1e-4 meet the 1e-6 relative tolerance (h = 1e-6 leaves
// ~2e-10 of noise, too much for small softmax and GELU-tail gradients).
const (
	gradStep = 1e-5
	gradTol  = 1e-6
)

// wrt pairs an input of a forward function with the analytic gradient the
// matching backward produced for it.
type wrt struct {
	name     string
	x        []float64
	analytic []float64
}

// checkGrads compares each analytic gradient with central differences of
// the scalar sum(dout*forward()) that the backward differentiates. forward
// recomputes the outputs from the current inputs and returns them. The
// scalar is taken relative to the unperturbed outputs, so outputs that a
// perturbation leaves unchanged add exact zeros instead of rounding noise.
func checkGrads(t *testing.T, forward func() []float64, dout []float64, inputs ...wrt) {
	t.Helper()
	base := append([]float64(nil), forward()...)
	loss := func() float64 {
		out := forward()
		s := 0.0
		for i := range out {
			s += dout[i] * (out[i] - base[i])
		}
		return s
	}
	for _, in := range inputs {
		numeric := testutil.NumGrad(loss, in.x, gradStep)
		testutil.CheckGrad(t, in.name, in.analytic, numeric, gradTol)
	}
}

func randn(r *rng.RNG, n int, std float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = r.NormFloat64() * std
	}
	return x
}
