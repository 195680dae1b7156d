package model

import (
	"fmt"
	"math"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
	"github.com/lsalign/lsalign/kernels/ref"
)

// refForward is an independent float64 forward pass of the model built from
// the naive kernels in kernels/ref. It returns the head outputs: logits
// [rows, V] or scalars [B].
func refForward(c Config, P map[string][]float64, tokens []int32, B, T int, lens []int, rows []int) []float64 {
	N, C, NH, NKV, HS, H := B*T, c.Dim, c.Heads, c.KVHeads, c.HeadSize(), c.Hidden
	QKV := c.QKVDim()
	x := make([]float64, N*C)
	ref.EmbeddingForward(x, tokens, P["token_embd.weight"], N, C, c.Vocab)
	switch c.Pos {
	case PosLearned:
		ref.PositionForward(x, P["position_embd.weight"][:T*C], B, T, C)
	case PosSinusoidal:
		tab := make([]float64, T*C)
		ref.SinusoidalTable(tab, T, C)
		ref.PositionForward(x, tab, B, T, C)
	}
	var cos, sin []float64
	if c.Pos == PosRoPE {
		cos, sin = ref.RopeTable(c.RopeScaling.InvFreq(HS, c.RopeBase, T), T, c.RopeScaling.AttentionFactor())
	}
	var alibi []float64
	if c.Pos == PosALiBi {
		alibi = ref.AlibiSlopes(NH)
	}
	norm := func(in []float64, name string) []float64 {
		out, mean, rstd := make([]float64, N*C), make([]float64, N), make([]float64, N)
		if c.Norm == "rmsnorm" {
			ref.RMSNormForward(out, rstd, in, P[name+".weight"], N, C, c.NormEps)
		} else {
			ref.LayerNormForward(out, mean, rstd, in, P[name+".weight"], P[name+".bias"], N, C, c.NormEps)
		}
		return out
	}
	cat := func(names ...string) []float64 {
		var v []float64
		for _, n := range names {
			v = append(v, P[n]...)
		}
		return v
	}
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		h := norm(x, p+"attn_norm")
		qkv := make([]float64, N*QKV)
		var bqkv []float64
		if c.Bias {
			bqkv = cat(p+"attn_q.bias", p+"attn_k.bias", p+"attn_v.bias")
		}
		ref.MatmulForward(qkv, h, cat(p+"attn_q.weight", p+"attn_k.weight", p+"attn_v.weight"), bqkv, N, C, QKV)
		if c.Pos == PosRoPE {
			ref.RopeForward(qkv, cos, sin, B, T, QKV, 0, NH+NKV, HS, c.RopeLayout == "halves")
		}
		y := make([]float64, N*NH*HS)
		ref.AttentionForward(y, make([]float64, B*NH*T*T), qkv, alibi, B, T, NH, NKV, HS, 1/math.Sqrt(float64(HS)))
		proj := make([]float64, N*C)
		ref.MatmulForward(proj, y, P[p+"attn_output.weight"], P[p+"attn_output.bias"], N, NH*HS, C)
		for i := range x {
			x[i] += proj[i]
		}
		h = norm(x, p+"ffn_norm")
		act := make([]float64, N*H)
		if c.MLP == "swiglu" {
			fc := make([]float64, N*2*H)
			var bfc []float64
			if c.Bias {
				bfc = cat(p+"ffn_gate.bias", p+"ffn_up.bias")
			}
			ref.MatmulForward(fc, h, cat(p+"ffn_gate.weight", p+"ffn_up.weight"), bfc, N, C, 2*H)
			ref.SwiGLUForward(act, fc, N, H)
		} else {
			fc := make([]float64, N*H)
			ref.MatmulForward(fc, h, P[p+"ffn_up.weight"], P[p+"ffn_up.bias"], N, C, H)
			ref.GELUForward(act, fc, N*H)
		}
		ref.MatmulForward(proj, act, P[p+"ffn_down.weight"], P[p+"ffn_down.bias"], N, H, C)
		for i := range x {
			x[i] += proj[i]
		}
	}
	x = norm(x, "output_norm")
	if c.Head == HeadScalar {
		out := make([]float64, B)
		w, bias := P["output_scalar.weight"], P["output_scalar.bias"][0]
		for b := range B {
			r := b*T + T - 1
			if lens != nil {
				r = b*T + lens[b] - 1
			}
			s := bias
			for i := range C {
				s += x[r*C+i] * w[i]
			}
			out[b] = s
		}
		return out
	}
	if rows != nil {
		g := make([]float64, len(rows)*C)
		for i, r := range rows {
			copy(g[i*C:], x[r*C:(r+1)*C])
		}
		x = g
	}
	wout := P["output.weight"]
	if c.TiedHead {
		wout = P["token_embd.weight"]
	}
	n := len(x) / C
	logits := make([]float64, n*c.Vocab)
	ref.MatmulForward(logits, x, wout, nil, n, C, c.Vocab)
	return logits
}

type gradCase struct {
	name string
	cfg  Config
	B, T int
	lens []int
	rows []int
}

func gradCases() []gradCase {
	llama := Config{Family: "llama", Vocab: 23, Dim: 16, Layers: 2, Heads: 4, KVHeads: 2, Hidden: 12, MaxSeq: 8}
	gpt2 := Config{Family: "gpt2", Vocab: 19, Dim: 12, Layers: 2, Heads: 3, Hidden: 20, MaxSeq: 8, Bias: true, TiedHead: true}
	halves := llama
	halves.RopeLayout, halves.Bias, halves.KVHeads = "halves", true, 1
	yarn := llama
	yarn.RopeScaling.Type, yarn.RopeScaling.Factor, yarn.RopeScaling.OrigCtx = "yarn", 4, 4
	alibi := llama
	alibi.Pos, alibi.Head = PosALiBi, HeadScalar
	sinus := gpt2
	sinus.Pos, sinus.TiedHead, sinus.Head = PosSinusoidal, false, HeadScalar
	nope := llama
	nope.Pos, nope.TiedHead = PosNoPE, true
	return []gradCase{
		{name: "llama-gqa-rope", cfg: llama, B: 2, T: 6},
		{name: "gpt2-layernorm-learned-gelu-tied", cfg: gpt2, B: 2, T: 5},
		{name: "llama-halves-bias-mqa", cfg: halves, B: 1, T: 7},
		{name: "llama-yarn", cfg: yarn, B: 2, T: 8},
		{name: "alibi-scalar-lens", cfg: alibi, B: 3, T: 5, lens: []int{5, 2, 4}},
		{name: "sinusoidal-gpt2-scalar", cfg: sinus, B: 2, T: 4},
		{name: "nope-tied-rows", cfg: nope, B: 2, T: 5, rows: []int{4, 6, 9}},
	}
}

// TestWholeModelGradient checks Backward on every tensor of each config
// against central differences of the independent float64 reference forward.
// The loss is a random linear functional of the head outputs, so its
// gradient with respect to the outputs is the functional's weights.
func TestWholeModelGradient(t *testing.T) {
	for _, tc := range gradCases() {
		t.Run(tc.name, func(t *testing.T) {
			r := rng.New(11)
			m, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			c := m.Config
			// Larger-than-usual weights make every path matter.
			InitParams(m.Params, c, r, 0.3)
			for i := range m.Params.Data { // perturb norms and biases away from 1 and 0
				m.Params.Data[i] += float32(0.05 * r.NormFloat64())
			}
			tokens := make([]int32, tc.B*tc.T)
			for i := range tokens {
				tokens[i] = int32(r.Intn(c.Vocab))
			}
			if err := m.Forward(tokens, tc.B, tc.T, ForwardOptions{Train: true, Lens: tc.lens, Rows: tc.rows}); err != nil {
				t.Fatal(err)
			}
			out := m.Scalars()
			if c.Head == HeadLM {
				out = m.Logits()
			}
			P := map[string][]float64{}
			for _, ti := range m.Params.Layout.Tensors {
				P[ti.Name] = testutil.To64(m.Params.View(ti.Name))
			}
			want := refForward(c, P, tokens, tc.B, tc.T, tc.lens, tc.rows)
			testutil.Close(t, "forward output", out, want, 2e-5, 2e-4)

			w := testutil.Rand32(r, len(out), 1)
			m.ZeroGrad()
			if c.Head == HeadLM {
				err = m.Backward(w)
			} else {
				err = m.BackwardScalar(w)
			}
			if err != nil {
				t.Fatal(err)
			}
			w64 := testutil.To64(w)
			loss := func() float64 {
				o := refForward(c, P, tokens, tc.B, tc.T, tc.lens, tc.rows)
				var s float64
				for i := range o {
					s += o[i] * w64[i]
				}
				return s
			}
			for _, ti := range m.Params.Layout.Tensors {
				x := P[ti.Name]
				// At most 12 elements per tensor, spread over it, keep the test fast.
				idx := sampleIndices(len(x), 12, r)
				analytic, numeric := make([]float64, len(idx)), make([]float64, len(idx))
				g := m.Grads.View(ti.Name)
				for j, i := range idx {
					analytic[j] = float64(g[i])
					orig := x[i]
					h := 1e-5
					x[i] = orig + h
					fp := loss()
					x[i] = orig - h
					fm := loss()
					x[i] = orig
					numeric[j] = (fp - fm) / (2 * h)
				}
				checkGradAbs(t, ti.Name, analytic, numeric)
			}
		})
	}
}

// checkGradAbs compares float32 analytic gradients with float64 numeric
// ones: relative error 1e-3, with an absolute floor for near-zero entries.
func checkGradAbs(t *testing.T, name string, analytic, numeric []float64) {
	t.Helper()
	var scale float64
	for _, v := range numeric {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range analytic {
		d := math.Abs(analytic[i] - numeric[i])
		if !(d <= 1e-3*math.Abs(numeric[i])+1e-4*scale+1e-6) {
			t.Errorf("%s: element %d analytic %g numeric %g", name, i, analytic[i], numeric[i])
			return
		}
	}
}

func sampleIndices(n, k int, r *rng.RNG) []int {
	if n <= k {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	idx := make([]int, k)
	for i := range idx {
		idx[i] = r.Intn(n)
	}
	return idx
}
