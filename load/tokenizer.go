package load

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lsalign/lsalign/format/gguf"
	"github.com/lsalign/lsalign/format/llama2c"
	"github.com/lsalign/lsalign/format/safetensors"
	"github.com/lsalign/lsalign/tokenizer"
)

// LoadTokenizer reads a tokenizer from a GGUF file (a model or llama.cpp's
// vocabulary-only files), a llama2.c tokenizer.bin, a Hugging Face
// tokenizer.json, or a model directory or model file that brings one. The
// kind is told from the content, and a ".json" name settles it where the
// content cannot (an empty or truncated file), so the error speaks of
// tokenizer.json, not of a llama2.c header.
func LoadTokenizer(path string) (*tokenizer.Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		tok, _, err := dirTokenizer(path)
		if err == nil && tok == nil {
			err = fmt.Errorf("%s: no %s or %s in the directory", path, hfTokenizerFile, ggufVocabFile)
		}
		return tok, err
	}
	switch {
	case isGGUF(path):
		f, err := gguf.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return ggufTokenizer(f)
	case startsWithJSON(path) || strings.EqualFold(filepath.Ext(path), ".json"):
		t, err := safetensors.ReadTokenizerJSON(path)
		if err != nil {
			return nil, err
		}
		return newTokenizer(path, vocabFromHF(t))
	}
	pieces, scores, _, err := llama2c.OpenTokenizerAll(path)
	if err != nil {
		return nil, err
	}
	return newTokenizer(path, tokenizer.VocabFromLlama2C(pieces, scores))
}

func newTokenizer(path string, v tokenizer.Vocab) (*tokenizer.Tokenizer, error) {
	tok, err := tokenizer.New(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tok, nil
}

// startsWithJSON reports whether the first non-space byte is '{'.
func startsWithJSON(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	br := bufio.NewReader(io.LimitReader(f, 4096))
	for {
		b, err := br.ReadByte()
		if err != nil {
			return false
		}
		switch b {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return b == '{'
	}
}
