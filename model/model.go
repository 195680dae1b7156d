// Package model is the decoder-only transformer: its Config, the parameter,
// gradient and activation slabs with named views, and hand-written Forward
// and Backward passes over the kernels package.
package model

import (
	"fmt"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/kernels"
)

// Model holds parameters, gradients (allocated on first use) and the
// activations of the last Forward.
type Model struct {
	Config Config
	Params *Slab
	Grads  *Slab // nil until EnsureGrads

	layers     []layerWeights // views into Params
	gradLayers []layerWeights // the same views into Grads
	acts       *activations

	// cached per-length tables
	ropeT        int
	ropeCos      []float32 // [T, HS/2]
	ropeSin      []float32
	sinusoidT    int
	sinusoidal   []float32 // [T, C]
	alibiSlopes  []float32 // [NH] or nil
	ropeScaleKey kernels.RopeScaling
}

// layerWeights are the views one block needs; fused ones span adjacent tensors.
type layerWeights struct {
	attnNorm, attnNormB []float32 // [C]
	wqkv, bqkv          []float32 // [QKV, C], [QKV]
	wo, bo              []float32 // [C, NH*HS], [C]
	ffnNorm, ffnNormB   []float32 // [C]
	wfc, bfc            []float32 // [2H, C] gate|up (swiglu) or [H, C] (gelu); bias likewise
	wproj, bproj        []float32 // [C, H], [C]
}

// New validates cfg (after Defaults) and allocates a zero-initialised model.
func New(cfg Config) (*Model, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, Params: NewSlab(NewLayout(cfg))}
	m.layers = weightViews(m.Params, cfg)
	if cfg.Pos == PosALiBi {
		m.alibiSlopes = kernels.AlibiSlopes(cfg.Heads)
	}
	return m, nil
}

// NewInit is New followed by InitParams with the given seed and std 0.02.
func NewInit(cfg Config, seed uint64) (*Model, error) {
	m, err := New(cfg)
	if err != nil {
		return nil, err
	}
	InitParams(m.Params, m.Config, rng.New(seed), 0.02)
	return m, nil
}

func weightViews(s *Slab, c Config) []layerWeights {
	ls := make([]layerWeights, c.Layers)
	for i := range ls {
		p := fmt.Sprintf("blk.%d.", i)
		w := &ls[i]
		w.attnNorm = s.View(p + "attn_norm.weight")
		w.attnNormB = s.maybe(p + "attn_norm.bias")
		w.wqkv = s.span(p+"attn_q.weight", p+"attn_v.weight")
		if c.Bias {
			w.bqkv = s.span(p+"attn_q.bias", p+"attn_v.bias")
			w.bo = s.View(p + "attn_output.bias")
			w.bproj = s.View(p + "ffn_down.bias")
		}
		w.wo = s.View(p + "attn_output.weight")
		w.ffnNorm = s.View(p + "ffn_norm.weight")
		w.ffnNormB = s.maybe(p + "ffn_norm.bias")
		if c.MLP == "swiglu" {
			w.wfc = s.span(p+"ffn_gate.weight", p+"ffn_up.weight")
			if c.Bias {
				w.bfc = s.span(p+"ffn_gate.bias", p+"ffn_up.bias")
			}
		} else {
			w.wfc = s.View(p + "ffn_up.weight")
			if c.Bias {
				w.bfc = s.View(p + "ffn_up.bias")
			}
		}
		w.wproj = s.View(p + "ffn_down.weight")
	}
	return ls
}

// EnsureGrads allocates the gradient slab if needed.
func (m *Model) EnsureGrads() {
	if m.Grads == nil {
		m.Grads = NewSlab(m.Params.Layout)
		m.gradLayers = weightViews(m.Grads, m.Config)
	}
}

// ZeroGrad clears the gradients (allocating them on first use).
func (m *Model) ZeroGrad() {
	m.EnsureGrads()
	m.Grads.Zero()
}

// NumParams is the number of scalar parameters.
func (m *Model) NumParams() int { return m.Params.Layout.Total }

// fcWidth is the width of the first MLP projection's output.
func (c Config) fcWidth() int {
	if c.MLP == "swiglu" {
		return 2 * c.Hidden
	}
	return c.Hidden
}
