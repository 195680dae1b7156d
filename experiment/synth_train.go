package experiment

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/optim"
	"github.com/lsalign/lsalign/synth"
	"github.com/lsalign/lsalign/train"
)

// SynthTraining describes how one combination went.
type SynthTraining struct {
	SynthCombo
	Params int `json:"params"`
	// FinalLoss is the training MSE in f-space averaged over the last
	// tenth of the steps: how well the model fits the training lengths.
	FinalLoss float64 `json:"final_train_mse_fspace"`
	// Capped counts evaluation predictions whose f^-1 reached synth.InvCap
	// (an inv-sqrt output <= 1e-3, say): each adds about 1e12 to a sum of
	// squared errors, so a few dominate a mean.
	Capped  int     `json:"capped_predictions"`
	Seconds float64 `json:"seconds"` // training and evaluation
}

// synthSeed derives a generator seed from names alone (FNV-1a), so a
// combination's randomness never depends on which worker runs it or when.
func synthSeed(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// The three independent streams of a combination. Data and evaluation
// streams depend on (task, seed) only, so every encoding and
// reparameterization of a task sees the same sequences: comparisons between
// them are paired. Initial weights depend on the whole combination.
func (c SynthCombo) dataSeed() uint64 { return synthSeed("synth-data", c.Task, fmt.Sprint(c.Seed)) }
func (c SynthCombo) evalSeed() uint64 { return synthSeed("synth-eval", c.Task, fmt.Sprint(c.Seed)) }
func (c SynthCombo) initSeed() uint64 {
	return synthSeed("synth-init", c.Task, c.PE, c.Reparam, fmt.Sprint(c.Seed))
}

// synthTrainer trains one combination's model with MSE on f(target).
type synthTrainer struct {
	opt   SynthOptions
	task  synth.Task
	rp    synth.Reparam
	model *model.Model
	adam  *optim.AdamW
	sched optim.Schedule

	batch          synth.Batch
	tokens         []int32   // one length group's sequences [g, l]
	target, losses []float32 // [g]: f(target) and squared errors
	dpred, dloss   []float32 // [g]
}

func newSynthTrainer(o SynthOptions, c SynthCombo) (*synthTrainer, error) {
	task, err := synth.TaskByName(c.Task)
	if err != nil {
		return nil, err
	}
	rp, err := synth.ReparamByName(c.Reparam)
	if err != nil {
		return nil, err
	}
	m, err := model.NewInit(o.modelConfig(c.PE, task.Vocab), c.initSeed())
	if err != nil {
		return nil, fmt.Errorf("%v: %w", c, err)
	}
	m.EnsureGrads()
	adam := optim.NewAdamW(m.NumParams(), o.WeightDecay)
	adam.Decay = train.DecayRanges(m.Params.Layout)
	return &synthTrainer{
		opt: o, task: task, rp: rp, model: m, adam: adam,
		sched: optim.Schedule{MaxLR: o.LR, MinLR: o.MinLR, Warmup: o.Warmup, Total: o.Steps},
	}, nil
}

// train runs every step and returns the mean f-space training MSE of the
// last tenth of them.
func (s *synthTrainer) train(ctx context.Context, c SynthCombo) (float64, error) {
	r := rng.New(c.dataSeed())
	tail := max(1, s.opt.Steps/10)
	var tailLoss float64
	for step := range s.opt.Steps {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		loss, err := s.step(r, s.sched.LR(step))
		if err != nil {
			return 0, fmt.Errorf("%v step %d: %w", c, step, err)
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return 0, fmt.Errorf("%v step %d: training loss is %v", c, step, loss)
		}
		if step >= s.opt.Steps-tail {
			tailLoss += loss
		}
	}
	return tailLoss / float64(tail), nil
}

// step draws a batch, takes one AdamW step on the mean squared error
// between the predictions and f(target), and returns that error.
func (s *synthTrainer) step(r *rng.RNG, lr float64) (float64, error) {
	s.task.Sample(&s.batch, s.opt.Batch, s.opt.TrainLengths, r)
	loss, err := s.gradients(&s.batch)
	if err != nil {
		return 0, err
	}
	m := s.model
	if s.opt.Clip > 0 {
		optim.ClipGradNorm(m.Grads.Data, s.opt.Clip)
	}
	s.adam.Update(m.Params.Data, m.Grads.Data, lr)
	return loss, nil
}

// gradients sets the model's gradients to those of the batch's mean
// squared error in f-space and returns that error.
//
// The batch's sequences are grouped by length and each group runs as its
// own [g, l] pass, the backward passes accumulating into one gradient.
// That is the gradient of the whole batch (TestSynthGroupedGradients
// checks it against one right-padded pass with ForwardOptions.Lens) without
// the work padding costs: a study ran about 20% faster on 2 cores this way.
func (s *synthTrainer) gradients(b *synth.Batch) (float64, error) {
	m := s.model
	m.ZeroGrad()
	var loss float64
	for l := 1; l <= b.T; l++ {
		s.tokens, s.target = s.tokens[:0], s.target[:0]
		for i, li := range b.Lens {
			if li == l {
				s.tokens = append(s.tokens, b.Tokens[i*b.T:i*b.T+l]...)
				s.target = append(s.target, float32(s.rp.F(b.Targets[i])))
			}
		}
		g := len(s.target)
		if g == 0 {
			continue
		}
		if err := m.Forward(s.tokens, g, l, model.ForwardOptions{Train: true}); err != nil {
			return 0, err
		}
		s.losses, s.dpred, s.dloss = synthGrow(s.losses, g), synthGrow(s.dpred, g), synthGrow(s.dloss, g)
		for i := range s.dloss {
			s.dloss[i] = 1 / float32(b.B) // d(batch mean)/d(loss_i)
		}
		pred := m.Scalars()
		kernels.MSEForward(s.losses, pred, s.target, g)
		clear(s.dpred)
		kernels.MSEBackward(s.dpred, s.dloss, pred, s.target, g)
		for _, v := range s.losses {
			loss += float64(v)
		}
		if err := m.BackwardScalar(s.dpred); err != nil {
			return 0, err
		}
	}
	return loss / float64(b.B), nil
}

func synthGrow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// trainSynth trains one combination and reports how it went.
func trainSynth(ctx context.Context, o SynthOptions, c SynthCombo) (*model.Model, SynthTraining, error) {
	s, err := newSynthTrainer(o, c)
	if err != nil {
		return nil, SynthTraining{}, err
	}
	loss, err := s.train(ctx, c)
	if err != nil {
		return nil, SynthTraining{}, err
	}
	return s.model, SynthTraining{SynthCombo: c, Params: s.model.NumParams(), FinalLoss: loss}, nil
}
