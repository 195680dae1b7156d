package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/lsalign/lsalign/data"
	"github.com/lsalign/lsalign/internal/atomicfile"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
	"github.com/lsalign/lsalign/train"
)

// ReproRun is one evaluated model: a fine-tuned variant with one seed, or
// (FineTuned false) a base model with a RoPE scaling applied but no
// fine-tuning, for reference.
type ReproRun struct {
	ID        string `json:"id"`
	FineTuned bool   `json:"fine_tuned"`
	ReproVariant
	Seed     int `json:"seed"`
	ExtraMax int `json:"extra_max,omitempty"` // largest l_extra

	// TrainLoss is L_train (cross-entropy) averaged over the last tenth of
	// the fine-tuning steps; TrainMisalign likewise for L_misalign.
	TrainLoss     float64 `json:"train_loss"`
	TrainMisalign float64 `json:"train_misalign"`

	// Held-out evaluation at L, 2L, 4L (eval.Full perplexity).
	NLL      [3]float64 `json:"nll"` // mean next-token loss (nats) at L, 2L, 4L
	PPL      [3]float64 `json:"ppl"`
	Passkey  [3]float64 `json:"passkey"`  // passkey accuracy at L, 2L, 4L
	Misalign float64    `json:"misalign"` // SCE at l_train = 2L (suffixes in [L, 2L])
	// MisalignStderr and MisalignCI95 describe the metric's own sampling.
	MisalignStderr float64    `json:"misalign_stderr"`
	MisalignCI95   [2]float64 `json:"misalign_ci95"`

	Tokens  int64   `json:"tokens"` // fine-tuning tokens drawn
	Seconds float64 `json:"seconds"`
}

// ReproResult is everything the study produced.
type ReproResult struct {
	Options ReproOptions `json:"options"`
	Synth   *SynthResult `json:"-"`
	Base    []ReproRun   `json:"base"` // pretrained models, scaled, not fine-tuned
	Runs    []ReproRun   `json:"runs"` // fine-tuned variants, in Variants × seeds order
	Seconds float64      `json:"seconds"`
}

// ReproProgress reports each finished stage (e.g. "pretrain seed 1",
// "linear-alpha0.1-half-seed2") with the number done and the total.
type ReproProgress func(done, total int, stage string)

// Files RunRepro writes under its directory.
const (
	ReproRunsDir  = "runs"  // per-run training output (pretraining) and metrics
	ReproSynthDir = "synth" // step (i), written by the caller
)

// RunRepro carries out steps (i) and (ii): the synthetic study, then for
// each seed a pretrained base model and every fine-tuned variant, each
// evaluated. Pretraining writes its run under dir/runs/pretrain-seedN (a
// second RunRepro into the same dir resumes or reuses it); fine-tuning
// runs stay in memory and leave their metrics in dir/runs/ID.jsonl.
func RunRepro(ctx context.Context, o ReproOptions, dir string, progress ReproProgress) (*ReproResult, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	t0 := time.Now()
	res := &ReproResult{Options: o}
	variants := o.Variants()
	total := o.Seeds * (1 + len(variants))
	if o.Synth != nil {
		total++
	}
	done := 0
	step := func(stage string) {
		done++
		if progress != nil {
			progress(done, total, stage)
		}
	}
	if o.Synth != nil {
		s, err := RunSynth(ctx, *o.Synth, nil)
		if err != nil {
			return nil, fmt.Errorf("synthetic study: %w", err)
		}
		res.Synth = s
		step("synthetic study")
	}
	runs := filepath.Join(dir, ReproRunsDir)
	if err := os.MkdirAll(runs, 0o755); err != nil {
		return nil, err
	}
	ev, err := newReproEval(o)
	if err != nil {
		return nil, err
	}
	for seed := 1; seed <= o.Seeds; seed++ {
		base, err := pretrainBase(ctx, o, seed, runs)
		if err != nil {
			return nil, err
		}
		step(fmt.Sprintf("pretrain seed %d", seed))
		refs, err := ev.baseRuns(base, seed)
		if err != nil {
			return nil, err
		}
		res.Base = append(res.Base, refs...)
		for _, v := range variants {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			r, err := finetuneVariant(ctx, o, ev, v, seed, base.path, runs)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", v.ID(seed), err)
			}
			res.Runs = append(res.Runs, r)
			step(r.ID)
		}
	}
	res.Seconds = time.Since(t0).Seconds()
	return res, nil
}

// baseModel is a pretrained model and where it is saved.
type baseModel struct {
	model *model.Model
	tok   *tokenizer.Tokenizer
	path  string // an lsalign model directory with its tokenizer, for train's Init
}

// pretrainBase trains (or, when dir already holds the finished run,
// reloads) the base model of a seed and saves it for fine-tuning.
func pretrainBase(ctx context.Context, o ReproOptions, seed int, runs string) (baseModel, error) {
	out := filepath.Join(runs, fmt.Sprintf("pretrain-seed%d", seed))
	res, err := train.Run(ctx, o.pretrainConfig(seed), train.Options{Out: out, Resume: true})
	if err != nil {
		return baseModel{}, fmt.Errorf("pretraining seed %d: %w", seed, err)
	}
	if res.Interrupted {
		return baseModel{}, fmt.Errorf("pretraining seed %d: %w", seed, context.Canceled)
	}
	return baseModel{model: res.Model, tok: res.Tokenizer, path: filepath.Join(out, train.ModelDir)}, nil
}

// finetuneVariant fine-tunes one variant in memory, evaluates it and
// writes its metrics to runs/ID.jsonl.
func finetuneVariant(ctx context.Context, o ReproOptions, ev *reproEval, v ReproVariant, seed int, base, runs string) (ReproRun, error) {
	cfg := o.finetuneConfig(v, seed, base)
	res, err := train.Run(ctx, cfg, train.Options{})
	if err != nil {
		return ReproRun{}, err
	}
	if res.Interrupted {
		return ReproRun{}, context.Canceled
	}
	r := ReproRun{ID: v.ID(seed), FineTuned: true, ReproVariant: v, Seed: seed, ExtraMax: res.Config.ExtraMax,
		Tokens: res.Tokens, Seconds: res.Seconds}
	tail := res.Metrics[len(res.Metrics)-max(1, len(res.Metrics)/10):]
	for _, m := range tail {
		r.TrainLoss += m.CE / float64(len(tail))
		if m.Misalign != nil {
			r.TrainMisalign += *m.Misalign / float64(len(tail))
		}
	}
	if err := ev.measure(&r, res.Model, res.Tokenizer, seed); err != nil {
		return ReproRun{}, err
	}
	return r, writeRunMetrics(filepath.Join(runs, r.ID+".jsonl"), res.Metrics)
}

// writeRunMetrics writes a run's metrics lines.
func writeRunMetrics(path string, ms []train.Metrics) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, m := range ms {
			if err := enc.Encode(m); err != nil {
				return err
			}
		}
		return nil
	})
}

// heldOutDocs returns the evaluation documents: the builtin corpus's
// held-out stream, n documents of 8L tokens (two windows at 4L).
func heldOutDocs(o ReproOptions, tok *tokenizer.Tokenizer) ([][]int32, error) {
	f, err := data.NewFacts(train.BuiltinCorpusSeed, data.FactsOptions{})
	if err != nil {
		return nil, err
	}
	n := 8 * o.L
	docs, err := f.HeldOut(tok, o.EvalDocs, n)
	if err != nil {
		return nil, err
	}
	for i := range docs {
		docs[i] = docs[i][:n]
	}
	return docs, nil
}
