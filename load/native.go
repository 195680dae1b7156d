package load

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/lsalign/lsalign/format/gguf"
	"github.com/lsalign/lsalign/format/safetensors"
	"github.com/lsalign/lsalign/internal/atomicfile"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
)

// loadLsalign reads an lsalign checkpoint directory: config.json is a
// model.Config and model.safetensors holds the canonical tensors (the
// layout checkpoint.WriteModel writes).
func loadLsalign(dir string) (*Loaded, error) {
	cfgPath := filepath.Join(dir, configFile)
	var cfg model.Config
	if err := readJSON(cfgPath, &cfg); err != nil {
		return nil, err
	}
	if err := cfg.Defaults().Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	src, err := openSafetensors(dir)
	if err != nil {
		return nil, err
	}
	defer src.close()
	m, dtype, err := buildModel(src.label, src, cfg, canonicalSpecs, nil)
	if err != nil {
		return nil, err
	}
	return &Loaded{Model: m, Meta: Meta{Architecture: m.Config.Family, DType: dtype}}, nil
}

// saveLsalign writes an lsalign checkpoint directory, F32 like the
// training checkpoints, with the tokenizer as tokenizer.json or, for a
// byte vocabulary, a vocabulary-only tokenizer.gguf.
func saveLsalign(dir string, m *model.Model, tok *tokenizer.Tokenizer, opt SaveOptions) error {
	if opt.DType != "" && opt.DType != "F32" {
		return fmt.Errorf("%s: lsalign checkpoints are F32 only, not %s", dir, opt.DType)
	}
	ts, err := exportTensors(m, canonicalSpecs(m.Config), "")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeSafetensors(filepath.Join(dir, weightsFile), ts, "F32"); err != nil {
		return err
	}
	if err := atomicfile.WriteJSON(filepath.Join(dir, configFile), m.Config); err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	v := tok.Vocab()
	if v.Kind == tokenizer.KindByte {
		return SaveVocabGGUF(dir, v)
	}
	t, err := hfFromVocab(v)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	return safetensors.WriteTokenizerJSON(filepath.Join(dir, hfTokenizerFile), t)
}

// SaveVocabGGUF writes v into dir as tokenizer.gguf, a GGUF file with the
// vocabulary and no tensors: the form a model directory carries a
// vocabulary in when tokenizer.json cannot hold it (byte vocabularies).
func SaveVocabGGUF(dir string, v tokenizer.Vocab) error {
	keys, values := v.GGUFMetadata()
	kv := make([]gguf.KV, len(keys))
	for i, k := range keys {
		kv[i] = gguf.KV{Key: k, Value: values[i]}
	}
	return gguf.WriteFile(filepath.Join(dir, ggufVocabFile), kv, nil)
}
