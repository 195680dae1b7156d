package model

import (
	"fmt"
	"math"

	"github.com/lsalign/lsalign/kernels"
)

// ForwardOptions selects what a forward pass keeps and computes.
type ForwardOptions struct {
	// Train keeps every activation Backward needs (including the T×T
	// attention probabilities). Without it the pass uses one layer's worth of
	// buffers and O(T) attention memory.
	Train bool
	// Lens gives, for the scalar head, each sequence's length: the head reads
	// position Lens[b]-1 of sequence b. Shorter sequences are right-padded to
	// T; causal attention makes the padding invisible to earlier positions.
	// nil means every sequence has length T.
	Lens []int
	// Rows restricts the LM head to these rows (b*T + t) of the batch, so
	// an evaluation that needs one position per sequence does not pay for
	// N×V logits. nil means every row.
	Rows []int
}

// Forward runs the model on tokens [B, T] (row-major, B sequences of T
// tokens, each at positions 0..T-1). Afterwards Logits (lm head) or Scalars
// (scalar head) hold the outputs. It returns an error for inputs the model
// cannot take: a token outside the vocabulary, or T beyond a learned
// position table.
func (m *Model) Forward(tokens []int32, B, T int, opt ForwardOptions) error {
	c := m.Config
	N := B * T
	if B <= 0 || T <= 0 || len(tokens) != N {
		return fmt.Errorf("model: %d tokens for batch %d × length %d", len(tokens), B, T)
	}
	if err := checkTokens(tokens, c.Vocab); err != nil {
		return err
	}
	if c.Pos == PosLearned && T > c.MaxSeq {
		return fmt.Errorf("model: length %d exceeds the %d learned positions", T, c.MaxSeq)
	}
	rows, err := m.headRows(B, T, opt)
	if err != nil {
		return err
	}
	nrows := N
	if rows != nil {
		nrows = len(rows)
	}
	a := m.prepare(B, T, opt.Train, nrows)
	a.rowIdx = rows
	copy(a.tokens, tokens)

	C, NH, NKV, HS, H := c.Dim, c.Heads, c.KVHeads, c.HeadSize(), c.Hidden
	QKV, FC := c.QKVDim(), c.fcWidth()
	p := m.Params
	x := a.res[0]
	kernels.EmbeddingForward(x, tokens, p.View("token_embd.weight"), N, C, c.Vocab)
	switch c.Pos {
	case PosLearned:
		kernels.PositionForward(x, p.View("position_embd.weight")[:T*C], B, T, C)
	case PosSinusoidal:
		kernels.PositionForward(x, m.sinusoidTable(T), B, T, C)
	case PosRoPE:
		m.ropeTable(T)
	}
	scale := float32(1 / math.Sqrt(float64(HS)))
	for l := range c.Layers {
		w, la := &m.layers[l], &a.layers[l]
		in, out := a.res[l], a.res[l+1]
		m.normForward(la.ln1, la.ln1Mean, la.ln1Rstd, in, w.attnNorm, w.attnNormB, N)
		kernels.MatmulForward(la.qkv, la.ln1, w.wqkv, w.bqkv, N, C, QKV)
		if c.Pos == PosRoPE {
			kernels.RopeForward(la.qkv, m.ropeCos, m.ropeSin, B, T, QKV, 0, NH+NKV, HS, c.ropeLayout())
		}
		if opt.Train {
			kernels.AttentionForward(la.atty, la.att, la.qkv, m.alibiSlopes, B, T, NH, NKV, HS, scale)
		} else {
			kernels.AttentionInfer(la.atty, la.qkv, la.qkv[NH*HS:], la.qkv[(NH+NKV)*HS:], m.alibiSlopes,
				B, T, 0, NH, NKV, HS, QKV, QKV, T*QKV, scale)
		}
		kernels.MatmulForward(a.proj, la.atty, w.wo, w.bo, N, NH*HS, C)
		kernels.ResidualForward(la.res2, in, a.proj, N*C)
		m.normForward(la.ln2, la.ln2Mean, la.ln2Rstd, la.res2, w.ffnNorm, w.ffnNormB, N)
		kernels.MatmulForward(la.fc, la.ln2, w.wfc, w.bfc, N, C, FC)
		m.mlpActForward(la.fcAct, la.fc, N)
		kernels.MatmulForward(a.proj, la.fcAct, w.wproj, w.bproj, N, H, C)
		kernels.ResidualForward(out, la.res2, a.proj, N*C)
	}
	m.normForward(a.lnf, a.lnfMean, a.lnfRstd, a.res[c.Layers], p.View("output_norm.weight"), p.maybe("output_norm.bias"), N)
	head := a.lnf
	if rows != nil {
		for i, r := range rows {
			copy(a.gathered[i*C:(i+1)*C], a.lnf[r*C:(r+1)*C])
		}
		head = a.gathered
	}
	if c.Head == HeadLM {
		kernels.MatmulForward(a.logits, head, m.outputWeight(p), nil, nrows, C, c.Vocab)
		return nil
	}
	wh, bh := p.View("output_scalar.weight"), p.View("output_scalar.bias")[0]
	for b := range B {
		a.scalars[b] = dot(head[b*C:(b+1)*C], wh) + bh
	}
	return nil
}

// checkTokens reports a token outside the vocabulary [0, V).
func checkTokens(tokens []int32, V int) error {
	for i, t := range tokens {
		if t < 0 || int(t) >= V {
			return fmt.Errorf("model: token %d at index %d is outside the vocabulary [0, %d)", t, i, V)
		}
	}
	return nil
}

// headRows returns the rows the head reads, or nil for all rows.
func (m *Model) headRows(B, T int, opt ForwardOptions) ([]int, error) {
	if m.Config.Head == HeadScalar {
		rows := make([]int, B)
		for b := range B {
			n := T
			if opt.Lens != nil {
				if len(opt.Lens) != B {
					return nil, fmt.Errorf("model: %d lengths for batch %d", len(opt.Lens), B)
				}
				n = opt.Lens[b]
				if n < 1 || n > T {
					return nil, fmt.Errorf("model: length %d of sequence %d outside [1, %d]", n, b, T)
				}
			}
			rows[b] = b*T + n - 1
		}
		return rows, nil
	}
	for _, r := range opt.Rows {
		if r < 0 || r >= B*T {
			return nil, fmt.Errorf("model: head row %d outside [0, %d)", r, B*T)
		}
	}
	return opt.Rows, nil
}

// outputWeight is the LM head's [V, C] matrix (the embedding when tied).
func (m *Model) outputWeight(s *Slab) []float32 {
	if m.Config.TiedHead {
		return s.View("token_embd.weight")
	}
	return s.View("output.weight")
}

func (m *Model) normForward(out, mean, rstd, in, w, b []float32, N int) {
	c := m.Config
	if c.Norm == "rmsnorm" {
		kernels.RMSNormForward(out, rstd, in, w, N, c.Dim, float32(c.NormEps))
	} else {
		kernels.LayerNormForward(out, mean, rstd, in, w, b, N, c.Dim, float32(c.NormEps))
	}
}

// mlpActForward applies the MLP's activation to N rows of the first
// projection: SwiGLU of its gate|up halves, or GELU.
func (m *Model) mlpActForward(out, fc []float32, N int) {
	if m.Config.MLP == "swiglu" {
		kernels.SwiGLUForward(out, fc, N, m.Config.Hidden)
	} else {
		kernels.GELUForward(out, fc, N*m.Config.Hidden)
	}
}

// ropeTable (re)computes the cos/sin tables for length T when T or the
// scaling changed (dynamic NTK depends on T).
func (m *Model) ropeTable(T int) {
	c := m.Config
	if m.ropeT == T && m.ropeScaleKey == c.RopeScaling && m.ropeCos != nil {
		return
	}
	half := c.HeadSize() / 2
	m.ropeCos, m.ropeSin = make([]float32, T*half), make([]float32, T*half)
	kernels.RopeTable(m.ropeCos, m.ropeSin, T, c.HeadSize(), c.RopeBase, c.RopeScaling)
	m.ropeT, m.ropeScaleKey = T, c.RopeScaling
}

func (m *Model) sinusoidTable(T int) []float32 {
	if m.sinusoidT < T {
		m.sinusoidal = make([]float32, T*m.Config.Dim)
		kernels.SinusoidalTable(m.sinusoidal, T, m.Config.Dim)
		m.sinusoidT = T
	}
	return m.sinusoidal[:T*m.Config.Dim]
}

// SetRopeScaling changes the RoPE scaling used by later passes.
func (m *Model) SetRopeScaling(s kernels.RopeScaling) error {
	if err := m.Config.checkRopeScaling(s); err != nil {
		return err
	}
	m.Config.RopeScaling = s
	return nil
}

// Logits returns the LM head output of the last Forward: [rows, V], where
// rows is B*T or len(opt.Rows).
func (m *Model) Logits() []float32 { return m.acts.logits }

// Scalars returns the scalar head output of the last Forward: [B].
func (m *Model) Scalars() []float32 { return m.acts.scalars }

func dot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
