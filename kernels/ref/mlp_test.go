package ref

import (
	"math"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
)

func TestSwiGLUGrad(t *testing.T) {
	r := rng.New(6)
	const N, H = 3, 5
	inp := randn(r, N*2*H, 2)
	dout := randn(r, N*H, 1)
	out := make([]float64, N*H)
	forward := func() []float64 {
		SwiGLUForward(out, inp, N, H)
		return out
	}
	dinp := make([]float64, N*2*H)
	SwiGLUBackward(dinp, dout, inp, N, H)
	checkGrads(t, forward, dout, wrt{"dinp", inp, dinp})
}

func TestSwiGLUValue(t *testing.T) {
	// gate 1, up 3: silu(1) = 1/(1+e^-1) = 0.7310585786300049.
	out := make([]float64, 1)
	SwiGLUForward(out, []float64{1, 3}, 1, 1)
	if math.Abs(out[0]-3*0.7310585786300049) > 1e-12 {
		t.Fatalf("out = %v", out)
	}
}

func TestGELUGrad(t *testing.T) {
	r := rng.New(7)
	const n = 20
	inp := randn(r, n, 2)
	dout := randn(r, n, 1)
	out := make([]float64, n)
	forward := func() []float64 {
		GELUForward(out, inp, n)
		return out
	}
	dinp := make([]float64, n)
	GELUBackward(dinp, dout, inp, n)
	checkGrads(t, forward, dout, wrt{"dinp", inp, dinp})
}

func TestGELUValue(t *testing.T) {
	// x = 1: 0.5*(1+tanh(sqrt(2/pi)*1.044715)) = 0.8411919906082768 (GPT-2 tanh form).
	out := make([]float64, 1)
	GELUForward(out, []float64{1}, 1)
	if math.Abs(out[0]-0.8411919906082768) > 1e-12 {
		t.Fatalf("gelu(1) = %.17g", out[0])
	}
}
