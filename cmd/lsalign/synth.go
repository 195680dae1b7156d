package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/lsalign/lsalign/experiment"
	"github.com/lsalign/lsalign/synth"
)

type synthFlags struct {
	out                    string
	quick, json            bool
	tasks, pes, reparams   []string
	seeds, steps, batch    int
	trainLen, testLen      string
	evalSamples, workers   int
	layers, dim, heads, hd int
	lr                     float64
}

func newSynthCmd() *cobra.Command {
	var f synthFlags
	d := experiment.DefaultSynthOptions()
	q := experiment.QuickSynthOptions()
	cmd := &cobra.Command{
		Use:   "synth --out DIR [--quick] [--tasks ...] [--pe ...] [--reparam ...] [--seeds N] [--steps N]",
		Short: "Re-run the paper's synthetic length-generalization studies (train on lengths 1-10, test to 50)",
		Long: fmt.Sprintf(`synth re-runs the synthetic case studies of "Long-Short Alignment" (METHOD.md §1).

Small causal transformers with a scalar regression head are trained with MSE on random
sequences whose lengths are uniform in [1, 10], then tested at every length 1..50. The
paper's argument: a target whose range stays fixed as the input grows (the mean of the
bits) generalizes to longer inputs; a target whose range moves with the length (the
length itself) does not, whatever the positional encoding; and training on f(length)
for an invertible f (sqrt, log, 1/sqrt), predicting f^-1(output), reduces the error.

Every (task, positional encoding, reparameterization, seed) is trained from scratch,
several at once (one per core), and evaluated on %d held-out samples per length.

Tasks (--tasks):
%s
Positional encodings (--pe): nope, rope, alibi, learned (a table with a row for every
test length; rows beyond the training lengths stay untrained), sinusoidal.
Reparameterizations (--reparam), applied to the length task:
%s
Defaults: %s.

--quick: tasks %s, pe %s, every reparameterization, %d seed, %d steps (under 2 minutes).

Files written to --out:
  results.json         a list of {"task","pe","reparam","seed","length","mse","mse_fspace"},
                       one per combination and test length
  results.csv          the same rows
  summary.md           the paper's claims (a), (b), (c) with "holds"/"does not hold" and the
                       numbers that decide them; per combination the MSE on lengths 1-10,
                       11-50 and at 50 as "mean [min, max]" over seeds; settings; definitions
  loss_vs_length.png   MSE against test length, one panel per task (and reparameterization),
  loss_vs_length.svg   one line per encoding (mean over seeds, band = min..max), log y,
                       training lengths shaded
  reparam_vs_length.*  the length task's MSE in length space, one panel per encoding, one
                       line per reparameterization (when more than one was run)
  training.json        per combination: parameters, final training MSE (f-space), seconds
  config.json          every setting, the model config, the git commit when known

mse is the error in the task's own units, mean (f^-1(y) - x)^2 ("length space" for the
length task); mse_fspace is the error where the model was trained, mean (y - f(x))^2. For
the identity they are the same.

Results do not depend on the number of cores: each combination is seeded from its own
task, encoding, reparameterization and seed.`,
			d.EvalSamples, synthTaskHelp(), synthReparamHelp(), synthDefaultsLine(d),
			strings.Join(q.Tasks, ","), strings.Join(q.PEs, ","), q.Seeds, q.Steps),
		Example: `  lsalign synth --out runs/synth                      # the full study: 135 models, 5-6 minutes on 2 idle cores
  lsalign synth --quick --out /tmp/synth               # a smoke run that still decides every claim
  lsalign synth --out runs/mean --tasks mean,max --pe nope,rope --seeds 5
  lsalign synth --out runs/long --tasks length --train-len 1-20 --steps 3000
  lsalign synth --out runs/big --tasks length --layers 4 --dim 128 --heads 8`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runSynth(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), f.out, f.json, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "", "directory for the results (created if needed; required)")
	fl.BoolVar(&f.quick, "quick", false, "small preset: tasks mean,length, pe nope,rope, 1 seed, fewer steps")
	fl.StringSliceVar(&f.tasks, "tasks", d.Tasks, "tasks to run")
	fl.StringSliceVar(&f.pes, "pe", d.PEs, "positional encodings")
	fl.StringSliceVar(&f.reparams, "reparam", d.Reparams, "reparameterizations of the length task")
	fl.IntVar(&f.seeds, "seeds", d.Seeds, "seeds per combination")
	fl.IntVar(&f.steps, "steps", d.Steps, "training steps per combination")
	fl.IntVar(&f.batch, "batch", d.Batch, "sequences per training step")
	fl.Float64Var(&f.lr, "lr", d.LR, "peak AdamW learning rate (warmup, then cosine decay to lr/100)")
	fl.StringVar(&f.trainLen, "train-len", synthLengthsFlag(d.TrainLengths), "training lengths MIN-MAX, drawn uniformly")
	fl.StringVar(&f.testLen, "test-len", synthLengthsFlag(d.TestLengths), "test lengths MIN-MAX, each evaluated")
	fl.IntVar(&f.evalSamples, "eval-samples", d.EvalSamples, "held-out samples per test length")
	fl.IntVar(&f.layers, "layers", d.Model.Layers, "transformer layers")
	fl.IntVar(&f.dim, "dim", d.Model.Dim, "model width")
	fl.IntVar(&f.heads, "heads", d.Model.Heads, "attention heads")
	fl.IntVar(&f.hd, "hidden", d.Model.Hidden, "MLP hidden width (SwiGLU)")
	fl.IntVar(&f.workers, "workers", 0, "combinations trained at once (0: one per core); never changes results")
	fl.BoolVar(&f.json, "json", false, "print a JSON summary (claims, files) as the last line of stdout")
	return cmd
}

// options builds the study's options: the default or quick preset, then
// every flag the user set explicitly.
func (f *synthFlags) options(cmd *cobra.Command) (experiment.SynthOptions, error) {
	if f.out == "" {
		return experiment.SynthOptions{}, usagef("synth needs --out DIR")
	}
	o := experiment.DefaultSynthOptions()
	if f.quick {
		o = experiment.QuickSynthOptions()
	}
	set := cmd.Flags().Changed
	if set("tasks") {
		o.Tasks = f.tasks
	}
	if set("pe") {
		o.PEs = f.pes
	}
	if set("reparam") {
		o.Reparams = f.reparams
	}
	ints := []struct {
		flag string
		dst  *int
		v    int
	}{{"seeds", &o.Seeds, f.seeds}, {"steps", &o.Steps, f.steps}, {"batch", &o.Batch, f.batch},
		{"eval-samples", &o.EvalSamples, f.evalSamples}, {"layers", &o.Model.Layers, f.layers},
		{"dim", &o.Model.Dim, f.dim}, {"heads", &o.Model.Heads, f.heads}, {"hidden", &o.Model.Hidden, f.hd},
		{"workers", &o.Workers, f.workers}}
	for _, i := range ints {
		if set(i.flag) {
			*i.dst = i.v
		}
	}
	if set("steps") {
		o.Warmup = min(o.Warmup, o.Steps/10)
	}
	if set("lr") {
		o.LR, o.MinLR = f.lr, f.lr/100
	}
	var err error
	if o.TrainLengths, err = parseSynthLengths("--train-len", f.trainLen); err != nil {
		return o, err
	}
	if o.TestLengths, err = parseSynthLengths("--test-len", f.testLen); err != nil {
		return o, err
	}
	if err := o.Validate(); err != nil {
		return o, usageError{err}
	}
	return o, nil
}

func parseSynthLengths(flag, s string) (synth.Lengths, error) {
	lo, hi, ok := strings.Cut(s, "-")
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	l := synth.Lengths{Min: a, Max: b}
	if !ok || err1 != nil || err2 != nil || l.Validate() != nil {
		return l, usagef("%s %q: want MIN-MAX with 1 <= MIN <= MAX, e.g. 1-10", flag, s)
	}
	return l, nil
}

func synthLengthsFlag(l synth.Lengths) string { return fmt.Sprintf("%d-%d", l.Min, l.Max) }

func synthTaskHelp() string {
	var b strings.Builder
	for _, t := range synth.Tasks() {
		fmt.Fprintf(&b, "  %-8s %s\n", t.Name, t.About)
	}
	return b.String()
}

func synthReparamHelp() string {
	var b strings.Builder
	for _, p := range synth.Reparams() {
		fmt.Fprintf(&b, "  %-8s %s\n", p.Name, p.About)
	}
	fmt.Fprintf(&b, "f^-1 clamps a prediction into f's image and caps the result at %g, so every error is finite.", synth.InvCap)
	return b.String()
}

func synthDefaultsLine(o experiment.SynthOptions) string {
	m := o.Model
	return fmt.Sprintf("%d layers, dim %d, %d heads, SwiGLU hidden %d, RMSNorm;\nAdamW lr %g "+
		"(%d warmup steps, cosine to %g), weight decay %g, clip %g; %d steps of %d sequences; seeds %s",
		m.Layers, m.Dim, m.Heads, m.Hidden, o.LR, o.Warmup, o.MinLR, o.WeightDecay, o.Clip, o.Steps, o.Batch,
		experiment.SeedRange(o.Seeds))
}

// studySummary is the --json summary line of synth and repro: claim ID ->
// verdict, and the files written to out.
type studySummary struct {
	Out     string            `json:"out"`
	Seconds float64           `json:"seconds"`
	Claims  map[string]string `json:"claims"`
	Files   []string          `json:"files"`
}

func runSynth(ctx context.Context, stdout, stderr io.Writer, out string, asJSON bool, o experiment.SynthOptions) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	combos := o.Combos()
	fmt.Fprintf(stdout, "# lsalign synth: %d combinations (tasks %s; pe %s; reparam %s; seeds %s), train lengths %v, test lengths %v\n",
		len(combos), strings.Join(o.Tasks, ","), strings.Join(o.PEs, ","), strings.Join(o.Reparams, ","),
		experiment.SeedRange(o.Seeds), o.TrainLengths, o.TestLengths)
	fmt.Fprintf(stdout, "# model and training: %s; %d held-out samples per length\n",
		strings.ReplaceAll(synthDefaultsLine(o), "\n", " "), o.EvalSamples)
	progress := newSynthProgress(stderr, len(combos))
	res, err := experiment.RunSynth(ctx, o, progress)
	if err != nil {
		return err
	}
	files, err := res.WriteOutputs(out)
	if err != nil {
		return err
	}
	claims := map[string]string{}
	for _, c := range res.Claims() {
		claims[c.ID] = c.Verdict
		fmt.Fprintf(stdout, "(%s) %s: %s\n", c.ID, c.Statement, c.Verdict)
	}
	fmt.Fprintf(stdout, "# %d combinations in %s; wrote %s to %s\n", len(combos),
		time.Duration(res.Seconds*float64(time.Second)).Round(time.Second), strings.Join(files, ", "), out)
	if asJSON {
		return json.NewEncoder(stdout).Encode(studySummary{Out: out, Seconds: res.Seconds, Claims: claims, Files: files})
	}
	return nil
}

// newSynthProgress shows a progress bar with an ETA when stderr is a
// terminal, and otherwise one line per finished combination.
func newSynthProgress(stderr io.Writer, total int) experiment.SynthProgress {
	if isTerminal(stderr) {
		bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("training"), progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true), progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }))
		bar.RenderBlank()
		return func(done, total int, t experiment.SynthTraining) {
			bar.Describe(fmt.Sprintf("%-32s", t.SynthCombo.String())) // fixed width keeps the bar still
			bar.Set(done)
		}
	}
	return func(done, total int, t experiment.SynthTraining) {
		fmt.Fprintf(stderr, "[%d/%d] %v: train mse %.3g, %.1fs\n", done, total, t.SynthCombo, t.FinalLoss, t.Seconds)
	}
}
