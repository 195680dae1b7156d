package load

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
)

// SaveOptions choose what Save writes.
type SaveOptions struct {
	// Format is one of the Format* constants; "" chooses by the path's
	// extension (FormatFor).
	Format string
	// DType is "F32" (the default) or "F16" for GGUF and safetensors
	// directories; norms and biases stay F32 in GGUF, as llama.cpp keeps them.
	DType string
	// Legacy writes a version 0 llama2.c checkpoint, the one run.c reads,
	// instead of version 1.
	Legacy bool
	// Name is GGUF's general.name ("lsalign" when empty).
	Name string
}

// FormatFor picks the output format from a path: .gguf is GGUF, .bin a
// llama2.c checkpoint, anything else a directory, a Hugging Face one when
// the model is a plain Llama or GPT-2 (m may be nil to ask for that) and
// an lsalign checkpoint otherwise.
func FormatFor(path string, m *model.Model) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".gguf":
		return FormatGGUF
	case ".bin":
		return FormatLlama2C
	}
	if m != nil && llamaCompatible(m.Config) != nil && gpt2Compatible(m.Config) != nil {
		return FormatLsalign
	}
	if m != nil && gpt2Compatible(m.Config) == nil && !m.Config.TiedHead {
		return FormatLsalign
	}
	return FormatHF
}

// Save writes m, and tok when it is not nil, to path. Nothing is written
// when the model cannot be represented in the format (e.g. a GPT-2 as a
// llama2.c checkpoint, or a RoPE base llama2.c cannot store).
func Save(path string, m *model.Model, tok *tokenizer.Tokenizer, opt SaveOptions) error {
	if tok != nil && tok.Size() != m.Config.Vocab {
		return fmt.Errorf("%s: tokenizer has %d tokens but the model's vocabulary is %d", path, tok.Size(), m.Config.Vocab)
	}
	if err := m.Params.CheckFinite(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	format := opt.Format
	if format == "" {
		format = FormatFor(path, m)
	}
	switch format {
	case FormatGGUF:
		return saveGGUF(path, m, tok, opt)
	case FormatLlama2C:
		return saveLlama2C(path, m, tok, opt)
	case FormatHF:
		return saveHF(path, m, tok, opt)
	case FormatLsalign:
		return saveLsalign(path, m, tok, opt)
	}
	return fmt.Errorf("load: unknown format %q (want %s, %s, %s or %s)", format, FormatGGUF, FormatLlama2C, FormatHF, FormatLsalign)
}
