package load

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/lsalign/lsalign/format/safetensors"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
)

// loadHF reads a Hugging Face model directory: config.json,
// model.safetensors (or shards listed in model.safetensors.index.json) and,
// when present, tokenizer.json.
func loadHF(dir string) (*Loaded, error) {
	cfgPath := filepath.Join(dir, configFile)
	var head struct {
		ModelType     string   `json:"model_type"`
		Architectures []string `json:"architectures"`
	}
	if err := readJSON(cfgPath, &head); err != nil {
		return nil, err
	}
	src, err := openSafetensors(dir)
	if err != nil {
		return nil, err
	}
	defer src.close()
	var (
		cfg      model.Config
		specsFor func(model.Config) []tensorSpec
		ignore   func(string) bool
	)
	switch head.ModelType {
	case ArchLlama:
		cfg, err = hfLlamaConfig(cfgPath, src)
		specsFor, ignore = hfLlamaSpecs, isRotaryBuffer
	case ArchGPT2:
		prefix := gpt2Prefix(src)
		cfg, err = hfGPT2Config(cfgPath, src, prefix)
		specsFor = func(c model.Config) []tensorSpec { return hfGPT2Specs(c, prefix) }
		ignore = isAttentionMaskBuffer
	default:
		return nil, fmt.Errorf("%s: model_type %q is not supported (supported: %s)", cfgPath, head.ModelType, supportedArchs)
	}
	if err != nil {
		return nil, err
	}
	m, dtype, err := buildModel(src.label, src, cfg, specsFor, ignore)
	if err != nil {
		return nil, err
	}
	return &Loaded{Model: m, Meta: Meta{Architecture: head.ModelType, DType: dtype}}, nil
}

// isRotaryBuffer matches the inv_freq buffers older Llama checkpoints saved.
func isRotaryBuffer(name string) bool { return strings.HasSuffix(name, ".rotary_emb.inv_freq") }

// isAttentionMaskBuffer matches GPT-2's saved causal-mask buffers.
func isAttentionMaskBuffer(name string) bool {
	return strings.HasSuffix(name, ".attn.bias") || strings.HasSuffix(name, ".attn.masked_bias")
}

func hfLlamaConfig(path string, src *stSource) (model.Config, error) {
	hc, err := safetensors.ReadLlamaConfig(path)
	if err != nil {
		return model.Config{}, err
	}
	if hc.HeadDim != 0 && hc.HeadDim*hc.NumAttentionHeads != hc.HiddenSize {
		return model.Config{}, fmt.Errorf("%s: head_dim %d: only hidden_size / num_attention_heads = %d is supported",
			path, hc.HeadDim, hc.HiddenSize/hc.NumAttentionHeads)
	}
	if hc.HiddenAct != "silu" {
		return model.Config{}, fmt.Errorf("%s: hidden_act %q is not supported (silu)", path, hc.HiddenAct)
	}
	sc, err := ropeScalingFromHF(hc.RopeScaling, hc.MaxPositionEmbeddings)
	if err != nil {
		return model.Config{}, fmt.Errorf("%s: rope_scaling: %w", path, err)
	}
	_, hasHead := src.shape("lm_head.weight")
	return model.Config{Family: ArchLlama, Vocab: hc.VocabSize, Dim: hc.HiddenSize, Layers: hc.NumHiddenLayers,
		Heads: hc.NumAttentionHeads, KVHeads: hc.NumKeyValueHeads, Hidden: hc.IntermediateSize,
		MaxSeq: hc.MaxPositionEmbeddings, Norm: "rmsnorm", NormEps: hc.RMSNormEps, MLP: "swiglu",
		Pos: model.PosRoPE, RopeBase: hc.RopeTheta, RopeLayout: "halves", RopeScaling: sc,
		TiedHead: !hasHead}, nil
}

// hfLlamaSpecs maps the canonical tensors to transformers' LlamaForCausalLM
// names.
func hfLlamaSpecs(c model.Config) []tensorSpec {
	layer := map[string]string{
		"attn_norm.weight": "input_layernorm.weight", "attn_q.weight": "self_attn.q_proj.weight",
		"attn_k.weight": "self_attn.k_proj.weight", "attn_v.weight": "self_attn.v_proj.weight",
		"attn_output.weight": "self_attn.o_proj.weight", "ffn_norm.weight": "post_attention_layernorm.weight",
		"ffn_gate.weight": "mlp.gate_proj.weight", "ffn_up.weight": "mlp.up_proj.weight",
		"ffn_down.weight": "mlp.down_proj.weight",
	}
	top := map[string]string{"token_embd.weight": "model.embed_tokens.weight",
		"output_norm.weight": "model.norm.weight", "output.weight": "lm_head.weight"}
	specs := canonicalSpecs(c)
	for i, s := range specs {
		var blk int
		var rest string
		if n, _ := fmt.Sscanf(s.first, "blk.%d.%s", &blk, &rest); n == 2 {
			specs[i].file = fmt.Sprintf("model.layers.%d.%s", blk, layer[rest])
		} else {
			specs[i].file = top[s.first]
		}
	}
	return specs
}

// gpt2Prefix is "transformer." when the file holds GPT2LMHeadModel's state
// dict and "" for GPT2Model's (as openai-community/gpt2 ships it).
func gpt2Prefix(src *stSource) string {
	if _, ok := src.shape("transformer.wte.weight"); ok {
		return "transformer."
	}
	return ""
}

func hfGPT2Config(path string, src *stSource, prefix string) (model.Config, error) {
	hc, err := safetensors.ReadGPT2Config(path)
	if err != nil {
		return model.Config{}, err
	}
	switch hc.ActivationFunction {
	case "gelu_new", "gelu_pytorch_tanh", "gelu_fast":
	default:
		return model.Config{}, fmt.Errorf("%s: activation_function %q is not supported (gelu_new: GELU's tanh approximation)",
			path, hc.ActivationFunction)
	}
	_, hasHead := src.shape("lm_head.weight")
	return model.Config{Family: ArchGPT2, Vocab: hc.VocabSize, Dim: hc.NEmbd, Layers: hc.NLayer, Heads: hc.NHead,
		KVHeads: hc.NHead, Hidden: hc.InnerSize(), MaxSeq: hc.NPositions, Norm: "layernorm",
		NormEps: hc.LayerNormEpsilon, MLP: "gelu", Bias: true, Pos: model.PosLearned, TiedHead: !hasHead}, nil
}

// hfGPT2Specs maps the canonical tensors to transformers' GPT-2 names:
// Conv1D weights are stored [in, out], and c_attn fuses q|k|v.
func hfGPT2Specs(c model.Config, prefix string) []tensorSpec {
	C, H, QKV := c.Dim, c.Hidden, c.QKVDim()
	specs := []tensorSpec{one(prefix+"wte.weight", "token_embd.weight", c.Vocab, C),
		one(prefix+"wpe.weight", "position_embd.weight", c.MaxSeq, C)}
	for l := range c.Layers {
		h, b := fmt.Sprintf("%sh.%d.", prefix, l), fmt.Sprintf("blk.%d.", l)
		conv := func(file, canon string, in, out int) tensorSpec {
			s := one(h+file, b+canon, in, out)
			s.transpose = true
			return s
		}
		qkv := conv("attn.c_attn.weight", "attn_q.weight", C, QKV)
		qkv.last = b + "attn_v.weight"
		specs = append(specs,
			one(h+"ln_1.weight", b+"attn_norm.weight", C), one(h+"ln_1.bias", b+"attn_norm.bias", C),
			qkv, tensorSpec{file: h + "attn.c_attn.bias", shape: []int{QKV}, first: b + "attn_q.bias", last: b + "attn_v.bias"},
			conv("attn.c_proj.weight", "attn_output.weight", C, C), one(h+"attn.c_proj.bias", b+"attn_output.bias", C),
			one(h+"ln_2.weight", b+"ffn_norm.weight", C), one(h+"ln_2.bias", b+"ffn_norm.bias", C),
			conv("mlp.c_fc.weight", "ffn_up.weight", C, H), one(h+"mlp.c_fc.bias", b+"ffn_up.bias", H),
			conv("mlp.c_proj.weight", "ffn_down.weight", H, C), one(h+"mlp.c_proj.bias", b+"ffn_down.bias", C))
	}
	specs = append(specs, one(prefix+"ln_f.weight", "output_norm.weight", C), one(prefix+"ln_f.bias", "output_norm.bias", C))
	if !c.TiedHead {
		specs = append(specs, one("lm_head.weight", "output.weight", c.Vocab, C))
	}
	return specs
}

// stSource serves the tensors of one safetensors file or of the shards an
// index lists.
type stSource struct {
	label  string                       // the file, or the index, for errors
	byName map[string]*safetensors.File // tensor -> file holding it
	order  []string
	files  []*safetensors.File
}

func openSafetensors(dir string) (*stSource, error) {
	s := &stSource{byName: map[string]*safetensors.File{}}
	single := filepath.Join(dir, weightsFile)
	shards := []string{weightsFile}
	s.label = single
	if _, err := os.Stat(single); err != nil {
		index := filepath.Join(dir, shardIndexFile)
		var idx struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := readJSON(index, &idx); err != nil {
			if os.IsNotExist(err) {
				return nil, fmt.Errorf("%s: no %s or %s", dir, weightsFile, shardIndexFile)
			}
			return nil, err
		}
		shards = shards[:0]
		for _, f := range idx.WeightMap {
			if f != filepath.Base(f) || !strings.HasSuffix(f, ".safetensors") {
				return nil, fmt.Errorf("%s: weight_map: %q is not a .safetensors file in the directory", index, f)
			}
			if !slices.Contains(shards, f) {
				shards = append(shards, f)
			}
		}
		sort.Strings(shards)
		s.label = index
	}
	for _, name := range shards {
		f, err := safetensors.Open(filepath.Join(dir, name))
		if err != nil {
			s.close()
			return nil, err
		}
		s.files = append(s.files, f)
		for _, t := range f.Tensors {
			if _, dup := s.byName[t.Name]; dup {
				s.close()
				return nil, fmt.Errorf("%s: tensor %q: in more than one shard", filepath.Join(dir, name), t.Name)
			}
			s.byName[t.Name] = f
			s.order = append(s.order, t.Name)
		}
	}
	return s, nil
}

func (s *stSource) close() {
	for _, f := range s.files {
		f.Close()
	}
}

func (s *stSource) names() []string { return s.order }

func (s *stSource) shape(name string) ([]int, bool) {
	f, ok := s.byName[name]
	if !ok {
		return nil, false
	}
	t, _ := f.Tensor(name)
	sh := make([]int, len(t.Shape))
	for i, d := range t.Shape {
		sh[i] = int(d)
	}
	return sh, true
}

func (s *stSource) dtype(name string) string {
	t, _ := s.byName[name].Tensor(name)
	return t.DType
}

func (s *stSource) read(name string) ([]float32, error) { return s.byName[name].Float32(name) }

// dirTokenizer loads tokenizer.json, else tokenizer.gguf, from a model
// directory; neither is no error.
func dirTokenizer(dir string) (*tokenizer.Tokenizer, string, error) {
	for _, name := range []string{hfTokenizerFile, ggufVocabFile} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			tok, err := LoadTokenizer(p)
			return tok, p, err
		}
	}
	return nil, "", nil
}
