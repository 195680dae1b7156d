package ref

import (
	"math"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
)

func TestDivergenceGrad(t *testing.T) {
	for _, d := range []Divergence{SCE, SKL, JS} {
		r := rng.New(uint64(10 + d))
		const N, V = 3, 7
		a, b := randn(r, N*V, 1.5), randn(r, N*V, 1.5)
		dout := randn(r, N, 1)
		out := make([]float64, N)
		forward := func() []float64 {
			DivergenceForward(d, out, a, b, N, V)
			return out
		}
		dA, dB := make([]float64, N*V), make([]float64, N*V)
		DivergenceBackward(d, dA, dB, dout, a, b, N, V)
		checkGrads(t, forward, dout, wrt{"dA", a, dA}, wrt{"dB", b, dB})
	}
}

// TestDivergenceHandValues uses logits a = (0, 0) and b = (0, ln 3), so
// p = (1/2, 1/2) and q = (1/4, 3/4). By hand:
//
//	SCE = -(1/2 ln 1/4 + 1/2 ln 3/4) - (1/4 + 3/4) ln 1/2 = 1/2 ln(16/3) + ln 2 = 1.5301354
//	SKL = 1/4 (ln 1/2 - ln 1/4) - 1/4 (ln 1/2 - ln 3/4) = 1/4 ln 3 = 0.2746531
//	JS, m = (3/8, 5/8): KL(p||m) = 1/2 ln(16/15), KL(q||m) = 1/4 ln(2/3) + 3/4 ln(6/5),
//	    JS = (KL(p||m) + KL(q||m)) / 2 = 0.0338221
func TestDivergenceHandValues(t *testing.T) {
	a, b := []float64{0, 0}, []float64{0, math.Log(3)}
	want := map[Divergence]float64{
		SCE: 0.5*math.Log(16.0/3) + math.Ln2,
		SKL: 0.25 * math.Log(3),
		JS:  0.5 * (0.5*math.Log(16.0/15) + 0.25*math.Log(2.0/3) + 0.75*math.Log(1.2)),
	}
	approx := map[Divergence]float64{SCE: 1.5301354, SKL: 0.2746531, JS: 0.0338221}
	for d, w := range want {
		out := make([]float64, 1)
		DivergenceForward(d, out, a, b, 1, 2)
		if math.Abs(out[0]-w) > 1e-12 || math.Abs(out[0]-approx[d]) > 1e-7 {
			t.Errorf("divergence %d = %.9f, want %.9f", d, out[0], w)
		}
	}
}
