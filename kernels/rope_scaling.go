package kernels

import (
	"fmt"
	"math"
)

// RopeScaling selects a context-extension rule for RoPE frequencies
// (METHOD.md §4). The zero value is plain RoPE. Formulas follow Hugging Face
// transformers' modeling_rope_utils (_compute_linear_scaling_rope_parameters,
// _compute_dynamic_ntk_parameters, _compute_yarn_parameters); "ntk" is the
// static NTK-aware base change and "abf" a raised base.
type RopeScaling struct {
	Type       string  `json:"type,omitempty"`        // "none" (or ""), "linear" (PI), "ntk", "dynamic-ntk", "yarn", "abf"
	Factor     float64 `json:"factor,omitempty"`      // s = L'/L, >= 1 for linear, ntk, dynamic-ntk and yarn
	OrigCtx    int     `json:"orig_ctx,omitempty"`    // L, the original training context (dynamic-ntk and yarn)
	NewBase    float64 `json:"new_base,omitempty"`    // abf: the raised base (e.g. 500000)
	BetaFast   float64 `json:"beta_fast,omitempty"`   // yarn, default 32 when 0
	BetaSlow   float64 `json:"beta_slow,omitempty"`   // yarn, default 1 when 0
	AttnFactor float64 `json:"attn_factor,omitempty"` // yarn: multiplies cos and sin (logits scale by its square); 0 = 0.1*ln(s)+1
}

// Validate reports a scaling that InvFreq and RopeTable cannot use.
func (s RopeScaling) Validate() error {
	switch s.Type {
	case "", "none":
		return nil
	case "linear", "ntk", "dynamic-ntk", "yarn":
		if !(s.Factor >= 1) || math.IsInf(s.Factor, 0) {
			return fmt.Errorf("rope scaling %q: factor %v must be a finite number >= 1", s.Type, s.Factor)
		}
	case "abf":
		if !(s.NewBase > 1) || math.IsInf(s.NewBase, 0) {
			return fmt.Errorf("rope scaling abf: new base %v must be a finite number > 1", s.NewBase)
		}
		return nil
	default:
		return fmt.Errorf("rope scaling: unknown type %q (want none, linear, ntk, dynamic-ntk, yarn or abf)", s.Type)
	}
	if (s.Type == "dynamic-ntk" || s.Type == "yarn") && s.OrigCtx <= 0 {
		return fmt.Errorf("rope scaling %q: original context %d must be positive", s.Type, s.OrigCtx)
	}
	if s.Type == "yarn" {
		fast, slow := s.betas()
		if !(slow > 0) || !(fast > slow) || math.IsInf(fast, 0) {
			return fmt.Errorf("rope scaling yarn: need 0 < beta_slow (%v) < beta_fast (%v)", slow, fast)
		}
		if !(s.AttnFactor >= 0) || math.IsInf(s.AttnFactor, 0) {
			return fmt.Errorf("rope scaling yarn: attention factor %v must be finite and >= 0 (0 = default)", s.AttnFactor)
		}
	}
	return nil
}

func (s RopeScaling) betas() (fast, slow float64) {
	fast, slow = s.BetaFast, s.BetaSlow
	if fast == 0 {
		fast = 32
	}
	if slow == 0 {
		slow = 1
	}
	return fast, slow
}

// AttentionFactor is the number RopeTable multiplies cos and sin by: the
// YaRN attention factor (AttnFactor, or 0.1*ln(s)+1 when unset and s > 1),
// and 1 for every other type.
func (s RopeScaling) AttentionFactor() float64 {
	if s.Type != "yarn" {
		return 1
	}
	if s.AttnFactor != 0 {
		return s.AttnFactor
	}
	if s.Factor <= 1 {
		return 1
	}
	return 0.1*math.Log(s.Factor) + 1
}

// InvFreq returns the HS/2 inverse frequencies for base at current sequence
// length T; T matters only for dynamic-ntk, which changes the base only when
// T > OrigCtx. It panics on an invalid scaling (call Validate first), an odd
// HS, a base <= 1, or NTK types with HS = 2 (the exponent d/(d-2) diverges).
func (s RopeScaling) InvFreq(HS int, base float64, T int) []float64 {
	if err := s.Validate(); err != nil {
		panic("kernels.RopeScaling.InvFreq: " + err.Error())
	}
	if HS <= 0 || HS%2 != 0 || !(base > 1) {
		panic(fmt.Sprintf("kernels.RopeScaling.InvFreq: need even HS > 0 and base > 1, got HS=%d base=%v", HS, base))
	}
	d := float64(HS)
	ntkExp := func() float64 {
		if HS == 2 {
			panic("kernels.RopeScaling.InvFreq: NTK scaling needs HS > 2")
		}
		return d / (d - 2)
	}
	switch s.Type {
	case "ntk":
		base *= math.Pow(s.Factor, ntkExp())
	case "dynamic-ntk":
		if T > s.OrigCtx {
			base *= math.Pow(s.Factor*float64(T)/float64(s.OrigCtx)-(s.Factor-1), ntkExp())
		}
	case "abf":
		base = s.NewBase
	}
	inv := make([]float64, HS/2)
	for i := range inv {
		inv[i] = 1 / math.Pow(base, float64(2*i)/d)
	}
	switch s.Type {
	case "linear":
		for i := range inv {
			inv[i] /= s.Factor
		}
	case "yarn":
		s.yarnBlend(inv, d, base)
	}
	return inv
}

// yarnBlend interpolates the low frequencies (long wavelengths) by 1/s and
// keeps the high ones, with a linear ramp over the dimensions between the
// ones that turn BetaSlow and BetaFast times in the original context.
func (s RopeScaling) yarnBlend(inv []float64, d, base float64) {
	fast, slow := s.betas()
	corrDim := func(rot float64) float64 {
		return d * math.Log(float64(s.OrigCtx)/(2*math.Pi*rot)) / (2 * math.Log(base))
	}
	low := math.Max(0, math.Floor(corrDim(fast)))
	high := math.Min(d-1, math.Ceil(corrDim(slow)))
	if low == high {
		high += 0.001
	}
	for i := range inv {
		ramp := min(max((float64(i)-low)/(high-low), 0), 1)
		inv[i] = inv[i]/s.Factor*ramp + inv[i]*(1-ramp)
	}
}

// RopeTable fills cos and sin [T, HS/2] for positions 0..T-1: the angle
// t*inv_freq_i in float64, its cosine and sine times AttentionFactor, then
// rounded to float32. T is also the current length dynamic-ntk scales for.
// It panics like InvFreq and on short slices.
func RopeTable(cos, sin []float32, T, HS int, base float64, s RopeScaling) {
	RopeTableRange(cos, sin, 0, T, HS, base, s)
}

// RopeTableRange is RopeTable for positions pos0..pos0+n-1 only (row t of
// cos and sin is position pos0+t), as KV-cache decoding needs; dynamic-ntk
// scales for the length pos0+n. Rows equal RopeTable's for the same
// positions and length.
func RopeTableRange(cos, sin []float32, pos0, n, HS int, base float64, s RopeScaling) {
	if pos0 < 0 || n < 0 || len(cos) < n*(HS/2) || len(sin) < n*(HS/2) {
		panic(fmt.Sprintf("kernels.RopeTableRange: pos0 %d, n %d, len(cos) = %d, len(sin) = %d, want at least n*HS/2 = %d",
			pos0, n, len(cos), len(sin), n*(HS/2)))
	}
	inv := s.InvFreq(HS, base, pos0+n)
	a := s.AttentionFactor()
	half := HS / 2
	for t := range n {
		for i, f := range inv {
			sn, cs := math.Sincos(float64(pos0+t) * f)
			cos[t*half+i] = float32(cs * a)
			sin[t*half+i] = float32(sn * a)
		}
	}
}
