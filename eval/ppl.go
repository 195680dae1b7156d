package eval

import (
	"fmt"
	"math"

	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
)

// Perplexity conventions. In each, a window of Ctx tokens is a fresh
// sequence at positions 0..Ctx-1, and logit j predicts window token j+1.
const (
	// Full: non-overlapping windows, all Ctx-1 predictions scored.
	Full = "full"
	// Half: llama.cpp's perplexity: non-overlapping windows whose first
	// token is replaced by BOS; logits Ctx/2 .. Ctx-2 are scored, so every
	// scored token has at least Ctx/2 tokens of context.
	Half = "half"
	// Stride: llama.cpp's --ppl-stride: windows start every Stride tokens
	// and their last Stride predictions (logits Ctx-1-Stride .. Ctx-2) are
	// scored, so every scored token but those of the first window has at
	// least Ctx-1-Stride tokens of context. Unlike llama.cpp, every complete
	// window is used (it drops the last one when the text length minus Ctx
	// is a multiple of Stride) and the first token is not replaced by BOS.
	Stride = "stride"
)

// PPLOptions configures Perplexity.
type PPLOptions struct {
	Ctx        int    // window length N
	Convention string // Full (default), Half or Stride
	Stride     int    // Stride convention: S in [1, Ctx-1]; 0 means Ctx/2
	// ReplaceFirst (Half convention) puts BOS first in each window, as
	// llama.cpp does when its vocabulary adds BOS (see AddsBOS); without it
	// the text's own first token stays.
	ReplaceFirst bool
	BOS          int32
	// MaxBatchTokens caps B×Ctx of one forward pass; 0 means 8192 (or one
	// window when that is longer). Results do not depend on it.
	MaxBatchTokens int
	// Progress, when set, is called after each forward pass with the
	// windows done and the total.
	Progress func(done, total int)
}

// PPLResult is the perplexity at one context length. Stderr is the
// standard error of the mean NLL as llama.cpp computes it,
// sqrt((mean(nll²) - mean(nll)²)/(tokens-1)); PPLStderr = PPL × Stderr is
// the "±" llama.cpp prints after its PPL.
type PPLResult struct {
	Ctx        int     `json:"ctx"`
	Convention string  `json:"convention"`
	Stride     int     `json:"stride,omitempty"`
	NLL        float64 `json:"nll"`
	PPL        float64 `json:"ppl"`
	Tokens     int     `json:"tokens"` // predictions scored
	Stderr     float64 `json:"stderr"`
	PPLStderr  float64 `json:"ppl_stderr"`
	Windows    int     `json:"windows"`
}

// maxLogitFloats bounds the logits one forward pass may produce (256 MiB),
// so that a large vocabulary lowers the batch instead of the memory limit.
const maxLogitFloats = 64 << 20

// window is one scored window: doc[start:start+Ctx].
type window struct{ doc, start int }

// Perplexity scores the documents (each tokenized once with BOS where the
// tokenizer adds it; windows never cross documents) at one context length.
func Perplexity(m *model.Model, docs [][]int32, opt PPLOptions) (PPLResult, error) {
	N := opt.Ctx
	if opt.Convention == "" {
		opt.Convention = Full
	}
	if m.Config.Head != model.HeadLM {
		return PPLResult{}, fmt.Errorf("perplexity: the model has a %q head; it needs next-token logits", m.Config.Head)
	}
	if N < 2 {
		return PPLResult{}, fmt.Errorf("perplexity: context %d must be at least 2", N)
	}
	if opt.ReplaceFirst && (opt.BOS < 0 || int(opt.BOS) >= m.Config.Vocab) {
		return PPLResult{}, fmt.Errorf("perplexity: BOS %d is outside the vocabulary [0, %d)", opt.BOS, m.Config.Vocab)
	}
	first, step := 0, N // scored logits [first, N-2], window starts every step
	switch opt.Convention {
	case Full:
	case Half:
		first = N / 2
	case Stride:
		if opt.Stride == 0 {
			opt.Stride = N / 2
		}
		if opt.Stride < 1 || opt.Stride > N-1 {
			return PPLResult{}, fmt.Errorf("perplexity: stride %d must be in [1, %d] for context %d", opt.Stride, N-1, N)
		}
		first, step = N-1-opt.Stride, opt.Stride
	default:
		return PPLResult{}, fmt.Errorf("perplexity: unknown convention %q (want full, half or stride)", opt.Convention)
	}
	if first > N-2 {
		return PPLResult{}, fmt.Errorf("perplexity: context %d leaves nothing to score in the %s convention", N, opt.Convention)
	}
	var wins []window
	longest := 0
	for d, doc := range docs {
		for s := 0; s+N <= len(doc); s += step {
			wins = append(wins, window{d, s})
		}
		longest = max(longest, len(doc))
	}
	if len(wins) == 0 {
		return PPLResult{}, fmt.Errorf("perplexity: text too short: the longest document has %d tokens, context %d needs at least %d", longest, N, N)
	}
	scored := N - 1 - first
	V := m.Config.Vocab
	budget := opt.MaxBatchTokens
	if budget <= 0 {
		budget = 8192
	}
	maxB := max(1, min(budget/N, maxLogitFloats/(scored*V)))

	var tokens, targets []int32
	var rows []int
	losses, lse := make([]float32, maxB*scored), make([]float32, maxB*scored)
	var sum, sum2 float64
	for w0 := 0; w0 < len(wins); w0 += maxB {
		batch := wins[w0:min(w0+maxB, len(wins))]
		B := len(batch)
		tokens, targets, rows = tokens[:0], targets[:0], rows[:0]
		for b, w := range batch {
			win := docs[w.doc][w.start : w.start+N]
			tokens = append(tokens, win...)
			if opt.Convention == Half && opt.ReplaceFirst {
				tokens[b*N] = opt.BOS
			}
			for j := first; j <= N-2; j++ {
				rows = append(rows, b*N+j)
				targets = append(targets, win[j+1])
			}
		}
		if err := m.Forward(tokens, B, N, model.ForwardOptions{Rows: rows}); err != nil {
			return PPLResult{}, fmt.Errorf("perplexity: %w", err)
		}
		n := len(rows)
		kernels.CrossEntropyForward(losses[:n], lse[:n], m.Logits(), targets, n, V)
		for _, l := range losses[:n] {
			v := float64(l)
			sum += v
			sum2 += v * v
		}
		if opt.Progress != nil {
			opt.Progress(w0+B, len(wins))
		}
	}
	count := float64(len(wins) * scored)
	res := PPLResult{Ctx: N, Convention: opt.Convention, Tokens: len(wins) * scored, Windows: len(wins)}
	if opt.Convention == Stride {
		res.Stride = opt.Stride
	}
	res.NLL = sum / count
	res.PPL = math.Exp(res.NLL)
	if v := sum2/count - res.NLL*res.NLL; v > 0 && count > 1 {
		res.Stderr = math.Sqrt(v / (count - 1))
	}
	res.PPLStderr = res.PPL * res.Stderr
	return res, nil
}

// AddsBOS reports whether the tokenizer puts BOS first, the condition under
// which llama.cpp's perplexity replaces each window's first token by BOS.
func AddsBOS(tok *tokenizer.Tokenizer) bool { return tok.BOS() >= 0 && tok.Vocab().AddBOS }
