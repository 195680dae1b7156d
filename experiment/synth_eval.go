package experiment

import (
	"fmt"
	"math"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/synth"
)

// SynthRow is the error of one trained combination at one test length.
//
// Both errors are means over the held-out samples of that length. With
// target x, the model's output y and the reparameterization f:
//
//	MSE       = mean (f^-1(y) - x)^2   error in the task's own units ("length space")
//	MSEFSpace = mean (y - f(x))^2      error in the space the model was trained in
//
// For the identity (and every task without a reparameterization) they are
// the same number.
type SynthRow struct {
	SynthCombo
	Length    int     `json:"length"`
	MSE       float64 `json:"mse"`
	MSEFSpace float64 `json:"mse_fspace"`
}

// evalBatch is how many held-out sequences one inference pass takes.
const evalBatch = 100

// evalSynth measures a trained model at every test length. It also
// counts the predictions whose f^-1 reached synth.InvCap.
//
// It draws EvalSamples held-out sequences of the longest test length and
// scores every prefix: because attention is causal and positions restart at
// 0 for every sequence, the model's output at position l-1 of a sequence is
// exactly its output on that sequence's first l tokens fed alone, and the
// first l tokens of a uniform random sequence are a uniform random sequence
// of length l. So each test length gets EvalSamples independent samples
// from one pass over EvalSamples × maxLen tokens, instead of a pass per
// length (TestSynthPrefixEvalMatchesPerLength checks the equivalence).
func evalSynth(o SynthOptions, c SynthCombo, m *model.Model) (rows []SynthRow, capped int, err error) {
	task, err := synth.TaskByName(c.Task)
	if err != nil {
		return nil, 0, err
	}
	rp, err := synth.ReparamByName(c.Reparam)
	if err != nil {
		return nil, 0, err
	}
	twin, bias, err := prefixTwin(m)
	if err != nil {
		return nil, 0, fmt.Errorf("%v: %w", c, err)
	}
	T, lo := o.TestLengths.Max, o.TestLengths.Min
	sq, sqF := make([]float64, T+1), make([]float64, T+1) // summed squared errors by length
	r := rng.New(c.evalSeed())
	tokens := make([]int32, evalBatch*T)
	targets := make([]float64, T)
	V := twin.Config.Vocab
	for done := 0; done < o.EvalSamples; done += evalBatch {
		B := min(evalBatch, o.EvalSamples-done)
		toks := tokens[:B*T]
		task.Fill(toks, r)
		if err := twin.Forward(toks, B, T, model.ForwardOptions{}); err != nil {
			return nil, 0, fmt.Errorf("%v: evaluation: %w", c, err)
		}
		logits := twin.Logits()
		for b := range B {
			task.PrefixTargets(targets, toks[b*T:(b+1)*T])
			for l := lo; l <= T; l++ {
				y := float64(logits[(b*T+l-1)*V] + bias)
				x := targets[l-1]
				dF := y - rp.F(x)
				inv := rp.Inv(y)
				if inv >= synth.InvCap {
					capped++
				}
				d := inv - x
				sqF[l] += dF * dF
				sq[l] += d * d
			}
		}
	}
	rows = make([]SynthRow, 0, T-lo+1)
	n := float64(o.EvalSamples)
	for l := lo; l <= T; l++ {
		if math.IsNaN(sq[l]) || math.IsNaN(sqF[l]) {
			return nil, 0, fmt.Errorf("%v: the model's output at length %d is not a number", c, l)
		}
		rows = append(rows, SynthRow{SynthCombo: c, Length: l, MSE: sq[l] / n, MSEFSpace: sqF[l] / n})
	}
	return rows, capped, nil
}

// prefixTwin returns a copy of the scalar-head model m with an LM head
// instead, whose first logit is the scalar head's w·h, and the scalar head's
// bias: one inference pass over [B, T] then yields the scalar prediction at
// every position (logit 0 + bias), which the scalar head, reading one
// position per sequence, cannot.
func prefixTwin(m *model.Model) (*model.Model, float32, error) {
	cfg := m.Config
	if cfg.Head != model.HeadScalar {
		return nil, 0, fmt.Errorf("prefix evaluation needs a scalar-head model, got head %q", cfg.Head)
	}
	cfg.Head, cfg.TiedHead = model.HeadLM, false
	twin, err := model.New(cfg)
	if err != nil {
		return nil, 0, err
	}
	for _, t := range twin.Params.Layout.Tensors {
		dst := twin.Params.View(t.Name)
		if t.Name == "output.weight" { // [V, C]: row 0 is the scalar head, the rest stay 0
			copy(dst[:cfg.Dim], m.Params.View("output_scalar.weight"))
			continue
		}
		copy(dst, m.Params.View(t.Name))
	}
	return twin, m.Params.View("output_scalar.bias")[0], nil
}
