package experiment

import (
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/lsalign/lsalign/align"
	"github.com/lsalign/lsalign/data"
	"github.com/lsalign/lsalign/eval"
	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
	"github.com/lsalign/lsalign/train"
)

// LengthEvalOptions configures LengthEvaluator.
type LengthEvalOptions struct {
	Multiples       []int  // perplexity at these multiples of the training length; nil means 1, 2, 4
	MisalignSamples int    // samples of the misalignment metric; 0 means 256, -1 skips it
	Seed            uint64 // seeds the metric's sampling
}

// Default of LengthEvalOptions.MisalignSamples.
const defaultEvalMisalignSamples = 256

// LengthEvaluator is the evaluation `lsalign train` runs every
// --eval-every steps on held-out text, with l the training length:
//
//   - val_loss: mean next-token loss at l (eval.Full convention:
//     non-overlapping windows, every prediction scored);
//   - ppl_Kx: perplexity at K×l for each multiple K, same convention (a
//     length the held-out documents cannot fill is left out, and so is one
//     beyond a hard context limit, such as learned positions, which it
//     says once in the run's log);
//   - val_misalign, val_misalign_stderr: Long-Short Misalignment (SCE) with
//     l_train = l, suffixes in [l/2, l].
func LengthEvaluator(o LengthEvalOptions) train.Evaluator {
	mult := o.Multiples
	if mult == nil {
		mult = []int{1, 2, 4}
	}
	samples := o.MisalignSamples
	if samples == 0 {
		samples = defaultEvalMisalignSamples
	}
	var toldSkipped sync.Once
	return func(in train.EvalInput) (map[string]float64, error) {
		out := map[string]float64{}
		limit, hard := align.ContextLimit(in.Model.Config)
		var skipped []string
		for _, k := range mult {
			if hard && k*in.Ctx > limit {
				skipped = append(skipped, fmt.Sprintf("ppl_%dx (%d tokens)", k, k*in.Ctx))
				continue
			}
			res, ok, err := perplexityAt(in.Model, in.HeldOut, k*in.Ctx)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			if k == 1 {
				out["val_loss"] = res.NLL
			}
			out[fmt.Sprintf("ppl_%dx", k)] = res.PPL
		}
		if len(skipped) > 0 && in.Log != nil {
			toldSkipped.Do(func() {
				in.Log(fmt.Sprintf("evaluation leaves out %s: beyond the model's %d learned positions",
					strings.Join(skipped, ", "), limit))
			})
		}
		if samples > 0 {
			mis, err := misalignmentAt(in.Model, in.HeldOut, in.Ctx, samples, o.Seed)
			if err != nil {
				return nil, err
			}
			out["val_misalign"], out["val_misalign_stderr"] = mis.Mean, mis.Stderr
		}
		return out, nil
	}
}

// perplexityAt scores the documents at one window length (eval.Full); ok
// is false when no document holds a window of that length.
func perplexityAt(m *model.Model, docs [][]int32, n int) (eval.PPLResult, bool, error) {
	longest := 0
	for _, d := range docs {
		longest = max(longest, len(d))
	}
	if longest < n {
		return eval.PPLResult{}, false, nil
	}
	res, err := eval.Perplexity(m, docs, eval.PPLOptions{Ctx: n, Convention: eval.Full})
	if err != nil {
		return res, false, err
	}
	if math.IsNaN(res.NLL) || math.IsInf(res.NLL, 0) {
		return res, false, fmt.Errorf("perplexity at %d tokens is %v", n, res.PPL)
	}
	return res, true, nil
}

// misalignmentAt is the metric at l_train = l (SCE, suffixes in [l/2, l]).
func misalignmentAt(m *model.Model, docs [][]int32, l, samples int, seed uint64) (align.MetricResult, error) {
	res, _, err := align.Misalignment(m, docs, align.MetricOptions{LTrain: l, Samples: samples, Seed: seed, Extrapolate: true})
	return res, err
}

// reproEval evaluates the study's models on one fixed held-out set.
type reproEval struct {
	o    ReproOptions
	docs [][]int32
	tok  *tokenizer.Tokenizer
}

func newReproEval(o ReproOptions) (*reproEval, error) {
	tok := train.ByteTokenizer()
	docs, err := heldOutDocs(o, tok)
	if err != nil {
		return nil, err
	}
	return &reproEval{o: o, docs: docs, tok: tok}, nil
}

// lengths are the evaluation lengths L, 2L and 4L.
func (e *reproEval) lengths() []int { return []int{e.o.L, 2 * e.o.L, 4 * e.o.L} }

// measure fills r's held-out numbers for model m: perplexity and passkey
// accuracy at L, 2L and 4L, and misalignment at l_train = 2L.
func (e *reproEval) measure(r *ReproRun, m *model.Model, tok *tokenizer.Tokenizer, seed int) error {
	for i, n := range e.lengths() {
		res, ok, err := perplexityAt(m, e.docs, n)
		if err != nil {
			return fmt.Errorf("%s: %w", r.ID, err)
		}
		if !ok {
			return fmt.Errorf("%s: held-out documents shorter than %d tokens", r.ID, n)
		}
		r.NLL[i], r.PPL[i] = res.NLL, res.PPL
	}
	mis, err := misalignmentAt(m, e.docs, 2*e.o.L, e.o.MisalignSamples, uint64(seed))
	if err != nil {
		return fmt.Errorf("%s: %w", r.ID, err)
	}
	r.Misalign, r.MisalignStderr, r.MisalignCI95 = mis.Mean, mis.Stderr, mis.CI95
	acc, err := passkeyAccuracy(m, tok, e.lengths(), e.o.PasskeyDepths, e.o.PasskeyTrials, uint64(seed))
	if err != nil {
		return fmt.Errorf("%s: passkey: %w", r.ID, err)
	}
	copy(r.Passkey[:], acc)
	return nil
}

// baseRuns evaluates a pretrained model as it is (scaling "none") and with
// each of the study's RoPE scalings applied (factor 2), without
// fine-tuning: the references the fine-tunes start from.
func (e *reproEval) baseRuns(b baseModel, seed int) ([]ReproRun, error) {
	var out []ReproRun
	for _, s := range append([]string{"none"}, e.o.Scalings...) {
		m, err := model.New(b.model.Config)
		if err != nil {
			return nil, err
		}
		copy(m.Params.Data, b.model.Params.Data)
		if s != "none" {
			if err := m.SetRopeScaling(kernels.RopeScaling{Type: s, Factor: 2, OrigCtx: e.o.L}); err != nil {
				return nil, err
			}
		}
		r := ReproRun{ID: fmt.Sprintf("base-%s-seed%d", s, seed), ReproVariant: ReproVariant{Scaling: s}, Seed: seed}
		if err := e.measure(&r, m, b.tok, seed); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// passkeyAccuracy decodes the builtin corpus's passkey probes greedily and
// returns the accuracy at each length (over depths and trials).
func passkeyAccuracy(m *model.Model, tok *tokenizer.Tokenizer, lengths []int, depths []float64, trials int, seed uint64) ([]float64, error) {
	g, err := eval.RunGrid(m, tok, eval.GridOptions{Lengths: lengths, Depths: depths, Trials: trials, Seed: seed}, builtinPasskey)
	if err != nil {
		return nil, err
	}
	acc := make([]float64, len(lengths))
	for i := range lengths {
		for j := range depths {
			acc[i] += float64(g.Cell(i, j).Accuracy) / float64(len(depths))
		}
	}
	return acc, nil
}

// builtinPasskey builds a probe in the builtin corpus's own format
// (data.NewPasskey) whose prompt has at most length tokens.
func builtinPasskey(tok *tokenizer.Tokenizer, length int, depth float64, trial int, r *rng.RNG) (eval.Case, error) {
	seed := r.Uint64()
	for n := length + 4; n > 0; {
		p, err := data.NewPasskey(rng.New(seed), n, depth)
		if err != nil {
			return eval.Case{}, err
		}
		ids, err := tok.Encode(p.Prompt, true)
		if err != nil {
			return eval.Case{}, err
		}
		if len(ids) > length {
			n -= len(ids) - length
			continue
		}
		ans, err := tok.Encode(p.Answer, false)
		if err != nil {
			return eval.Case{}, err
		}
		return eval.Case{Task: "passkey", Prompt: ids, Answer: p.Answer, MaxNew: len(ans) + 1,
			Score: func(out string) bool { return eval.ScorePasskey(out, p.Answer) }}, nil
	}
	return eval.Case{}, fmt.Errorf("no passkey probe fits %d tokens", length)
}
