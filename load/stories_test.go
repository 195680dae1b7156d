package load

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lsalign/lsalign/infer"
	"github.com/lsalign/lsalign/internal/testutil"
)

// storiesGreedy are the 60 greedy tokens stories260K generates after BOS
// (the list ../shared/checks/contract.sh checks); they decode to the text
// in storiesText.
var storiesGreedy = []int32{403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401,
	396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394, 261, 370, 432,
	352, 266, 268, 388, 426, 338, 391, 266, 267, 337, 335, 312, 432, 398, 312, 286, 267, 414, 270, 333, 415}

// storiesText is the expected greedy story.
const storiesText = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. " +
	"One day, she saw a big, red ball. She wanted to play with it, but it was too high"

func storiesDir(t testing.TB) string { return testutil.SharedDir(t, "models/stories260K") }

func mustLoad(t testing.TB, path string, opt Options) *Loaded {
	t.Helper()
	l, err := Load(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func greedy(t testing.TB, l *Loaded, steps int) []int32 {
	t.Helper()
	res, err := infer.Generate(l.Model, []int32{l.Tokenizer.BOS()}, infer.Options{Steps: steps})
	if err != nil {
		t.Fatal(err)
	}
	return res.Tokens
}

func TestStoriesGreedyEveryFormat(t *testing.T) {
	dir := storiesDir(t)
	tok := filepath.Join(dir, "tok512.bin")
	for _, c := range []struct {
		file string
		opt  Options
	}{{"stories260K.bin", Options{Tokenizer: tok}}, {"stories260K.v1.bin", Options{Tokenizer: tok}}, {"stories260K.gguf", Options{}}} {
		t.Run(c.file, func(t *testing.T) {
			l := mustLoad(t, filepath.Join(dir, c.file), c.opt)
			got := greedy(t, l, 60)
			if !slices.Equal(got, storiesGreedy) {
				t.Fatalf("greedy ids\n got %v\nwant %v", got, storiesGreedy)
			}
			if text := l.Tokenizer.Decode(got); text != storiesText {
				t.Fatalf("text %q\nwant %q", text, storiesText)
			}
		})
	}
}

// TestStoriesFormatsAgree: the legacy, version 1 and GGUF copies (the last
// made by llama.cpp's own converter) give the same logits.
func TestStoriesFormatsAgree(t *testing.T) {
	dir := storiesDir(t)
	ref := mustLoad(t, filepath.Join(dir, "stories260K.bin"), Options{})
	toks := testTokens(48)
	want := logitsOf(t, ref.Model, toks)
	for _, f := range []string{"stories260K.v1.bin", "stories260K.gguf"} {
		l := mustLoad(t, filepath.Join(dir, f), Options{})
		if d := maxDiff(logitsOf(t, l.Model, toks), want); d > 1e-5 {
			t.Errorf("%s: logits differ from stories260K.bin by %g", f, d)
		}
	}
	if ref.Tokenizer == nil || ref.Meta.TokenizerPath != filepath.Join(dir, "tok512.bin") {
		t.Errorf("tok512.bin beside the checkpoint was not found: %q", ref.Meta.TokenizerPath)
	}
}

// TestStoriesWriteMatchesExport: writing the model as a version 1
// checkpoint reproduces llama2.c's export.py file byte for byte, the
// tokenizer reproduces tok512.bin, and the legacy file matches up to the
// RoPE tables (which run.c ignores and which PyTorch computed).
func TestStoriesWriteMatchesExport(t *testing.T) {
	dir := storiesDir(t)
	l := mustLoad(t, filepath.Join(dir, "stories260K.bin"), Options{Tokenizer: filepath.Join(dir, "tok512.bin")})
	out := t.TempDir()
	v1, v0 := filepath.Join(out, "v1.bin"), filepath.Join(out, "v0.bin")
	if err := Save(v1, l.Model, l.Tokenizer, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Save(v0, l.Model, nil, SaveOptions{Legacy: true}); err != nil {
		t.Fatal(err)
	}
	same := func(got, want string, n int) {
		t.Helper()
		a, err := os.ReadFile(got)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(want)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != len(b) || !slices.Equal(a[:min(n, len(a))], b[:min(n, len(b))]) {
			t.Errorf("%s differs from %s", got, want)
		}
	}
	same(v1, filepath.Join(dir, "stories260K.v1.bin"), 1<<30)
	same(filepath.Join(out, "v1.tokenizer.bin"), filepath.Join(dir, "tok512.bin"), 1<<30)
	// The header and every weight precede the RoPE tables (the head is tied).
	same(v0, filepath.Join(dir, "stories260K.bin"), 28+4*l.Model.NumParams())
}

// TestStoriesConversions converts stories260K to every format and back:
// greedy decoding is unchanged and the tokenizer travels.
func TestStoriesConversions(t *testing.T) {
	dir := storiesDir(t)
	src := mustLoad(t, filepath.Join(dir, "stories260K.bin"), Options{Tokenizer: filepath.Join(dir, "tok512.bin")})
	out := t.TempDir()
	for _, name := range []string{"s.gguf", "s-hf", "s.bin"} {
		path := filepath.Join(out, name)
		if err := Save(path, src.Model, src.Tokenizer, SaveOptions{}); err != nil {
			t.Fatal(err)
		}
		l := mustLoad(t, path, Options{})
		if l.Tokenizer == nil {
			t.Fatalf("%s: no tokenizer", name)
		}
		if got := greedy(t, l, 60); !slices.Equal(got, storiesGreedy) {
			t.Errorf("%s: greedy ids %v", name, got)
		}
	}
}
