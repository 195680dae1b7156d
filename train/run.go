package train

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/lsalign/lsalign/align"
	"github.com/lsalign/lsalign/data"
	"github.com/lsalign/lsalign/internal/atomicfile"
	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/load"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/optim"
	"github.com/lsalign/lsalign/tokenizer"
)

// Files in a run's output directory.
const (
	ConfigFile    = "config.json"   // the resolved Config
	MetricsFile   = "metrics.jsonl" // one Metrics object per step
	CheckpointDir = "checkpoint"    // the latest checkpoint (checkpoint.Save)
	ModelDir      = "model"         // the final model with its tokenizer (an lsalign model directory, for --init)
	ResultFile    = "result.json"   // the Result summary, written at the end
)

// EvalInput is what an Evaluator measures.
type EvalInput struct {
	Model     *model.Model
	Tokenizer *tokenizer.Tokenizer
	HeldOut   [][]int32 // held-out documents (token ids)
	Ctx       int       // the training length l
	Step      int
	Log       func(msg string) // the run's log (Hooks.Log); nil when it has none
}

// Evaluator measures a model during training; its numbers (e.g. val_loss,
// ppl_1x, misalign) are merged into that step's metrics line.
type Evaluator func(EvalInput) (map[string]float64, error)

// Progress is reported after every step.
type Progress struct {
	Step, Steps int
	Loss        float64
	TokensPerS  float64
	ETA         time.Duration
}

// Hooks connect a run to what this package cannot import (evaluation,
// sampling) and to the user interface. Every field is optional.
type Hooks struct {
	Evaluate Evaluator
	// SelfGen samples n documents of about tokens tokens from m (data selfgen).
	SelfGen  func(m *model.Model, tok *tokenizer.Tokenizer, n, tokens int, seed uint64) ([]string, error)
	Progress func(Progress)
	Log      func(msg string)
}

func (h Hooks) logf(format string, args ...any) {
	if h.Log != nil {
		h.Log(fmt.Sprintf(format, args...))
	}
}

// Result summarises a run.
type Result struct {
	Config      Config   `json:"config"`
	Steps       int      `json:"steps"` // steps done
	Interrupted bool     `json:"interrupted"`
	Resumed     int      `json:"resumed_from,omitempty"` // step of the checkpoint the run continued
	Tokens      int64    `json:"tokens"`
	Seconds     float64  `json:"seconds"` // training time of this and earlier sessions
	Final       Metrics  `json:"final"`   // the last step's metrics
	Exports     []string `json:"exports,omitempty"`

	Metrics   []Metrics            `json:"-"` // every step of this session
	Model     *model.Model         `json:"-"`
	Tokenizer *tokenizer.Tokenizer `json:"-"`
	HeldOut   [][]int32            `json:"-"`
}

// Options says where a run writes and whether it continues an earlier one.
type Options struct {
	// Out is the output directory; "" keeps everything in memory (no
	// checkpoints, metrics file or exports).
	Out string
	// Resume continues from Out's checkpoint when there is one.
	Resume bool
	// Given reports whether the caller chose a Config field (by its JSON
	// key) rather than leaving it at its default; nil means every field was
	// chosen. On resume, the learning-rate settings not chosen (lr, min_lr,
	// warmup, clip) keep the checkpoint's values, so that leaving out a
	// flag never changes a run; min_lr follows a chosen lr (its default,
	// lr/10) unless chosen too.
	Given func(key string) bool
	Hooks Hooks
}

// run is the state of a run in progress.
type run struct {
	cfg     Config
	opt     Options
	stepper *Stepper
	sched   optim.Schedule
	tok     *tokenizer.Tokenizer
	src     data.Source
	heldOut [][]int32
	rng     *rng.RNG
	log     *metricsLog

	step       int
	savedStep  int // step of the newest checkpoint on disk (-1: none)
	tokens     int64
	prevTokens int64   // tokens before the latest step, restored with its weights by a rollback
	priorSecs  float64 // training time of earlier sessions
	res        *Result
}

// Run trains as cfg says. When ctx is cancelled (Ctrl-C) the step in
// progress finishes, a checkpoint is saved and Run returns a Result with
// Interrupted set and no error.
//
// A NaN or Inf loss, gradient norm or updated weight stops the run with an
// error naming the step. The weights that met it came from the update
// before, so that update is undone (Stepper.Rollback) and the checkpoint
// holds the weights of the last step whose loss was finite, under that
// step's number, with the data stream where it stopped: a run resumed from
// it, typically with a lower lr, continues on batches it has not seen and
// so is bit-identical to no other run.
//
// An evaluation error stops the run too, after the step's metrics line and
// a checkpoint are written. Contradictory settings, including those only
// the loaded model or the checkpoint reveals, are *ConfigError.
func Run(ctx context.Context, cfg Config, opt Options) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r, err := start(cfg, opt) // resolves the defaults, some from the model or the checkpoint
	if err != nil {
		return nil, err
	}
	if r.log != nil {
		defer r.log.close()
	}
	return r.loop(ctx)
}

// loop takes the steps and finishes the run.
func (r *run) loop(ctx context.Context) (*Result, error) {
	cfg, h := r.cfg, r.opt.Hooks
	t0 := time.Now()
	sessionTokens := int64(0)
	for r.step < cfg.Steps {
		if ctx.Err() != nil {
			r.res.Interrupted = true
			h.logf("interrupted after step %d", r.step)
			break
		}
		ts := time.Now()
		met, n, err := r.takeStep()
		var nf *NonFiniteError
		if errors.As(err, &nf) {
			return nil, r.stopNonFinite(nf)
		}
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", r.step+1, err)
		}
		r.step++
		r.prevTokens = r.tokens
		r.tokens += n
		sessionTokens += n
		elapsed := time.Since(t0).Seconds()
		met.Step, met.Tokens = r.step, r.tokens
		met.TokensPerS = float64(n) / time.Since(ts).Seconds()
		met.ElapsedS = r.priorSecs + elapsed
		r.res.Seconds = met.ElapsedS
		if r.evalDue() {
			if met.Eval, err = r.evaluate(); err != nil {
				return nil, r.stopEvalFailed(met, err)
			}
		}
		if err := r.record(met); err != nil {
			return nil, err
		}
		if cfg.SaveEvery > 0 && r.step%cfg.SaveEvery == 0 && r.step < cfg.Steps {
			if err := r.save(); err != nil {
				return nil, err
			}
		}
		if h.Progress != nil {
			rate := float64(sessionTokens) / elapsed
			left := float64(cfg.Steps-r.step) * elapsed / float64(r.step-r.res.Resumed)
			h.Progress(Progress{Step: r.step, Steps: cfg.Steps, Loss: met.Loss, TokensPerS: rate,
				ETA: time.Duration(left * float64(time.Second))})
		}
	}
	r.res.Steps, r.res.Tokens = r.step, r.tokens
	r.res.Seconds = r.priorSecs + time.Since(t0).Seconds()
	if r.opt.Out == "" {
		return r.res, nil
	}
	if r.savedStep != r.step {
		if err := r.save(); err != nil {
			return nil, err
		}
	}
	if !r.res.Interrupted {
		final := filepath.Join(r.opt.Out, ModelDir)
		if err := load.Save(final, r.stepper.Model, r.tok, load.SaveOptions{Format: load.FormatLsalign}); err != nil {
			return nil, fmt.Errorf("saving the final model: %w", err)
		}
		exports, err := export(r.opt.Out, cfg.Export, r.stepper.Model, r.tok)
		r.res.Exports = exports
		if err != nil {
			return nil, fmt.Errorf("training finished and %s holds its checkpoint, but export failed: %w",
				filepath.Join(r.opt.Out, CheckpointDir), err)
		}
	}
	if err := atomicfile.WriteJSON(filepath.Join(r.opt.Out, ResultFile), r.res); err != nil {
		return nil, err
	}
	return r.res, nil
}

// takeStep draws a batch and takes one optimizer step; it returns the
// step's metrics (without step, tokens and timing) and the number of
// tokens it drew.
func (r *run) takeStep() (Metrics, int64, error) {
	cfg, s := r.cfg, r.stepper
	B, l := cfg.Batch, cfg.Ctx
	lr := r.sched.LR(r.step)
	met := Metrics{LR: lr}
	if !cfg.paired() {
		seqs, err := data.Windows(r.src, B, l+1, r.rng)
		if err != nil {
			return met, 0, err
		}
		inp, tgt := data.SplitShift(seqs, B, l)
		met.Loss, err = s.StepCE(inp, tgt, B, l, lr)
		met.CE, met.GradNorm = met.Loss, s.GradNorm
		return met, int64(B * (l + 1)), err
	}
	extra := r.rng.IntRange(cfg.ExtraMin, cfg.ExtraMax)
	seqs, err := data.Windows(r.src, B, l+extra+1, r.rng)
	if err != nil {
		return met, 0, err
	}
	met.LExtra = extra
	n := int64(B * (l + extra + 1))
	if cfg.Objective == ObjectiveCE { // the baseline on the same sequences: both windows as plain sequences
		inp, tgt := align.PairWindows(seqs, B, l, extra)
		met.Loss, err = s.StepCE(inp, tgt, 2*B, l, lr)
		met.CE, met.GradNorm = met.Loss, s.GradNorm
		return met, n, err
	}
	loss, err := s.StepPair(seqs, B, l, extra, lr)
	met.Loss, met.CE, met.GradNorm = loss.Total, loss.CE, s.GradNorm
	met.Misalign = &loss.Misalign
	return met, n, err
}

func (r *run) evalDue() bool {
	e := r.cfg.EvalEvery
	if e < 0 || r.opt.Hooks.Evaluate == nil {
		return false
	}
	return r.step == r.cfg.Steps || (e > 0 && r.step%e == 0)
}

func (r *run) evaluate() (map[string]float64, error) {
	m := r.stepper.Model
	ev, err := r.opt.Hooks.Evaluate(EvalInput{Model: m, Tokenizer: r.tok, HeldOut: r.heldOut, Ctx: r.cfg.Ctx, Step: r.step,
		Log: r.opt.Hooks.Log})
	if err != nil {
		return nil, fmt.Errorf("evaluation at step %d: %w", r.step, err)
	}
	return ev, nil
}

// record keeps a step's metrics in memory and appends them to the log.
func (r *run) record(met Metrics) error {
	r.res.Metrics = append(r.res.Metrics, met)
	r.res.Final = met
	if r.log == nil {
		return nil
	}
	return r.log.write(met)
}

// stopEvalFailed keeps the step whose evaluation failed: its metrics line
// (without evaluation numbers) and a checkpoint, so that the training is
// not lost.
func (r *run) stopEvalFailed(met Metrics, evalErr error) error {
	if err := r.record(met); err != nil {
		return fmt.Errorf("%w, and writing the step's metrics failed: %v", evalErr, err)
	}
	if r.opt.Out == "" {
		return evalErr
	}
	if r.savedStep != r.step {
		if err := r.save(); err != nil {
			return fmt.Errorf("%w, and saving the checkpoint failed: %v", evalErr, err)
		}
	}
	return fmt.Errorf("%w; training stopped; %s holds step %d: continue with --resume (--eval-every -1 skips evaluation)",
		evalErr, filepath.Join(r.opt.Out, CheckpointDir), r.step)
}

// stopNonFinite undoes the update that produced the weights which failed,
// saves the weights of the last step whose loss was finite and explains.
func (r *run) stopNonFinite(nf *NonFiniteError) error {
	failed := r.step + 1
	if r.stepper.Rollback() {
		r.step--
		r.tokens = r.prevTokens
		r.res.Metrics = r.res.Metrics[:len(r.res.Metrics)-1]
	}
	msg := fmt.Sprintf("step %d: %v; training stopped", failed, nf)
	if r.opt.Out == "" {
		return fmt.Errorf("%s; the model holds the weights from step %d", msg, r.step)
	}
	if r.log != nil {
		if err := r.log.truncate(r.step); err != nil {
			return fmt.Errorf("%s, and dropping the metrics after step %d failed: %w", msg, r.step, err)
		}
	}
	if r.savedStep != r.step {
		if err := r.save(); err != nil {
			return fmt.Errorf("%s, and saving the checkpoint of step %d failed: %w", msg, r.step, err)
		}
	}
	return fmt.Errorf("%s; %s holds the weights from step %d, the last whose loss was finite: "+
		"continue with --resume and a lower --lr or a longer --warmup", msg, filepath.Join(r.opt.Out, CheckpointDir), r.step)
}
