package load

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lsalign/lsalign/format/safetensors"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
)

// saveLoad writes m (and tok) to name inside a temp dir and reads it back.
func saveLoad(t *testing.T, m *model.Model, tok *tokenizer.Tokenizer, name string, opt SaveOptions) *Loaded {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := Save(path, m, tok, opt); err != nil {
		t.Fatal(err)
	}
	return mustLoad(t, path, Options{})
}

// TestRoundTripLlama writes a Llama to every format and reads it back: the
// logits, the config and the tokenizer survive. F16 rounds the weights, so
// its logits only stay close.
func TestRoundTripLlama(t *testing.T) {
	m := randomModel(t, llamaConfig(), 1)
	tok := mustTokenizer(t, spmVocab())
	for _, c := range []struct {
		name, file, format string
		opt                SaveOptions
		tol                float64
	}{
		{"gguf", "m.gguf", FormatGGUF, SaveOptions{}, 1e-4},
		{"gguf f16", "m16.gguf", FormatGGUF, SaveOptions{DType: "F16"}, 0.05},
		{"llama2c v1", "m.bin", FormatLlama2C, SaveOptions{}, 1e-4},
		{"llama2c v0", "m0.bin", FormatLlama2C, SaveOptions{Legacy: true}, 1e-4},
		{"hf", "hf", FormatHF, SaveOptions{}, 1e-4},
		{"hf f16", "hf16", FormatHF, SaveOptions{DType: "F16"}, 0.05},
		{"lsalign", "ls", FormatLsalign, SaveOptions{Format: FormatLsalign}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := saveLoad(t, m, tok, c.file, c.opt)
			if l.Meta.Format != c.format {
				t.Errorf("format %q, want %q", l.Meta.Format, c.format)
			}
			sameLogits(t, c.name, m, l.Model, c.tol)
			got, want := l.Model.Config, m.Config
			if got.MaxSeq != want.MaxSeq || got.NormEps != want.NormEps || got.RopeBase != want.RopeBase ||
				got.TiedHead != want.TiedHead || got.KVHeads != want.KVHeads {
				t.Errorf("config %+v\nwant %+v", got, want)
			}
			if l.Tokenizer == nil {
				t.Fatal("the tokenizer did not travel with the model")
			}
			for _, text := range []string{"abc ab ca", " a bc\n\txyz é"} {
				a, _ := tok.Encode(text, true)
				b, err := l.Tokenizer.Encode(text, true)
				if err != nil || !slices.Equal(a, b) {
					t.Errorf("Encode(%q) = %v, %v; want %v", text, b, err, a)
				}
				if got := l.Tokenizer.Decode(b); got != text {
					t.Errorf("Decode = %q, want %q", got, text)
				}
			}
		})
	}
}

// TestLayoutChain goes adjacent -> Hugging Face (halves) -> GGUF -> llama2.c
// -> Hugging Face: each hop permutes Q and K or not, and the logits never
// change. The HF copy really is in the halves layout.
func TestLayoutChain(t *testing.T) {
	m := randomModel(t, llamaConfig(), 2)
	dir := t.TempDir()
	hops := []string{"a-hf", "b.gguf", "c.bin", "d-hf"}
	cur := m
	for _, hop := range hops {
		path := filepath.Join(dir, hop)
		if err := Save(path, cur, nil, SaveOptions{}); err != nil {
			t.Fatal(err)
		}
		l := mustLoad(t, path, Options{})
		wantLayout := "adjacent"
		if l.Meta.Format == FormatHF {
			wantLayout = "halves"
		}
		if l.Model.Config.RopeLayout != wantLayout {
			t.Fatalf("%s: layout %q, want %q", hop, l.Model.Config.RopeLayout, wantLayout)
		}
		sameLogits(t, hop, m, l.Model, 1e-4)
		cur = l.Model
	}
	// The permutation is not the identity: the HF query rows differ.
	hf := mustLoad(t, filepath.Join(dir, "a-hf"), Options{})
	if slices.Equal(hf.Model.Params.View("blk.0.attn_q.weight"), m.Params.View("blk.0.attn_q.weight")) {
		t.Fatal("halves-layout query weights equal the adjacent ones")
	}
	if !slices.Equal(hf.Model.Params.View("blk.0.attn_v.weight"), m.Params.View("blk.0.attn_v.weight")) {
		t.Fatal("value weights were changed")
	}
}

func TestPermuteRopeInverse(t *testing.T) {
	w := make([]float32, 3*8*5) // 3 heads of size 8, 5 columns
	for i := range w {
		w[i] = float32(i)
	}
	h := permuteRope(w, 3, 8, "adjacent", "halves")
	// Row 2i+j of a head moves to j*HS/2+i: head 1's rows 2 and 3 (pair 1)
	// land at rows 1 and 5.
	if h[(8+1)*5] != w[(8+2)*5] || h[(8+5)*5] != w[(8+3)*5] {
		t.Fatalf("pair 1 of head 1 misplaced")
	}
	if back := permuteRope(h, 3, 8, "halves", "adjacent"); !slices.Equal(back, w) {
		t.Fatal("halves -> adjacent does not undo adjacent -> halves")
	}
}

func TestRoundTripGPT2(t *testing.T) {
	m := randomModel(t, gpt2Config(), 3)
	tok := mustTokenizer(t, gpt2Vocab())
	for _, name := range []string{"g.gguf", "g-hf"} {
		l := saveLoad(t, m, tok, name, SaveOptions{})
		if l.Meta.Architecture != ArchGPT2 {
			t.Errorf("%s: architecture %q", name, l.Meta.Architecture)
		}
		sameLogits(t, name, m, l.Model, 1e-4)
		if l.Tokenizer == nil || l.Tokenizer.Kind() != tokenizer.KindGPT2 {
			t.Fatalf("%s: tokenizer %v", name, l.Tokenizer)
		}
		a, _ := tok.Encode(" abc abcd", false)
		b, _ := l.Tokenizer.Encode(" abc abcd", false)
		if !slices.Equal(a, b) {
			t.Errorf("%s: Encode gives %v, want %v", name, b, a)
		}
	}
	if err := Save(filepath.Join(t.TempDir(), "g.bin"), m, nil, SaveOptions{}); err == nil {
		t.Error("a GPT-2 saved as a llama2.c checkpoint")
	}
}

// TestOtherArchitectures: a model neither format family can hold goes to
// an lsalign directory, with its byte vocabulary as tokenizer.gguf.
func TestOtherArchitectures(t *testing.T) {
	cfg := llamaConfig()
	cfg.Pos, cfg.Vocab = model.PosALiBi, len(tokenizer.ByteVocab().Tokens)
	m := randomModel(t, cfg, 4)
	tok := mustTokenizer(t, tokenizer.ByteVocab())
	dir := filepath.Join(t.TempDir(), "alibi")
	if got := FormatFor(dir, m); got != FormatLsalign {
		t.Fatalf("FormatFor = %q, want %q", got, FormatLsalign)
	}
	for _, format := range []string{FormatHF, FormatGGUF, FormatLlama2C} {
		if err := Save(dir+"."+format, m, tok, SaveOptions{Format: format}); err == nil {
			t.Errorf("ALiBi model saved as %s", format)
		}
	}
	if err := Save(dir, m, tok, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ggufVocabFile)); err != nil {
		t.Fatal(err)
	}
	l := mustLoad(t, dir, Options{})
	if l.Meta.Format != FormatLsalign || l.Model.Config.Pos != model.PosALiBi || l.Tokenizer.Kind() != tokenizer.KindByte {
		t.Fatalf("meta %+v, pos %q", l.Meta, l.Model.Config.Pos)
	}
	sameLogits(t, "lsalign", m, l.Model, 0)
}

// TestRopeScalingTravels: linear and YaRN are stored as such; static NTK
// and ABF are folded into the base; dynamic NTK has no GGUF form.
func TestRopeScalingTravels(t *testing.T) {
	for _, s := range []kernels.RopeScaling{
		{Type: "linear", Factor: 2},
		{Type: "yarn", Factor: 4, OrigCtx: 16},
		{Type: "yarn", Factor: 4, OrigCtx: 16, AttnFactor: 1.3},
		{Type: "ntk", Factor: 3},
		{Type: "abf", NewBase: 500000},
		{Type: "dynamic-ntk", Factor: 2, OrigCtx: 8},
	} {
		cfg := llamaConfig()
		cfg.RopeScaling = s
		m := randomModel(t, cfg, 5)
		for _, name := range []string{"r.gguf", "r-hf"} {
			path := filepath.Join(t.TempDir(), name)
			err := Save(path, m, nil, SaveOptions{})
			if s.Type == "dynamic-ntk" && name == "r.gguf" {
				if err == nil {
					t.Error("dynamic NTK saved to GGUF")
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s %s: %v", s.Type, name, err)
			}
			l := mustLoad(t, path, Options{})
			// GGUF stores the base as float32, which moves a folded base.
			tol := 1e-4
			if name == "r.gguf" && (s.Type == "ntk") {
				tol = 1e-3
			}
			sameLogits(t, s.Type+" "+name, m, l.Model, tol)
		}
	}
}

// TestShardedSafetensors splits a directory's weights into two shards with
// an index, as large Hugging Face checkpoints ship.
func TestShardedSafetensors(t *testing.T) {
	m := randomModel(t, llamaConfig(), 6)
	dir := filepath.Join(t.TempDir(), "hf")
	if err := Save(dir, m, nil, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	whole := mustLoad(t, dir, Options{})
	ts, err := exportTensors(m, hfLlamaSpecs(m.Config), "halves")
	if err != nil {
		t.Fatal(err)
	}
	index := `{"metadata": {}, "weight_map": {`
	for i, tt := range ts {
		shard := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i%2]
		if i > 0 {
			index += ","
		}
		index += `"` + tt.name + `": "` + shard + `"`
	}
	index += "}}"
	if err := writeSafetensors(filepath.Join(dir, "model-00001-of-00002.safetensors"), everyOther(ts, 0), "F32"); err != nil {
		t.Fatal(err)
	}
	if err := writeSafetensors(filepath.Join(dir, "model-00002-of-00002.safetensors"), everyOther(ts, 1), "F32"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, shardIndexFile), []byte(index), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, weightsFile)); err != nil {
		t.Fatal(err)
	}
	sharded := mustLoad(t, dir, Options{})
	sameLogits(t, "sharded", whole.Model, sharded.Model, 0)
}

func everyOther(ts []outTensor, parity int) []outTensor {
	var out []outTensor
	for i, t := range ts {
		if i%2 == parity {
			out = append(out, t)
		}
	}
	return out
}

// TestHFGPT2Layout builds a GPT-2 state dict by hand, the way transformers
// stores it (Conv1D weights [in, out], c_attn fusing q|k|v, no
// "transformer." prefix as in openai-community/gpt2, causal-mask buffers),
// and checks the loaded model against the canonical weights it came from.
func TestHFGPT2Layout(t *testing.T) {
	m := randomModel(t, gpt2Config(), 7)
	c := m.Config
	C, H, V := c.Dim, c.Hidden, c.Vocab
	p := m.Params
	var ts []safetensors.WriterTensor
	add := func(name string, data []float32, shape ...int64) {
		ts = append(ts, safetensors.WriterTensor{Name: name, Shape: shape, Data: data})
	}
	// conv returns w [out, in] as Conv1D's [in, out].
	conv := func(w []float32, out, in int) []float32 {
		t := make([]float32, len(w))
		for o := range out {
			for i := range in {
				t[i*out+o] = w[o*in+i]
			}
		}
		return t
	}
	cat := func(xs ...[]float32) []float32 { return slices.Concat(xs...) }
	add("wte.weight", p.View("token_embd.weight"), int64(V), int64(C))
	add("wpe.weight", p.View("position_embd.weight"), int64(c.MaxSeq), int64(C))
	for l := range c.Layers {
		b, h := fmt.Sprintf("blk.%d.", l), fmt.Sprintf("h.%d.", l)
		qkv := cat(p.View(b+"attn_q.weight"), p.View(b+"attn_k.weight"), p.View(b+"attn_v.weight"))
		add(h+"ln_1.weight", p.View(b+"attn_norm.weight"), int64(C))
		add(h+"ln_1.bias", p.View(b+"attn_norm.bias"), int64(C))
		add(h+"attn.c_attn.weight", conv(qkv, 3*C, C), int64(C), int64(3*C))
		add(h+"attn.c_attn.bias", cat(p.View(b+"attn_q.bias"), p.View(b+"attn_k.bias"), p.View(b+"attn_v.bias")), int64(3*C))
		add(h+"attn.c_proj.weight", conv(p.View(b+"attn_output.weight"), C, C), int64(C), int64(C))
		add(h+"attn.c_proj.bias", p.View(b+"attn_output.bias"), int64(C))
		add(h+"ln_2.weight", p.View(b+"ffn_norm.weight"), int64(C))
		add(h+"ln_2.bias", p.View(b+"ffn_norm.bias"), int64(C))
		add(h+"mlp.c_fc.weight", conv(p.View(b+"ffn_up.weight"), H, C), int64(C), int64(H))
		add(h+"mlp.c_fc.bias", p.View(b+"ffn_up.bias"), int64(H))
		add(h+"mlp.c_proj.weight", conv(p.View(b+"ffn_down.weight"), C, H), int64(H), int64(C))
		add(h+"mlp.c_proj.bias", p.View(b+"ffn_down.bias"), int64(C))
		add(h+"attn.bias", make([]float32, c.MaxSeq*c.MaxSeq), 1, 1, int64(c.MaxSeq), int64(c.MaxSeq))
	}
	add("ln_f.weight", p.View("output_norm.weight"), int64(C))
	add("ln_f.bias", p.View("output_norm.bias"), int64(C))
	dir := t.TempDir()
	if err := safetensors.WriteFile(filepath.Join(dir, weightsFile), ts, nil); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`{"model_type": "gpt2", "n_embd": %d, "n_layer": %d, "n_head": %d, "n_positions": %d,
		"n_inner": %d, "vocab_size": %d, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new", "bos_token_id": 0, "eos_token_id": 0}`,
		C, c.Layers, c.Heads, c.MaxSeq, H, V)
	if err := os.WriteFile(filepath.Join(dir, configFile), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	l := mustLoad(t, dir, Options{})
	sameLogits(t, "hand-made GPT-2", m, l.Model, 1e-5)
}

// TestHFLlamaLayout writes Q and K the way transformers'
// convert_llama_weights_to_hf permutes Meta's weights:
// w.view(n_heads, HS/2, 2, C).transpose(1, 2).reshape(n_heads*HS, C),
// and checks the loaded model against the adjacent-layout original.
func TestHFLlamaLayout(t *testing.T) {
	m := randomModel(t, llamaConfig(), 8)
	c := m.Config
	HS, C := c.HeadSize(), c.Dim
	permute := func(w []float32, heads int) []float32 {
		out := make([]float32, len(w))
		// out[h][j][i][:] = w[h][i][j][:] for the view [heads, HS/2, 2, C].
		for h := range heads {
			for i := range HS / 2 {
				for j := range 2 {
					src := ((h*(HS/2)+i)*2 + j) * C
					dst := ((h*2+j)*(HS/2) + i) * C
					copy(out[dst:dst+C], w[src:src+C])
				}
			}
		}
		return out
	}
	dir := filepath.Join(t.TempDir(), "hf")
	if err := Save(dir, m, nil, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Open(filepath.Join(dir, weightsFile))
	if err != nil {
		t.Fatal(err)
	}
	for l := range c.Layers {
		for _, qk := range []struct {
			hf, canon string
			heads     int
		}{{"q_proj", "attn_q", c.Heads}, {"k_proj", "attn_k", c.KVHeads}} {
			got, err := f.Float32(fmt.Sprintf("model.layers.%d.self_attn.%s.weight", l, qk.hf))
			if err != nil {
				t.Fatal(err)
			}
			want := permute(m.Params.View(fmt.Sprintf("blk.%d.%s.weight", l, qk.canon)), qk.heads)
			if !slices.Equal(got, want) {
				t.Fatalf("layer %d %s: not transformers' permutation of the Meta weights", l, qk.hf)
			}
		}
	}
	f.Close()
}
