package data

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lsalign/lsalign/tokenizer"
)

// MaxTextBytes caps the text ReadText loads (all files together), so a
// mistaken path (a home directory, a disk image) fails with a message
// instead of exhausting memory.
const MaxTextBytes = 1 << 30

// TextDoc is one document read from disk.
type TextDoc struct {
	Path string
	Text string
}

// ReadText reads a text file, or every regular file under a directory
// (recursively, in lexical order, skipping names that start with "."),
// one document per file. Empty files are skipped; no document at all is an
// error.
func ReadText(path string) ([]TextDoc, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	var paths []string
	if !info.IsDir() {
		paths = []string{path}
	} else {
		err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != path && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				paths = append(paths, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		sort.Strings(paths)
	}
	var docs []TextDoc
	total := int64(0)
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		total += st.Size()
		if total > MaxTextBytes {
			return nil, fmt.Errorf("data: %s: the text under %s exceeds %d bytes", p, path, int64(MaxTextBytes))
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		if len(b) > 0 {
			docs = append(docs, TextDoc{Path: p, Text: string(b)})
		}
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("data: %s: no text (no non-empty regular file)", path)
	}
	return docs, nil
}

// TokenizeDocs encodes each document with tok (BOS added as the vocabulary
// says) and returns one token slice per document.
func TokenizeDocs(docs []TextDoc, tok *tokenizer.Tokenizer) ([][]int32, error) {
	out := make([][]int32, len(docs))
	for i, d := range docs {
		ids, err := tok.Encode(d.Text, true)
		if err != nil {
			return nil, fmt.Errorf("data: %s: %w", d.Path, err)
		}
		out[i] = ids
	}
	return out, nil
}

// SplitHeldOut joins tokenized documents into a training Stream and keeps
// the last frac of every document's tokens as held-out documents, in
// document order. A share below minHeld tokens is raised to minHeld when
// the document has at least 2×minHeld tokens; otherwise the document is
// not held out from at all and trains whole. It is an error when no
// document gives a held-out part or the training part is empty.
func SplitHeldOut(docs [][]int32, frac float64, minHeld int) (Stream, [][]int32, error) {
	if !(frac > 0 && frac < 1) {
		return nil, nil, fmt.Errorf("data: held-out fraction %g outside (0, 1)", frac)
	}
	var train Stream
	var held [][]int32
	for _, d := range docs {
		n := int(float64(len(d)) * frac)
		if n < minHeld && len(d) >= 2*minHeld {
			n = minHeld
		}
		if n < minHeld {
			train = append(train, d...)
			continue
		}
		train = append(train, d[:len(d)-n]...)
		held = append(held, d[len(d)-n:])
	}
	if len(held) == 0 {
		longest := 0
		for _, d := range docs {
			longest = max(longest, len(d))
		}
		return nil, nil, fmt.Errorf("data: no document is long enough to hold out %d tokens for evaluation (longest %d tokens)",
			minHeld, longest)
	}
	if len(train) == 0 {
		return nil, nil, fmt.Errorf("data: nothing left to train on after holding out evaluation text")
	}
	return train, held, nil
}
