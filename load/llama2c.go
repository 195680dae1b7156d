package load

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lsalign/lsalign/format/llama2c"
	"github.com/lsalign/lsalign/internal/atomicfile"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
)

// llama2.c's fixed hyper-parameters: run.c hard-codes both.
const (
	llama2cNormEps  = 1e-5
	llama2cRopeBase = 10000
)

func loadLlama2C(path string) (*Loaded, error) {
	hc, w, err := llama2c.Open(path)
	if err != nil {
		return nil, err
	}
	cfg := model.Config{Family: ArchLlama, Vocab: hc.VocabSize, Dim: hc.Dim, Layers: hc.NLayers, Heads: hc.NHeads,
		KVHeads: hc.NKVHeads, Hidden: hc.HiddenDim, MaxSeq: hc.SeqLen, Norm: "rmsnorm", NormEps: llama2cNormEps,
		MLP: "swiglu", Pos: model.PosRoPE, RopeBase: llama2cRopeBase, RopeLayout: "adjacent",
		TiedHead: hc.SharedClassifier}
	src := llama2cSource(hc, w)
	m, dtype, err := buildModel(path, src, cfg, canonicalSpecs, nil)
	if err != nil {
		return nil, err
	}
	return &Loaded{Model: m, Meta: Meta{Version: hc.Version, Architecture: ArchLlama, DType: dtype}}, nil
}

// llama2cSource splits the stacked llama2.c tensors into canonical ones.
func llama2cSource(c llama2c.Config, w llama2c.Weights) *memSource {
	C, H, V, KV, Q := c.Dim, c.HiddenDim, c.VocabSize, c.KVDim(), c.NHeads*c.HeadSize()
	s := newMemSource("F32")
	s.add("token_embd.weight", w.TokenEmbedding, V, C)
	for l := range c.NLayers {
		p := fmt.Sprintf("blk.%d.", l)
		s.add(p+"attn_norm.weight", w.RmsAtt[l*C:(l+1)*C], C)
		s.add(p+"attn_q.weight", w.Wq[l*Q*C:(l+1)*Q*C], Q, C)
		s.add(p+"attn_k.weight", w.Wk[l*KV*C:(l+1)*KV*C], KV, C)
		s.add(p+"attn_v.weight", w.Wv[l*KV*C:(l+1)*KV*C], KV, C)
		s.add(p+"attn_output.weight", w.Wo[l*C*Q:(l+1)*C*Q], C, Q)
		s.add(p+"ffn_norm.weight", w.RmsFfn[l*C:(l+1)*C], C)
		s.add(p+"ffn_gate.weight", w.W1[l*H*C:(l+1)*H*C], H, C)
		s.add(p+"ffn_up.weight", w.W3[l*H*C:(l+1)*H*C], H, C)
		s.add(p+"ffn_down.weight", w.W2[l*C*H:(l+1)*C*H], C, H)
	}
	s.add("output_norm.weight", w.RmsFinal, C)
	if !c.SharedClassifier {
		s.add("output.weight", w.Wcls, V, C)
	}
	return s
}

// llama2cTokenizerCandidates lists, in order, the files a llama2.c model
// may have its tokenizer in.
func llama2cTokenizerCandidates(modelPath string, vocab int) []string {
	dir := filepath.Dir(modelPath)
	return []string{
		strings.TrimSuffix(modelPath, filepath.Ext(modelPath)) + ".tokenizer.bin",
		filepath.Join(dir, "tokenizer.bin"),
		filepath.Join(dir, fmt.Sprintf("tok%d.bin", vocab)),
	}
}

// findLlama2CTokenizer returns the first candidate tokenizer that loads
// and has exactly vocab tokens; a llama2.c checkpoint does not name its
// tokenizer, so files that do not fit are skipped, not errors.
func findLlama2CTokenizer(modelPath string, vocab int) (*tokenizer.Tokenizer, string) {
	for _, p := range llama2cTokenizerCandidates(modelPath, vocab) {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		tok, err := LoadTokenizer(p)
		if err == nil && tok.Size() == vocab {
			return tok, p
		}
	}
	return nil, ""
}

// llama2cCompatible reports why c cannot be stored as a llama2.c
// checkpoint, or nil.
func llama2cCompatible(c model.Config) error {
	if err := llamaCompatible(c); err != nil {
		return err
	}
	switch {
	case c.NormEps != llama2cNormEps:
		return fmt.Errorf("llama2.c fixes the RMSNorm epsilon at 1e-5, the model uses %g", c.NormEps)
	case c.RopeBase != llama2cRopeBase:
		return fmt.Errorf("llama2.c fixes the RoPE base at 10000, the model uses %g", c.RopeBase)
	case c.RopeScaling.Type != "" && c.RopeScaling.Type != "none":
		return fmt.Errorf("llama2.c cannot store RoPE scaling %q", c.RopeScaling.Type)
	}
	return nil
}

// saveLlama2C writes a llama2.c checkpoint (version 1, or 0 for run.c) and,
// when tok is set, its tokenizer as NAME.tokenizer.bin beside it.
func saveLlama2C(path string, m *model.Model, tok *tokenizer.Tokenizer, opt SaveOptions) error {
	c := m.Config
	if err := llama2cCompatible(c); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if opt.DType != "" && opt.DType != "F32" {
		return fmt.Errorf("%s: llama2.c checkpoints are F32 only, not %s", path, opt.DType)
	}
	var pieces []string
	var scores []float32
	if tok != nil {
		var err error
		if pieces, scores, err = llama2cPieces(tok.Vocab()); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	ts, err := exportTensors(m, canonicalSpecs(c), "adjacent")
	if err != nil {
		return err
	}
	byName := map[string][]float32{}
	for _, t := range ts {
		byName[t.name] = t.data
	}
	stack := func(suffix string) []float32 {
		var v []float32
		for l := range c.Layers {
			v = append(v, byName[fmt.Sprintf("blk.%d.%s", l, suffix)]...)
		}
		return v
	}
	hc := llama2c.Config{Dim: c.Dim, HiddenDim: c.Hidden, NLayers: c.Layers, NHeads: c.Heads, NKVHeads: c.KVHeads,
		VocabSize: c.Vocab, SeqLen: c.MaxSeq, SharedClassifier: c.TiedHead}
	w := llama2c.Weights{TokenEmbedding: byName["token_embd.weight"], RmsAtt: stack("attn_norm.weight"),
		Wq: stack("attn_q.weight"), Wk: stack("attn_k.weight"), Wv: stack("attn_v.weight"),
		Wo: stack("attn_output.weight"), RmsFfn: stack("ffn_norm.weight"), W1: stack("ffn_gate.weight"),
		W2: stack("ffn_down.weight"), W3: stack("ffn_up.weight"), RmsFinal: byName["output_norm.weight"],
		Wcls: byName["output.weight"]}
	write := llama2c.Write
	if opt.Legacy {
		write = llama2c.WriteLegacy
	}
	if err := atomicfile.Write(path, func(out io.Writer) error { return write(out, hc, w) }); err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	tokPath := llama2cTokenizerCandidates(path, c.Vocab)[0]
	return atomicfile.Write(tokPath, func(out io.Writer) error { return llama2c.WriteTokenizer(out, pieces, scores) })
}

// llama2cPieces turns an spm vocabulary into tokenizer.bin pieces the way
// llama2.c's tokenizer.py exports them ("▁" as a space, BOS and EOS as
// "\n<s>\n" and "\n</s>\n"). VocabFromLlama2C reads them back, so the
// vocabulary must use llama2.c's fixed special ids.
func llama2cPieces(v tokenizer.Vocab) ([]string, []float32, error) {
	if v.Kind != tokenizer.KindSPM {
		return nil, nil, fmt.Errorf("a llama2.c tokenizer holds SentencePiece vocabularies, not %q", v.Kind)
	}
	if v.UNK != 0 || v.BOS != 1 || v.EOS != 2 {
		return nil, nil, fmt.Errorf("a llama2.c tokenizer needs UNK, BOS, EOS = 0, 1, 2; this one has %d, %d, %d", v.UNK, v.BOS, v.EOS)
	}
	pieces := make([]string, len(v.Tokens))
	for i, t := range v.Tokens {
		pieces[i] = strings.ReplaceAll(t, "▁", " ")
	}
	pieces[1], pieces[2] = "\n<s>\n", "\n</s>\n"
	scores := v.Scores
	if scores == nil {
		scores = make([]float32, len(pieces))
	}
	return pieces, scores, nil
}
