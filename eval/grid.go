package eval

import (
	"fmt"
	"math"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
)

// Case is one retrieval prompt and how to score what the model generates.
type Case struct {
	Task   string
	Prompt []int32 // token ids, BOS first where the tokenizer adds it
	Answer string  // the expected answer, for reports
	MaxNew int     // tokens to generate at most
	// Score reports whether the decoded generation is correct.
	Score func(output string) bool
	// Done, when set, reports that the generation so far already decides
	// the score, so decoding can stop early without changing it.
	Done func(output string) bool
}

// Builder makes the case of one grid cell (prompt length in tokens and
// depth in [0, 1]) and trial, drawing what it needs from r.
type Builder func(tok *tokenizer.Tokenizer, length int, depth float64, trial int, r *rng.RNG) (Case, error)

// GridOptions is a grid of prompt lengths × depths × trials.
type GridOptions struct {
	Lengths []int     // prompt lengths in tokens
	Depths  []float64 // where the needle or facts sit, 0 = start .. 1 = end
	Trials  int       // trials per cell
	Seed    uint64
	// Progress, when set, is called after each trial.
	Progress func(done, total int)
}

// Trial is one decoded case.
type Trial struct {
	Length       int     `json:"length"`
	Depth        float64 `json:"depth"`
	Trial        int     `json:"trial"`
	Task         string  `json:"task,omitempty"`
	PromptTokens int     `json:"prompt_tokens"`
	Answer       string  `json:"answer"`
	Output       string  `json:"output"`
	Correct      bool    `json:"correct"`
}

// Cell is the accuracy at one length and depth.
type Cell struct {
	Length   int     `json:"length"`
	Depth    float64 `json:"depth"`
	Correct  int     `json:"correct"`
	Trials   int     `json:"trials"`
	Accuracy float64 `json:"accuracy"`
}

// GridResult holds every cell (lengths outer, depths inner) and trial.
type GridResult struct {
	Lengths  []int     `json:"lengths"`
	Depths   []float64 `json:"depths"`
	Accuracy float64   `json:"accuracy"` // over all trials
	Cells    []Cell    `json:"cells"`
	Trials   []Trial   `json:"trials"`
}

// Cell returns the cell at length index i and depth index j.
func (g GridResult) Cell(i, j int) Cell { return g.Cells[i*len(g.Depths)+j] }

// Validate checks the grid before any work starts.
func (o GridOptions) Validate() error {
	if len(o.Lengths) == 0 || len(o.Depths) == 0 || o.Trials < 1 {
		return fmt.Errorf("grid needs at least one length, one depth and one trial (got %d, %d, %d)", len(o.Lengths), len(o.Depths), o.Trials)
	}
	for _, l := range o.Lengths {
		if l < 1 {
			return fmt.Errorf("grid length %d must be positive", l)
		}
	}
	for _, d := range o.Depths {
		if !(d >= 0 && d <= 1) {
			return fmt.Errorf("grid depth %v must be in [0, 1]", d)
		}
	}
	return nil
}

// trialSeed gives each (length, depth, trial) its own generator, so a
// case does not depend on which other cells the grid holds.
func trialSeed(seed uint64, length int, depth float64, trial int) uint64 {
	h := seed
	for _, v := range []uint64{uint64(length), math.Float64bits(depth), uint64(trial)} {
		h = rng.New(h ^ v).Uint64()
	}
	return h
}

// RunGrid builds and greedily decodes every case of the grid.
func RunGrid(m *model.Model, tok *tokenizer.Tokenizer, opt GridOptions, build Builder) (GridResult, error) {
	if err := opt.Validate(); err != nil {
		return GridResult{}, err
	}
	res := GridResult{Lengths: opt.Lengths, Depths: opt.Depths}
	dec := &greedyDecoder{m: m}
	eos := tok.EOS()
	stop := func(id int32) bool { return id == eos }
	total, correct := len(opt.Lengths)*len(opt.Depths)*opt.Trials, 0
	for _, length := range opt.Lengths {
		for _, depth := range opt.Depths {
			cell := Cell{Length: length, Depth: depth, Trials: opt.Trials}
			for trial := range opt.Trials {
				c, err := build(tok, length, depth, trial, rng.New(trialSeed(opt.Seed, length, depth, trial)))
				if err != nil {
					return GridResult{}, fmt.Errorf("length %d, depth %g, trial %d: %w", length, depth, trial, err)
				}
				var done func([]int32) bool
				if c.Done != nil {
					done = func(ids []int32) bool { return c.Done(tok.Decode(ids)) }
				}
				out, err := dec.decode(c.Prompt, c.MaxNew, stop, done)
				if err != nil {
					return GridResult{}, fmt.Errorf("length %d, depth %g, trial %d: %w", length, depth, trial, err)
				}
				text := tok.Decode(out)
				ok := c.Score(text)
				if ok {
					cell.Correct++
					correct++
				}
				res.Trials = append(res.Trials, Trial{Length: length, Depth: depth, Trial: trial, Task: c.Task,
					PromptTokens: len(c.Prompt), Answer: c.Answer, Output: text, Correct: ok})
				if opt.Progress != nil {
					opt.Progress(len(res.Trials), total)
				}
			}
			cell.Accuracy = float64(cell.Correct) / float64(cell.Trials)
			res.Cells = append(res.Cells, cell)
		}
	}
	res.Accuracy = float64(correct) / float64(total)
	return res, nil
}

// fitUnits finds the largest n for which text(n) encodes (with BOS where
// the tokenizer adds it) to at most maxTokens tokens, assuming the count
// grows with n, and returns n with its tokens. It fails when even n = 0
// does not fit.
func fitUnits(tok *tokenizer.Tokenizer, maxTokens int, text func(n int) string) (int, []int32, error) {
	enc := func(n int) ([]int32, error) { return tok.Encode(text(n), true) }
	ids, err := enc(0)
	if err != nil {
		return 0, nil, err
	}
	if len(ids) > maxTokens {
		return 0, nil, &tooLongError{len(ids), maxTokens}
	}
	// Grow hi until it no longer fits, then bisect: lo always fits.
	lo, loIDs, hi := 0, ids, 1
	for {
		ids, err := enc(hi)
		if err != nil {
			return 0, nil, err
		}
		if len(ids) > maxTokens {
			break
		}
		lo, loIDs = hi, ids
		if hi > maxTokens { // every unit adds at least one token, so this cannot grow further
			return lo, loIDs, nil
		}
		hi *= 2
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		ids, err := enc(mid)
		if err != nil {
			return 0, nil, err
		}
		if len(ids) <= maxTokens {
			lo, loIDs = mid, ids
		} else {
			hi = mid
		}
	}
	return lo, loIDs, nil
}

// tooLongError reports a prompt that does not fit even without filler.
type tooLongError struct{ tokens, length int }

func (e *tooLongError) Error() string {
	return fmt.Sprintf("the prompt without filler already has %d tokens, more than the length %d", e.tokens, e.length)
}
