package eval

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/lsalign/lsalign/align"
	"github.com/lsalign/lsalign/internal/testutil"
	"github.com/lsalign/lsalign/load"
)

// TestStories260KPerplexityMatchesLlamaCpp reproduces `llama-perplexity -c 512`
// on the first 20000 bytes of Emma: PPL 44.38 ± 2.01 (METHOD.md §6). We get
// 44.373 ± 2.005: the figures are printed to two decimals, and llama.cpp
// keeps its KV cache in float16 by default, which moves the last digit.
func TestStories260KPerplexityMatchesLlamaCpp(t *testing.T) {
	dir := testutil.SharedDir(t, "models/stories260K")
	book := testutil.SharedDir(t, "corpora/gutenberg/austen-emma.txt")
	l, err := load.Load(filepath.Join(dir, "stories260K.gguf"), load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(book)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := TokenizeDocuments(l.Tokenizer, []Document{{Name: book, Text: string(text[:20000])}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Perplexity(l.Model, docs, PPLOptions{Ctx: 512, Convention: Half, ReplaceFirst: AddsBOS(l.Tokenizer), BOS: l.Tokenizer.BOS()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d tokens, %+v", len(docs[0]), res)
	if res.Windows != 22 || res.Tokens != 22*255 || math.Abs(res.PPL-44.38) > 0.015 || math.Abs(res.PPLStderr-2.01) > 0.015 {
		t.Fatalf("PPL %.4f ± %.4f, llama.cpp gives 44.38 ± 2.01", res.PPL, res.PPLStderr)
	}
}

// stories260K loads the model and tokenizes Emma (the whole book).
func stories260K(t testing.TB) (*load.Loaded, [][]int32) {
	dir := testutil.SharedDir(t, "models/stories260K")
	book := testutil.SharedDir(t, "corpora/gutenberg/austen-emma.txt")
	l, err := load.Load(filepath.Join(dir, "stories260K.bin"), load.Options{Tokenizer: filepath.Join(dir, "tok512.bin")})
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(book)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := TokenizeDocuments(l.Tokenizer, []Document{{Name: book, Text: string(text)}})
	if err != nil {
		t.Fatal(err)
	}
	return l, docs
}

// BenchmarkMisalignmentStories260K is the speed target: 1000
// samples at l_train 512 within 60 s on two cores.
func BenchmarkMisalignmentStories260K(b *testing.B) {
	l, docs := stories260K(b)
	for b.Loop() {
		res, _, err := align.Misalignment(l.Model, docs, align.MetricOptions{Samples: benchSamples, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(res.Mean, "sce")
	}
}

const benchSamples = 1000
