package kernels

import (
	"math"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/internal/testutil"
	"github.com/lsalign/lsalign/kernels/ref"
)

// ropeHFInvFreq restates, independently of InvFreq and in the shape of
// Hugging Face's modeling_rope_utils, the inverse frequencies of each
// scaling type: pos_freqs = base^(arange(0, d, 2)/d), then per type.
func ropeHFInvFreq(s RopeScaling, d int, base float64, seqLen int) []float64 {
	posFreqs := func(b float64) []float64 {
		p := make([]float64, 0, d/2)
		for j := 0; j < d; j += 2 {
			p = append(p, math.Pow(b, float64(j)/float64(d)))
		}
		return p
	}
	recip := func(p []float64, f float64) []float64 {
		out := make([]float64, len(p))
		for i := range p {
			out[i] = 1 / (f * p[i])
		}
		return out
	}
	D := float64(d)
	switch s.Type {
	case "linear":
		return recip(posFreqs(base), s.Factor)
	case "ntk":
		return recip(posFreqs(base*math.Pow(s.Factor, D/(D-2))), 1)
	case "dynamic-ntk":
		L := float64(s.OrigCtx)
		sl := max(float64(seqLen), L)
		return recip(posFreqs(base*math.Pow(s.Factor*sl/L-(s.Factor-1), D/(D-2))), 1)
	case "abf":
		return recip(posFreqs(s.NewBase), 1)
	case "yarn":
		findCorrectionDim := func(numRotations float64) float64 {
			return D * math.Log(float64(s.OrigCtx)/(numRotations*2*math.Pi)) / (2 * math.Log(base))
		}
		fast, slow := 32.0, 1.0
		if s.BetaFast != 0 {
			fast = s.BetaFast
		}
		if s.BetaSlow != 0 {
			slow = s.BetaSlow
		}
		low := max(math.Floor(findCorrectionDim(fast)), 0)
		high := min(math.Ceil(findCorrectionDim(slow)), D-1)
		if low == high {
			high += 0.001
		}
		extrap := recip(posFreqs(base), 1)
		interp := recip(posFreqs(base), s.Factor)
		out := make([]float64, d/2)
		for i := range out {
			ramp := math.Min(math.Max((float64(i)-low)/(high-low), 0), 1)
			extrapFactor := 1 - ramp
			out[i] = interp[i]*(1-extrapFactor) + extrap[i]*extrapFactor
		}
		return out
	}
	return recip(posFreqs(base), 1)
}

func ropeCloseF64(t *testing.T, name string, got, want []float64, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %v, want %v", name, got, want)
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > rtol*math.Abs(want[i]) {
			t.Fatalf("%s[%d] = %.17g, want %.17g\n got %v\nwant %v", name, i, got[i], want[i], got, want)
		}
	}
}

// TestInvFreqHandValues: d=8, b=10000, s=4, L=16, where
// inv_freq_i = 10^-i exactly. Worked by hand:
//   - linear divides by 4;
//   - ntk base 10000*4^(4/3) gives 10^-i * 4^(-i/3);
//   - dynamic-ntk at T=32: (4*32/16 - 3) = 5, so 10^-i * 5^(-i/3);
//     at T <= 16 it is plain;
//   - yarn: corr_dim(32) = 8 ln(16/(64 pi))/(2 ln 10^4) = -1.10 -> low 0,
//     corr_dim(1) = 8 ln(16/(2 pi))/(2 ln 10^4) = 0.41 -> high 1; the ramp
//     is (0, 1, 1, 1): dimension 0 kept, the others divided by 4;
//   - abf with base 10^6 gives 10^(-3i/2).
func TestInvFreqHandValues(t *testing.T) {
	c := math.Cbrt
	cases := []struct {
		s    RopeScaling
		T    int
		want []float64
	}{
		{RopeScaling{}, 16, []float64{1, 0.1, 0.01, 0.001}},
		{RopeScaling{Type: "none", Factor: 4}, 16, []float64{1, 0.1, 0.01, 0.001}},
		{RopeScaling{Type: "linear", Factor: 4}, 16, []float64{0.25, 0.025, 0.0025, 0.00025}},
		{RopeScaling{Type: "ntk", Factor: 4}, 16, []float64{1, 0.1 / c(4), 0.01 / c(16), 0.00025}},
		{RopeScaling{Type: "dynamic-ntk", Factor: 4, OrigCtx: 16}, 16, []float64{1, 0.1, 0.01, 0.001}},
		{RopeScaling{Type: "dynamic-ntk", Factor: 4, OrigCtx: 16}, 32, []float64{1, 0.1 / c(5), 0.01 / c(25), 0.0002}},
		{RopeScaling{Type: "yarn", Factor: 4, OrigCtx: 16}, 16, []float64{1, 0.025, 0.0025, 0.00025}},
		{RopeScaling{Type: "abf", NewBase: 1e6}, 16, []float64{1, 0.031622776601683794, 0.001, 3.1622776601683794e-5}},
	}
	for _, tc := range cases {
		ropeCloseF64(t, tc.s.Type, tc.s.InvFreq(8, 10000, tc.T), tc.want, 1e-13)
	}
}

// TestInvFreqMatchesHFFormulas compares every type with ropeHFInvFreq over
// head sizes, lengths and factors where the YaRN ramp is fractional (d=64,
// L=4096 gives low 10, high 23).
func TestInvFreqMatchesHFFormulas(t *testing.T) {
	scalings := []RopeScaling{
		{},
		{Type: "linear", Factor: 2},
		{Type: "ntk", Factor: 8},
		{Type: "dynamic-ntk", Factor: 2, OrigCtx: 4096},
		{Type: "yarn", Factor: 8, OrigCtx: 4096},
		{Type: "yarn", Factor: 3, OrigCtx: 256, BetaFast: 16, BetaSlow: 2},
		{Type: "yarn", Factor: 2, OrigCtx: 2},
		{Type: "abf", NewBase: 500000},
	}
	for _, s := range scalings {
		for _, d := range []int{4, 8, 32, 64, 128} {
			for _, T := range []int{1, 4096, 10000} {
				for _, base := range []float64{10000, 500000} {
					ropeCloseF64(t, s.Type, s.InvFreq(d, base, T), ropeHFInvFreq(s, d, base, T), 1e-12)
				}
			}
		}
	}
	// The fractional ramp really is exercised: dimension 16 of d=64 is a
	// blend, strictly between extrapolated and interpolated.
	plain := RopeScaling{}.InvFreq(64, 10000, 1)
	y := RopeScaling{Type: "yarn", Factor: 8, OrigCtx: 4096}.InvFreq(64, 10000, 1)
	if !(y[16] < plain[16] && y[16] > plain[16]/8) || y[5] != plain[5] || y[30] != plain[30]/8 {
		t.Fatalf("yarn ramp: got %v %v %v for plain %v %v %v", y[5], y[16], y[30], plain[5], plain[16], plain[30])
	}
}

func TestRopeTableMatchesRef(t *testing.T) {
	const T, HS = 300, 16
	for _, s := range []RopeScaling{{}, {Type: "yarn", Factor: 4, OrigCtx: 64}, {Type: "yarn", Factor: 4, OrigCtx: 64, AttnFactor: 0.9}} {
		cos, sin := ropeTable(T, HS, s)
		wantCos, wantSin := ref.RopeTable(ropeHFInvFreq(s, HS, 10000, T), T, s.AttentionFactor())
		testutil.Close(t, "cos", cos, wantCos, 1e-7, 1e-6)
		testutil.Close(t, "sin", sin, wantSin, 1e-7, 1e-6)
	}
}

// TestYarnAttentionFactor: 0.1*ln(4)+1 = 1.1386294361119891, applied to
// both cos and sin (so cos at t=0 equals it), once; an explicit factor
// replaces it; other types use 1.
func TestYarnAttentionFactor(t *testing.T) {
	s := RopeScaling{Type: "yarn", Factor: 4, OrigCtx: 16}
	if got := s.AttentionFactor(); math.Abs(got-1.1386294361119891) > 1e-15 {
		t.Fatalf("AttentionFactor = %v", got)
	}
	cos, sin := ropeTable(2, 8, s)
	if cos[0] != float32(1.1386294361119891) || sin[0] != 0 {
		t.Fatalf("cos[0] = %v, sin[0] = %v", cos[0], sin[0])
	}
	// t=1, i=0: angle 1 (inv_freq 1 is kept by the ramp).
	if math.Abs(float64(sin[4])-1.1386294361119891*math.Sin(1)) > 1e-6 {
		t.Fatalf("sin[1,0] = %v", sin[4])
	}
	s.AttnFactor = 1.5
	if s.AttentionFactor() != 1.5 {
		t.Fatal("explicit AttnFactor ignored")
	}
	if (RopeScaling{Type: "linear", Factor: 4}).AttentionFactor() != 1 {
		t.Fatal("linear scaling must not scale cos/sin")
	}
}

func TestRopeScalingValidate(t *testing.T) {
	good := []RopeScaling{
		{}, {Type: "none"}, {Type: "linear", Factor: 1}, {Type: "ntk", Factor: 2},
		{Type: "dynamic-ntk", Factor: 2, OrigCtx: 512}, {Type: "yarn", Factor: 4, OrigCtx: 512},
		{Type: "abf", NewBase: 500000},
	}
	for _, s := range good {
		if err := s.Validate(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	bad := map[string]RopeScaling{
		"unknown":      {Type: "longrope", Factor: 2},
		"factor":       {Type: "linear", Factor: 0.5},
		"nan factor":   {Type: "ntk", Factor: math.NaN()},
		"original":     {Type: "dynamic-ntk", Factor: 2},
		"yarn ctx":     {Type: "yarn", Factor: 2},
		"betas":        {Type: "yarn", Factor: 2, OrigCtx: 8, BetaFast: 1, BetaSlow: 2},
		"attn":         {Type: "yarn", Factor: 2, OrigCtx: 8, AttnFactor: -1},
		"abf":          {Type: "abf"},
		"abf inf base": {Type: "abf", NewBase: math.Inf(1)},
	}
	for want, s := range bad {
		err := s.Validate()
		if err == nil {
			t.Errorf("%s: %+v accepted", want, s)
		} else if !strings.Contains(err.Error(), "rope scaling") {
			t.Errorf("%s: error %q does not name rope scaling", want, err)
		}
	}
}

// TestRopeTableRangeMatchesRows: a range of positions gives the same rows
// as the full table, for every scaling (dynamic-ntk with the same length).
func TestRopeTableRangeMatchesRows(t *testing.T) {
	const T, HS, pos0 = 40, 8, 13
	for _, s := range []RopeScaling{{}, {Type: "linear", Factor: 2}, {Type: "dynamic-ntk", Factor: 2, OrigCtx: 16},
		{Type: "yarn", Factor: 4, OrigCtx: 16}, {Type: "abf", NewBase: 5e5}} {
		cos, sin := make([]float32, T*HS/2), make([]float32, T*HS/2)
		RopeTable(cos, sin, T, HS, 10000, s)
		rc, rs := make([]float32, (T-pos0)*HS/2), make([]float32, (T-pos0)*HS/2)
		RopeTableRange(rc, rs, pos0, T-pos0, HS, 10000, s)
		for i := range rc {
			if rc[i] != cos[pos0*HS/2+i] || rs[i] != sin[pos0*HS/2+i] {
				t.Fatalf("%q: element %d differs from the full table", s.Type, i)
			}
		}
	}
}
