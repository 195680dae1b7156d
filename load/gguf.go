package load

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/lsalign/lsalign/format/gguf"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
)

// supportedArchs names what GGUF and Hugging Face files may hold.
const supportedArchs = ArchLlama + ", " + ArchGPT2

func loadGGUF(path string) (*Loaded, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	arch, err := f.String("general.architecture")
	if err != nil {
		return nil, err
	}
	g := ggufMeta{f: f, arch: arch}
	var cfg model.Config
	specsFor := canonicalSpecs
	switch arch {
	case ArchLlama:
		cfg, err = g.llamaConfig()
	case ArchGPT2:
		cfg, err = g.gpt2Config()
		specsFor = ggufGPT2Specs
	default:
		return nil, fmt.Errorf("%s: general.architecture %q is not supported (supported: %s)", path, arch, supportedArchs)
	}
	if err != nil {
		return nil, err
	}
	m, dtype, err := buildModel(path, ggufSource{f}, cfg, specsFor, nil)
	if err != nil {
		return nil, err
	}
	l := &Loaded{Model: m, Meta: Meta{Version: int(f.Version), Architecture: arch, DType: dtype}}
	l.Meta.Name, _ = f.String("general.name")
	return l, nil
}

func ggufTokenizer(f *gguf.File) (*tokenizer.Tokenizer, error) {
	v, err := tokenizer.VocabFromGGUF(f.Value)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	tok, err := tokenizer.New(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	return tok, nil
}

// ggufMeta reads architecture-prefixed hyper-parameters.
type ggufMeta struct {
	f    *gguf.File
	arch string
}

// maxDim bounds every size read from metadata; the tensor shapes, which
// the GGUF reader checked against the file size, bound them further.
const maxDim = 1 << 31

func (g ggufMeta) int(key string, def int) (int, error) {
	full := g.arch + "." + key
	if _, ok := g.f.Value(full); !ok && def >= 0 {
		return def, nil
	}
	u, err := g.f.Uint(full)
	if err != nil {
		return 0, err
	}
	if u == 0 || u > maxDim {
		return 0, g.keyError(full, fmt.Sprintf("%d is not in [1, 2^31]", u))
	}
	return int(u), nil
}

func (g ggufMeta) float(key string, def float64) (float64, error) {
	full := g.arch + "." + key
	raw, ok := g.f.Value(full)
	if !ok {
		return def, nil
	}
	v, err := g.f.Float(full)
	if err != nil {
		return 0, err
	}
	if f32, ok := raw.(float32); ok { // 1e-5, not 9.999999747378752e-06
		v, _ = strconv.ParseFloat(strconv.FormatFloat(float64(f32), 'g', -1, 32), 64)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return v, g.keyError(full, fmt.Sprintf("%v is not finite", v))
	}
	return v, nil
}

// keyError reports a bad value under the metadata key full.
func (g ggufMeta) keyError(full, msg string) error {
	return &gguf.FormatError{File: g.f.Name, Field: fmt.Sprintf("metadata key %q", full), Msg: msg}
}

// vocab is the row count of token_embd.weight.
func (g ggufMeta) vocab() (int, error) {
	t, ok := g.f.Tensor("token_embd.weight")
	if !ok || len(t.Dims) != 2 {
		return 0, &gguf.FormatError{File: g.f.Name, Field: `tensor "token_embd.weight"`, Msg: "missing or not 2-D"}
	}
	return int(t.Dims[1]), nil
}

// common reads the keys llama and gpt2 share, in llama.cpp's names.
func (g ggufMeta) common(c *model.Config) error {
	var err error
	fields := []struct {
		key string
		dst *int
	}{{"context_length", &c.MaxSeq}, {"embedding_length", &c.Dim}, {"block_count", &c.Layers},
		{"feed_forward_length", &c.Hidden}, {"attention.head_count", &c.Heads}}
	for _, fl := range fields {
		if *fl.dst, err = g.int(fl.key, -1); err != nil {
			return err
		}
	}
	if c.Vocab, err = g.vocab(); err != nil {
		return err
	}
	if v, ok := g.f.Value(g.arch + ".vocab_size"); ok {
		if n, err := g.int("vocab_size", -1); err != nil || n != c.Vocab {
			return g.keyError(g.arch+".vocab_size", fmt.Sprintf("%v does not match token_embd.weight's %d rows", v, c.Vocab))
		}
	}
	if n, _ := g.f.Uint(g.arch + ".expert_count"); n > 0 {
		return g.keyError(g.arch+".expert_count", "mixture-of-experts models are not supported")
	}
	_, hasOutput := g.f.Tensor("output.weight")
	c.TiedHead = !hasOutput
	return nil
}

func (g ggufMeta) llamaConfig() (model.Config, error) {
	c := model.Config{Family: ArchLlama, Norm: "rmsnorm", MLP: "swiglu", Pos: model.PosRoPE, RopeLayout: "adjacent"}
	if err := g.common(&c); err != nil {
		return c, err
	}
	var err error
	if c.KVHeads, err = g.int("attention.head_count_kv", c.Heads); err != nil {
		return c, err
	}
	if c.NormEps, err = g.float("attention.layer_norm_rms_epsilon", 1e-5); err != nil {
		return c, err
	}
	if c.RopeBase, err = g.float("rope.freq_base", 10000); err != nil {
		return c, err
	}
	if c.Heads > 0 && c.Dim%c.Heads == 0 {
		rot, err := g.int("rope.dimension_count", c.Dim/c.Heads)
		if err != nil {
			return c, err
		}
		if rot != c.Dim/c.Heads {
			return c, fmt.Errorf("%s: %s.rope.dimension_count %d: partial rotary embeddings are not supported (head size %d)",
				g.f.Name, g.arch, rot, c.Dim/c.Heads)
		}
	}
	c.RopeScaling, err = g.ropeScaling(c.MaxSeq)
	return c, err
}

func (g ggufMeta) gpt2Config() (model.Config, error) {
	c := model.Config{Family: ArchGPT2, Norm: "layernorm", MLP: "gelu", Pos: model.PosLearned, Bias: true}
	if err := g.common(&c); err != nil {
		return c, err
	}
	var err error
	c.KVHeads = c.Heads
	c.NormEps, err = g.float("attention.layer_norm_epsilon", 1e-5)
	return c, err
}

// ropeScaling reads llama.cpp's rope.scaling.* keys (and the older
// rope.scale_linear).
func (g ggufMeta) ropeScaling(ctx int) (kernels.RopeScaling, error) {
	var s kernels.RopeScaling
	typ, _ := g.f.String(g.arch + ".rope.scaling.type")
	factor, err := g.float("rope.scaling.factor", 0)
	if err != nil {
		return s, err
	}
	if typ == "" {
		if lin, err := g.float("rope.scale_linear", 0); err != nil || lin == 0 || lin == 1 {
			return s, err
		} else {
			typ, factor = "linear", lin
		}
	}
	switch typ {
	case "none":
		return s, nil
	case "linear":
		s = kernels.RopeScaling{Type: "linear", Factor: factor}
	case "yarn":
		orig, err := g.int("rope.scaling.original_context_length", ctx)
		if err != nil {
			return s, err
		}
		s = kernels.RopeScaling{Type: "yarn", Factor: factor, OrigCtx: orig}
		// llama.cpp multiplies its attn_factor into YaRN's 0.1 ln(s) + 1.
		if a, err := g.float("rope.scaling.attn_factor", 1); err != nil {
			return s, err
		} else if a != 1 {
			s.AttnFactor = a * s.AttentionFactor()
		}
	default:
		return s, fmt.Errorf("%s: %s.rope.scaling.type %q is not supported (none, linear, yarn)", g.f.Name, g.arch, typ)
	}
	if err := s.Validate(); err != nil {
		return s, fmt.Errorf("%s: %s.rope.scaling: %w", g.f.Name, g.arch, err)
	}
	return s, nil
}

// ggufGPT2Specs are llama.cpp's GPT-2 tensors: canonical names except the
// fused attn_qkv, stored [3C, C] like the model's adjacent q|k|v weights.
func ggufGPT2Specs(c model.Config) []tensorSpec {
	var specs []tensorSpec
	C := c.Dim
	for _, s := range canonicalSpecs(c) {
		switch {
		case strings.HasSuffix(s.first, ".attn_q.weight"):
			p := s.first[:len(s.first)-len("attn_q.weight")]
			specs = append(specs, tensorSpec{file: p + "attn_qkv.weight", shape: []int{c.QKVDim(), C},
				first: p + "attn_q.weight", last: p + "attn_v.weight"})
		case strings.HasSuffix(s.first, ".attn_q.bias"):
			p := s.first[:len(s.first)-len("attn_q.bias")]
			specs = append(specs, tensorSpec{file: p + "attn_qkv.bias", shape: []int{c.QKVDim()},
				first: p + "attn_q.bias", last: p + "attn_v.bias"})
		case strings.HasSuffix(s.first, ".attn_k.weight"), strings.HasSuffix(s.first, ".attn_v.weight"),
			strings.HasSuffix(s.first, ".attn_k.bias"), strings.HasSuffix(s.first, ".attn_v.bias"):
		default:
			specs = append(specs, s)
		}
	}
	return specs
}

// ggufSource serves a GGUF file's tensors, dequantized to float32.
type ggufSource struct{ f *gguf.File }

func (s ggufSource) names() []string {
	n := make([]string, len(s.f.Tensors))
	for i, t := range s.f.Tensors {
		n[i] = t.Name
	}
	return n
}

func (s ggufSource) shape(name string) ([]int, bool) {
	t, ok := s.f.Tensor(name)
	if !ok {
		return nil, false
	}
	sh := make([]int, len(t.Dims))
	for i, d := range t.Dims { // ggml order is reversed PyTorch order
		sh[len(sh)-1-i] = int(d)
	}
	return sh, true
}

func (s ggufSource) dtype(name string) string {
	t, _ := s.f.Tensor(name)
	return t.Type.String()
}

func (s ggufSource) read(name string) ([]float32, error) { return s.f.TensorF32(name) }
