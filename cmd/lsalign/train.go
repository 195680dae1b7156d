package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lsalign/lsalign/experiment"
	"github.com/lsalign/lsalign/infer"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
	"github.com/lsalign/lsalign/train"
)

// trainFlags are the command-line settings besides the train.Config fields.
type trainFlags struct {
	config       string
	out          string
	resume       bool
	json         bool
	quiet        bool
	export       string
	evalSamples  int
	rope         ropeFlags
	cfg          train.Config                       // bound to the flags
	copyOnConfig map[string]func(dst *train.Config) // flag name -> copy its field from cfg
	given        func(key string) bool              // set by resolve: a config key given by a flag or --config
}

// bind registers a flag bound to a field of f.cfg and remembers how to copy
// that field, so flags given with --config override the file's values.
func bind[T any](f *trainFlags, fs *pflag.FlagSet, register func(*T, string, T, string), name string,
	field func(*train.Config) *T, usage string) {
	register(field(&f.cfg), name, *field(&f.cfg), usage)
	f.copyOnConfig[name] = func(dst *train.Config) { *field(dst) = *field(&f.cfg) }
}

func newTrainCmd() *cobra.Command {
	f := &trainFlags{cfg: train.DefaultConfig(), copyOnConfig: map[string]func(*train.Config){}}
	d := train.DefaultConfig()
	dm := d.Model.Defaults()
	cmd := &cobra.Command{
		Use:   "train --out DIR [--data builtin|selfgen|PATH] [--init MODEL] [flags]",
		Short: "Train or fine-tune a model, optionally with the misalignment regularizer (L* = CE + alpha*SCE)",
		Long: fmt.Sprintf(`train pretrains a small model from scratch or fine-tunes a loaded one (llama2.c .bin,
GGUF, Hugging Face or lsalign directory), on CPU, with the plain next-token loss or the
paper's regularized objective (METHOD.md §3):

  L* = L_train + alpha * L_misalign

Each step draws --batch sequences of l + l_extra + 1 tokens (l = --ctx, l_extra uniform in
[--extra-min, --extra-max], default [1, l/2]); window A is the first l tokens, window B the
last l; both run in one batch. L_train is the cross-entropy over both windows (--train-on a:
window A only); L_misalign is the SCE between A's and B's next-token distributions at every
overlapping token (--positions last: only the last one, which is the metric with l1 = l,
l2 = l - l_extra). --stop-grad a|b stops its gradient through one window. With --objective
ce the run trains on plain windows of l tokens, or with --pair-data on the same sequences
and windows as ce+misalign (the equal-token-budget baseline; alpha 0 of ce+misalign equals
it bit for bit).

Model: without --init, a Llama-style decoder (RMSNorm, RoPE, SwiGLU) with %d layers, width
%d, %d heads, MLP width %d and the byte-level tokenizer (258 tokens: the 256 bytes, BOS,
EOS), context --ctx, initialized N(0, 0.02) from --seed. --layers, --dim, --heads,
--kv-heads and --hidden change it. With --init the model's own tokenizer reads the data
(--tokenizer replaces it) and --ctx defaults to its context. A --ctx beyond the model's
context extends it; --rope-scaling linear|ntk|dynamic-ntk|yarn --rope-factor S (or abf
with --rope-base) rescales RoPE, with the model's context as the original one.

Data (--data):
  builtin  the built-in corpus, generated on the fly from a fixed seed (no files): short
           sentences in which (1) filler words come mostly from a per-document "cast" of 4
           adjectives, nouns and verbs, so the loss falls as the model sees more of the
           document; (2) facts "K7351." (a one-letter key, four random digits) are repeated
           later word for word, so a repeat's digits are predictable only if the fact is in
           view; (3) some documents state "the pass key is #48213." and ask for it later.
           Fact-to-repeat distances are log-uniform up to 48 sentences (~1 KB). Held out:
           16 documents from a disjoint seed.
  selfgen  documents sampled from the --init model itself (temperature 1, stories joined
           until each document has 8 x ctx tokens; --self-docs of them), saved in
           DIR/selfgen/ and reused by --resume.
  PATH     a text file, or every file under a directory (one document each), tokenized
           with the model's tokenizer; the last --held-out share of each long document is
           held out.

Optimization: AdamW (betas 0.9/0.999, weight decay on 2-D weights), linear warmup then
cosine decay from --lr to --min-lr, global gradient-norm clipping. Every --eval-every steps
(and at the end) it measures on held-out text: val_loss (next-token loss at l), ppl_1x,
ppl_2x, ppl_4x (perplexity at 1, 2 and 4 times l: non-overlapping windows, every token
scored) and val_misalign (SCE, l_train = l, --eval-samples samples).

Output (--out DIR): config.json (every setting, resolved), metrics.jsonl (one JSON object
per step: step, loss, ce, misalign, l_extra, lr, grad_norm, tokens, tokens_per_s,
elapsed_s, plus the evaluation numbers on evaluation steps), checkpoint/ (written
atomically every --save-every steps and at the end: weights, AdamW moments, step, data
generator state), model/ (the final model with its tokenizer, for --init), result.json, and
the --export files: model.gguf, hf/ (safetensors with the tokenizer), model.bin (llama2.c;
a byte-level tokenizer has no llama2.c form, so none is written beside it).

--resume continues DIR's checkpoint with the same weights, optimizer state, data stream and
metrics (metrics.jsonl lines after the checkpoint are dropped): an interrupted run (Ctrl-C,
a kill) resumed with the same settings continues bit for bit. --steps, --save-every,
--eval-every, --export and the learning-rate settings --lr, --min-lr, --warmup and --clip
may change (config.json records them; those not given keep the run's values, and --min-lr
follows a new --lr); the schedule follows the new values, so a finished run resumed to more
--steps differs from one trained to that many steps at once. Anything else (model, data,
objective) must match the checkpoint. Ctrl-C finishes the current step, saves a checkpoint
and exits with status 0.

A NaN or Inf loss, gradient or weight stops the run (status 1). The weights that failed came
from the update before, so it is undone: the checkpoint holds the weights of the last step
whose loss was finite, under that step's number; continue with --resume and a lower --lr or
a longer --warmup. Such a run goes on with the data stream where it stopped, so it matches
no uninterrupted run. An evaluation error also stops the run, after saving the step's
metrics and a checkpoint. Before training, DIR must be writable with room for two
checkpoints and the exports.

--config FILE reads a JSON object with the same keys as config.json (flags given on the
command line override it).`, dm.Layers, dm.Dim, dm.Heads, dm.Hidden),
		Example: `  lsalign train --out runs/base --data builtin --ctx 64 --steps 1500
  lsalign train --out runs/pi --init runs/base/model --ctx 128 --rope-scaling linear --rope-factor 2 \
      --objective ce+misalign --alpha 0.1 --steps 300 --export gguf
  lsalign train --out runs/stories --init stories260K.bin --data selfgen --ctx 1024 \
      --rope-scaling yarn --rope-factor 2 --objective ce+misalign
  lsalign train --out runs/base --steps 1500 --resume   # continues an interrupted run bit for bit`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.resolve(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runTrain(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), cfg, f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.config, "config", "", "JSON file of settings (keys as in DIR/config.json); flags override it")
	fs.StringVar(&f.out, "out", "", "output directory (required)")
	fs.BoolVar(&f.resume, "resume", false,
		"continue the run in --out from its checkpoint (bit for bit when interrupted and resumed with the same settings)")
	fs.BoolVar(&f.json, "json", false, "print result.json's summary as the last line of stdout")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bar or log lines")
	fs.StringVar(&f.export, "export", "", "formats to write at the end, comma-separated: gguf, safetensors, llama2c")
	fs.IntVar(&f.evalSamples, "eval-samples", 256, "misalignment samples per evaluation")
	str := func(p *string, name, value, usage string) { fs.StringVar(p, name, value, usage) }
	bind(f, fs, str, "data", func(c *train.Config) *string { return &c.Data }, "builtin, selfgen (needs --init) or a text file or directory")
	bind(f, fs, str, "init", func(c *train.Config) *string { return &c.Init }, "model to fine-tune (any supported format); none trains from scratch")
	bind(f, fs, str, "tokenizer", func(c *train.Config) *string { return &c.Tokenizer }, "tokenizer file replacing the one --init brings")
	bind(f, fs, fs.IntVar, "ctx", func(c *train.Config) *int { return &c.Ctx }, "training length l in tokens (default: the --init model's context, or 64 from scratch)")
	bind(f, fs, fs.IntVar, "batch", func(c *train.Config) *int { return &c.Batch }, "sequences per step")
	bind(f, fs, fs.IntVar, "steps", func(c *train.Config) *int { return &c.Steps }, "total optimizer steps")
	bind(f, fs, fs.Float64Var, "lr", func(c *train.Config) *float64 { return &c.LR }, "peak learning rate")
	bind(f, fs, fs.Float64Var, "min-lr", func(c *train.Config) *float64 { return &c.MinLR }, "final learning rate of the cosine decay (0: lr/10)")
	bind(f, fs, fs.IntVar, "warmup", func(c *train.Config) *int { return &c.Warmup }, "warmup steps (-1: min(100, steps/10))")
	bind(f, fs, fs.Float64Var, "weight-decay", func(c *train.Config) *float64 { return &c.WeightDecay }, "AdamW weight decay on 2-D weights")
	bind(f, fs, fs.Float64Var, "clip", func(c *train.Config) *float64 { return &c.Clip }, "global gradient-norm limit (0: none)")
	bind(f, fs, str, "objective", func(c *train.Config) *string { return &c.Objective }, "ce or ce+misalign")
	bind(f, fs, fs.Float64Var, "alpha", func(c *train.Config) *float64 { return &c.Alpha }, "weight of L_misalign (ce+misalign)")
	bind(f, fs, fs.IntVar, "extra-min", func(c *train.Config) *int { return &c.ExtraMin }, "smallest l_extra (0: 1)")
	bind(f, fs, fs.IntVar, "extra-max", func(c *train.Config) *int { return &c.ExtraMax }, "largest l_extra, < ctx (0: ctx/2)")
	bind(f, fs, str, "positions", func(c *train.Config) *string { return &c.Positions }, "tokens compared by L_misalign: overlap or last")
	bind(f, fs, str, "train-on", func(c *train.Config) *string { return &c.TrainOn }, "L_train over both windows or window a only")
	bind(f, fs, str, "stop-grad", func(c *train.Config) *string { return &c.StopGrad }, "stop L_misalign's gradient through window a or b")
	bind(f, fs, str, "divergence", func(c *train.Config) *string { return &c.Divergence }, "sce, skl (symmetric KL) or js (Jensen-Shannon)")
	bind(f, fs, fs.BoolVar, "pair-data", func(c *train.Config) *bool { return &c.PairData }, "ce on the same paired sequences as ce+misalign (equal-token baseline)")
	bind(f, fs, fs.IntVar, "eval-every", func(c *train.Config) *int { return &c.EvalEvery }, "steps between evaluations (0: only at the end, -1: never)")
	bind(f, fs, fs.IntVar, "save-every", func(c *train.Config) *int { return &c.SaveEvery }, "steps between checkpoints (0: only at the end)")
	bind(f, fs, fs.Uint64Var, "seed", func(c *train.Config) *uint64 { return &c.Seed }, "seed of the weights and the data stream")
	bind(f, fs, fs.IntVar, "self-docs", func(c *train.Config) *int { return &c.SelfDocs }, "selfgen: documents to sample")
	bind(f, fs, fs.Float64Var, "held-out", func(c *train.Config) *float64 { return &c.HeldOut }, "text data: share of each document held out")
	bind(f, fs, fs.IntVar, "layers", func(c *train.Config) *int { return &c.Model.Layers }, "from scratch: layers")
	bind(f, fs, fs.IntVar, "dim", func(c *train.Config) *int { return &c.Model.Dim }, "from scratch: width")
	bind(f, fs, fs.IntVar, "heads", func(c *train.Config) *int { return &c.Model.Heads }, "from scratch: attention heads")
	bind(f, fs, fs.IntVar, "kv-heads", func(c *train.Config) *int { return &c.Model.KVHeads }, "from scratch: key/value heads")
	bind(f, fs, fs.IntVar, "hidden", func(c *train.Config) *int { return &c.Model.Hidden }, "from scratch: MLP width")
	addRopeFlags(cmd, &f.rope)
	return cmd
}

// resolve builds the run's config: defaults, then --config, then the flags
// given on the command line.
func (f *trainFlags) resolve(cmd *cobra.Command) (train.Config, error) {
	if f.out == "" {
		return train.Config{}, usagef("train needs --out DIR")
	}
	cfg := f.cfg
	var fileKeys map[string]json.RawMessage
	f.given = func(key string) bool {
		_, inFile := fileKeys[key]
		return inFile || cmd.Flags().Changed(strings.ReplaceAll(key, "_", "-"))
	}
	if f.config != "" {
		b, err := os.ReadFile(f.config)
		if err != nil {
			return cfg, err
		}
		cfg = train.DefaultConfig()
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			return cfg, usagef("--config %s: %v", f.config, err)
		}
		json.NewDecoder(bytes.NewReader(b)).Decode(&fileKeys) // the keys given; it decoded as an object above
		cmd.Flags().Visit(func(fl *pflag.Flag) {
			if cp := f.copyOnConfig[fl.Name]; cp != nil {
				cp(&cfg)
			}
		})
	}
	if cmd.Flags().Changed("export") {
		cfg.Export = nil
		for _, e := range strings.Split(f.export, ",") {
			if e = strings.TrimSpace(e); e != "" {
				cfg.Export = append(cfg.Export, e)
			}
		}
	}
	s, err := trainRopeScaling(f.rope, cfg.RopeScaling)
	if err != nil {
		return cfg, err
	}
	cfg.RopeScaling = s
	if err := cfg.Validate(); err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

// trainRopeScaling reads the --rope-* flags as ropeFlags.apply does (the
// same resolve), but before any model is loaded: the original context is
// left to the run (the model's), and --rope-orig-ctx alone has no model
// type to fall back on. "none" is the zero scaling. Without any flag it
// returns def.
func trainRopeScaling(r ropeFlags, def kernels.RopeScaling) (kernels.RopeScaling, error) {
	if !r.given() {
		return def, nil
	}
	s, err := r.resolve("", 0)
	if err != nil || s.Type == "none" {
		return kernels.RopeScaling{}, err
	}
	return s, nil
}

// trainSummary is the --json line.
type trainSummary struct {
	Out         string             `json:"out"`
	Steps       int                `json:"steps"`
	Interrupted bool               `json:"interrupted"`
	Loss        float64            `json:"loss"`
	Eval        map[string]float64 `json:"eval,omitempty"`
	Tokens      int64              `json:"tokens"`
	Seconds     float64            `json:"seconds"`
	Exports     []string           `json:"exports,omitempty"`
}

func runTrain(ctx context.Context, stdout, stderr io.Writer, cfg train.Config, f *trainFlags) error {
	hooks := train.Hooks{
		Evaluate: experiment.LengthEvaluator(experiment.LengthEvalOptions{MisalignSamples: f.evalSamples, Seed: cfg.Seed}),
		SelfGen:  sampleDocuments,
	}
	if !f.quiet {
		hooks.Log = func(msg string) { fmt.Fprintln(stderr, "lsalign train:", msg) }
		hooks.Progress = trainProgress(stderr)
	}
	res, err := train.Run(ctx, cfg, train.Options{Out: f.out, Resume: f.resume, Given: f.given, Hooks: hooks})
	var bad *train.ConfigError
	if errors.As(err, &bad) { // contradictions that the loaded model or the checkpoint revealed
		return usageError{err}
	}
	if err != nil {
		return err
	}
	fin := res.Final
	switch {
	case len(res.Metrics) == 0 && !res.Interrupted:
		fmt.Fprintf(stdout, "%s is already at step %d of %d: nothing to train\n", f.out, res.Steps, res.Config.Steps)
	case res.Interrupted:
		fmt.Fprintf(stdout, "interrupted at step %d of %d; checkpoint saved in %s/%s; continue with --resume\n",
			res.Steps, res.Config.Steps, f.out, train.CheckpointDir)
	default:
		fmt.Fprintf(stdout, "trained %d steps (%d tokens, %s): loss %.4f", res.Steps, res.Tokens,
			time.Duration(res.Seconds*float64(time.Second)).Round(time.Second), fin.Loss)
		for _, k := range []string{"val_loss", "ppl_1x", "ppl_2x", "ppl_4x", "val_misalign"} {
			if v, ok := fin.Eval[k]; ok {
				fmt.Fprintf(stdout, ", %s %.4g", k, v)
			}
		}
		fmt.Fprintf(stdout, "\nwrote %s\n", strings.Join(append([]string{f.out + "/" + train.MetricsFile,
			f.out + "/" + train.CheckpointDir, f.out + "/" + train.ModelDir}, res.Exports...), ", "))
	}
	if f.json {
		return json.NewEncoder(stdout).Encode(trainSummary{Out: f.out, Steps: res.Steps, Interrupted: res.Interrupted,
			Loss: fin.Loss, Eval: fin.Eval, Tokens: res.Tokens, Seconds: res.Seconds, Exports: res.Exports})
	}
	return nil
}

// trainProgress draws a progress bar with loss, tokens/s and ETA when
// stderr is a terminal, and otherwise prints a line every tenth of the run.
func trainProgress(stderr io.Writer) func(train.Progress) {
	if isTerminal(stderr) {
		var bar *progressbar.ProgressBar
		return func(p train.Progress) {
			if bar == nil {
				bar = progressbar.NewOptions(p.Steps, progressbar.OptionSetWriter(stderr),
					progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true),
					progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond),
					progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }))
			}
			bar.Describe(fmt.Sprintf("loss %.4f  %.0f tok/s", p.Loss, p.TokensPerS))
			bar.Set(p.Step)
		}
	}
	return func(p train.Progress) {
		if every := max(1, p.Steps/10); p.Step%every == 0 || p.Step == p.Steps {
			fmt.Fprintf(stderr, "step %d/%d  loss %.4f  %.0f tok/s  eta %s\n", p.Step, p.Steps, p.Loss,
				p.TokensPerS, p.ETA.Round(time.Second))
		}
	}
}

// sampleDocuments is train's selfgen sampler: stories drawn from m at
// temperature 1, each from BOS until EOS/BOS or the model's context, joined
// with newlines until a document has tokens tokens.
func sampleDocuments(m *model.Model, tok *tokenizer.Tokenizer, n, tokens int, seed uint64) ([]string, error) {
	docs := make([]string, n)
	var stop []int32
	for _, id := range []int32{tok.EOS(), tok.BOS()} {
		if id >= 0 {
			stop = append(stop, id)
		}
	}
	start := tok.BOS()
	if start < 0 {
		return nil, fmt.Errorf("selfgen: the tokenizer has no BOS token to start documents from")
	}
	draw, empty := uint64(0), 0
	for i := range docs {
		var b strings.Builder
		for have := 0; have < tokens; {
			res, err := infer.Generate(m, []int32{start}, infer.Options{Steps: m.Config.MaxSeq - 1,
				Sampling: infer.Sampling{Temperature: 1}, Seed: seed<<20 + draw, Stop: stop})
			draw++
			if err != nil {
				return nil, err
			}
			if len(res.Tokens) == 0 {
				if empty++; empty > 100 {
					return nil, fmt.Errorf("selfgen: the model ended 100 samples at once; it cannot write documents")
				}
				continue
			}
			b.WriteString(tok.Decode(res.Tokens))
			b.WriteString("\n")
			have += len(res.Tokens) + 1
		}
		docs[i] = b.String()
	}
	return docs, nil
}
