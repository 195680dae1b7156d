package ref

import (
	"math"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
)

func TestPositionGrad(t *testing.T) {
	r := rng.New(2)
	const B, T, C = 3, 4, 5
	base := randn(r, B*T*C, 1)
	wpe := randn(r, T*C, 1)
	dout := randn(r, B*T*C, 1)
	out := make([]float64, B*T*C)
	forward := func() []float64 {
		copy(out, base)
		PositionForward(out, wpe, B, T, C)
		return out
	}
	dwpe := make([]float64, T*C)
	PositionBackward(dwpe, dout, B, T, C)
	checkGrads(t, forward, dout, wrt{"dwpe", wpe, dwpe})
}

// TestSinusoidalTableValues checks entries worked out by hand from
// PE[t,2i] = sin(t/10000^(2i/C)), PE[t,2i+1] = cos(t/10000^(2i/C)).
func TestSinusoidalTableValues(t *testing.T) {
	cases := []struct {
		T, C, t, c int
		want       float64
	}{
		{2, 4, 0, 0, 0},                        // sin 0
		{2, 4, 0, 1, 1},                        // cos 0
		{2, 4, 1, 0, 0.8414709848078965},       // sin 1
		{2, 4, 1, 1, 0.5403023058681398},       // cos 1
		{2, 4, 1, 2, 0.009999833334166666},     // sin(1/10000^(2/4)) = sin(0.01)
		{2, 4, 1, 3, 0.9999500004166653},       // cos(0.01)
		{3, 3, 2, 2, math.Sin(2 / 464.158883)}, // odd C: last column is sin, 10000^(2/3) = 464.158883
		{1, 1, 0, 0, 0},
	}
	for _, tc := range cases {
		out := make([]float64, tc.T*tc.C)
		SinusoidalTable(out, tc.T, tc.C)
		if got := out[tc.t*tc.C+tc.c]; math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("T=%d C=%d: PE[%d,%d] = %.12g, want %.12g", tc.T, tc.C, tc.t, tc.c, got, tc.want)
		}
	}
}
