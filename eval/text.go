package eval

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lsalign/lsalign/tokenizer"
)

// Document is one text: a file, named by its path.
type Document struct {
	Name string
	Text string
}

// ReadDocuments reads path: a text file is one document; a directory
// gives one document per *.txt file directly inside it, in name order.
func ReadDocuments(path string) ([]Document, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return []Document{{Name: path, Text: string(b)}}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".txt") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: directory has no .txt files", path)
	}
	sort.Strings(names)
	docs := make([]Document, len(names))
	for i, n := range names {
		p := filepath.Join(path, n)
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		docs[i] = Document{Name: p, Text: string(b)}
	}
	return docs, nil
}

// TokenizeDocuments encodes each document once, adding BOS (and EOS) where
// the tokenizer adds them. Errors name the file.
func TokenizeDocuments(tok *tokenizer.Tokenizer, docs []Document) ([][]int32, error) {
	out := make([][]int32, len(docs))
	for i, d := range docs {
		ids, err := tok.Encode(d.Text, true)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.Name, err)
		}
		out[i] = ids
	}
	return out, nil
}
