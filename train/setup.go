package train

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/lsalign/lsalign/data"
	"github.com/lsalign/lsalign/internal/memlimit"
	"github.com/lsalign/lsalign/load"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/optim"
	"github.com/lsalign/lsalign/tokenizer"
)

// Held-out text for evaluation: the builtin corpus gives heldOutDocs
// documents of heldOutWindows × 4 × ctx tokens, so that perplexity at 1×,
// 2× and 4× the training length scores the same tokens.
const (
	heldOutDocs    = 16
	heldOutWindows = 2
)

// BuiltinCorpusSeed fixes the builtin corpus: runs with different seeds
// draw different documents of one corpus and share its held-out set.
const BuiltinCorpusSeed = 0

// ByteVocabSize is the byte tokenizer's vocabulary: 256 bytes, BOS, EOS.
const ByteVocabSize = 258

// selfGenDir holds the documents a selfgen run sampled, so a resumed run
// trains on the same text.
const selfGenDir = "selfgen"

// ByteTokenizer is the tokenizer of from-scratch models.
func ByteTokenizer() *tokenizer.Tokenizer {
	tok, err := tokenizer.New(tokenizer.ByteVocab())
	if err != nil {
		panic("train: the byte vocabulary is invalid: " + err.Error())
	}
	return tok
}

// newModel builds the model to train (from scratch or loaded from
// cfg.Init) and its tokenizer, and resolves the settings that depend on
// the model: ctx, the l_extra range and the RoPE scaling's original
// context. Training at ctx beyond the model's context raises its MaxSeq to
// ctx (not possible for learned positions).
func newModel(cfg Config) (*model.Model, *tokenizer.Tokenizer, Config, error) {
	cfg = cfg.withDefaults() // from scratch this settles ctx; with init, ctx waits for the model
	var m *model.Model
	var tok *tokenizer.Tokenizer
	if cfg.Init == "" {
		mc := cfg.Model
		mc.MaxSeq = cfg.Ctx
		if err := mc.Defaults().Validate(); err != nil {
			return nil, nil, cfg, configErrorf("train config: model: %w", err)
		}
		if err := checkMemory(mc, cfg); err != nil {
			return nil, nil, cfg, err
		}
		var err error
		if m, err = model.NewInit(mc, cfg.Seed); err != nil {
			return nil, nil, cfg, configErrorf("train config: model: %w", err)
		}
		tok = ByteTokenizer()
		if tok.Size() != m.Config.Vocab {
			return nil, nil, cfg, configErrorf("train config: model.vocab_size %d: from-scratch models use the byte tokenizer's %d tokens",
				m.Config.Vocab, tok.Size())
		}
	} else {
		l, err := load.Load(cfg.Init, load.Options{Tokenizer: cfg.Tokenizer})
		if err != nil {
			return nil, nil, cfg, err
		}
		if l.Tokenizer == nil {
			return nil, nil, cfg, fmt.Errorf("%s: no tokenizer found beside the model; give one with --tokenizer", cfg.Init)
		}
		m, tok = l.Model, l.Tokenizer
		if m.Config.Head != model.HeadLM {
			return nil, nil, cfg, fmt.Errorf("%s: a %q head cannot be trained on text", cfg.Init, m.Config.Head)
		}
	}
	if cfg.Ctx == 0 {
		cfg.Ctx = m.Config.MaxSeq
		cfg = cfg.withDefaults() // the l_extra range follows ctx
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, cfg, err
	}
	c := m.Config
	if cfg.Ctx > c.MaxSeq && c.Pos == model.PosLearned {
		return nil, nil, cfg, configErrorf("train config: ctx %d exceeds the %d learned positions of %s", cfg.Ctx, c.MaxSeq, cfg.Init)
	}
	if s := cfg.RopeScaling; s.Type != "" && s.Type != "none" {
		if c.Pos != model.PosRoPE {
			return nil, nil, cfg, configErrorf("train config: rope_scaling needs a RoPE model; this one uses %q positions", c.Pos)
		}
		if s.OrigCtx == 0 && (s.Type == "yarn" || s.Type == "dynamic-ntk" || s.Type == "linear" || s.Type == "ntk") {
			s.OrigCtx = c.MaxSeq
			cfg.RopeScaling = s
		}
		if err := m.SetRopeScaling(s); err != nil {
			return nil, nil, cfg, configErrorf("train config: rope_scaling: %w", err)
		}
	}
	m.Config.MaxSeq = max(c.MaxSeq, cfg.Ctx)
	if err := checkMemory(m.Config, cfg); err != nil {
		return nil, nil, cfg, err
	}
	return m, tok, cfg, nil
}

// checkMemory refuses a run whose weights, optimizer state and activations
// would not fit the machine, before they are allocated.
func checkMemory(mc model.Config, cfg Config) error {
	B := cfg.Batch
	if cfg.paired() {
		B *= 2 // both windows of every sequence run in one batch
	}
	return memlimit.Check(model.TrainingBytes(mc, B, cfg.Ctx),
		fmt.Sprintf("training at batch %d, context %d", cfg.Batch, cfg.Ctx))
}

// newOptimizer is AdamW with weight decay on the 2-D weights only.
func newOptimizer(m *model.Model, weightDecay float64) *optim.AdamW {
	opt := optim.NewAdamW(m.NumParams(), weightDecay)
	opt.Decay = DecayRanges(m.Params.Layout)
	return opt
}

// DecayRanges lists the 2-D weights, the spans that get weight decay. The
// result is never nil: AdamW reads a nil Decay as "every parameter".
func DecayRanges(l *model.Layout) []optim.Range {
	rs := []optim.Range{}
	for _, t := range l.Tensors {
		if t.IsMatrix() {
			rs = append(rs, optim.Range{Off: t.Off, Len: t.Size})
		}
	}
	return rs
}

// loadTokenizer finds the tokenizer of a resumed run, which the
// checkpoint does not hold.
func loadTokenizer(cfg Config) (*tokenizer.Tokenizer, error) {
	if cfg.Init == "" {
		return ByteTokenizer(), nil
	}
	l, err := load.Load(cfg.Init, load.Options{Tokenizer: cfg.Tokenizer})
	if err != nil {
		return nil, fmt.Errorf("resume: reloading the tokenizer: %w", err)
	}
	if l.Tokenizer == nil {
		return nil, fmt.Errorf("%s: no tokenizer found beside the model; give one with --tokenizer", cfg.Init)
	}
	return l.Tokenizer, nil
}

// buildData returns the training source and the held-out documents.
func buildData(cfg Config, m *model.Model, tok *tokenizer.Tokenizer, hooks Hooks, out string) (data.Source, [][]int32, error) {
	evalLen := heldOutWindows * 4 * cfg.Ctx
	switch cfg.Data {
	case DataBuiltin:
		f, err := data.NewFacts(BuiltinCorpusSeed, cfg.Facts)
		if err != nil {
			return nil, nil, err
		}
		held, err := f.HeldOut(tok, heldOutDocs, evalLen)
		if err != nil {
			return nil, nil, err
		}
		for i, d := range held {
			held[i] = d[:evalLen]
		}
		return f.Source(tok), held, nil
	case DataSelfGen:
		docs, err := selfGenDocs(cfg, m, tok, hooks, out)
		if err != nil {
			return nil, nil, err
		}
		return splitText(cfg, docs, tok)
	}
	docs, err := data.ReadText(cfg.Data)
	if err != nil {
		return nil, nil, err
	}
	return splitText(cfg, docs, tok)
}

// splitText tokenizes documents and holds out the end of each for
// evaluation: 4×ctx tokens where documents are long enough, else ctx.
func splitText(cfg Config, docs []data.TextDoc, tok *tokenizer.Tokenizer) (data.Source, [][]int32, error) {
	ids, err := data.TokenizeDocs(docs, tok)
	if err != nil {
		return nil, nil, err
	}
	stream, held, err := data.SplitHeldOut(ids, cfg.HeldOut, 4*cfg.Ctx)
	if err != nil {
		stream, held, err = data.SplitHeldOut(ids, cfg.HeldOut, cfg.Ctx+1)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cfg.Data, err)
	}
	need := cfg.Ctx + 1
	if cfg.paired() {
		need += cfg.ExtraMax
	}
	if len(stream) < need {
		return nil, nil, fmt.Errorf("%s: %d training tokens, a sequence needs %d", cfg.Data, len(stream), need)
	}
	return stream, held, nil
}

// selfGenDocs samples cfg.SelfDocs documents from the model through
// hooks.SelfGen, or rereads the ones a previous run of this output
// directory saved.
func selfGenDocs(cfg Config, m *model.Model, tok *tokenizer.Tokenizer, hooks Hooks, out string) ([]data.TextDoc, error) {
	dir := filepath.Join(out, selfGenDir)
	if out != "" {
		if _, err := os.Stat(dir); err == nil {
			return readSelfGenDocs(dir)
		}
	}
	if hooks.SelfGen == nil {
		return nil, errors.New("train: data selfgen needs a sampler (Hooks.SelfGen)")
	}
	texts, err := hooks.SelfGen(m, tok, cfg.SelfDocs, heldOutWindows*4*cfg.Ctx, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("selfgen: %w", err)
	}
	docs := make([]data.TextDoc, len(texts))
	for i, t := range texts {
		docs[i] = data.TextDoc{Path: fmt.Sprintf("selfgen document %d", i), Text: t}
	}
	if out == "" {
		return docs, nil
	}
	// Written whole into a temporary directory and renamed, so a resumed
	// run never reads half the documents.
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	for i, t := range texts {
		if err := os.WriteFile(filepath.Join(tmp, selfGenName(i)), []byte(t), 0o644); err != nil {
			return nil, err
		}
	}
	return docs, os.Rename(tmp, dir)
}

// selfGenName is the file of the i-th sampled document.
func selfGenName(i int) string { return fmt.Sprintf("doc-%04d.txt", i) }

// readSelfGenDocs rereads the documents a selfgen run saved in dir, in the
// order they were sampled: by the number in doc-N.txt, since past 10,000
// documents the names grow a digit and their lexical order (doc-10000
// before doc-1001) is not the sampling order.
func readSelfGenDocs(dir string) ([]data.TextDoc, error) {
	docs, err := data.ReadText(dir)
	if err != nil {
		return nil, fmt.Errorf("selfgen: %w", err)
	}
	num := make(map[string]int, len(docs)) // path -> N
	seen := make(map[int]bool, len(docs))
	for _, d := range docs {
		digits, ok := strings.CutPrefix(filepath.Base(d.Path), "doc-")
		digits, ok2 := strings.CutSuffix(digits, ".txt")
		n, err := strconv.Atoi(digits)
		if !ok || !ok2 || err != nil || n < 0 || seen[n] {
			return nil, fmt.Errorf("selfgen: %s is not one of the sampled documents (doc-N.txt, each N once); move it out of %s", d.Path, dir)
		}
		num[d.Path], seen[n] = n, true
	}
	slices.SortFunc(docs, func(a, b data.TextDoc) int { return cmp.Compare(num[a.Path], num[b.Path]) })
	return docs, nil
}
