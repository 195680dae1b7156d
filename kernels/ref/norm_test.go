package ref

import (
	"math"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
)

func TestRMSNormGrad(t *testing.T) {
	r := rng.New(3)
	const N, C = 4, 6
	inp := randn(r, N*C, 1)
	weight := randn(r, C, 1)
	dout := randn(r, N*C, 1)
	out, rstd := make([]float64, N*C), make([]float64, N)
	forward := func() []float64 {
		RMSNormForward(out, rstd, inp, weight, N, C, 1e-5)
		return out
	}
	forward()
	dinp, dweight := make([]float64, N*C), make([]float64, C)
	RMSNormBackward(dinp, dweight, dout, inp, weight, rstd, N, C)
	checkGrads(t, forward, dout, wrt{"dinp", inp, dinp}, wrt{"dweight", weight, dweight})
}

func TestRMSNormUnitRMS(t *testing.T) {
	inp := []float64{3, -4} // mean square 12.5
	out, rstd := make([]float64, 2), make([]float64, 1)
	RMSNormForward(out, rstd, inp, []float64{1, 2}, 1, 2, 0)
	want := []float64{3 / math.Sqrt(12.5), -8 / math.Sqrt(12.5)}
	for i := range want {
		if math.Abs(out[i]-want[i]) > 1e-12 {
			t.Fatalf("out = %v, want %v", out, want)
		}
	}
}

func TestLayerNormGrad(t *testing.T) {
	r := rng.New(4)
	const N, C = 4, 6
	inp := randn(r, N*C, 1)
	weight := randn(r, C, 1)
	bias := randn(r, C, 1)
	dout := randn(r, N*C, 1)
	out, mean, rstd := make([]float64, N*C), make([]float64, N), make([]float64, N)
	forward := func() []float64 {
		LayerNormForward(out, mean, rstd, inp, weight, bias, N, C, 1e-5)
		return out
	}
	forward()
	dinp, dweight, dbias := make([]float64, N*C), make([]float64, C), make([]float64, C)
	LayerNormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C)
	checkGrads(t, forward, dout, wrt{"dinp", inp, dinp}, wrt{"dweight", weight, dweight}, wrt{"dbias", bias, dbias})
}

func TestLayerNormValues(t *testing.T) {
	// x = (1, 3): mean 2, variance 1, so xhat = (-1, 1).
	out, mean, rstd := make([]float64, 2), make([]float64, 1), make([]float64, 1)
	LayerNormForward(out, mean, rstd, []float64{1, 3}, []float64{2, 3}, []float64{0.5, -0.5}, 1, 2, 0)
	if mean[0] != 2 || rstd[0] != 1 || out[0] != -1.5 || out[1] != 2.5 {
		t.Fatalf("mean %v rstd %v out %v, want 2, 1, [-1.5 2.5]", mean, rstd, out)
	}
}
