package kernels

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
	"github.com/lsalign/lsalign/kernels/ref"
)

var divergences = []Divergence{SCE, SKL, JS}

func TestDivergenceMatchesRef(t *testing.T) {
	for _, d := range divergences {
		for i, s := range lossShapes {
			t.Run(fmt.Sprintf("%v/%+v", d, s), func(t *testing.T) {
				N, V := s.N, s.V
				r := rng.New(uint64(i))
				a, b := randLogits(r, N, V), randLogits(r, N, V)
				dout := testutil.Rand32(r, N, 1)
				a64, b64 := testutil.To64(a), testutil.To64(b)

				out := testutil.NewGuarded(N, 7)
				DivergenceForward(d, out.S, a, b, N, V)
				out.Check(t, "out")
				want := make([]float64, N)
				ref.DivergenceForward(ref.Divergence(d), want, a64, b64, N, V)
				// 1e-5 relative is what the misalignment metric needs at V=32000.
				testutil.Close(t, "out", out.S, want, 1e-6, 1e-5)

				dA, dB := testutil.NewGuarded(N*V, 0.5), testutil.NewGuarded(N*V, -1)
				DivergenceBackward(d, dA.S, dB.S, dout, a, b, N, V)
				dA.Check(t, "dA")
				dB.Check(t, "dB")
				wantA, wantB := filled(N*V, 0.5), filled(N*V, -1)
				ref.DivergenceBackward(ref.Divergence(d), wantA, wantB, testutil.To64(dout), a64, b64, N, V)
				testutil.Close(t, "dA", dA.S, wantA, 1e-6, 1e-5)
				testutil.Close(t, "dB", dB.S, wantB, 1e-6, 1e-5)

				// Stop-gradient on either side leaves the other unchanged.
				onlyB := testutil.NewGuarded(N*V, -1)
				DivergenceBackward(d, nil, onlyB.S, dout, a, b, N, V)
				testutil.Close(t, "dB alone", onlyB.S, wantB, 1e-6, 1e-5)
				onlyA := testutil.NewGuarded(N*V, 0.5)
				DivergenceBackward(d, onlyA.S, nil, dout, a, b, N, V)
				testutil.Close(t, "dA alone", onlyA.S, wantA, 1e-6, 1e-5)
			})
		}
	}
}

// TestDivergenceIdenticalInputs: with p = q, SCE = 2H(p) while SKL and JS
// vanish together with their gradients.
func TestDivergenceIdenticalInputs(t *testing.T) {
	const N, V = 4, 300
	r := rng.New(11)
	a := randLogits(r, N, V)
	dout := []float32{1, -2, 0.5, 3}
	entropy := make([]float64, N)
	logp := make([]float64, N*V)
	ref.LogSoftmax(logp, testutil.To64(a), N, V)
	for i, lp := range logp {
		entropy[i/V] -= math.Exp(lp) * lp
	}
	for _, d := range divergences {
		out := make([]float32, N)
		DivergenceForward(d, out, a, a, N, V)
		dA, dB := make([]float32, N*V), make([]float32, N*V)
		DivergenceBackward(d, dA, dB, dout, a, a, N, V)
		if d == SCE {
			testutil.Close(t, "SCE(p,p)", out, scaled(entropy, 2), 0, 1e-5)
			continue
		}
		testutil.Close(t, d.String()+"(p,p)", out, make([]float64, N), 1e-7, 0)
		testutil.Close(t, d.String()+" dA at p=q", dA, make([]float64, N*V), 1e-8, 0)
		testutil.Close(t, d.String()+" dB at p=q", dB, make([]float64, N*V), 1e-8, 0)
	}
}

func scaled(x []float64, k float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = k * v
	}
	return y
}

// TestDivergenceHandValues uses logits a = (0, 0) and b = (0, ln 3), so
// p = (1/2, 1/2) and q = (1/4, 3/4). Worked out by hand:
//
//	SCE = -(1/2 ln 1/4 + 1/2 ln 3/4) - (1/4 + 3/4) ln 1/2
//	    = 1/2 ln(16/3) + ln 2 = 0.83698822 + 0.69314718 = 1.5301354
//	SKL = (1/4)(ln 1/2 - ln 1/4) + (-1/4)(ln 1/2 - ln 3/4) = 1/4 ln 3 = 0.2746531
//	JS: m = (3/8, 5/8); KL(p||m) = 1/2 ln(4/3) + 1/2 ln(4/5) = 0.0322693,
//	    KL(q||m) = 1/4 ln(2/3) + 3/4 ln(6/5) = 0.0353749; JS = 0.0338221
//
// and the SCE gradient for a: p - q - p*(log q - sum p log q), with
// sum p log q = 1/2 ln(3/16) = -0.8369882:
//
//	dA_0 = 1/4 - 1/2*(ln 1/4 + 0.8369882) = 0.25 + 0.2746531 = 0.5246531
//	dA_1 = -1/4 - 1/2*(ln 3/4 + 0.8369882) = -0.25 - 0.2746531 = -0.5246531
func TestDivergenceHandValues(t *testing.T) {
	a, b := []float32{0, 0}, []float32{0, float32(math.Log(3))}
	want := map[Divergence]float64{SCE: 1.5301354, SKL: 0.2746531, JS: 0.0338221}
	for d, w := range want {
		out := make([]float32, 1)
		DivergenceForward(d, out, a, b, 1, 2)
		if math.Abs(float64(out[0])-w) > 2e-7 {
			t.Errorf("%v = %.8f, want %.7f", d, out[0], w)
		}
	}
	dA := make([]float32, 2)
	DivergenceBackward(SCE, dA, nil, []float32{1}, a, b, 1, 2)
	testutil.Close(t, "SCE dA", dA, []float64{0.5246531, -0.5246531}, 2e-7, 0)
}

func TestDivergenceStableForHugeLogits(t *testing.T) {
	// Shifting a row by a constant leaves its softmax unchanged.
	const V = 50
	r := rng.New(12)
	a, b := testutil.Rand32(r, V, 2), testutil.Rand32(r, V, 2)
	for _, d := range divergences {
		base := make([]float32, 1)
		DivergenceForward(d, base, a, b, 1, V)
		shiftedA, shiftedB := make([]float32, V), make([]float32, V)
		for v := range a {
			shiftedA[v], shiftedB[v] = a[v]+1e4, b[v]-3e4
		}
		got := testutil.NewGuarded(1, 0)
		DivergenceForward(d, got.S, shiftedA, shiftedB, 1, V)
		got.Check(t, d.String())
		// The shift costs the logits' own float32 precision (ulp(3e4) = 2e-3).
		if math.Abs(float64(got.S[0]-base[0])) > 2e-2*math.Max(1, float64(base[0])) {
			t.Errorf("%v shifted = %v, unshifted %v", d, got.S[0], base[0])
		}
	}
}

func TestDivergenceNames(t *testing.T) {
	for _, d := range divergences {
		got, err := ParseDivergence(d.String())
		if err != nil || got != d {
			t.Errorf("ParseDivergence(%q) = %v, %v", d.String(), got, err)
		}
		js, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back Divergence
		if err := json.Unmarshal(js, &back); err != nil || back != d {
			t.Errorf("JSON %s round trip = %v, %v", js, back, err)
		}
	}
	if SCE.String() != "sce" || SKL.String() != "skl" || JS.String() != "js" {
		t.Errorf("names %q %q %q", SCE, SKL, JS)
	}
	if d, err := ParseDivergence("SCE"); err != nil || d != SCE {
		t.Errorf(`ParseDivergence("SCE") = %v, %v`, d, err)
	}
	if _, err := ParseDivergence("kl"); err == nil {
		t.Error(`ParseDivergence("kl") succeeded`)
	}
	if _, err := json.Marshal(Divergence(7)); err == nil {
		t.Error("marshalled an invalid divergence")
	}
}

func TestDivergenceDeterministic(t *testing.T) {
	const N, V = 200, 512
	r := rng.New(13)
	a, b, dout := randLogits(r, N, V), randLogits(r, N, V), testutil.Rand32(r, N, 1)
	for _, d := range divergences {
		sameBitsAcrossProcs(t, d.String(), func() [][]float32 {
			out, dA, dB := make([]float32, N), make([]float32, N*V), make([]float32, N*V)
			DivergenceForward(d, out, a, b, N, V)
			DivergenceBackward(d, dA, dB, dout, a, b, N, V)
			return [][]float32{out, dA, dB}
		})
	}
}

func BenchmarkDivergence(b *testing.B) {
	const N, V = 2048, 512
	r := rng.New(1)
	la, lb, dout := randLogits(r, N, V), randLogits(r, N, V), testutil.Rand32(r, N, 1)
	out, dA, dB := make([]float32, N), make([]float32, N*V), make([]float32, N*V)
	for _, d := range divergences {
		b.Run(d.String()+"/forward", func(b *testing.B) {
			for b.Loop() {
				DivergenceForward(d, out, la, lb, N, V)
			}
		})
		b.Run(d.String()+"/backward", func(b *testing.B) {
			for b.Loop() {
				DivergenceBackward(d, dA, dB, dout, la, lb, N, V)
			}
		})
	}
}
