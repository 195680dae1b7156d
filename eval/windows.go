package eval

import (
	"fmt"

	"github.com/lsalign/lsalign/model"
)

// maxLogitFloats bounds the logits one forward pass may produce (256 MiB),
// so that a large vocabulary lowers the batch instead of the memory limit.
const maxLogitFloats = 64 << 20

// window is one scored window: doc[start:start+Ctx].
type window struct{ doc, start int }

// windowPlan is a set of equal-length windows over tokenized documents and
// the logits of each that are scored: logits first .. ctx-2, logit j
// predicting window token j+1.
type windowPlan struct {
	ctx, first int
	wins       []window
	// bos, when >= 0, replaces each window's first token (llama.cpp's
	// perplexity and KL-divergence convention).
	bos int32
}

// planWindows cuts every document into windows of ctx tokens starting
// every step tokens (incomplete tails dropped; windows never cross
// documents), keeping at most maxWindows of them (0: all).
func planWindows(docs [][]int32, ctx, first, step, maxWindows int, bos int32) (windowPlan, error) {
	p := windowPlan{ctx: ctx, first: first, bos: bos}
	longest := 0
	for d, doc := range docs {
		for s := 0; s+ctx <= len(doc); s += step {
			if maxWindows > 0 && len(p.wins) == maxWindows {
				return p, nil
			}
			p.wins = append(p.wins, window{d, s})
		}
		longest = max(longest, len(doc))
	}
	if len(p.wins) == 0 {
		return p, fmt.Errorf("text too short: the longest document has %d tokens, context %d needs at least %d", longest, ctx, ctx)
	}
	return p, nil
}

// scored is the number of scored predictions per window.
func (p windowPlan) scored() int { return p.ctx - 1 - p.first }

// batchSize is how many windows one forward pass takes: B×ctx at most
// maxBatchTokens (0: 8192, at least one window) and at most maxLogitFloats
// scored logits, so that a large vocabulary lowers the batch instead of
// raising the memory.
func (p windowPlan) batchSize(maxBatchTokens, vocab int) int {
	if maxBatchTokens <= 0 {
		maxBatchTokens = 8192
	}
	return max(1, min(maxBatchTokens/p.ctx, maxLogitFloats/(p.scored()*vocab)))
}

// windowBatch is one forward pass's input: B windows of ctx tokens, the
// rows (b*ctx + j) whose logits are scored, and the token each predicts.
type windowBatch struct {
	index   int // the batch's number: 0, 1, 2, ...
	first   int // index of the batch's first window in the plan
	B       int
	tokens  []int32
	rows    []int
	targets []int32
}

// forEachBatch builds the batches of at most maxB windows in order and
// calls fn with each; fn runs the model(s) on it. The batch's slices are
// reused by the next call.
func (p windowPlan) forEachBatch(docs [][]int32, maxB int, fn func(windowBatch) error) error {
	var wb windowBatch
	for w0 := 0; w0 < len(p.wins); w0 += maxB {
		batch := p.wins[w0:min(w0+maxB, len(p.wins))]
		wb = windowBatch{index: w0 / maxB, first: w0, B: len(batch), tokens: wb.tokens[:0], rows: wb.rows[:0], targets: wb.targets[:0]}
		for b, w := range batch {
			win := docs[w.doc][w.start : w.start+p.ctx]
			wb.tokens = append(wb.tokens, win...)
			if p.bos >= 0 {
				wb.tokens[b*p.ctx] = p.bos
			}
			for j := p.first; j <= p.ctx-2; j++ {
				wb.rows = append(wb.rows, b*p.ctx+j)
				wb.targets = append(wb.targets, win[j+1])
			}
		}
		if err := fn(wb); err != nil {
			return err
		}
	}
	return nil
}

// forward runs m on the batch's scored rows.
func (wb windowBatch) forward(m *model.Model, ctx int) error {
	return m.Forward(wb.tokens, wb.B, ctx, model.ForwardOptions{Rows: wb.rows})
}
