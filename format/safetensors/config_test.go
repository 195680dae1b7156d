package safetensors

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// tinyLlamaConfig is TinyLlama-1.1B's config.json as published.
const tinyLlamaConfig = `{
  "architectures": ["LlamaForCausalLM"],
  "bos_token_id": 1,
  "eos_token_id": 2,
  "hidden_act": "silu",
  "hidden_size": 2048,
  "initializer_range": 0.02,
  "intermediate_size": 5632,
  "max_position_embeddings": 2048,
  "model_type": "llama",
  "num_attention_heads": 32,
  "num_hidden_layers": 22,
  "num_key_value_heads": 4,
  "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": null,
  "rope_theta": 10000.0,
  "tie_word_embeddings": false,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.35.0",
  "use_cache": true,
  "vocab_size": 32000
}`

// llama32Config has the newer fields: a list of EOS ids, rope_scaling,
// head_dim and tied embeddings (Llama 3.2 1B).
const llama32Config = `{
  "architectures": ["LlamaForCausalLM"], "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
  "head_dim": 64, "hidden_act": "silu", "hidden_size": 2048, "intermediate_size": 8192,
  "max_position_embeddings": 131072, "model_type": "llama", "num_attention_heads": 32,
  "num_hidden_layers": 16, "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
    "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "vocab_size": 128256
}`

func TestParseLlamaConfig(t *testing.T) {
	c, err := parseLlamaConfig([]byte(tinyLlamaConfig), "config.json")
	if err != nil {
		t.Fatal(err)
	}
	want := LlamaConfig{
		Architectures: []string{"LlamaForCausalLM"}, ModelType: "llama", HiddenSize: 2048, IntermediateSize: 5632,
		NumHiddenLayers: 22, NumAttentionHeads: 32, NumKeyValueHeads: 4, VocabSize: 32000, MaxPositionEmbeddings: 2048,
		RMSNormEps: 1e-5, RopeTheta: 10000, BosTokenID: 1, EosTokenID: 2, TorchDType: "bfloat16", HiddenAct: "silu",
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
	if c.HeadSize() != 64 {
		t.Fatalf("HeadSize = %d, want 64", c.HeadSize())
	}

	c, err = parseLlamaConfig([]byte(llama32Config), "config.json")
	if err != nil {
		t.Fatal(err)
	}
	if c.EosTokenID != 128001 || c.BosTokenID != 128000 || c.HeadDim != 64 || !c.TieWordEmbeddings ||
		c.RopeScaling["rope_type"] != "llama3" || c.RopeScaling["factor"] != 32.0 || c.RopeTheta != 500000 {
		t.Fatalf("Llama 3.2 config read as %+v", c)
	}
}

func TestLlamaConfigDefaults(t *testing.T) {
	c, err := parseLlamaConfig([]byte(`{"hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 5,
		"num_attention_heads": 8, "vocab_size": 512, "max_position_embeddings": 512}`), "config.json")
	if err != nil {
		t.Fatal(err)
	}
	if c.NumKeyValueHeads != 8 || c.RMSNormEps != 1e-6 || c.RopeTheta != 10000 || c.HiddenAct != "silu" ||
		c.BosTokenID != 1 || c.EosTokenID != 2 {
		t.Fatalf("defaults not applied: %+v", c)
	}
	c, err = parseLlamaConfig([]byte(`{"hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 5,
		"num_attention_heads": 8, "vocab_size": 512, "max_position_embeddings": 512, "bos_token_id": null, "eos_token_id": []}`), "c")
	if err != nil || c.BosTokenID != -1 || c.EosTokenID != -1 {
		t.Fatalf("null and empty token ids read as %d, %d (%v), want -1, -1", c.BosTokenID, c.EosTokenID, err)
	}
}

func TestLlamaConfigErrors(t *testing.T) {
	base := `"hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 5, "vocab_size": 512, "max_position_embeddings": 512`
	cases := []struct {
		name, json, field string
	}{
		{"not JSON", `{"hidden_size": `, ""},
		{"wrong type", `{"hidden_size": "64"}`, "hidden_size"},
		{"missing heads", `{` + base + `}`, "num_attention_heads"},
		{"zero layers", `{"hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 0, "num_attention_heads": 8, "vocab_size": 512, "max_position_embeddings": 512}`, "num_hidden_layers"},
		{"heads do not divide", `{` + base + `, "num_attention_heads": 6}`, "num_attention_heads"},
		{"kv heads do not divide", `{` + base + `, "num_attention_heads": 8, "num_key_value_heads": 3}`, "num_key_value_heads"},
		{"odd head size", `{` + base + `, "num_attention_heads": 8, "head_dim": 7}`, "head_dim"},
		{"negative eps", `{` + base + `, "num_attention_heads": 8, "rms_norm_eps": -1}`, "rms_norm_eps"},
		{"zero theta", `{` + base + `, "num_attention_heads": 8, "rope_theta": 0}`, "rope_theta"},
		{"eos past vocab", `{` + base + `, "num_attention_heads": 8, "eos_token_id": 512}`, "eos_token_id"},
		{"eos not a number", `{` + base + `, "num_attention_heads": 8, "eos_token_id": "x"}`, "eos_token_id"},
		{"bos fractional", `{` + base + `, "num_attention_heads": 8, "bos_token_id": 1.5}`, "bos_token_id"},
		{"partial rotary", `{` + base + `, "num_attention_heads": 8, "partial_rotary_factor": 0.5}`, "partial_rotary_factor"},
		{"rotary factor above 1", `{` + base + `, "num_attention_heads": 8, "partial_rotary_factor": 2}`, "partial_rotary_factor"},
	}
	for _, tc := range cases {
		_, err := parseLlamaConfig([]byte(tc.json), "config.json")
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		wantFormatError(t, err, tc.field)
	}
}

// TestFullRotaryFactorAccepted: a partial_rotary_factor of 1 (or null) is
// the full rotation the model implements.
func TestFullRotaryFactorAccepted(t *testing.T) {
	base := `"hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 5, "num_attention_heads": 8, "vocab_size": 512, "max_position_embeddings": 512`
	for _, f := range []string{"1", "1.0", "null"} {
		if _, err := parseLlamaConfig([]byte(`{`+base+`, "partial_rotary_factor": `+f+`}`), "config.json"); err != nil {
			t.Errorf("partial_rotary_factor %s: %v", f, err)
		}
	}
}

func TestLlamaConfigFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	for _, src := range []string{tinyLlamaConfig, llama32Config} {
		c, err := parseLlamaConfig([]byte(src), "src")
		if err != nil {
			t.Fatal(err)
		}
		c.BosTokenID = -1 // exercises null
		if err := WriteLlamaConfig(path, c); err != nil {
			t.Fatal(err)
		}
		got, err := ReadLlamaConfig(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("read back %+v\nwant %+v", got, c)
		}
	}
	if err := WriteLlamaConfig(path, LlamaConfig{}); err == nil {
		t.Fatal("wrote an empty config")
	}
}

// gpt2Config is the gpt2 (124M) config.json as published.
const gpt2Config = `{
  "activation_function": "gelu_new",
  "architectures": ["GPT2LMHeadModel"],
  "attn_pdrop": 0.1,
  "bos_token_id": 50256,
  "embd_pdrop": 0.1,
  "eos_token_id": 50256,
  "initializer_range": 0.02,
  "layer_norm_epsilon": 1e-05,
  "model_type": "gpt2",
  "n_ctx": 1024,
  "n_embd": 768,
  "n_head": 12,
  "n_layer": 12,
  "n_positions": 1024,
  "resid_pdrop": 0.1,
  "summary_activation": null,
  "summary_first_dropout": 0.1,
  "summary_proj_to_labels": true,
  "summary_type": "cls_index",
  "summary_use_proj": true,
  "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50}},
  "vocab_size": 50257
}`

func TestGPT2Config(t *testing.T) {
	c, err := parseGPT2Config([]byte(gpt2Config), "config.json")
	if err != nil {
		t.Fatal(err)
	}
	want := GPT2Config{
		Architectures: []string{"GPT2LMHeadModel"}, ModelType: "gpt2", NEmbd: 768, NLayer: 12, NHead: 12,
		NPositions: 1024, VocabSize: 50257, LayerNormEpsilon: 1e-5, ActivationFunction: "gelu_new",
		BosTokenID: 50256, EosTokenID: 50256,
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
	if c.InnerSize() != 3072 {
		t.Fatalf("InnerSize = %d, want 3072", c.InnerSize())
	}
	legacy, err := parseGPT2Config([]byte(`{"n_embd": 64, "n_layer": 2, "n_head": 4, "n_ctx": 128, "vocab_size": 100, "bos_token_id": 0, "eos_token_id": 0}`), "c")
	if err != nil || legacy.NPositions != 128 || legacy.LayerNormEpsilon != 1e-5 {
		t.Fatalf("n_ctx fallback: %+v, %v", legacy, err)
	}
	for field, src := range map[string]string{
		"n_head":       `{"n_embd": 64, "n_layer": 2, "n_head": 5, "n_positions": 128, "vocab_size": 100, "bos_token_id": 0, "eos_token_id": 0}`,
		"n_positions":  `{"n_embd": 64, "n_layer": 2, "n_head": 4, "vocab_size": 100}`,
		"n_embd":       `{"n_embd": 64.5}`,
		"bos_token_id": `{"n_embd": 64, "n_layer": 2, "n_head": 4, "n_positions": 128, "vocab_size": 100}`, // default 50256 is past vocab
	} {
		_, err := parseGPT2Config([]byte(src), "config.json")
		if err == nil {
			t.Errorf("%s: no error", field)
			continue
		}
		wantFormatError(t, err, field)
	}
	path := filepath.Join(t.TempDir(), "config.json")
	c.NInner = 1000
	if err := WriteGPT2Config(path, c); err != nil {
		t.Fatal(err)
	}
	got, err := ReadGPT2Config(path)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("read back %+v, %v\nwant %+v", got, err, c)
	}
}

func TestConfigFileLimits(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadLlamaConfig(filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("read a missing file")
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, make([]byte, configLimit+1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadGPT2Config(big)
	wantFormatError(t, err, "")
}
