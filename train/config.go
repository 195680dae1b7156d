package train

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/lsalign/lsalign/align"
	"github.com/lsalign/lsalign/data"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/model"
)

// Objectives.
const (
	ObjectiveCE       = "ce"          // next-token cross-entropy
	ObjectiveMisalign = "ce+misalign" // L* = L_train + alpha*L_misalign (METHOD.md §3)
)

// Data sources besides a path.
const (
	DataBuiltin = "builtin" // the generated facts corpus (data.Facts)
	DataSelfGen = "selfgen" // documents sampled from the --init model itself
)

// Export formats.
const (
	ExportGGUF        = "gguf"        // DIR/model.gguf
	ExportSafetensors = "safetensors" // DIR/hf/ (config.json, model.safetensors, tokenizer)
	ExportLlama2C     = "llama2c"     // DIR/model.bin
)

// Config is one training run. Every field has a flag of the same name in
// `lsalign train` (underscores as dashes) and the same key in its --config
// JSON file. Zero values mean the defaults DefaultConfig documents.
type Config struct {
	Data      string `json:"data"`      // "builtin", "selfgen" (needs Init) or a text file or directory
	Init      string `json:"init"`      // model file to fine-tune; "" pretrains Model from scratch
	Tokenizer string `json:"tokenizer"` // tokenizer file overriding the one Init brings

	// Model is the from-scratch architecture (ignored with Init). Its
	// vocabulary is the byte-level tokenizer's and its context Ctx.
	// MaxSeq is ignored: the context is Ctx.
	Model model.Config `json:"model"`

	Ctx   int `json:"ctx"`   // l: training window in tokens; 0 = the model's context (Init) or DefaultScratchCtx
	Batch int `json:"batch"` // sequences per step (each gives two windows with ce+misalign or pair_data)
	Steps int `json:"steps"` // total optimizer steps (a resumed run continues to this number)

	LR          float64 `json:"lr"`           // peak AdamW learning rate
	MinLR       float64 `json:"min_lr"`       // end of the cosine decay; 0 = lr/10
	Warmup      int     `json:"warmup"`       // linear warmup steps; -1 = min(100, steps/10)
	WeightDecay float64 `json:"weight_decay"` // decoupled, on 2-D weights only
	Clip        float64 `json:"clip"`         // global gradient-norm limit; 0 = none

	Objective  string  `json:"objective"`  // ce or ce+misalign
	Alpha      float64 `json:"alpha"`      // weight of L_misalign
	ExtraMin   int     `json:"extra_min"`  // l_extra ~ U[extra_min, extra_max]; 0 = 1
	ExtraMax   int     `json:"extra_max"`  // 0 = l/2; at most l-1 so that the windows overlap
	Positions  string  `json:"positions"`  // overlap or last
	TrainOn    string  `json:"train_on"`   // L_train over "both" windows or window "a" only
	StopGrad   string  `json:"stop_grad"`  // "", "a" or "b": no misalignment gradient through that window
	Divergence string  `json:"divergence"` // sce, skl or js
	// PairData gives the ce objective the same sequences of l+l_extra
	// tokens as ce+misalign (both windows, each a training sequence), so a
	// baseline can be compared at an equal token budget.
	PairData bool `json:"pair_data"`

	// RopeScaling extends a RoPE model's context for training at Ctx
	// beyond its original context; OrigCtx 0 means the model's context.
	RopeScaling kernels.RopeScaling `json:"rope_scaling"`

	EvalEvery int    `json:"eval_every"` // steps between evaluations; 0 = only at the end, -1 = never
	SaveEvery int    `json:"save_every"` // steps between checkpoints; 0 = only at the end
	Seed      uint64 `json:"seed"`       // weights (from scratch) and the data stream
	// Export lists formats written at the end: gguf, safetensors, llama2c.
	Export []string `json:"export"`

	Facts    data.FactsOptions `json:"facts"`     // the builtin corpus
	SelfDocs int               `json:"self_docs"` // selfgen: documents to sample; 0 = 64
	HeldOut  float64           `json:"held_out"`  // text data: share of each document held out for evaluation; 0 = 0.05
}

// DefaultScratchCtx is the training length of a from-scratch model when
// Ctx is 0.
const DefaultScratchCtx = 64

// DefaultModel is the from-scratch architecture: a Llama-style decoder
// (RMSNorm, RoPE, SwiGLU) with 2 layers, width 128, 4 heads and the byte
// vocabulary (258 tokens: 256 bytes, BOS, EOS); its context is Ctx.
func DefaultModel() model.Config {
	return model.Config{Family: "llama", Vocab: ByteVocabSize, Dim: 128, Layers: 2, Heads: 4, KVHeads: 4, Hidden: 352}
}

// DefaultConfig is a small from-scratch run on the builtin corpus.
func DefaultConfig() Config {
	return Config{
		Data: DataBuiltin, Model: DefaultModel(), Batch: 16, Steps: 1000,
		LR: 1e-3, Warmup: -1, WeightDecay: 0.1, Clip: 1,
		Objective: ObjectiveCE, Alpha: 0.1, Positions: "overlap", TrainOn: "both", Divergence: "sce",
		EvalEvery: 0,
	}
}

// withDefaults resolves the "0 = default" fields that do not depend on the
// model; Ctx is resolved once the model is known.
func (c Config) withDefaults() Config {
	if c.Ctx == 0 && c.Init == "" {
		c.Ctx = DefaultScratchCtx
	}
	if c.MinLR == 0 {
		c.MinLR = c.LR / 10
	}
	if c.Warmup < 0 {
		c.Warmup = min(100, c.Steps/10)
	}
	if c.Positions == "" {
		c.Positions = "overlap"
	}
	if c.TrainOn == "" {
		c.TrainOn = "both"
	}
	if c.Divergence == "" {
		c.Divergence = "sce"
	}
	if c.SelfDocs == 0 {
		c.SelfDocs = 64
	}
	if c.HeldOut == 0 {
		c.HeldOut = 0.05
	}
	if c.ExtraMin == 0 {
		c.ExtraMin = 1
	}
	if c.ExtraMax == 0 && c.Ctx > 0 {
		c.ExtraMax = max(1, c.Ctx/2)
	}
	return c
}

// paired reports whether steps draw sequences of l+l_extra tokens.
func (c Config) paired() bool { return c.Objective == ObjectiveMisalign || c.PairData }

// regularizer is the align options the config describes.
func (c Config) regularizer() (align.Regularizer, error) {
	d, err := kernels.ParseDivergence(c.Divergence)
	if err != nil {
		return align.Regularizer{}, err
	}
	r := align.Regularizer{Alpha: c.Alpha, Divergence: d, Positions: c.Positions, TrainOnA: c.TrainOn == "a", StopGrad: c.StopGrad}
	if c.Objective == ObjectiveCE {
		r.Alpha = 0
	}
	return r, nil
}

// ConfigError is a contradictory or impossible setting: a fault of the
// request, not of the data, the files or the machine. Validate returns
// one, and so does Run for what only the loaded model or the checkpoint
// being resumed reveals (a ctx beyond learned positions, an extra_max not
// below an --init model's context, a changed objective).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// configErrorf is a *ConfigError with a formatted message.
func configErrorf(format string, args ...any) error {
	return &ConfigError{fmt.Errorf(format, args...)}
}

// Validate reports every contradictory or impossible setting, naming the
// field, before any work starts, as a *ConfigError. Settings that need the
// model (a context beyond a learned position table) are checked once it is
// loaded.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []string
	bad := func(field, format string, args ...any) {
		errs = append(errs, field+": "+fmt.Sprintf(format, args...))
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if c.Data == "" {
		bad("data", "empty (want builtin, selfgen or a path)")
	}
	if c.Data == DataSelfGen && c.Init == "" {
		bad("data", "selfgen samples documents from the model being fine-tuned; it needs init")
	}
	if c.Tokenizer != "" && c.Init == "" {
		bad("tokenizer", "only applies to a model given with init")
	}
	if c.Init == "" && c.Model.Vocab != ByteVocabSize {
		bad("model.vocab_size", "a from-scratch model uses the byte tokenizer's %d tokens, got %d", ByteVocabSize, c.Model.Vocab)
	}
	if c.Ctx < 0 {
		bad("ctx", "must be positive (0: the default), got %d", c.Ctx)
	}
	if c.Ctx == 1 {
		bad("ctx", "must be at least 2")
	}
	if c.Batch < 1 {
		bad("batch", "must be positive, got %d", c.Batch)
	}
	if c.Steps < 1 {
		bad("steps", "must be positive, got %d", c.Steps)
	}
	if !(c.LR > 0) || !finite(c.LR) {
		bad("lr", "must be a positive number, got %g", c.LR)
	}
	if c.MinLR < 0 || c.MinLR > c.LR {
		bad("min_lr", "must be in [0, lr=%g], got %g", c.LR, c.MinLR)
	}
	if c.Warmup > c.Steps {
		bad("warmup", "%d exceeds steps %d", c.Warmup, c.Steps)
	}
	if c.WeightDecay < 0 || !finite(c.WeightDecay) {
		bad("weight_decay", "must be >= 0, got %g", c.WeightDecay)
	}
	if c.Clip < 0 || !finite(c.Clip) {
		bad("clip", "must be >= 0 (0 = none), got %g", c.Clip)
	}
	switch c.Objective {
	case ObjectiveCE, ObjectiveMisalign:
	default:
		bad("objective", "unknown %q (want ce or ce+misalign)", c.Objective)
	}
	if c.Alpha < 0 || !finite(c.Alpha) {
		bad("alpha", "must be >= 0, got %g", c.Alpha)
	}
	if c.Ctx >= 2 && c.paired() {
		if c.ExtraMin < 1 || c.ExtraMin > c.ExtraMax {
			bad("extra_min", "want 1 <= extra_min <= extra_max, got [%d, %d]", c.ExtraMin, c.ExtraMax)
		}
		if c.ExtraMax >= c.Ctx {
			bad("extra_max", "l_extra %d must be smaller than l = ctx %d so that the two windows overlap (the paper's [1, l] is [1, %d] here)",
				c.ExtraMax, c.Ctx, c.Ctx-1)
		}
	}
	if c.Objective == ObjectiveCE && (c.Alpha != DefaultConfig().Alpha && c.Alpha != 0) {
		bad("alpha", "%g is set but objective ce has no misalignment term (use ce+misalign)", c.Alpha)
	}
	if c.Objective == ObjectiveMisalign && c.PairData {
		bad("pair_data", "ce+misalign always trains on pairs; pair_data is for the ce baseline")
	}
	switch c.Positions {
	case "overlap", "last":
	default:
		bad("positions", "unknown %q (want overlap or last)", c.Positions)
	}
	switch c.TrainOn {
	case "both", "a":
	default:
		bad("train_on", "unknown %q (want both or a)", c.TrainOn)
	}
	switch c.StopGrad {
	case "", "a", "b":
	default:
		bad("stop_grad", "unknown %q (want a, b or empty)", c.StopGrad)
	}
	if _, err := kernels.ParseDivergence(c.Divergence); err != nil {
		bad("divergence", "%v", err)
	}
	rs := c.RopeScaling
	if rs.OrigCtx == 0 { // the model's context, known once it is loaded
		rs.OrigCtx = max(c.Ctx, 1)
	}
	if err := rs.Validate(); err != nil {
		bad("rope_scaling", "%v", err)
	}
	if c.EvalEvery < -1 {
		bad("eval_every", "must be >= -1, got %d", c.EvalEvery)
	}
	if c.SaveEvery < 0 {
		bad("save_every", "must be >= 0, got %d", c.SaveEvery)
	}
	for _, e := range c.Export {
		switch e {
		case ExportGGUF, ExportSafetensors, ExportLlama2C:
		default:
			bad("export", "unknown format %q (want gguf, safetensors or llama2c)", e)
		}
	}
	if c.SelfDocs < 1 {
		bad("self_docs", "must be positive, got %d", c.SelfDocs)
	}
	if !(c.HeldOut > 0 && c.HeldOut < 1) {
		bad("held_out", "must be in (0, 1), got %g", c.HeldOut)
	}
	if c.Data == DataBuiltin {
		if err := c.Facts.WithDefaults().Validate(); err != nil {
			bad("facts", "%v", err)
		}
	}
	if c.Init == "" {
		m := c.Model
		m.MaxSeq = max(c.Ctx, 1)
		if err := m.Defaults().Validate(); err != nil {
			bad("model", "%v", err)
		}
	}
	if len(errs) > 0 {
		return &ConfigError{errors.New("train config: " + strings.Join(errs, "; "))}
	}
	return nil
}
