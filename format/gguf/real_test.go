package gguf

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/lsalign/lsalign/internal/testutil"
)

func TestStories260K(t *testing.T) {
	f, err := Open(filepath.Join(testutil.SharedDir(t, "models/stories260K"), "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if s, err := f.String("general.architecture"); err != nil || s != "llama" {
		t.Errorf("general.architecture = %q, %v", s, err)
	}
	for key, want := range map[string]uint64{
		"llama.embedding_length": 64, "llama.block_count": 5, "llama.attention.head_count": 8,
		"llama.attention.head_count_kv": 4, "llama.feed_forward_length": 172, "llama.context_length": 128,
	} {
		if got, err := f.Uint(key); err != nil || got != want {
			t.Errorf("%s = %d, %v; want %d", key, got, err, want)
		}
	}
	if eps, err := f.Float("llama.attention.layer_norm_rms_epsilon"); err != nil || math.Abs(eps-1e-5) > 1e-12 {
		t.Errorf("rms epsilon = %v, %v", eps, err)
	}
	tokens, err := f.Strings("tokenizer.ggml.tokens")
	if err != nil || len(tokens) != 512 || tokens[1] != "<s>" || tokens[3] != "<0x00>" {
		t.Fatalf("tokens: %d, %v", len(tokens), err)
	}
	if scores, err := f.Float32s("tokenizer.ggml.scores"); err != nil || len(scores) != 512 {
		t.Errorf("scores: %d, %v", len(scores), err)
	}
	if len(f.Tensors) != 3+9*5 {
		t.Errorf("%d tensors, want 48", len(f.Tensors))
	}
	shapes := map[string][]uint64{
		"token_embd.weight":      {64, 512},
		"output.weight":          {64, 512},
		"output_norm.weight":     {64},
		"blk.0.attn_q.weight":    {64, 64},
		"blk.0.attn_k.weight":    {64, 32},
		"blk.4.ffn_down.weight":  {172, 64},
		"blk.4.ffn_gate.weight":  {64, 172},
		"blk.2.attn_norm.weight": {64},
	}
	for name, dims := range shapes {
		ti, ok := f.Tensor(name)
		if !ok || ti.Type != TypeF32 || len(ti.Dims) != len(dims) {
			t.Errorf("%s: %+v, %v", name, ti, ok)
			continue
		}
		for i := range dims {
			if ti.Dims[i] != dims[i] {
				t.Errorf("%s dims %v, want %v", name, ti.Dims, dims)
			}
		}
	}
	norm, err := f.TensorF32("output_norm.weight")
	if err != nil || len(norm) != 64 {
		t.Fatalf("output_norm: %d, %v", len(norm), err)
	}
	for i, x := range norm { // RMSNorm gains of a trained model: finite, around 1
		if math.IsNaN(float64(x)) || x < 0 || x > 10 {
			t.Fatalf("output_norm[%d] = %v", i, x)
		}
	}
	emb, err := f.TensorF32("token_embd.weight")
	if err != nil || len(emb) != 64*512 {
		t.Fatalf("token_embd: %d, %v", len(emb), err)
	}
}

func TestVocabFiles(t *testing.T) {
	dir := testutil.SharedDir(t, "tokenizers")
	for name, want := range map[string]struct {
		model  string
		tokens int
	}{
		"ggml-vocab-llama-spm.gguf": {"llama", 32000},
		"ggml-vocab-phi-3.gguf":     {"llama", 32064},
		"ggml-vocab-gpt-2.gguf":     {"gpt2", 50257},
	} {
		f, err := Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if m, err := f.String("tokenizer.ggml.model"); err != nil || m != want.model {
			t.Errorf("%s: model %q, %v", name, m, err)
		}
		if tok, err := f.Strings("tokenizer.ggml.tokens"); err != nil || len(tok) != want.tokens {
			t.Errorf("%s: %d tokens, %v", name, len(tok), err)
		}
		if len(f.Tensors) != 0 {
			t.Errorf("%s: %d tensors in a vocabulary file", name, len(f.Tensors))
		}
		f.Close()
	}
}
