package load

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
)

// tinyConfig is the smallest model worth fuzzing: the seeds stay small.
func tinyConfig() model.Config {
	return model.Config{Family: "llama", Vocab: len(spmVocab().Tokens), Dim: 8, Layers: 1, Heads: 2, KVHeads: 1, Hidden: 8, MaxSeq: 8}
}

// seedFile saves a tiny model in one format and returns the bytes of
// file within the written path (the path itself for single files).
func seedFile(f *testing.F, name, file string, opt SaveOptions) []byte {
	f.Helper()
	m, err := model.NewInit(tinyConfig(), 1)
	if err != nil {
		f.Fatal(err)
	}
	tok, err := tokenizer.New(spmVocab())
	if err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(f.TempDir(), name)
	if err := Save(path, m, tok, opt); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(path, file))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzLoadFile feeds arbitrary bytes to Load as a model file (GGUF when it
// starts with the magic, llama2.c otherwise): it may fail, never panic.
func FuzzLoadFile(f *testing.F) {
	f.Add(seedFile(f, "m.gguf", "", SaveOptions{}))
	f.Add(seedFile(f, "m.bin", "", SaveOptions{}))
	f.Add(seedFile(f, "m0.bin", "", SaveOptions{Legacy: true}))
	f.Add([]byte("GGUF"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "model")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if l, err := Load(path, Options{}); err == nil && l.Model.NumParams() <= 0 {
			t.Fatal("loaded a model without parameters")
		}
		LoadTokenizer(path) // must not panic either
	})
}

// FuzzLoadConfig pairs arbitrary config.json text with valid weights, in a
// Hugging Face and an lsalign directory: absurd sizes and wrong types must
// be errors found before any allocation from them, so whatever the config
// says, loading allocates about what the tiny weights need.
func FuzzLoadConfig(f *testing.F) {
	hfWeights := seedFile(f, "hf", weightsFile, SaveOptions{Format: FormatHF})
	lsWeights := seedFile(f, "ls", weightsFile, SaveOptions{Format: FormatLsalign})
	f.Add(seedFile(f, "hf2", configFile, SaveOptions{Format: FormatHF}))
	f.Add(seedFile(f, "ls2", configFile, SaveOptions{Format: FormatLsalign}))
	f.Add([]byte(`{"model_type": "gpt2", "n_embd": 8, "n_layer": 1000000000, "n_head": 2, "n_positions": 8, "vocab_size": 269}`))
	f.Add([]byte(`{"family": "llama", "vocab_size": 269, "dim": 4611686018427387904, "n_layers": 1, "n_heads": 2, "max_seq_len": 8}`))
	f.Fuzz(func(t *testing.T, cfg []byte) {
		for _, weights := range [][]byte{hfWeights, lsWeights} {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, configFile), cfg, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, weightsFile), weights, 0o644); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			l, err := Load(dir, Options{})
			runtime.ReadMemStats(&after)
			if err == nil && l.Model.NumParams() <= 0 {
				t.Fatal("loaded a model without parameters")
			}
			if a, limit := after.TotalAlloc-before.TotalAlloc, uint64(8<<20+64*len(cfg)); a > limit {
				t.Fatalf("loading allocated %d bytes (limit %d) for a %d-byte config", a, limit, len(cfg))
			}
		}
	})
}
