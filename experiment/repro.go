package experiment

import (
	"errors"
	"fmt"
	"slices"

	"github.com/lsalign/lsalign/data"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/train"
)

// ReproOptions configures the small-scale re-run of the paper's argument
// (`lsalign repro`): (i) the synthetic study; (ii) a Llama-style byte-level
// model pretrained at context L on the builtin corpus, fine-tuned to 2L
// with each RoPE scaling, for each alpha and l_extra range, with an equal
// token budget, over several seeds, each variant evaluated on held-out
// text; (iii) correlations over the variants; (iv) verdicts on the claims.
// DefaultReproOptions, QuickReproOptions and TinyReproOptions are presets.
type ReproOptions struct {
	Synth *SynthOptions `json:"synth"` // step (i); nil skips it

	L        int           `json:"l"`        // pretraining context in tokens
	Model    model.Config  `json:"model"`    // vocabulary 258 (bytes); MaxSeq is set to L
	Pretrain ReproTraining `json:"pretrain"` // at L, plain cross-entropy
	Finetune ReproTraining `json:"finetune"` // at 2L

	Scalings []string  `json:"scalings"` // RoPE scalings of the fine-tunes: linear (PI), yarn, ...
	Alphas   []float64 `json:"alphas"`   // 0 is the baseline: cross-entropy on the same paired sequences
	Ranges   []string  `json:"ranges"`   // l_extra ranges: half = [1, L'/2], full = [1, L'-1] (L' = 2L)
	Seeds    int       `json:"seeds"`    // seeds 1..Seeds: pretraining, fine-tuning data and evaluation

	EvalDocs        int       `json:"eval_docs"`        // held-out builtin documents of 8L tokens
	MisalignSamples int       `json:"misalign_samples"` // samples of the metric per variant
	PasskeyTrials   int       `json:"passkey_trials"`   // per length and depth
	PasskeyDepths   []float64 `json:"passkey_depths"`
	Bootstrap       int       `json:"bootstrap"` // resamples of the correlation intervals
}

// ReproTraining is one training stage.
type ReproTraining struct {
	Steps  int     `json:"steps"`
	Batch  int     `json:"batch"` // sequences per step (fine-tuning: pairs of windows)
	LR     float64 `json:"lr"`
	Warmup int     `json:"warmup"`
}

// l_extra ranges.
const (
	RangeHalf = "half" // [1, L'/2], the paper's default
	RangeFull = "full" // [1, L'-1]: the paper's [1, L'], capped so the windows overlap
)

// DefaultReproOptions is the full run: about 12 minutes on 2 idle cores (20 on busy ones).
func DefaultReproOptions() ReproOptions {
	s := QuickSynthOptions()
	return ReproOptions{
		Synth:    &s,
		L:        64,
		Model:    model.Config{Family: "llama", Vocab: 258, Dim: 128, Layers: 2, Heads: 4, KVHeads: 4, Hidden: 352},
		Pretrain: ReproTraining{Steps: 1500, Batch: 16, LR: 2e-3, Warmup: 100},
		Finetune: ReproTraining{Steps: 250, Batch: 8, LR: 5e-4, Warmup: 25},
		Scalings: []string{"linear", "yarn"},
		Alphas:   []float64{0, 0.1, 0.3, 1.0},
		Ranges:   []string{RangeHalf, RangeFull},
		Seeds:    2,
		EvalDocs: 32, MisalignSamples: 500, PasskeyTrials: 4, PasskeyDepths: []float64{0, 0.5, 1},
		Bootstrap: 2000,
	}
}

// QuickReproOptions is a smoke run of every step (about 1 minute on 2
// cores): a smaller synthetic study, a smaller model, fewer steps and
// variants (alpha 0.3 and the full range only with alpha 0.1). Its verdicts
// follow the same rules but rest on little training.
func QuickReproOptions() ReproOptions {
	o := DefaultReproOptions()
	s := QuickSynthOptions()
	s.Steps, s.Warmup, s.EvalSamples = 300, 30, 300
	o.Synth = &s
	o.Model = model.Config{Family: "llama", Vocab: 258, Dim: 64, Layers: 2, Heads: 4, KVHeads: 4, Hidden: 176}
	o.Pretrain = ReproTraining{Steps: 400, Batch: 16, LR: 3e-3, Warmup: 40}
	o.Finetune = ReproTraining{Steps: 40, Batch: 8, LR: 1e-3, Warmup: 5}
	o.Alphas = []float64{0, 0.1, 1.0}
	o.EvalDocs, o.MisalignSamples, o.PasskeyTrials = 16, 128, 2
	return o
}

// TinyReproOptions is the smallest preset that exercises every step and
// claim, for tests (seconds).
func TinyReproOptions() ReproOptions {
	o := QuickReproOptions()
	s := QuickSynthOptions()
	s.Tasks, s.PEs, s.Reparams = []string{"mean"}, []string{"nope"}, []string{"identity"}
	s.Steps, s.Warmup, s.EvalSamples = 20, 2, 20
	s.TestLengths.Max = 20
	o.Synth = &s
	o.Model = model.Config{Family: "llama", Vocab: 258, Dim: 16, Layers: 1, Heads: 2, KVHeads: 2, Hidden: 32}
	o.Pretrain = ReproTraining{Steps: 20, Batch: 4, LR: 3e-3, Warmup: 2}
	o.Finetune = ReproTraining{Steps: 4, Batch: 2, LR: 1e-3, Warmup: 1}
	o.EvalDocs, o.MisalignSamples, o.PasskeyTrials, o.Bootstrap = 4, 16, 1, 200
	o.PasskeyDepths = []float64{0.5}
	return o
}

// ReproVariant is one fine-tuning setting; with a seed it is one run.
type ReproVariant struct {
	Scaling string  `json:"scaling"`
	Alpha   float64 `json:"alpha"`
	Range   string  `json:"range"`
}

// ID names a variant's run with one seed.
func (v ReproVariant) ID(seed int) string {
	return fmt.Sprintf("%s-alpha%g-%s-seed%d", v.Scaling, v.Alpha, v.Range, seed)
}

// Variants lists the fine-tuning settings: every scaling × range × alpha.
func (o ReproOptions) Variants() []ReproVariant {
	var vs []ReproVariant
	for _, s := range o.Scalings {
		for _, r := range o.Ranges {
			for _, a := range o.Alphas {
				vs = append(vs, ReproVariant{Scaling: s, Alpha: a, Range: r})
			}
		}
	}
	return vs
}

// extraMax is the largest l_extra of a range at fine-tuning length lf.
func extraMax(rng string, lf int) int {
	if rng == RangeFull {
		return lf - 1
	}
	return lf / 2
}

// Validate checks every setting before any work, naming the field.
func (o ReproOptions) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if o.L < data.PasskeyMinBytes {
		bad("l", "must be at least %d (the shortest passkey probe), got %d", data.PasskeyMinBytes, o.L)
	}
	if o.Seeds < 2 {
		bad("seeds", "confidence intervals need at least 2 seeds, got %d", o.Seeds)
	}
	if len(o.Scalings) == 0 {
		bad("scalings", "empty")
	}
	for _, s := range o.Scalings {
		if !slices.Contains([]string{"linear", "ntk", "yarn", "dynamic-ntk"}, s) {
			bad("scalings", "unknown %q (want linear, ntk, dynamic-ntk or yarn)", s)
		}
	}
	if !slices.Contains(o.Alphas, 0) {
		bad("alphas", "must include 0, the baseline")
	}
	for _, a := range o.Alphas {
		if a < 0 {
			bad("alphas", "%g is negative", a)
		}
	}
	if len(o.Ranges) == 0 {
		bad("ranges", "empty")
	}
	for _, r := range o.Ranges {
		if r != RangeHalf && r != RangeFull {
			bad("ranges", "unknown %q (want half or full)", r)
		}
	}
	for _, p := range []struct {
		field string
		v     int
	}{{"pretrain.steps", o.Pretrain.Steps}, {"pretrain.batch", o.Pretrain.Batch}, {"finetune.steps", o.Finetune.Steps},
		{"finetune.batch", o.Finetune.Batch}, {"eval_docs", o.EvalDocs}, {"misalign_samples", o.MisalignSamples},
		{"passkey_trials", o.PasskeyTrials}, {"bootstrap", o.Bootstrap}} {
		if p.v < 1 {
			bad(p.field, "must be positive, got %d", p.v)
		}
	}
	if len(o.PasskeyDepths) == 0 {
		bad("passkey_depths", "empty")
	}
	if len(errs) > 0 {
		return fmt.Errorf("repro options: %w", errors.Join(errs...))
	}
	if o.Synth != nil {
		if err := o.Synth.Validate(); err != nil {
			return fmt.Errorf("repro options: synth: %w", err)
		}
	}
	for _, v := range o.Variants() {
		if err := o.finetuneConfig(v, 1, "base").Validate(); err != nil {
			return fmt.Errorf("repro options: variant %s: %w", v.ID(1), err)
		}
	}
	return o.pretrainConfig(1).Validate()
}

// pretrainConfig trains the base model of one seed at L.
func (o ReproOptions) pretrainConfig(seed int) train.Config {
	c := train.DefaultConfig()
	c.Model = o.Model
	c.Ctx = o.L
	c.Batch, c.Steps, c.LR, c.Warmup = o.Pretrain.Batch, o.Pretrain.Steps, o.Pretrain.LR, o.Pretrain.Warmup
	c.Seed = uint64(seed)
	c.EvalEvery = -1
	c.SaveEvery = 0
	return c
}

// finetuneConfig fine-tunes the base model at 2L with a variant. Every
// run of a seed and range draws the same sequences (the data stream
// depends only on the seed and the l_extra range), so alphas are compared
// on identical data: an equal token budget.
func (o ReproOptions) finetuneConfig(v ReproVariant, seed int, base string) train.Config {
	c := train.DefaultConfig()
	c.Init = base
	c.Ctx = 2 * o.L
	c.Batch, c.Steps, c.LR, c.Warmup = o.Finetune.Batch, o.Finetune.Steps, o.Finetune.LR, o.Finetune.Warmup
	c.Seed = uint64(seed)
	c.EvalEvery = -1
	c.RopeScaling.Type, c.RopeScaling.Factor = v.Scaling, 2
	c.ExtraMax = extraMax(v.Range, c.Ctx)
	if v.Alpha == 0 {
		c.Objective, c.Alpha, c.PairData = train.ObjectiveCE, 0, true
	} else {
		c.Objective, c.Alpha = train.ObjectiveMisalign, v.Alpha
	}
	return c
}
