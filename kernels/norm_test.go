package kernels

import (
	"fmt"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
	"github.com/lsalign/lsalign/kernels/ref"
)

var normShapes = []struct{ N, C int }{{1, 1}, {1, 8}, {5, 3}, {7, 33}, {300, 128}, {64, 512}}

const normEps = 1e-5

func TestRMSNormMatchesRef(t *testing.T) {
	for i, s := range normShapes {
		t.Run(fmt.Sprintf("%+v", s), func(t *testing.T) {
			N, C := s.N, s.C
			r := rng.New(uint64(i))
			inp := testutil.Rand32(r, N*C, 1)
			weight := testutil.Rand32(r, C, 1)
			dout := testutil.Rand32(r, N*C, 1)

			out, rstd := testutil.NewGuarded(N*C, 7), testutil.NewGuarded(N, 7)
			RMSNormForward(out.S, rstd.S, inp, weight, N, C, normEps)
			out.Check(t, "out")
			rstd.Check(t, "rstd")
			wantOut, wantR := make([]float64, N*C), make([]float64, N)
			inp64, w64 := testutil.To64(inp), testutil.To64(weight)
			ref.RMSNormForward(wantOut, wantR, inp64, w64, N, C, normEps)
			testutil.Close(t, "out", out.S, wantOut, 1e-6, 1e-5)
			testutil.Close(t, "rstd", rstd.S, wantR, 0, 1e-6)

			dinp, dweight := testutil.NewGuarded(N*C, 0.5), testutil.NewGuarded(C, -0.25)
			RMSNormBackward(dinp.S, dweight.S, dout, inp, weight, rstd.S, N, C)
			dinp.Check(t, "dinp")
			dweight.Check(t, "dweight")
			wantDinp, wantDw := filled(N*C, 0.5), filled(C, -0.25)
			ref.RMSNormBackward(wantDinp, wantDw, testutil.To64(dout), inp64, w64, wantR, N, C)
			testutil.Close(t, "dinp", dinp.S, wantDinp, 1e-5, 1e-4)
			testutil.Close(t, "dweight", dweight.S, wantDw, 1e-5, 1e-4)

			// Each gradient alone: nil skips the other.
			onlyW := testutil.NewGuarded(C, -0.25)
			RMSNormBackward(nil, onlyW.S, dout, inp, weight, rstd.S, N, C)
			testutil.Close(t, "dweight alone", onlyW.S, wantDw, 1e-5, 1e-4)
			onlyX := testutil.NewGuarded(N*C, 0.5)
			RMSNormBackward(onlyX.S, nil, dout, inp, weight, rstd.S, N, C)
			testutil.Close(t, "dinp alone", onlyX.S, wantDinp, 1e-5, 1e-4)
		})
	}
}

func TestLayerNormMatchesRef(t *testing.T) {
	for i, s := range normShapes {
		for _, withBias := range []bool{true, false} {
			t.Run(fmt.Sprintf("%+v/bias=%v", s, withBias), func(t *testing.T) {
				N, C := s.N, s.C
				r := rng.New(uint64(i))
				// An offset mean checks that the variance is not E[x^2]-E[x]^2.
				inp := testutil.Rand32(r, N*C, 1)
				for j := range inp {
					inp[j] += 3
				}
				weight := testutil.Rand32(r, C, 1)
				var bias []float32
				var bias64 []float64
				if withBias {
					bias = testutil.Rand32(r, C, 1)
					bias64 = testutil.To64(bias)
				}
				dout := testutil.Rand32(r, N*C, 1)

				out, mean, rstd := testutil.NewGuarded(N*C, 7), testutil.NewGuarded(N, 7), testutil.NewGuarded(N, 7)
				LayerNormForward(out.S, mean.S, rstd.S, inp, weight, bias, N, C, normEps)
				out.Check(t, "out")
				mean.Check(t, "mean")
				rstd.Check(t, "rstd")
				wantOut, wantM, wantR := make([]float64, N*C), make([]float64, N), make([]float64, N)
				inp64, w64 := testutil.To64(inp), testutil.To64(weight)
				ref.LayerNormForward(wantOut, wantM, wantR, inp64, w64, bias64, N, C, normEps)
				testutil.Close(t, "out", out.S, wantOut, 1e-5, 1e-5)
				testutil.Close(t, "mean", mean.S, wantM, 0, 1e-6)
				testutil.Close(t, "rstd", rstd.S, wantR, 0, 1e-5)

				dinp, dweight, dbias := testutil.NewGuarded(N*C, 0.5), testutil.NewGuarded(C, -0.25), testutil.NewGuarded(C, 2)
				LayerNormBackward(dinp.S, dweight.S, dbias.S, dout, inp, weight, mean.S, rstd.S, N, C)
				dinp.Check(t, "dinp")
				dweight.Check(t, "dweight")
				dbias.Check(t, "dbias")
				wantDinp, wantDw, wantDb := filled(N*C, 0.5), filled(C, -0.25), filled(C, 2)
				ref.LayerNormBackward(wantDinp, wantDw, wantDb, testutil.To64(dout), inp64, w64, wantM, wantR, N, C)
				testutil.Close(t, "dinp", dinp.S, wantDinp, 1e-4, 1e-4)
				testutil.Close(t, "dweight", dweight.S, wantDw, 1e-4, 1e-4)
				testutil.Close(t, "dbias", dbias.S, wantDb, 1e-5, 1e-5)

				onlyB := testutil.NewGuarded(C, 2)
				LayerNormBackward(nil, nil, onlyB.S, dout, inp, weight, mean.S, rstd.S, N, C)
				testutil.Close(t, "dbias alone", onlyB.S, wantDb, 1e-5, 1e-5)
			})
		}
	}
}

func TestNormDeterministic(t *testing.T) {
	const N, C = 1500, 96
	r := rng.New(4)
	inp, weight, bias := testutil.Rand32(r, N*C, 1), testutil.Rand32(r, C, 1), testutil.Rand32(r, C, 1)
	dout := testutil.Rand32(r, N*C, 1)
	sameBitsAcrossProcs(t, "RMSNorm", func() [][]float32 {
		out, rstd := make([]float32, N*C), make([]float32, N)
		RMSNormForward(out, rstd, inp, weight, N, C, normEps)
		dinp, dweight := make([]float32, N*C), make([]float32, C)
		RMSNormBackward(dinp, dweight, dout, inp, weight, rstd, N, C)
		return [][]float32{out, rstd, dinp, dweight}
	})
	sameBitsAcrossProcs(t, "LayerNorm", func() [][]float32 {
		out, mean, rstd := make([]float32, N*C), make([]float32, N), make([]float32, N)
		LayerNormForward(out, mean, rstd, inp, weight, bias, N, C, normEps)
		dinp, dweight, dbias := make([]float32, N*C), make([]float32, C), make([]float32, C)
		LayerNormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C)
		return [][]float32{out, mean, rstd, dinp, dweight, dbias}
	})
}

func BenchmarkRMSNorm(b *testing.B) {
	const N, C = 2048, 128
	r := rng.New(1)
	inp, weight, dout := testutil.Rand32(r, N*C, 1), testutil.Rand32(r, C, 1), testutil.Rand32(r, N*C, 1)
	out, rstd := make([]float32, N*C), make([]float32, N)
	dinp, dweight := make([]float32, N*C), make([]float32, C)
	b.Run("forward", func(b *testing.B) {
		for b.Loop() {
			RMSNormForward(out, rstd, inp, weight, N, C, normEps)
		}
	})
	b.Run("backward", func(b *testing.B) {
		for b.Loop() {
			RMSNormBackward(dinp, dweight, dout, inp, weight, rstd, N, C)
		}
	})
}
