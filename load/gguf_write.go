package load

import (
	"fmt"
	"math"

	"github.com/lsalign/lsalign/format/gguf"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
)

// ggufArch returns the GGUF architecture that can hold c, or an error
// saying why none can.
func ggufArch(c model.Config) (string, []tensorSpec, error) {
	if err := llamaCompatible(c); err == nil {
		if c.RopeScaling.Type == "dynamic-ntk" {
			return "", nil, fmt.Errorf("GGUF (llama.cpp) has no dynamic-NTK RoPE scaling")
		}
		return ArchLlama, canonicalSpecs(c), nil
	}
	if err := gpt2Compatible(c); err == nil {
		return ArchGPT2, ggufGPT2Specs(c), nil
	} else if c.Norm == "layernorm" {
		return "", nil, err
	}
	return "", nil, llamaCompatible(c)
}

// saveGGUF writes a GGUF v3 file with llama.cpp's keys, the tensors in the
// adjacent RoPE layout, and the tokenizer when tok is set.
func saveGGUF(path string, m *model.Model, tok *tokenizer.Tokenizer, opt SaveOptions) error {
	c := m.Config
	arch, specs, err := ggufArch(c)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	wtype, fileType := gguf.TypeF32, uint32(0)
	switch opt.DType {
	case "", "F32":
	case "F16":
		wtype, fileType = gguf.TypeF16, 1 // LLAMA_FTYPE_MOSTLY_F16
	default:
		return fmt.Errorf("%s: GGUF output is F32 or F16, not %s", path, opt.DType)
	}
	name := opt.Name
	if name == "" {
		name = "lsalign"
	}
	kv := []gguf.KV{{Key: "general.architecture", Value: arch}, {Key: "general.name", Value: name},
		{Key: "general.file_type", Value: fileType}}
	add := func(key string, v any) { kv = append(kv, gguf.KV{Key: arch + "." + key, Value: v}) }
	add("context_length", uint32(c.MaxSeq))
	add("embedding_length", uint32(c.Dim))
	add("block_count", uint32(c.Layers))
	add("feed_forward_length", uint32(c.Hidden))
	add("attention.head_count", uint32(c.Heads))
	if arch == ArchLlama {
		base, sc := foldRopeBase(c)
		add("attention.head_count_kv", uint32(c.KVHeads))
		add("rope.freq_base", float32(base))
		add("rope.dimension_count", uint32(c.HeadSize()))
		add("attention.layer_norm_rms_epsilon", float32(c.NormEps))
		add("vocab_size", uint32(c.Vocab))
		switch sc.Type {
		case "linear":
			add("rope.scaling.type", "linear")
			add("rope.scaling.factor", float32(sc.Factor))
		case "yarn":
			add("rope.scaling.type", "yarn")
			add("rope.scaling.factor", float32(sc.Factor))
			add("rope.scaling.original_context_length", uint32(sc.OrigCtx))
			if sc.AttnFactor != 0 { // llama.cpp's factor multiplies YaRN's default (see ropeScaling)
				yarnDefault := kernels.RopeScaling{Type: "yarn", Factor: sc.Factor}.AttentionFactor()
				add("rope.scaling.attn_factor", float32(sc.AttnFactor/yarnDefault))
			}
		}
	} else {
		add("attention.layer_norm_epsilon", float32(c.NormEps))
	}
	if tok != nil {
		keys, values := tok.Vocab().GGUFMetadata()
		for i, k := range keys {
			kv = append(kv, gguf.KV{Key: k, Value: values[i]})
		}
	}
	ts, err := exportTensors(m, specs, "adjacent")
	if err != nil {
		return err
	}
	wt := make([]gguf.WriterTensor, len(ts))
	for i, t := range ts {
		dims := make([]uint64, len(t.shape))
		for j, d := range t.shape {
			dims[len(dims)-1-j] = uint64(d)
		}
		typ := wtype
		if len(dims) < 2 { // llama.cpp keeps norms and biases in F32
			typ = gguf.TypeF32
		}
		wt[i] = gguf.WriterTensor{Name: t.name, Dims: dims, Type: typ, Data: t.data}
	}
	if err := gguf.WriteFile(path, kv, wt); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// foldRopeBase returns the base and scaling to store for c: static NTK and
// ABF only change the base (kernels.RopeScaling.InvFreq), so they are
// folded into it; other scalings are kept.
func foldRopeBase(c model.Config) (float64, kernels.RopeScaling) {
	s := c.RopeScaling
	switch s.Type {
	case "ntk":
		d := float64(c.HeadSize())
		return c.RopeBase * math.Pow(s.Factor, d/(d-2)), kernels.RopeScaling{}
	case "abf":
		return s.NewBase, kernels.RopeScaling{}
	case "none":
		return c.RopeBase, kernels.RopeScaling{}
	}
	return c.RopeBase, s
}
