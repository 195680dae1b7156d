package load

import (
	"fmt"
	"math"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
)

// llamaConfig is a small Llama with grouped-query attention and an untied
// head, sized to match spmVocab.
func llamaConfig() model.Config {
	return model.Config{Family: "llama", Vocab: len(spmVocab().Tokens), Dim: 32, Layers: 2, Heads: 4, KVHeads: 2,
		Hidden: 48, MaxSeq: 40, NormEps: 1e-5, RopeBase: 10000}
}

// gpt2Config is a small GPT-2 sized to match gpt2Vocab.
func gpt2Config() model.Config {
	return model.Config{Family: "gpt2", Vocab: len(gpt2Vocab().Tokens), Dim: 24, Layers: 2, Heads: 3, Hidden: 40,
		MaxSeq: 32, Bias: true, TiedHead: true}
}

// randomModel builds a model with weights large enough that logits vary
// by several units (the 0.02 init gives nearly uniform ones).
func randomModel(t testing.TB, cfg model.Config, seed uint64) *model.Model {
	t.Helper()
	m, err := model.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := rng.New(seed)
	for i := range m.Params.Data {
		m.Params.Data[i] = float32(r.NormFloat64() * 0.5)
	}
	return m
}

// testTokens is a fixed sequence inside any vocabulary of at least 40.
func testTokens(n int) []int32 {
	toks := make([]int32, n)
	for i := range toks {
		toks[i] = int32((i*17 + 3) % 40)
	}
	return toks
}

func logitsOf(t testing.TB, m *model.Model, tokens []int32) []float32 {
	t.Helper()
	if err := m.Forward(tokens, 1, len(tokens), model.ForwardOptions{}); err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), m.Logits()...)
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// sameLogits fails unless a and b give logits within tol on a fixed input.
func sameLogits(t testing.TB, name string, a, b *model.Model, tol float64) {
	t.Helper()
	toks := testTokens(min(12, a.Config.MaxSeq))
	la, lb := logitsOf(t, a, toks), logitsOf(t, b, toks)
	if d := maxDiff(la, lb); !(d <= tol) {
		t.Fatalf("%s: logits differ by %g (tolerance %g)", name, d, tol)
	}
}

// spmVocab is a SentencePiece-style vocabulary with byte fallback: <unk>,
// <s>, </s>, the 256 byte tokens and a few merged pieces.
func spmVocab() tokenizer.Vocab {
	v := tokenizer.Vocab{Kind: tokenizer.KindSPM, BOS: 1, EOS: 2, UNK: 0, PAD: -1, AddBOS: true, AddSpacePrefix: true}
	add := func(tok string, typ int32, score float32) {
		v.Tokens = append(v.Tokens, tok)
		v.Types = append(v.Types, typ)
		v.Scores = append(v.Scores, score)
	}
	add("<unk>", tokenizer.TypeUnknown, 0)
	add("<s>", tokenizer.TypeControl, 0)
	add("</s>", tokenizer.TypeControl, 0)
	for b := range 256 {
		add(fmt.Sprintf("<0x%02X>", b), tokenizer.TypeByte, 0)
	}
	for i, p := range []string{"▁", "a", "b", "c", "▁a", "ab", "▁ab", "bc", "▁abc", "ca"} {
		add(p, tokenizer.TypeNormal, -float32(i))
	}
	return v
}

// gpt2Vocab is a byte-level BPE vocabulary: GPT-2's 256 byte symbols, a few
// merges and <|endoftext|>.
func gpt2Vocab() tokenizer.Vocab {
	v := tokenizer.Vocab{Kind: tokenizer.KindGPT2, PAD: -1, UNK: -1}
	for _, r := range byteSymbols() {
		v.Tokens = append(v.Tokens, string(r))
	}
	v.Merges = []string{"Ġ a", "b c", "Ġa bc"}
	v.Tokens = append(v.Tokens, "Ġa", "bc", "Ġabc", "<|endoftext|>")
	v.Types = make([]int32, len(v.Tokens))
	for i := range v.Types {
		v.Types[i] = tokenizer.TypeNormal
	}
	v.BOS, v.EOS = len(v.Tokens)-1, len(v.Tokens)-1
	v.Types[v.BOS] = tokenizer.TypeControl
	return v
}

// byteSymbols is GPT-2's bytes_to_unicode table, in byte order.
func byteSymbols() []rune {
	var out []rune
	n := 0
	for b := range 256 {
		if ('!' <= b && b <= '~') || (0xA1 <= b && b <= 0xAC) || (0xAE <= b && b <= 0xFF) {
			out = append(out, rune(b))
		} else {
			out = append(out, rune(256+n))
			n++
		}
	}
	return out
}

func mustTokenizer(t testing.TB, v tokenizer.Vocab) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
