package load

import (
	"bufio"
	"encoding/binary"
	"errors"
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
	n, err := countLlama2CTokens(path)
	if err != nil {
		return nil, err
	}
	pieces, scores, _, err := llama2c.OpenTokenizer(path, n)
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

// countLlama2CTokens walks a tokenizer.bin to count its records, which the
// file does not store (run.c takes the count from the model). Each record
// is checked as far as needed to find the next; ReadTokenizer then checks
// everything.
func countLlama2CTokens(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	br := bufio.NewReaderSize(f, 1<<16)
	var head [8]byte
	if _, err := io.ReadFull(br, head[:4]); err != nil {
		return 0, &llama2c.FormatError{File: path, Field: "max_token_length", Msg: "unexpected end of file"}
	}
	maxLen := int64(int32(binary.LittleEndian.Uint32(head[:4])))
	if maxLen < 0 {
		return 0, &llama2c.FormatError{File: path, Field: "max_token_length", Msg: fmt.Sprintf("%d is negative", maxLen)}
	}
	left := st.Size() - 4
	n := 0
	for left > 0 {
		if _, err := io.ReadFull(br, head[:]); err != nil {
			return 0, &llama2c.FormatError{File: path, Field: fmt.Sprintf("token[%d]", n), Msg: "unexpected end of file"}
		}
		l := int64(int32(binary.LittleEndian.Uint32(head[4:])))
		left -= 8
		if l < 0 || l > maxLen || l > left {
			return 0, &llama2c.FormatError{File: path, Field: fmt.Sprintf("token[%d].len", n),
				Msg: fmt.Sprintf("%d is outside [0, max_token_length %d] or runs past the end of the file", l, maxLen)}
		}
		if _, err := br.Discard(int(l)); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, fmt.Errorf("%s: token[%d]: %w", path, n, err)
		}
		left -= l
		n++
	}
	if n == 0 {
		return 0, &llama2c.FormatError{File: path, Field: "file size", Msg: "no tokens"}
	}
	return n, nil
}
