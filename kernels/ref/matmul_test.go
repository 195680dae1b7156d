package ref

import (
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
)

func TestMatmulGrad(t *testing.T) {
	r := rng.New(5)
	const N, IN, OUT = 3, 4, 5
	inp := randn(r, N*IN, 1)
	weight := randn(r, OUT*IN, 1)
	bias := randn(r, OUT, 1)
	dout := randn(r, N*OUT, 1)
	out := make([]float64, N*OUT)
	forward := func() []float64 {
		MatmulForward(out, inp, weight, bias, N, IN, OUT)
		return out
	}
	dinp, dweight, dbias := make([]float64, N*IN), make([]float64, OUT*IN), make([]float64, OUT)
	MatmulBackward(dinp, dweight, dbias, dout, inp, weight, N, IN, OUT)
	checkGrads(t, forward, dout, wrt{"dinp", inp, dinp}, wrt{"dweight", weight, dweight}, wrt{"dbias", bias, dbias})
}

func TestMatmulValues(t *testing.T) {
	// [1 2] @ [[1 0] [3 4]]^T + [10 20] = [1+10, 3+8+20].
	out := make([]float64, 2)
	MatmulForward(out, []float64{1, 2}, []float64{1, 0, 3, 4}, []float64{10, 20}, 1, 2, 2)
	if out[0] != 11 || out[1] != 31 {
		t.Fatalf("out = %v, want [11 31]", out)
	}
}
