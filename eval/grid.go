package eval

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/lsalign/lsalign/internal/journal"
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
	// Partial, set instead of Score by tasks with several answers, is the
	// fraction of them the generation gets right (1 counts as correct).
	Partial func(output string) float64
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
	// Units, when set, records each finished trial and skips those an
	// interrupted run finished (see internal/journal).
	Units journal.Units
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
	Score        float64 `json:"score"` // 0 or 1, or the fraction right for tasks with several answers
	Correct      bool    `json:"correct"`
}

// Cell is the accuracy at one length and depth: the mean score of its
// trials, and how many were wholly correct. A cell whose prompt cannot fit
// the length is skipped: no trials, accuracy NaN in memory (null in JSON)
// and the reason in Skipped.
type Cell struct {
	Length   int     `json:"length"`
	Depth    float64 `json:"depth"`
	Correct  int     `json:"correct"`
	Trials   int     `json:"trials"`
	Accuracy Float   `json:"accuracy"` // null when skipped
	Skipped  string  `json:"skipped,omitempty"`
}

// GridResult holds every cell (lengths outer, depths inner) and trial.
type GridResult struct {
	Lengths  []int     `json:"lengths"`
	Depths   []float64 `json:"depths"`
	Accuracy Float     `json:"accuracy"` // mean score over the trials run (NaN, null in JSON, if every cell was skipped)
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

// RunGrid builds and greedily decodes every case of the grid. A cell
// whose case does not fit its length (the prompt without filler is longer)
// is skipped with the reason; other errors end the run.
func RunGrid(m *model.Model, tok *tokenizer.Tokenizer, opt GridOptions, build Builder) (GridResult, error) {
	if err := opt.Validate(); err != nil {
		return GridResult{}, err
	}
	res := GridResult{Lengths: opt.Lengths, Depths: opt.Depths}
	dec := &greedyDecoder{m: m}
	total, done, sum := len(opt.Lengths)*len(opt.Depths)*opt.Trials, 0, 0.0
	for _, length := range opt.Lengths {
		for _, depth := range opt.Depths {
			cell, trials, err := runCell(dec, tok, opt, build, len(res.Cells), length, depth, func(n int) {
				done += n
				if opt.Progress != nil {
					opt.Progress(done, total)
				}
			})
			if err != nil {
				return GridResult{}, err
			}
			for _, t := range trials {
				sum += t.Score
			}
			res.Trials = append(res.Trials, trials...)
			res.Cells = append(res.Cells, cell)
		}
	}
	res.Accuracy = Float(math.NaN())
	if len(res.Trials) > 0 {
		res.Accuracy = Float(sum / float64(len(res.Trials)))
	}
	return res, nil
}

// gridUnit is what a journal records for one trial slot: the trial, or
// the reason its cell was skipped.
type gridUnit struct {
	Trial   *Trial `json:"trial,omitempty"`
	Skipped string `json:"skipped,omitempty"`
}

// runCell decodes the trials of one cell (cell number ci of the grid),
// calling tick with the trials finished (or skipped) after each.
func runCell(dec *greedyDecoder, tok *tokenizer.Tokenizer, opt GridOptions, build Builder, ci, length int, depth float64, tick func(int)) (Cell, []Trial, error) {
	cell := Cell{Length: length, Depth: depth}
	var trials []Trial
	var sum float64
	for trial := range opt.Trials {
		slot := ci*opt.Trials + trial
		u, err := gridTrial(dec, tok, opt, build, slot, length, depth, trial)
		if err != nil {
			return Cell{}, nil, fmt.Errorf("length %d, depth %g, trial %d: %w", length, depth, trial, err)
		}
		if u.Skipped != "" {
			// The rest of the cell cannot fit either; the journal holds a
			// marker for each of its slots, so unit numbers stay fixed.
			for rest := trial + 1; rest < opt.Trials && opt.Units != nil; rest++ {
				if _, ok := opt.Units.Done(ci*opt.Trials + rest); !ok {
					if err := opt.Units.Record(ci*opt.Trials+rest, u); err != nil {
						return Cell{}, nil, err
					}
				}
			}
			cell.Skipped, cell.Correct, cell.Accuracy = u.Skipped, 0, Float(math.NaN())
			tick(opt.Trials - trial)
			return cell, nil, nil
		}
		t := *u.Trial
		if t.Correct {
			cell.Correct++
		}
		sum += t.Score
		trials = append(trials, t)
		tick(1)
	}
	cell.Trials = len(trials)
	cell.Accuracy = Float(sum / float64(len(trials)))
	return cell, trials, nil
}

// gridTrial builds and decodes one trial, or takes it from opt.Units when
// an interrupted run finished it.
func gridTrial(dec *greedyDecoder, tok *tokenizer.Tokenizer, opt GridOptions, build Builder, slot, length int, depth float64, trial int) (gridUnit, error) {
	if raw, ok := unitDone(opt.Units, slot); ok {
		var u gridUnit
		if err := json.Unmarshal(raw, &u); err != nil || (u.Trial == nil) == (u.Skipped == "") {
			return u, fmt.Errorf("resuming: journal unit %d is not a trial", slot)
		}
		if u.Trial != nil && (u.Trial.Length != length || u.Trial.Depth != depth || u.Trial.Trial != trial) {
			return u, fmt.Errorf("resuming: journal unit %d holds length %d, depth %g, trial %d", slot, u.Trial.Length, u.Trial.Depth, u.Trial.Trial)
		}
		return u, nil
	}
	u, err := decodeTrial(dec, tok, opt, build, length, depth, trial)
	if err != nil {
		return u, err
	}
	if opt.Units != nil {
		err = opt.Units.Record(slot, u)
	}
	return u, err
}

func decodeTrial(dec *greedyDecoder, tok *tokenizer.Tokenizer, opt GridOptions, build Builder, length int, depth float64, trial int) (gridUnit, error) {
	c, err := build(tok, length, depth, trial, rng.New(trialSeed(opt.Seed, length, depth, trial)))
	var tl *tooLongError
	if errors.As(err, &tl) {
		return gridUnit{Skipped: tl.Error()}, nil
	}
	if err != nil {
		return gridUnit{}, err
	}
	eos := tok.EOS()
	var done func([]int32) bool
	if c.Done != nil {
		done = func(ids []int32) bool { return c.Done(tok.Decode(ids)) }
	}
	out, err := dec.decode(c.Prompt, c.MaxNew, func(id int32) bool { return id == eos }, done)
	if err != nil {
		return gridUnit{}, err
	}
	// Invalid UTF-8 (a token cut inside a character) becomes U+FFFD here, so
	// the trial reads the same from JSON, a journal included.
	text := strings.ToValidUTF8(tok.Decode(out), "\uFFFD")
	score := 0.0
	switch {
	case c.Partial != nil:
		score = c.Partial(text)
	case c.Score(text):
		score = 1
	}
	return gridUnit{Trial: &Trial{Length: length, Depth: depth, Trial: trial, Task: c.Task,
		PromptTokens: len(c.Prompt), Answer: c.Answer, Output: text, Score: score, Correct: score == 1}}, nil
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
