package ref

import (
	"fmt"
	"math"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
)

// TestAttentionRopeGrad checks the backward of RoPE followed by attention
// against central differences of the forward, for the loss sum(w*out).
func TestAttentionRopeGrad(t *testing.T) {
	type shape struct{ B, T, NH, NKV, HS int }
	for _, sh := range []shape{{2, 5, 4, 2, 4}, {1, 4, 2, 1, 6}, {2, 3, 2, 2, 4}} {
		for _, useAlibi := range []bool{false, true} {
			for _, halves := range []bool{false, true} {
				name := fmt.Sprintf("%+v alibi=%v halves=%v", sh, useAlibi, halves)
				t.Run(name, func(t *testing.T) {
					attnGradCase(t, sh.B, sh.T, sh.NH, sh.NKV, sh.HS, useAlibi, halves)
				})
			}
		}
	}
}

func attnGradCase(t *testing.T, B, T, NH, NKV, HS int, useAlibi, halves bool) {
	r := rng.New(uint64(B*1000 + T*100 + NH*10 + NKV))
	qkvW := (NH + 2*NKV) * HS
	qkv := randn(r, B*T*qkvW, 1)
	w := randn(r, B*T*NH*HS, 1)
	var alibi []float64
	if useAlibi {
		alibi = AlibiSlopes(NH)
		for i := range alibi {
			alibi[i] *= 4 // make the bias matter at these short lengths
		}
	}
	inv := make([]float64, HS/2)
	for i := range inv {
		inv[i] = math.Pow(10, -float64(i)/2) * 0.9
	}
	cos, sin := RopeTable(inv, T, 1.3) // a YaRN-like factor: linear, not orthogonal
	scale := 1 / math.Sqrt(float64(HS))

	rot := make([]float64, len(qkv))
	out := make([]float64, B*T*NH*HS)
	att := make([]float64, B*NH*T*T)
	forward := func() []float64 {
		copy(rot, qkv)
		RopeForward(rot, cos, sin, B, T, qkvW, 0, NH+NKV, HS, halves)
		AttentionForward(out, att, rot, alibi, B, T, NH, NKV, HS, scale)
		return out
	}
	forward()
	dqkv := make([]float64, len(qkv))
	AttentionBackward(dqkv, w, rot, att, alibi, B, T, NH, NKV, HS, scale)
	RopeBackward(dqkv, cos, sin, B, T, qkvW, 0, NH+NKV, HS, halves)
	checkGrads(t, forward, w, wrt{"dqkv", qkv, dqkv})
}

// TestAttentionHandValues checks a case small enough to work out by hand:
// T=2, one head, HS=1, q=k=v=1 at position 0 and q=1, k=0, v=3 at position
// 1. Row 0 sees only itself. Row 1 has scores (1*1, 1*0) = (1, 0), plus
// ALiBi bias (-m, 0) when enabled, so p0 = 1/(1+e^-(1-m)), out = p0*1 + (1-p0)*3.
func TestAttentionHandValues(t *testing.T) {
	qkv := []float64{1, 1, 1, 1, 0, 3} // rows (q, k, v)
	for _, m := range []float64{0, 0.5} {
		var alibi []float64
		if m != 0 {
			alibi = []float64{m}
		}
		out := make([]float64, 2)
		att := make([]float64, 4)
		AttentionForward(out, att, qkv, alibi, 1, 2, 1, 1, 1, 1)
		p0 := 1 / (1 + math.Exp(-(1 - m)))
		want := []float64{1, p0*1 + (1-p0)*3}
		wantAtt := []float64{1, 0, p0, 1 - p0}
		for i := range want {
			if math.Abs(out[i]-want[i]) > 1e-12 {
				t.Errorf("m=%v: out[%d] = %v, want %v", m, i, out[i], want[i])
			}
		}
		for i := range wantAtt {
			if math.Abs(att[i]-wantAtt[i]) > 1e-12 {
				t.Errorf("m=%v: att[%d] = %v, want %v", m, i, att[i], wantAtt[i])
			}
		}
	}
}
