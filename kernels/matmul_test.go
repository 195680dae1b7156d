package kernels

import (
	"fmt"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
	"github.com/lsalign/lsalign/kernels/ref"
)

func TestMatmulMatchesRef(t *testing.T) {
	for i, s := range []struct{ N, IN, OUT int }{{1, 1, 1}, {1, 4, 3}, {3, 5, 7}, {17, 33, 65}, {300, 64, 130}} {
		for _, withBias := range []bool{true, false} {
			t.Run(fmt.Sprintf("%+v/bias=%v", s, withBias), func(t *testing.T) {
				N, IN, OUT := s.N, s.IN, s.OUT
				r := rng.New(uint64(i))
				inp, weight := testutil.Rand32(r, N*IN, 1), testutil.Rand32(r, OUT*IN, 1)
				dout := testutil.Rand32(r, N*OUT, 1)
				var bias []float32
				var bias64 []float64
				if withBias {
					bias = testutil.Rand32(r, OUT, 1)
					bias64 = testutil.To64(bias)
				}
				inp64, w64 := testutil.To64(inp), testutil.To64(weight)

				out := testutil.NewGuarded(N*OUT, 7)
				MatmulForward(out.S, inp, weight, bias, N, IN, OUT)
				out.Check(t, "out")
				want := make([]float64, N*OUT)
				ref.MatmulForward(want, inp64, w64, bias64, N, IN, OUT)
				testutil.Close(t, "out", out.S, want, 1e-5, 1e-5)

				dinp, dweight, dbias := testutil.NewGuarded(N*IN, 0.5), testutil.NewGuarded(OUT*IN, -1), testutil.NewGuarded(OUT, 3)
				MatmulBackward(dinp.S, dweight.S, dbias.S, dout, inp, weight, N, IN, OUT)
				dinp.Check(t, "dinp")
				dweight.Check(t, "dweight")
				dbias.Check(t, "dbias")
				wantDinp, wantDw, wantDb := filled(N*IN, 0.5), filled(OUT*IN, -1), filled(OUT, 3)
				ref.MatmulBackward(wantDinp, wantDw, wantDb, testutil.To64(dout), inp64, w64, N, IN, OUT)
				testutil.Close(t, "dinp", dinp.S, wantDinp, 1e-5, 1e-5)
				testutil.Close(t, "dweight", dweight.S, wantDw, 1e-4, 1e-5)
				testutil.Close(t, "dbias", dbias.S, wantDb, 1e-5, 1e-5)

				onlyB := testutil.NewGuarded(OUT, 3)
				MatmulBackward(nil, nil, onlyB.S, dout, inp, weight, N, IN, OUT)
				testutil.Close(t, "dbias alone", onlyB.S, wantDb, 1e-5, 1e-5)
			})
		}
	}
}

func TestMatmulDeterministic(t *testing.T) {
	const N, IN, OUT = 600, 32, 100
	r := rng.New(5)
	inp, weight, bias := testutil.Rand32(r, N*IN, 1), testutil.Rand32(r, OUT*IN, 1), testutil.Rand32(r, OUT, 1)
	dout := testutil.Rand32(r, N*OUT, 1)
	sameBitsAcrossProcs(t, "Matmul", func() [][]float32 {
		out := make([]float32, N*OUT)
		MatmulForward(out, inp, weight, bias, N, IN, OUT)
		dinp, dweight, dbias := make([]float32, N*IN), make([]float32, OUT*IN), make([]float32, OUT)
		MatmulBackward(dinp, dweight, dbias, dout, inp, weight, N, IN, OUT)
		return [][]float32{out, dinp, dweight, dbias}
	})
}
