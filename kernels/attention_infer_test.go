package kernels

import (
	"fmt"
	"testing"

	"github.com/lsalign/lsalign/internal/testutil"
)

// attnForwardOut runs the training forward and returns its output.
func attnForwardOut(s attnShape, qkv, alibi []float32) []float32 {
	out := make([]float32, s.B*s.T*s.NH*s.HS)
	att := make([]float32, s.B*s.NH*s.T*s.T)
	AttentionForward(out, att, qkv, alibi, s.B, s.T, s.NH, s.NKV, s.HS, attnScale(s.HS))
	return out
}

// TestAttentionInferPackedMatchesForward runs the inference path over the
// packed qkv buffer (pos0 = 0) and compares it with AttentionForward.
func TestAttentionInferPackedMatchesForward(t *testing.T) {
	for i, s := range attnTestShapes {
		for _, useAlibi := range []bool{false, true} {
			t.Run(fmt.Sprintf("%+v/alibi=%v", s, useAlibi), func(t *testing.T) {
				qkv, alibi := attnInputs(uint64(20+i), s, useAlibi)
				want := attnForwardOut(s, qkv, alibi)
				W := s.qkvW()
				out := testutil.NewGuarded(len(want), 7)
				AttentionInfer(out.S, qkv, qkv[s.NH*s.HS:], qkv[(s.NH+s.NKV)*s.HS:], alibi,
					s.B, s.T, 0, s.NH, s.NKV, s.HS, W, W, s.T*W, attnScale(s.HS))
				out.Check(t, "out")
				testutil.Close(t, "out", out.S, testutil.To64(want), 1e-6, 1e-5)
			})
		}
	}
}

// TestAttentionInferKVCache fills a padded KV cache in steps, a prefill of
// P rows, a chunk longer than one block, then one row at a time, and checks
// every step's output against the full forward.
func TestAttentionInferKVCache(t *testing.T) {
	s := attnShape{2, 150, 4, 2, 8}
	for _, useAlibi := range []bool{false, true} {
		qkv, alibi := attnInputs(31, s, useAlibi)
		want := attnForwardOut(s, qkv, alibi)
		W, C, Ckv := s.qkvW(), s.NH*s.HS, s.NKV*s.HS
		const capT, pad = 160, 3 // cache capacity beyond T, and row padding
		kvStride := Ckv + pad
		kvBatch := capT * kvStride
		kc := make([]float32, s.B*kvBatch)
		vc := make([]float32, s.B*kvBatch)
		steps := [][2]int{{0, 10}, {10, 80}} // {pos0, Tq}
		for p := 80; p < s.T; p++ {
			steps = append(steps, [2]int{p, 1})
		}
		for _, st := range steps {
			pos0, Tq := st[0], st[1]
			q := make([]float32, s.B*Tq*C)
			for b := 0; b < s.B; b++ {
				for i := 0; i < Tq; i++ {
					row := qkv[(b*s.T+pos0+i)*W:]
					copy(q[(b*Tq+i)*C:], row[:C])
					copy(kc[b*kvBatch+(pos0+i)*kvStride:], row[C:C+Ckv])
					copy(vc[b*kvBatch+(pos0+i)*kvStride:], row[C+Ckv:C+2*Ckv])
				}
			}
			out := testutil.NewGuarded(s.B*Tq*C, 7)
			AttentionInfer(out.S, q, kc, vc, alibi, s.B, Tq, pos0, s.NH, s.NKV, s.HS, C, kvStride, kvBatch, attnScale(s.HS))
			out.Check(t, "out")
			wantStep := make([]float64, 0, s.B*Tq*C)
			for b := 0; b < s.B; b++ {
				wantStep = append(wantStep, testutil.To64(want[(b*s.T+pos0)*C:(b*s.T+pos0+Tq)*C])...)
			}
			testutil.Close(t, fmt.Sprintf("alibi=%v pos0=%d Tq=%d", useAlibi, pos0, Tq), out.S, wantStep, 1e-6, 1e-5)
		}
	}
}

func TestAttentionInferDeterministicAcrossGOMAXPROCS(t *testing.T) {
	s := attnShape{2, 140, 4, 1, 8}
	qkv, alibi := attnInputs(41, s, true)
	W := s.qkvW()
	sameBitsAcrossProcs(t, "AttentionInfer", func() [][]float32 {
		out := make([]float32, s.B*s.T*s.NH*s.HS)
		AttentionInfer(out, qkv, qkv[s.NH*s.HS:], qkv[(s.NH+s.NKV)*s.HS:], alibi,
			s.B, s.T, 0, s.NH, s.NKV, s.HS, W, W, s.T*W, 0.3)
		return [][]float32{out}
	})
}

func TestAttentionInferPanicsOnShortCache(t *testing.T) {
	out := make([]float32, 4)
	q := make([]float32, 4)
	kv := make([]float32, 4*2) // two positions of one head of size 4; pos0+Tq = 3 needed
	mustPanic(t, "len(k) = 8, want at least 12", func() { AttentionInfer(out, q, kv, kv, nil, 1, 1, 2, 1, 1, 4, 4, 4, 8, 1) })
}

// BenchmarkAttentionDecode is one decoding step of a stories260K-sized
// layer (8 heads, 4 kv heads, HS 8) at position 511.
func BenchmarkAttentionDecode(b *testing.B) {
	const NH, NKV, HS, Tk = 8, 4, 8, 512
	q := make([]float32, NH*HS)
	k := make([]float32, Tk*NKV*HS)
	out := make([]float32, NH*HS)
	for b.Loop() {
		AttentionInfer(out, q, k, k, nil, 1, 1, Tk-1, NH, NKV, HS, NH*HS, NKV*HS, Tk*NKV*HS, 0.35)
	}
}
