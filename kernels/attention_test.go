package kernels

import (
	"fmt"
	"math"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
	"github.com/lsalign/lsalign/kernels/ref"
)

type attnShape struct{ B, T, NH, NKV, HS int }

func (s attnShape) qkvW() int { return (s.NH + 2*s.NKV) * s.HS }

// attnTestShapes covers T=1, T below, at and not a multiple of attnBlock
// (64), several blocks, NKV=1 and NKV=NH.
var attnTestShapes = []attnShape{
	{1, 1, 1, 1, 4},
	{2, 5, 4, 2, 8},
	{1, 64, 2, 1, 8},
	{2, 67, 4, 1, 8},
	{1, 130, 2, 2, 16},
	{3, 33, 6, 3, 4},
	{1, 200, 4, 4, 8},
}

// attnInputs returns a random qkv (std 1: softmax rows range from flat to
// peaked at HS=16) and ALiBi slopes when asked.
func attnInputs(seed uint64, s attnShape, useAlibi bool) (qkv, alibi []float32) {
	r := rng.New(seed)
	qkv = testutil.Rand32(r, s.B*s.T*s.qkvW(), 1)
	if useAlibi {
		alibi = AlibiSlopes(s.NH)
	}
	return qkv, alibi
}

func attnScale(HS int) float32 { return float32(1 / math.Sqrt(float64(HS))) }

func attnAlibi64(alibi []float32) []float64 {
	if alibi == nil {
		return nil
	}
	return testutil.To64(alibi)
}

func TestAttentionMatchesRef(t *testing.T) {
	for i, s := range attnTestShapes {
		for _, useAlibi := range []bool{false, true} {
			t.Run(fmt.Sprintf("%+v/alibi=%v", s, useAlibi), func(t *testing.T) {
				qkv, alibi := attnInputs(uint64(10+i), s, useAlibi)
				r := rng.New(uint64(100 + i))
				dout := testutil.Rand32(r, s.B*s.T*s.NH*s.HS, 1)
				prefill := testutil.Rand32(r, len(qkv), 1)
				scale := attnScale(s.HS)

				// Outputs start as garbage (7) so unwritten entries show up.
				out := testutil.NewGuarded(s.B*s.T*s.NH*s.HS, 7)
				att := testutil.NewGuarded(s.B*s.NH*s.T*s.T, 7)
				AttentionForward(out.S, att.S, qkv, alibi, s.B, s.T, s.NH, s.NKV, s.HS, scale)
				out.Check(t, "out")
				att.Check(t, "att")

				wantOut := make([]float64, len(out.S))
				wantAtt := make([]float64, len(att.S))
				ref.AttentionForward(wantOut, wantAtt, testutil.To64(qkv), attnAlibi64(alibi), s.B, s.T, s.NH, s.NKV, s.HS, float64(scale))
				testutil.Close(t, "out", out.S, wantOut, 2e-5, 1e-4)
				testutil.Close(t, "att", att.S, wantAtt, 1e-6, 1e-4)

				// The gradient is accumulated onto prefill.
				dqkv := testutil.NewGuarded(len(qkv), 0)
				copy(dqkv.S, prefill)
				AttentionBackward(dqkv.S, dout, qkv, att.S, alibi, s.B, s.T, s.NH, s.NKV, s.HS, scale)
				dqkv.Check(t, "dqkv")
				want := testutil.To64(prefill)
				ref.AttentionBackward(want, testutil.To64(dout), testutil.To64(qkv), wantAtt, attnAlibi64(alibi), s.B, s.T, s.NH, s.NKV, s.HS, float64(scale))
				testutil.Close(t, "dqkv", dqkv.S, want, 5e-5, 2e-4)
			})
		}
	}
}

func TestAttentionBackwardNilGradient(t *testing.T) {
	s := attnShape{1, 3, 2, 1, 4}
	qkv, _ := attnInputs(1, s, false)
	att := make([]float32, s.B*s.NH*s.T*s.T)
	out := make([]float32, s.B*s.T*s.NH*s.HS)
	AttentionForward(out, att, qkv, nil, s.B, s.T, s.NH, s.NKV, s.HS, 1)
	AttentionBackward(nil, out, qkv, att, nil, s.B, s.T, s.NH, s.NKV, s.HS, 1) // must not panic
}

func TestAttentionPanicsOnBadLengths(t *testing.T) {
	s := attnShape{1, 3, 2, 1, 4}
	qkv, _ := attnInputs(1, s, false)
	att := make([]float32, s.B*s.NH*s.T*s.T)
	out := make([]float32, s.B*s.T*s.NH*s.HS)
	mustPanic(t, "len(out) = 23, want 24", func() { AttentionForward(out[1:], att, qkv, nil, s.B, s.T, s.NH, s.NKV, s.HS, 1) })
	mustPanic(t, "len(att) = 17, want 18", func() { AttentionForward(out, att[1:], qkv, nil, s.B, s.T, s.NH, s.NKV, s.HS, 1) })
	mustPanic(t, "need NH % NKV == 0", func() { AttentionForward(out, att, qkv, nil, s.B, s.T, 3, 2, s.HS, 1) })
	mustPanic(t, "len(alibi) = 1, want NH = 2", func() { AttentionForward(out, att, qkv, []float32{1}, s.B, s.T, s.NH, s.NKV, s.HS, 1) })
	mustPanic(t, "len(dqkv) = 47, want 48", func() { AttentionBackward(qkv[1:], out, qkv, att, nil, s.B, s.T, s.NH, s.NKV, s.HS, 1) })
}

// TestAttentionDeterministicAcrossGOMAXPROCS requires the same bits from
// forward and backward whatever the number of workers.
func TestAttentionDeterministicAcrossGOMAXPROCS(t *testing.T) {
	s := attnShape{3, 70, 4, 2, 8}
	qkv, alibi := attnInputs(5, s, true)
	dout := testutil.Rand32(rng.New(6), s.B*s.T*s.NH*s.HS, 1)
	sameBitsAcrossProcs(t, "attention", func() [][]float32 {
		out := make([]float32, s.B*s.T*s.NH*s.HS)
		att := make([]float32, s.B*s.NH*s.T*s.T)
		dqkv := make([]float32, len(qkv))
		AttentionForward(out, att, qkv, alibi, s.B, s.T, s.NH, s.NKV, s.HS, 0.3)
		AttentionBackward(dqkv, dout, qkv, att, alibi, s.B, s.T, s.NH, s.NKV, s.HS, 0.3)
		return [][]float32{out, att, dqkv}
	})
}

func attnSameBits(t *testing.T, name string, a, b []float32) {
	t.Helper()
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("%s[%d]: %v vs %v", name, i, a[i], b[i])
		}
	}
}

// attnLayerFlops counts the multiply-adds (x2) a causal layer really needs:
// forward q·k and p·v, backward dO·v, dS·k, dSᵀ·q, Pᵀ·dO, over T(T+1)/2
// (query, key) pairs per head.
func attnLayerFlops(s attnShape) float64 {
	pairs := float64(s.B*s.NH) * float64(s.T*(s.T+1)/2)
	return 6 * 2 * pairs * float64(s.HS)
}

func benchmarkAttention(b *testing.B, s attnShape, backward bool) {
	qkv, _ := attnInputs(1, s, false)
	dout := testutil.Rand32(rng.New(2), s.B*s.T*s.NH*s.HS, 1)
	out := make([]float32, s.B*s.T*s.NH*s.HS)
	att := make([]float32, s.B*s.NH*s.T*s.T)
	dqkv := make([]float32, len(qkv))
	scale := attnScale(s.HS)
	b.ResetTimer()
	for b.Loop() {
		AttentionForward(out, att, qkv, nil, s.B, s.T, s.NH, s.NKV, s.HS, scale)
		if backward {
			AttentionBackward(dqkv, dout, qkv, att, nil, s.B, s.T, s.NH, s.NKV, s.HS, scale)
		}
	}
	flops := attnLayerFlops(s)
	if !backward {
		flops /= 3
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(flops/sec/1e9, "GFLOP/s")
	b.ReportMetric(float64(s.B*s.T)/sec, "tokens/s")
}

// BenchmarkAttentionLayer is the training hot-loop shape: one layer's
// forward+backward at B=8, T=256, NH=NKV=4, HS=32 (budget: well under 10 ms
// on 2 cores).
func BenchmarkAttentionLayer(b *testing.B) {
	benchmarkAttention(b, attnShape{8, 256, 4, 4, 32}, true)
}

func BenchmarkAttentionForward(b *testing.B) {
	benchmarkAttention(b, attnShape{8, 256, 4, 4, 32}, false)
}

func BenchmarkAttentionLayerT1024(b *testing.B) {
	benchmarkAttention(b, attnShape{2, 1024, 4, 4, 32}, true)
}
