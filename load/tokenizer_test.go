package load

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/format/llama2c"
	"github.com/lsalign/lsalign/format/safetensors"
	"github.com/lsalign/lsalign/internal/testutil"
	"github.com/lsalign/lsalign/tokenizer"
)

const sampleText = "Once upon a time, Lily saw a big red ball.\n\"Wow!\" she said. Ünïcødé ★ 日本 and tabs\tend "

// TestTokenizerSources reads stories260K's vocabulary from every place it
// can live: tok512.bin, the GGUF (converted by llama.cpp), a tokenizer.json
// and a model directory. All encode and decode alike.
func TestTokenizerSources(t *testing.T) {
	dir := storiesDir(t)
	ref, err := LoadTokenizer(filepath.Join(dir, "tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ref.Encode(sampleText, true)
	if err != nil {
		t.Fatal(err)
	}
	hfDir := filepath.Join(t.TempDir(), "hf")
	if err := os.Mkdir(hfDir, 0o755); err != nil {
		t.Fatal(err)
	}
	hft, err := hfFromVocab(ref.Vocab())
	if err != nil {
		t.Fatal(err)
	}
	if err := safetensors.WriteTokenizerJSON(filepath.Join(hfDir, hfTokenizerFile), hft); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "stories260K.gguf"), filepath.Join(hfDir, hfTokenizerFile), hfDir} {
		tok, err := LoadTokenizer(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tok.Encode(sampleText, true)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: Encode = %v, %v\nwant %v", p, got, err, want)
		}
		if s := tok.Decode(got); s != sampleText {
			t.Errorf("%s: Decode = %q", p, s)
		}
	}
}

// TestTokenizerJSONConformance converts llama.cpp's vocabularies to
// tokenizer.json and back, then runs llama.cpp's test vectors: the merge
// ranks that stand in for SentencePiece scores must tokenize as the scores
// did.
func TestTokenizerJSONConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("converts 32000- and 50257-token vocabularies")
	}
	dir := testutil.SharedDir(t, "tokenizers")
	for _, name := range []string{"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf"} {
		path := filepath.Join(dir, name)
		orig, err := LoadTokenizer(path)
		if err != nil {
			t.Fatal(err)
		}
		hft, err := hfFromVocab(orig.Vocab())
		if err != nil {
			t.Fatal(err)
		}
		jsonPath := filepath.Join(t.TempDir(), hfTokenizerFile)
		if err := safetensors.WriteTokenizerJSON(jsonPath, hft); err != nil {
			t.Fatal(err)
		}
		tok, err := LoadTokenizer(jsonPath)
		if err != nil {
			t.Fatal(err)
		}
		inp, err := os.ReadFile(path + ".inp")
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.ReadFile(path + ".out")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(out), "\n")
		for i, text := range strings.Split(string(inp), "\n__ggml_vocab_test__\n") {
			var want []int32
			for _, f := range strings.Fields(lines[i]) {
				id, _ := strconv.Atoi(f)
				want = append(want, int32(id))
			}
			got, err := tok.Encode(text, false)
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("%s via tokenizer.json, case %d %q:\n got %v, %v\nwant %v", name, i, text, got, err, want)
			}
		}
	}
}

func TestBadTokenizerFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var good []byte // max_token_length 2, tokens "a" and "bc"
	good = append(good, 2, 0, 0, 0)
	good = append(good, 0, 0, 0, 0, 1, 0, 0, 0, 'a')
	good = append(good, 0, 0, 0, 0, 2, 0, 0, 0, 'b', 'c')
	if pieces, _, _, err := llama2c.OpenTokenizerAll(write("good.bin", good)); err != nil || len(pieces) != 2 {
		t.Fatalf("count = %d, %v; want 2", len(pieces), err)
	}
	for name, b := range map[string][]byte{
		"trailing.bin": append(append([]byte(nil), good...), 1, 2),
		"long.bin":     append(append([]byte(nil), good[:13]...), 0, 0, 0, 0, 9, 0, 0, 0, 'x'),
		"negative.bin": {0xff, 0xff, 0xff, 0xff},
		"empty.bin":    {},
		"bad.json":     []byte(`{"model": {"type": "Unigram"}}`),
		"bad.gguf":     []byte("GGUF\x03\x00"),
	} {
		if _, err := LoadTokenizer(write(name, b)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v does not name the file", name, err)
		}
	}
	// An empty or blank tokenizer.json has no '{' to tell it by: its name
	// does, so the error is about JSON, not a llama2.c header.
	for name, b := range map[string][]byte{"tokenizer.json": {}, "blank.JSON": []byte(" \n")} {
		_, err := LoadTokenizer(write(name, b))
		if err == nil || !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "max_token_length") ||
			!strings.Contains(err.Error(), "JSON") {
			t.Errorf("%s (%d bytes): error %v, want a JSON error naming the file", name, len(b), err)
		}
	}
	hf := t.TempDir()
	if err := os.WriteFile(filepath.Join(hf, "tokenizer.json"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTokenizer(hf); err == nil || strings.Contains(err.Error(), "max_token_length") {
		t.Errorf("a directory with an empty tokenizer.json: error %v", err)
	}
	if _, err := LoadTokenizer(t.TempDir()); err == nil {
		t.Error("a directory without a tokenizer: no error")
	}
	if _, err := LoadTokenizer(filepath.Join(dir, "absent")); err == nil {
		t.Error("a missing file: no error")
	}
}

// TestVocabFromHFTypes checks the token types and BOS handling of a
// converted tokenizer.json.
func TestVocabFromHFTypes(t *testing.T) {
	hft, err := hfFromVocab(spmVocab())
	if err != nil {
		t.Fatal(err)
	}
	if !hft.ByteFallback || hft.Special["<s>"] != 1 || hft.Special["<unk>"] != 0 {
		t.Fatalf("byte fallback %v, special %v", hft.ByteFallback, hft.Special)
	}
	v := vocabFromHF(hft)
	if !v.AddBOS || v.Types[0] != tokenizer.TypeUnknown || v.Types[1] != tokenizer.TypeControl ||
		v.Types[3+'A'] != tokenizer.TypeByte || v.Types[len(v.Types)-1] != tokenizer.TypeNormal {
		t.Fatalf("types %v..., AddBOS %v", v.Types[:4], v.AddBOS)
	}
	if _, err := hfFromVocab(tokenizer.ByteVocab()); err == nil {
		t.Error("a byte vocabulary converted to tokenizer.json")
	}
}
