// Package experiment holds the project's named experiments as plain,
// JSON-serialisable option structs and the runners that carry them out.
package experiment

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/synth"
)

// SynthOptions configures the synthetic length-generalization study
// (METHOD.md §1): for every (task, positional encoding, reparameterization,
// seed) a small causal transformer with a scalar head is trained with MSE on
// sequences of the training lengths, then evaluated at every test length.
// DefaultSynthOptions gives the defaults; QuickSynthOptions a small preset.
type SynthOptions struct {
	Tasks    []string `json:"tasks"`    // synth task names
	PEs      []string `json:"pe"`       // positional encodings: nope, rope, alibi, learned, sinusoidal
	Reparams []string `json:"reparams"` // applied to tasks with synth.Task.Reparams; others use identity
	Seeds    int      `json:"seeds"`    // seeds 1..Seeds per combination

	TrainLengths synth.Lengths `json:"train_lengths"` // uniform lengths of training sequences
	TestLengths  synth.Lengths `json:"test_lengths"`  // every length evaluated
	EvalSamples  int           `json:"eval_samples"`  // held-out sequences per test length

	Model SynthModel `json:"model"`

	Steps       int     `json:"steps"`        // optimizer steps per combination
	Batch       int     `json:"batch"`        // sequences per step
	LR          float64 `json:"lr"`           // AdamW peak learning rate
	MinLR       float64 `json:"min_lr"`       // end of the cosine decay
	Warmup      int     `json:"warmup"`       // linear warmup steps
	WeightDecay float64 `json:"weight_decay"` // decoupled, on matrices only
	Clip        float64 `json:"clip"`         // global gradient-norm limit (0: none)

	// Workers is how many combinations train at once (0: GOMAXPROCS). It
	// never changes the results: each combination is seeded from its own
	// (task, pe, reparam, seed) alone.
	Workers int `json:"-"`
}

// SynthModel is the transformer trained on every combination: Llama-style
// (RMSNorm, SwiGLU, no biases) with the scalar regression head.
type SynthModel struct {
	Layers int `json:"n_layers"`
	Dim    int `json:"dim"`
	Heads  int `json:"n_heads"`
	Hidden int `json:"hidden_dim"`
}

// DefaultSynthOptions is the full study: every task, encoding and
// reparameterization, three seeds; it fits in 15 minutes on 2 cores.
func DefaultSynthOptions() SynthOptions {
	return SynthOptions{
		Tasks:        synth.TaskNames(),
		PEs:          synthPEs(),
		Reparams:     synth.ReparamNames(),
		Seeds:        3,
		TrainLengths: synth.Lengths{Min: 1, Max: 10},
		TestLengths:  synth.Lengths{Min: 1, Max: 50},
		EvalSamples:  1000,
		Model:        SynthModel{Layers: 2, Dim: 64, Heads: 4, Hidden: 128},
		Steps:        1200,
		Batch:        32,
		LR:           3e-3,
		MinLR:        3e-5,
		Warmup:       100,
		WeightDecay:  0,
		Clip:         1,
	}
}

// QuickSynthOptions is a small preset (under 2 minutes on 2 cores) that
// still decides every claim: the mean and length tasks with every
// reparameterization, NoPE and RoPE, one seed, fewer steps.
func QuickSynthOptions() SynthOptions {
	o := DefaultSynthOptions()
	o.Tasks = []string{"mean", "length"}
	o.PEs = []string{model.PosNoPE, model.PosRoPE}
	o.Seeds = 1
	o.Steps = 600
	o.Warmup = 50
	return o
}

// SynthCombo is one trained model of the study.
type SynthCombo struct {
	Task    string `json:"task"`
	PE      string `json:"pe"`
	Reparam string `json:"reparam"`
	Seed    int    `json:"seed"`
}

func (c SynthCombo) String() string {
	return fmt.Sprintf("%s/%s/%s/seed%d", c.Task, c.PE, c.Reparam, c.Seed)
}

// Validate checks every setting and names the offending field.
func (o SynthOptions) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if len(o.Tasks) == 0 {
		bad("tasks", "empty")
	}
	for _, name := range o.Tasks {
		if _, err := synth.TaskByName(name); err != nil {
			bad("tasks", "%v", err)
		}
	}
	if len(o.PEs) == 0 {
		bad("pe", "empty")
	}
	for _, pe := range o.PEs {
		if !slices.Contains(synthPEs(), pe) {
			bad("pe", "unknown %q (known: %s)", pe, strings.Join(synthPEs(), ", "))
		}
	}
	if len(o.Reparams) == 0 {
		bad("reparams", "empty (use identity for none)")
	}
	for _, name := range o.Reparams {
		if _, err := synth.ReparamByName(name); err != nil {
			bad("reparams", "%v", err)
		}
	}
	for _, list := range []struct {
		field string
		names []string
	}{{"tasks", o.Tasks}, {"pe", o.PEs}, {"reparams", o.Reparams}} {
		if dup := synthFirstDuplicate(list.names); dup != "" {
			bad(list.field, "%q listed twice", dup)
		}
	}
	if err := o.TrainLengths.Validate(); err != nil {
		bad("train_lengths", "%v", err)
	}
	if err := o.TestLengths.Validate(); err != nil {
		bad("test_lengths", "%v", err)
	}
	positive := []struct {
		field string
		v     int
	}{{"seeds", o.Seeds}, {"eval_samples", o.EvalSamples}, {"steps", o.Steps}, {"batch", o.Batch},
		{"model.n_layers", o.Model.Layers}, {"model.dim", o.Model.Dim}, {"model.n_heads", o.Model.Heads},
		{"model.hidden_dim", o.Model.Hidden}}
	for _, p := range positive {
		if p.v < 1 {
			bad(p.field, "must be positive, got %d", p.v)
		}
	}
	if o.Warmup < 0 || o.Workers < 0 {
		bad("warmup/workers", "must not be negative")
	}
	if !(o.LR > 0) || o.MinLR < 0 || o.MinLR > o.LR {
		bad("lr", "want 0 <= min_lr <= lr and lr > 0, got lr %g min_lr %g", o.LR, o.MinLR)
	}
	if o.WeightDecay < 0 || o.Clip < 0 {
		bad("weight_decay/clip", "must not be negative")
	}
	if len(errs) > 0 {
		return fmt.Errorf("synth options: %w", errors.Join(errs...))
	}
	// The model config is checked last: it needs sane sizes to say anything useful.
	for _, pe := range o.PEs {
		if _, err := model.New(o.modelConfig(pe, 2)); err != nil {
			return fmt.Errorf("synth options: model with pe %s: %w", pe, err)
		}
	}
	return nil
}

func synthPEs() []string {
	return []string{model.PosNoPE, model.PosRoPE, model.PosALiBi, model.PosLearned, model.PosSinusoidal}
}

func synthFirstDuplicate(names []string) string {
	for i, n := range names {
		if slices.Contains(names[:i], n) {
			return n
		}
	}
	return ""
}

// Combos lists every combination in a fixed order: task, then
// reparameterization, then encoding, then seed. Tasks without
// synth.Task.Reparams get only the identity.
func (o SynthOptions) Combos() []SynthCombo {
	var out []SynthCombo
	for _, name := range o.Tasks {
		task, _ := synth.TaskByName(name)
		for _, rp := range o.taskReparams(task) {
			for _, pe := range o.PEs {
				for seed := 1; seed <= o.Seeds; seed++ {
					out = append(out, SynthCombo{Task: name, PE: pe, Reparam: rp, Seed: seed})
				}
			}
		}
	}
	return out
}

func (o SynthOptions) taskReparams(t synth.Task) []string {
	if t.Reparams {
		return o.Reparams
	}
	return []string{synth.Identity}
}

// modelConfig is the transformer for one encoding and vocabulary. A learned
// position table gets a row for every test length; the rows beyond the
// training lengths are never trained, which is how learned positions behave.
func (o SynthOptions) modelConfig(pe string, vocab int) model.Config {
	return model.Config{
		Family: "llama", Vocab: vocab, Dim: o.Model.Dim, Layers: o.Model.Layers, Heads: o.Model.Heads,
		KVHeads: o.Model.Heads, Hidden: o.Model.Hidden, MaxSeq: max(o.TestLengths.Max, o.TrainLengths.Max),
		Pos: pe, Head: model.HeadScalar,
	}
}
