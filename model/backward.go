package model

import (
	"fmt"
	"math"

	"github.com/lsalign/lsalign/kernels"
)

// Backward accumulates into Grads the gradient of a loss whose gradient with
// respect to the logits of the last Forward (run with Train) is dlogits
// ([rows, V]). Call ZeroGrad first to start a fresh step.
func (m *Model) Backward(dlogits []float32) error {
	a := m.acts
	if err := m.canBackward(); err != nil {
		return err
	}
	c := m.Config
	if c.Head != HeadLM || len(dlogits) != a.rows*c.Vocab {
		return fmt.Errorf("model: Backward needs %d lm-head gradients, got %d", a.rows*c.Vocab, len(dlogits))
	}
	m.EnsureGrads()
	C := c.Dim
	head, dhead := a.lnf, a.dlnf
	if a.rowIdx != nil {
		head, dhead = a.gathered, a.dgathered
	}
	clear(dhead)
	kernels.MatmulBackward(dhead, m.outputWeight(m.Grads), nil, dlogits, head, m.outputWeight(m.Params), a.rows, C, c.Vocab)
	m.backwardFromHead()
	return nil
}

// BackwardScalar is Backward for the scalar head: dpred is [B].
func (m *Model) BackwardScalar(dpred []float32) error {
	a := m.acts
	if err := m.canBackward(); err != nil {
		return err
	}
	c := m.Config
	if c.Head != HeadScalar || len(dpred) != a.B {
		return fmt.Errorf("model: BackwardScalar needs %d scalar-head gradients, got %d", a.B, len(dpred))
	}
	m.EnsureGrads()
	C := c.Dim
	clear(a.dgathered)
	wh := m.Params.View("output_scalar.weight")
	dwh, dbh := m.Grads.View("output_scalar.weight"), m.Grads.View("output_scalar.bias")
	for b, g := range dpred {
		h, dh := a.gathered[b*C:(b+1)*C], a.dgathered[b*C:(b+1)*C]
		for i := range C {
			dh[i] += g * wh[i]
			dwh[i] += g * h[i]
		}
		dbh[0] += g
	}
	m.backwardFromHead()
	return nil
}

func (m *Model) canBackward() error {
	if m.acts == nil || !m.acts.train {
		return fmt.Errorf("model: Backward needs a preceding Forward with Train set")
	}
	return nil
}

// backwardFromHead carries the head-input gradient (dlnf, or dgathered for
// selected rows) down through the blocks to the embeddings.
func (m *Model) backwardFromHead() {
	a, c := m.acts, m.Config
	B, T := a.B, a.T
	N := B * T
	C, NH, NKV, HS, H := c.Dim, c.Heads, c.KVHeads, c.HeadSize(), c.Hidden
	QKV, FC := c.QKVDim(), c.fcWidth()
	g := m.Grads
	if a.rowIdx != nil {
		clear(a.dlnf)
		for i, r := range a.rowIdx {
			d := a.dlnf[r*C : (r+1)*C]
			for j, v := range a.dgathered[i*C : (i+1)*C] {
				d[j] += v
			}
		}
	}
	dres := a.dres
	clear(dres)
	m.normBackward(dres, g.View("output_norm.weight"), g.maybe("output_norm.bias"), a.dlnf, a.res[c.Layers],
		m.Params.View("output_norm.weight"), a.lnfMean, a.lnfRstd, N)
	scale := float32(1 / math.Sqrt(float64(HS)))
	for l := c.Layers - 1; l >= 0; l-- {
		w, dw, la := &m.layers[l], &m.gradLayers[l], &a.layers[l]
		// out = res2 + ffn(ln2(res2)): dres flows to res2 unchanged, plus the MLP branch.
		clear(a.dfcAct)
		kernels.MatmulBackward(a.dfcAct, dw.wproj, dw.bproj, dres, la.fcAct, w.wproj, N, H, C)
		clear(a.dfc)
		if c.MLP == "swiglu" {
			kernels.SwiGLUBackward(a.dfc, a.dfcAct, la.fc, N, H)
		} else {
			kernels.GELUBackward(a.dfc, a.dfcAct, la.fc, N*H)
		}
		clear(a.dln)
		kernels.MatmulBackward(a.dln, dw.wfc, dw.bfc, a.dfc, la.ln2, w.wfc, N, C, FC)
		m.normBackward(dres, dw.ffnNorm, dw.ffnNormB, a.dln, la.res2, w.ffnNorm, la.ln2Mean, la.ln2Rstd, N)
		// res2 = in + attn(ln1(in)).
		clear(a.datty)
		kernels.MatmulBackward(a.datty, dw.wo, dw.bo, dres, la.atty, w.wo, N, NH*HS, C)
		clear(a.dqkv)
		kernels.AttentionBackward(a.dqkv, a.datty, la.qkv, la.att, m.alibiSlopes, B, T, NH, NKV, HS, scale)
		if c.Pos == PosRoPE {
			kernels.RopeBackward(a.dqkv, m.ropeCos, m.ropeSin, B, T, QKV, 0, NH+NKV, HS, c.ropeLayout())
		}
		clear(a.dln)
		kernels.MatmulBackward(a.dln, dw.wqkv, dw.bqkv, a.dqkv, la.ln1, w.wqkv, N, C, QKV)
		m.normBackward(dres, dw.attnNorm, dw.attnNormB, a.dln, a.res[l], w.attnNorm, la.ln1Mean, la.ln1Rstd, N)
	}
	kernels.EmbeddingBackward(g.View("token_embd.weight"), dres, a.tokens, N, C, c.Vocab)
	if c.Pos == PosLearned {
		kernels.PositionBackward(g.View("position_embd.weight")[:T*C], dres, B, T, C)
	}
}

func (m *Model) normBackward(dinp, dw, db, dout, inp, w, mean, rstd []float32, N int) {
	if m.Config.Norm == "rmsnorm" {
		kernels.RMSNormBackward(dinp, dw, dout, inp, w, rstd, N, m.Config.Dim)
	} else {
		kernels.LayerNormBackward(dinp, dw, db, dout, inp, w, mean, rstd, N, m.Config.Dim)
	}
}
