package eval

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/lsalign/lsalign/internal/journal"
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
	// Chunks keeps only the first Chunks windows (0: all), as llama.cpp's
	// --chunks.
	Chunks int
	// PerPosition also reports the mean NLL at each scored position of the
	// window (PPLResult.PerPosition).
	PerPosition bool
	// Progress, when set, is called after each forward pass with the
	// windows done, the total and the mean NLL so far.
	Progress func(done, total int, nll float64)
	// Units, when set, records each finished batch of windows and skips
	// those an interrupted run finished (see internal/journal); the result
	// is the same either way.
	Units journal.Units
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
	// PerPosition, with PPLOptions.PerPosition, is the mean NLL of each
	// scored window position over the windows: the curve that shows how
	// much a model gains from more context, and where it stops gaining.
	PerPosition []PositionNLL `json:"-"`
}

// PositionNLL is the NLL at one window position: logit Pos (0-based)
// predicts window token Pos+1 from Pos+1 tokens of context.
type PositionNLL struct {
	Pos    int     `json:"pos"`
	Tokens int     `json:"tokens"` // predictions at this position (one per window)
	NLL    float64 `json:"nll"`    // their mean
	Stderr float64 `json:"stderr"` // its standard error (0 for one window)
}

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
	bos := int32(-1)
	if opt.Convention == Half && opt.ReplaceFirst {
		bos = opt.BOS
	}
	if opt.Chunks < 0 {
		return PPLResult{}, fmt.Errorf("perplexity: chunks %d must not be negative", opt.Chunks)
	}
	plan, err := planWindows(docs, N, first, step, opt.Chunks, bos)
	if err != nil {
		return PPLResult{}, fmt.Errorf("perplexity: %w", err)
	}
	wins, scored, V := plan.wins, plan.scored(), m.Config.Vocab
	maxB := plan.batchSize(opt.MaxBatchTokens, V)
	losses, lse := make([]float32, maxB*scored), make([]float32, maxB*scored)
	var sum, sum2 float64
	var posSum, posSum2 []float64
	if opt.PerPosition {
		posSum, posSum2 = make([]float64, scored), make([]float64, scored)
	}
	err = plan.forEachBatch(docs, maxB, func(wb windowBatch) error {
		b, err := pplBatchSums(m, wb, plan, losses, lse, opt)
		if err != nil {
			return err
		}
		// Batch by batch, in order, whether the batch ran now or in an
		// interrupted run: a resumed run adds the same numbers.
		sum += b.Sum
		sum2 += b.Sum2
		for j := range posSum {
			posSum[j] += b.PosSum[j]
			posSum2[j] += b.PosSum2[j]
		}
		if opt.Progress != nil {
			done := float64((wb.first + wb.B) * scored)
			opt.Progress(wb.first+wb.B, len(wins), sum/done)
		}
		return nil
	})
	if err != nil {
		return PPLResult{}, err
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
	for j := range posSum {
		w := float64(len(wins))
		p := PositionNLL{Pos: first + j, Tokens: len(wins), NLL: posSum[j] / w}
		if v := posSum2[j]/w - p.NLL*p.NLL; v > 0 && w > 1 {
			p.Stderr = math.Sqrt(v / (w - 1))
		}
		res.PerPosition = append(res.PerPosition, p)
	}
	return res, nil
}

// pplBatch is one batch's contribution: the sums of the NLL and of its
// square, overall and, with PerPosition, at each scored position. It is
// the unit a journal records.
type pplBatch struct {
	Sum     float64   `json:"sum"`
	Sum2    float64   `json:"sum2"`
	PosSum  []float64 `json:"pos_sum,omitempty"`
	PosSum2 []float64 `json:"pos_sum2,omitempty"`
}

// pplBatchSums scores one batch, or takes its sums from opt.Units when an
// earlier run finished it (batch i holds windows i*B .. i*B+B-1).
func pplBatchSums(m *model.Model, wb windowBatch, plan windowPlan, losses, lse []float32, opt PPLOptions) (pplBatch, error) {
	unit := wb.index
	var b pplBatch
	if opt.Units != nil {
		if raw, ok := opt.Units.Done(unit); ok {
			err := json.Unmarshal(raw, &b)
			if err == nil && (opt.PerPosition != (b.PosSum != nil) || len(b.PosSum) != len(b.PosSum2) ||
				(b.PosSum != nil && len(b.PosSum) != plan.scored())) {
				err = fmt.Errorf("per-position sums do not match the settings")
			}
			if err != nil {
				return b, fmt.Errorf("perplexity: resuming batch %d: %w", unit, err)
			}
			return b, nil
		}
	}
	if err := wb.forward(m, plan.ctx); err != nil {
		return b, fmt.Errorf("perplexity: %w", err)
	}
	n, V, scored := len(wb.rows), m.Config.Vocab, plan.scored()
	kernels.CrossEntropyForward(losses[:n], lse[:n], m.Logits(), wb.targets, n, V)
	if opt.PerPosition {
		b.PosSum, b.PosSum2 = make([]float64, scored), make([]float64, scored)
	}
	for i, l := range losses[:n] {
		v := float64(l)
		if !isFinite(v) {
			return b, fmt.Errorf("perplexity: window %d, position %d: the loss is %v (the model's logits overflow)",
				wb.first+i/scored, plan.first+i%scored, v)
		}
		b.Sum += v
		b.Sum2 += v * v
		if b.PosSum != nil {
			b.PosSum[i%scored] += v
			b.PosSum2[i%scored] += v * v
		}
	}
	if opt.Units != nil {
		if err := opt.Units.Record(unit, b); err != nil {
			return b, err
		}
	}
	return b, nil
}

// LimitTokens keeps the first maxTokens tokens of the documents, in order
// (the last kept document cut short); 0 keeps everything.
func LimitTokens(docs [][]int32, maxTokens int) [][]int32 {
	if maxTokens <= 0 {
		return docs
	}
	var out [][]int32
	for _, d := range docs {
		if maxTokens <= 0 {
			break
		}
		d = d[:min(len(d), maxTokens)]
		maxTokens -= len(d)
		out = append(out, d)
	}
	return out
}

// AddsBOS reports whether the tokenizer puts BOS first, the condition under
// which llama.cpp's perplexity replaces each window's first token by BOS.
func AddsBOS(tok *tokenizer.Tokenizer) bool { return tok.BOS() >= 0 && tok.Vocab().AddBOS }
