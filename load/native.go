package load

import (
	"fmt"
	"path/filepath"

	"github.com/lsalign/lsalign/format/gguf"
	"github.com/lsalign/lsalign/format/safetensors"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
)

// loadLsalign reads an lsalign model directory (model.ReadDir: config.json
// and F32 canonical tensors), as training checkpoints and exports hold it.
func loadLsalign(dir string) (*Loaded, error) {
	m, err := model.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	return &Loaded{Model: m, Meta: Meta{Architecture: m.Config.Family, DType: "F32"}}, nil
}

// saveLsalign writes an lsalign checkpoint directory, F32 like the
// training checkpoints, with the tokenizer as tokenizer.json or, for a
// byte vocabulary, a vocabulary-only tokenizer.gguf.
func saveLsalign(dir string, m *model.Model, tok *tokenizer.Tokenizer, opt SaveOptions) error {
	if opt.DType != "" && opt.DType != "F32" {
		return fmt.Errorf("%s: lsalign checkpoints are F32 only, not %s", dir, opt.DType)
	}
	if err := m.WriteDir(dir); err != nil {
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
