// Package load turns model files into a model.Model, a tokenizer and
// metadata, and writes models back: llama2.c checkpoints (.bin, versions 0
// and 1), GGUF (llama.cpp, ollama), Hugging Face model directories
// (config.json + model.safetensors + tokenizer.json) and lsalign's own
// checkpoint directories (config.json holding a model.Config).
//
// Each format's tensors are mapped onto the model's canonical (GGUF-style)
// names by an explicit table; a tensor the table does not expect, a
// missing one, a wrong shape or a non-finite value is an error naming the
// file and the tensor. Configurations are checked against the tensors the
// file really holds before anything is allocated from them.
//
// RoPE layouts: llama2.c and GGUF rotate adjacent pairs (Meta's layout);
// Hugging Face checkpoints rotate halves. A Hugging Face model is loaded as
// it is stored, with RopeLayout "halves", so its weights are used bit for
// bit; writing permutes the query and key rows whenever the target format's
// layout differs from the model's, as llama.cpp's converters do.
package load

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lsalign/lsalign/format/gguf"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
)

// Formats.
const (
	FormatLlama2C = "llama2c"     // llama2.c checkpoint (.bin)
	FormatGGUF    = "gguf"        // GGUF file
	FormatHF      = "safetensors" // Hugging Face model directory
	FormatLsalign = "lsalign"     // lsalign checkpoint directory
)

// Architectures a file may hold (general.architecture, model_type).
const (
	ArchLlama = "llama"
	ArchGPT2  = "gpt2"
)

// Meta describes where a model came from and how it is set up.
type Meta struct {
	Path         string `json:"path"`
	Format       string `json:"format"`
	Version      int    `json:"version,omitempty"` // llama2.c 0 or 1, GGUF 2 or 3
	Architecture string `json:"architecture"`
	Name         string `json:"name,omitempty"`
	// DType is how the weights are stored: F32, F16, BF16, Q8_0, ...; a
	// file mixing types lists them joined by "+".
	DType string `json:"dtype"`

	ContextLength int                 `json:"context_length"` // the training context, model.Config.MaxSeq
	RopeBase      float64             `json:"rope_base,omitempty"`
	RopeLayout    string              `json:"rope_layout,omitempty"`
	RopeScaling   kernels.RopeScaling `json:"rope_scaling"`

	Tokenizer     tokenizer.Kind `json:"tokenizer,omitempty"` // "" when none was found
	TokenizerPath string         `json:"tokenizer_path,omitempty"`
}

// Loaded is a model with its tokenizer and metadata.
type Loaded struct {
	Model     *model.Model
	Tokenizer *tokenizer.Tokenizer // nil when the file brings none and none was given
	Meta      Meta
}

// Options adjust Load.
type Options struct {
	// Tokenizer is a tokenizer file or directory (see LoadTokenizer) to use
	// instead of the one the model brings.
	Tokenizer string
}

// Load reads the model at path: a llama2.c .bin, a .gguf, a Hugging Face
// or lsalign directory (or the model.safetensors inside one). Without
// opt.Tokenizer the tokenizer is the one embedded in the file or directory,
// or for llama2.c a file beside it: NAME.tokenizer.bin for NAME.bin, then
// tokenizer.bin, then tokV.bin (V the vocabulary size, llama2.c's naming).
// A tokenizer whose size differs from the model's vocabulary is an error
// (a Hugging Face tokenizer may be smaller: embeddings are often padded).
func Load(path string, opt Options) (*Loaded, error) {
	format, err := Detect(path)
	if err != nil {
		return nil, err
	}
	if format == FormatHF || format == FormatLsalign {
		path = modelDir(path)
	}
	var l *Loaded
	switch format {
	case FormatLlama2C:
		l, err = loadLlama2C(path)
	case FormatGGUF:
		l, err = loadGGUF(path)
	case FormatHF:
		l, err = loadHF(path)
	case FormatLsalign:
		l, err = loadLsalign(path)
	}
	if err != nil {
		return nil, err
	}
	if opt.Tokenizer != "" {
		l.Tokenizer, err = LoadTokenizer(opt.Tokenizer)
		l.Meta.TokenizerPath = opt.Tokenizer
	} else {
		l.Tokenizer, l.Meta.TokenizerPath, err = embeddedTokenizer(format, path, l.Model.Config.Vocab)
	}
	if err != nil {
		return nil, err
	}
	l.Meta.Path, l.Meta.Format = path, format
	if l.Tokenizer != nil {
		if err := checkVocab(l, format == FormatHF && opt.Tokenizer == ""); err != nil {
			return nil, err
		}
		l.Meta.Tokenizer = l.Tokenizer.Kind()
	}
	c := l.Model.Config
	l.Meta.ContextLength = c.MaxSeq
	if c.Pos == model.PosRoPE {
		l.Meta.RopeBase, l.Meta.RopeLayout, l.Meta.RopeScaling = c.RopeBase, c.RopeLayout, c.RopeScaling
	}
	return l, nil
}

// embeddedTokenizer finds the tokenizer a model brings: GGUF metadata, a
// directory's tokenizer.json or tokenizer.gguf, or a llama2.c tokenizer
// file beside the checkpoint. None is no error.
func embeddedTokenizer(format, path string, vocab int) (*tokenizer.Tokenizer, string, error) {
	switch format {
	case FormatLlama2C:
		tok, p := findLlama2CTokenizer(path, vocab)
		return tok, p, nil
	case FormatGGUF:
		f, err := gguf.Open(path)
		if err != nil {
			return nil, "", err
		}
		defer f.Close()
		if _, ok := f.Value("tokenizer.ggml.model"); !ok {
			return nil, "", nil
		}
		tok, err := ggufTokenizer(f)
		return tok, path, err
	}
	return dirTokenizer(path)
}

// checkVocab requires the tokenizer to fit the model's vocabulary exactly,
// or to be smaller when padded embeddings are expected.
func checkVocab(l *Loaded, padded bool) error {
	n, v := l.Tokenizer.Size(), l.Model.Config.Vocab
	if n == v || (padded && n < v) {
		return nil
	}
	return fmt.Errorf("tokenizer %s has %d tokens but model %s has a vocabulary of %d", l.Meta.TokenizerPath, n, l.Meta.Path, v)
}

// Detect tells the format of the model at path from its content: the GGUF
// magic, a directory (or a .safetensors file) whose config.json has lsalign's
// "family" key or not, and otherwise a llama2.c checkpoint.
func Detect(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if st.IsDir() || strings.HasSuffix(path, ".safetensors") {
		cfgPath := filepath.Join(modelDir(path), configFile)
		var keys map[string]json.RawMessage
		if err := readJSON(cfgPath, &keys); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", fmt.Errorf("%s: not a model directory: no %s", path, configFile)
			}
			return "", err
		}
		if _, ok := keys["family"]; ok {
			return FormatLsalign, nil
		}
		return FormatHF, nil
	}
	if isGGUF(path) {
		return FormatGGUF, nil
	}
	return FormatLlama2C, nil
}

// modelDir is path itself, or the directory holding a .safetensors file.
func modelDir(path string) string {
	if strings.HasSuffix(path, ".safetensors") {
		if st, err := os.Stat(path); err == nil && !st.IsDir() {
			return filepath.Dir(path)
		}
	}
	return path
}

// hasMagic reports whether the file at path starts with magic.
func hasMagic(path, magic string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, len(magic))
	_, err = io.ReadFull(f, b)
	return err == nil && string(b) == magic
}

func isGGUF(path string) bool { return hasMagic(path, "GGUF") }

// readJSON decodes a small JSON file (configs), naming the file in errors.
func readJSON(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxJSON+1))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxJSON {
		return fmt.Errorf("%s: larger than %d bytes", path, maxJSON)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// maxJSON bounds config files read into memory.
const maxJSON = 16 << 20

// File names inside model directories.
const (
	configFile      = "config.json"
	weightsFile     = "model.safetensors"
	shardIndexFile  = "model.safetensors.index.json"
	hfTokenizerFile = "tokenizer.json"
	ggufVocabFile   = "tokenizer.gguf"
)
