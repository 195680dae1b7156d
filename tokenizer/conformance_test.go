package tokenizer_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/format/gguf"
	"github.com/lsalign/lsalign/internal/testutil"
	"github.com/lsalign/lsalign/tokenizer"
)

// loadGGUFTokenizer builds a tokenizer from a vocabulary-only GGUF file.
func loadGGUFTokenizer(t testing.TB, path string) *tokenizer.Tokenizer {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, err := tokenizer.VocabFromGGUF(f.Value)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestLlamaCppVectors checks every case of llama.cpp's tokenizer test
// vectors: case i of the .inp file (split on the __ggml_vocab_test__ lines)
// must encode, without special tokens, to line i of the .out file.
func TestLlamaCppVectors(t *testing.T) {
	dir := testutil.SharedDir(t, "tokenizers")
	for _, name := range []string{"ggml-vocab-llama-spm.gguf", "ggml-vocab-phi-3.gguf", "ggml-vocab-gpt-2.gguf"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			tok := loadGGUFTokenizer(t, path)
			inp, err := os.ReadFile(path + ".inp")
			if err != nil {
				t.Fatal(err)
			}
			out, err := os.ReadFile(path + ".out")
			if err != nil {
				t.Fatal(err)
			}
			cases := strings.Split(string(inp), "\n__ggml_vocab_test__\n")
			lines := strings.Split(string(out), "\n")
			if len(cases) < 40 {
				t.Fatalf("only %d cases in %s.inp", len(cases), name)
			}
			passed := 0
			for i, text := range cases {
				if i >= len(lines) {
					t.Errorf("case %d: no line in .out", i)
					continue
				}
				var want []int32
				for _, f := range strings.Fields(lines[i]) {
					id, err := strconv.ParseInt(f, 10, 32)
					if err != nil {
						t.Fatalf(".out line %d: %v", i, err)
					}
					want = append(want, int32(id))
				}
				got, err := tok.Encode(text, false)
				if err != nil {
					t.Errorf("case %d %q: %v", i, text, err)
					continue
				}
				if !slices.Equal(got, want) {
					t.Errorf("case %d %q:\n got %v\nwant %v", i, text, got, want)
					continue
				}
				passed++
			}
			t.Logf("%s: %d/%d cases", name, passed, len(cases))
		})
	}
}

// TestRealVocabRoundTrip decodes what the real vocabularies encode: the
// test-vector inputs and a stretch of an English book come back exactly,
// with and without BOS.
func TestRealVocabRoundTrip(t *testing.T) {
	dir := testutil.SharedDir(t, "tokenizers")
	book, err := os.ReadFile(filepath.Join(testutil.SharedDir(t, "corpora"), "gutenberg", "chesterton-thursday.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ggml-vocab-llama-spm.gguf", "ggml-vocab-phi-3.gguf", "ggml-vocab-gpt-2.gguf"} {
		path := filepath.Join(dir, name)
		tok := loadGGUFTokenizer(t, path)
		inp, err := os.ReadFile(path + ".inp")
		if err != nil {
			t.Fatal(err)
		}
		texts := append(strings.Split(string(inp), "\n__ggml_vocab_test__\n"), string(book[:20000]))
		for _, text := range texts {
			for _, special := range []bool{false, true} {
				ids, err := tok.Encode(text, special)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got := tok.Decode(ids); got != text {
					t.Errorf("%s: Decode(Encode(%.40q, %v)) = %.40q", name, text, special, got)
				}
			}
		}
	}
}
