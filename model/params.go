package model

import (
	"fmt"
	"math"
	"strings"

	"github.com/lsalign/lsalign/internal/rng"
)

// TensorInfo places one named tensor inside a slab.
type TensorInfo struct {
	Name  string
	Shape []int // row-major, PyTorch order: a linear weight is [out, in]
	Off   int   // offset in the slab
	Size  int   // product of Shape
}

// Layout is the ordered list of a config's tensors under canonical
// (GGUF-style) names. Parameters, gradients and optimizer moments all use
// the same layout, so one offset addresses the same tensor in each.
//
// Tensors that one fused GEMM reads are placed next to each other:
// attn_q|attn_k|attn_v form one [(NH+2NKV)*HS, C] weight, and for SwiGLU
// ffn_gate|ffn_up form one [2H, C] weight.
type Layout struct {
	Tensors []TensorInfo
	Total   int
	index   map[string]int
}

// NewLayout lays out the tensors of a validated config.
func NewLayout(c Config) *Layout {
	l := &Layout{index: map[string]int{}}
	add := func(name string, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		l.index[name] = len(l.Tensors)
		l.Tensors = append(l.Tensors, TensorInfo{Name: name, Shape: shape, Off: l.Total, Size: n})
		l.Total += n
	}
	C, HS, NH, NKV, H := c.Dim, c.HeadSize(), c.Heads, c.KVHeads, c.Hidden
	norm := func(prefix string) {
		add(prefix+".weight", C)
		if c.Norm == "layernorm" {
			add(prefix+".bias", C)
		}
	}
	add("token_embd.weight", c.Vocab, C)
	if c.Pos == PosLearned {
		add("position_embd.weight", c.MaxSeq, C)
	}
	for i := 0; i < c.Layers; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		norm(p + "attn_norm")
		add(p+"attn_q.weight", NH*HS, C)
		add(p+"attn_k.weight", NKV*HS, C)
		add(p+"attn_v.weight", NKV*HS, C)
		if c.Bias {
			add(p+"attn_q.bias", NH*HS)
			add(p+"attn_k.bias", NKV*HS)
			add(p+"attn_v.bias", NKV*HS)
		}
		add(p+"attn_output.weight", C, NH*HS)
		if c.Bias {
			add(p+"attn_output.bias", C)
		}
		norm(p + "ffn_norm")
		if c.MLP == "swiglu" {
			add(p+"ffn_gate.weight", H, C)
			add(p+"ffn_up.weight", H, C)
			if c.Bias {
				add(p+"ffn_gate.bias", H)
				add(p+"ffn_up.bias", H)
			}
		} else {
			add(p+"ffn_up.weight", H, C)
			if c.Bias {
				add(p+"ffn_up.bias", H)
			}
		}
		add(p+"ffn_down.weight", C, H)
		if c.Bias {
			add(p+"ffn_down.bias", C)
		}
	}
	norm("output_norm")
	switch {
	case c.Head == HeadScalar:
		add("output_scalar.weight", 1, C)
		add("output_scalar.bias", 1)
	case !c.TiedHead:
		add("output.weight", c.Vocab, C)
	}
	return l
}

// Lookup returns the tensor with the given name.
func (l *Layout) Lookup(name string) (TensorInfo, bool) {
	i, ok := l.index[name]
	if !ok {
		return TensorInfo{}, false
	}
	return l.Tensors[i], true
}

// Slab is one contiguous float32 buffer holding every tensor of a layout.
type Slab struct {
	Layout *Layout
	Data   []float32
}

// NewSlab allocates a zeroed slab.
func NewSlab(l *Layout) *Slab { return &Slab{Layout: l, Data: make([]float32, l.Total)} }

// View returns the named tensor's slice of the slab; it panics on an unknown
// name, which is a programmer error (loaders check names with Lookup).
func (s *Slab) View(name string) []float32 {
	t, ok := s.Layout.Lookup(name)
	if !ok {
		panic("model: no tensor " + name)
	}
	return s.Data[t.Off : t.Off+t.Size : t.Off+t.Size]
}

// span returns the contiguous slice from the start of tensor first to the
// end of tensor last (used for fused weights).
func (s *Slab) span(first, last string) []float32 {
	a, ok1 := s.Layout.Lookup(first)
	b, ok2 := s.Layout.Lookup(last)
	if !ok1 || !ok2 || b.Off < a.Off {
		panic("model: bad span " + first + ".." + last)
	}
	return s.Data[a.Off : b.Off+b.Size : b.Off+b.Size]
}

// maybe returns the named view or nil when the layout has no such tensor.
func (s *Slab) maybe(name string) []float32 {
	if _, ok := s.Layout.Lookup(name); !ok {
		return nil
	}
	return s.View(name)
}

// Zero clears the slab.
func (s *Slab) Zero() { clear(s.Data) }

// CheckFinite returns an error naming the first tensor holding a NaN or Inf.
func (s *Slab) CheckFinite() error {
	for _, t := range s.Layout.Tensors {
		for i, v := range s.Data[t.Off : t.Off+t.Size] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("tensor %s: element %d is %v", t.Name, i, v)
			}
		}
	}
	return nil
}

// IsMatrix reports whether a tensor is a 2-D weight (the ones that get
// weight decay by convention; norms, biases and the scalar head's bias don't).
func (t TensorInfo) IsMatrix() bool { return len(t.Shape) == 2 }

// InitParams fills a slab the GPT-2 / llm.c way: normal(0, std) for matrices,
// with the residual output projections (attn_output, ffn_down) scaled by
// 1/sqrt(2L); ones for norm weights; zeros for biases.
func InitParams(s *Slab, c Config, r *rng.RNG, std float64) {
	projStd := std / math.Sqrt(2*float64(c.Layers))
	for _, t := range s.Layout.Tensors {
		v := s.Data[t.Off : t.Off+t.Size]
		switch {
		case !t.IsMatrix() && strings.HasSuffix(t.Name, "norm.weight"):
			for i := range v {
				v[i] = 1
			}
		case !t.IsMatrix():
			clear(v)
		default:
			sd := std
			if strings.HasSuffix(t.Name, "attn_output.weight") || strings.HasSuffix(t.Name, "ffn_down.weight") {
				sd = projStd
			}
			for i := range v {
				v[i] = float32(r.NormFloat64() * sd)
			}
		}
	}
}
