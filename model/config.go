package model

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lsalign/lsalign/kernels"
)

// Config describes a decoder-only transformer. One struct expresses both
// families the project needs:
//
//   - Llama-style (Family "llama"): RMSNorm, RoPE, SwiGLU, grouped-query
//     attention, no biases, tied or untied head.
//   - GPT-2-style (Family "gpt2"): LayerNorm with bias, learned absolute
//     positions, GELU MLP, linear biases, tied head.
//
// Family only fills defaults (see Defaults); every field can be set on its
// own, so e.g. a Llama-style model with ALiBi or NoPE is one field away.
type Config struct {
	Family  string `json:"family"`     // "llama" or "gpt2"
	Vocab   int    `json:"vocab_size"` // V
	Dim     int    `json:"dim"`        // C
	Layers  int    `json:"n_layers"`   // L
	Heads   int    `json:"n_heads"`    // NH
	KVHeads int    `json:"n_kv_heads"` // NKV (0 = Heads)
	Hidden  int    `json:"hidden_dim"` // H, MLP width
	// MaxSeq is the training context length: the rows of a learned position
	// table, and the default l_train of the misalignment metric. Longer
	// inputs are allowed for every position scheme but "learned".
	MaxSeq int `json:"max_seq_len"`

	Norm    string  `json:"norm"`     // "rmsnorm" or "layernorm"
	NormEps float64 `json:"norm_eps"` // added to the variance
	MLP     string  `json:"mlp"`      // "swiglu" or "gelu"
	Bias    bool    `json:"bias"`     // biases on linear layers and norms (GPT-2)

	Pos         string              `json:"pos"`          // "rope", "nope", "alibi", "learned", "sinusoidal"
	RopeBase    float64             `json:"rope_base"`    // theta
	RopeLayout  string              `json:"rope_layout"`  // "adjacent" (llama2.c, GGUF) or "halves" (Hugging Face)
	RopeScaling kernels.RopeScaling `json:"rope_scaling"` // context extension, applied at run time

	TiedHead bool   `json:"tied_head"` // LM head shares token_embd.weight
	Head     string `json:"head"`      // "lm" (next-token logits) or "scalar" (regression from the last position)
}

// Position schemes.
const (
	PosRoPE       = "rope"
	PosNoPE       = "nope"
	PosALiBi      = "alibi"
	PosLearned    = "learned"
	PosSinusoidal = "sinusoidal"
)

// Head kinds.
const (
	HeadLM     = "lm"
	HeadScalar = "scalar"
)

// Defaults returns c with empty fields filled from its Family.
func (c Config) Defaults() Config {
	if c.Family == "" {
		c.Family = "llama"
	}
	gpt2 := c.Family == "gpt2"
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.Norm == "" {
		c.Norm = pick(gpt2, "layernorm", "rmsnorm")
	}
	if c.NormEps == 0 {
		c.NormEps = 1e-5
	}
	if c.MLP == "" {
		c.MLP = pick(gpt2, "gelu", "swiglu")
	}
	if c.Pos == "" {
		c.Pos = pick(gpt2, PosLearned, PosRoPE)
	}
	if c.RopeBase == 0 {
		c.RopeBase = 10000
	}
	if c.RopeLayout == "" {
		c.RopeLayout = "adjacent"
	}
	if c.Head == "" {
		c.Head = HeadLM
	}
	if c.Hidden == 0 && c.Dim > 0 {
		if gpt2 {
			c.Hidden = 4 * c.Dim
		} else { // llama: 2/3 of 4C, rounded up to a multiple of 32
			c.Hidden = (8*c.Dim/3 + 31) / 32 * 32
		}
	}
	return c
}

func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

// HeadSize is C / NH.
func (c Config) HeadSize() int { return c.Dim / c.Heads }

// QKVDim is the width of the fused q|k|v projection, (NH + 2*NKV) * HS.
func (c Config) QKVDim() int { return (c.Heads + 2*c.KVHeads) * c.HeadSize() }

// Validate reports the first impossible setting, naming the field.
func (c Config) Validate() error {
	var errs []string
	bad := func(field, format string, args ...any) {
		errs = append(errs, field+": "+fmt.Sprintf(format, args...))
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"vocab_size", c.Vocab}, {"dim", c.Dim}, {"n_layers", c.Layers}, {"n_heads", c.Heads},
		{"n_kv_heads", c.KVHeads}, {"hidden_dim", c.Hidden}, {"max_seq_len", c.MaxSeq}} {
		if f.v <= 0 {
			bad(f.name, "must be positive, got %d", f.v)
		}
	}
	if c.Heads > 0 && c.Dim > 0 && c.Dim%c.Heads != 0 {
		bad("n_heads", "%d does not divide dim %d", c.Heads, c.Dim)
	}
	if c.KVHeads > 0 && c.Heads > 0 && c.Heads%c.KVHeads != 0 {
		bad("n_kv_heads", "%d does not divide n_heads %d", c.KVHeads, c.Heads)
	}
	if c.Family != "llama" && c.Family != "gpt2" {
		bad("family", "unknown %q (want llama or gpt2)", c.Family)
	}
	if c.Norm != "rmsnorm" && c.Norm != "layernorm" {
		bad("norm", "unknown %q (want rmsnorm or layernorm)", c.Norm)
	}
	if !(c.NormEps > 0) {
		bad("norm_eps", "must be positive, got %g", c.NormEps)
	}
	if c.MLP != "swiglu" && c.MLP != "gelu" {
		bad("mlp", "unknown %q (want swiglu or gelu)", c.MLP)
	}
	switch c.Pos {
	case PosRoPE:
		if c.Heads > 0 && c.Dim%c.Heads == 0 && c.HeadSize()%2 != 0 {
			bad("n_heads", "RoPE needs an even head size, got %d", c.HeadSize())
		}
		if !(c.RopeBase > 1) {
			bad("rope_base", "must be > 1, got %g", c.RopeBase)
		}
		if c.RopeLayout != "adjacent" && c.RopeLayout != "halves" {
			bad("rope_layout", "unknown %q (want adjacent or halves)", c.RopeLayout)
		}
		if err := c.checkRopeScaling(c.RopeScaling); err != nil {
			bad("rope_scaling", "%v", err)
		}
	case PosNoPE, PosALiBi, PosLearned, PosSinusoidal:
	default:
		bad("pos", "unknown %q (want rope, nope, alibi, learned or sinusoidal)", c.Pos)
	}
	if c.Head != HeadLM && c.Head != HeadScalar {
		bad("head", "unknown %q (want lm or scalar)", c.Head)
	}
	if c.TiedHead && c.Head != HeadLM {
		bad("tied_head", "only an lm head can be tied")
	}
	if len(errs) > 0 {
		return errors.New("invalid model config: " + strings.Join(errs, "; "))
	}
	return nil
}

// checkRopeScaling reports a scaling that kernels.RopeTable cannot build
// for this config: beyond RopeScaling.Validate, a RoPE model with head
// size 2 cannot take NTK scaling, whose exponent d/(d-2) diverges there.
func (c Config) checkRopeScaling(s kernels.RopeScaling) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if (s.Type == "ntk" || s.Type == "dynamic-ntk") && c.Pos == PosRoPE && c.Heads > 0 && c.Dim == 2*c.Heads {
		return fmt.Errorf("rope scaling %q needs a head size above 2, got 2", s.Type)
	}
	return nil
}

// ropeLayout maps the config string to the kernel enum.
func (c Config) ropeLayout() kernels.RopeLayout {
	if c.RopeLayout == "halves" {
		return kernels.RopeHalves
	}
	return kernels.RopeAdjacent
}
