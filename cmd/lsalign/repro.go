package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/lsalign/lsalign/experiment"
)

type reproFlags struct {
	out         string
	quick, tiny bool
	json        bool
	seeds       int
}

func newReproCmd() *cobra.Command {
	var f reproFlags
	d, q := experiment.DefaultReproOptions(), experiment.QuickReproOptions()
	cmd := &cobra.Command{
		Use:   "repro [--out DIR] [--quick]",
		Short: "Re-run the paper's argument end to end at small scale and write a report with verdicts",
		Long: fmt.Sprintf(`repro re-runs the argument of "Long-Short Alignment" at small scale, on the CPU, with
built-in data only (no downloads), and ends in a verdict for each claim:

 (i)   the synthetic length-generalization study (as 'lsalign synth --quick');
 (ii)  a Llama-style byte-level model (%d layers, width %d) pretrained at context L = %d on
       the builtin corpus ('lsalign train --help' describes it), for each of %d seeds;
       then fine-tuned to 2L with RoPE scalings %s (factor 2) for alpha in %v and l_extra
       ranges [1, L'/2] ("half") and [1, L'-1] ("full", the paper's [1, L'] capped so the
       two windows overlap), L' = 2L, %d steps of %d pairs each. Every variant of a seed
       and range trains on the same sequences (alpha 0 is plain cross-entropy on both
       windows): an equal token budget. Each model is evaluated on held-out documents:
       perplexity at L, 2L and 4L (non-overlapping windows, every token scored),
       misalignment (SCE, l_train = 2L, %d samples) and passkey accuracy at L, 2L, 4L;
 (iii) correlations over the fine-tuned runs: misalignment and training loss against the
       long-context score (held-out loss at 4L), Pearson and Spearman with bootstrap CIs;
 (iv)  the claims, each with its numbers and 95%% interval:
         alpha 0.1 improves long-length perplexity over the baseline;
         alpha 1.0 hurts it;
         l_extra in [1, l/2] beats [1, l];
         misalignment correlates with long-context performance more than training loss.
       Paired differences use Student's t over the pairs; the correlation claim a paired
       bootstrap of |r_misalign| - |r_loss|. "holds" / "does not hold" when the interval
       is on one side of zero, "inconclusive (CI overlaps)" otherwise.

The full run takes about 12 minutes on 2 idle cores. --quick (about 1 minute) runs a smaller
synthetic study, a smaller model (width %d), %d pretraining and %d fine-tuning steps, and
alphas %v: a smoke run whose verdicts follow the same rules but rest on little training.

Files written to --out:
  report.md          verdicts, tables and figures, settings, definitions
  results.json       options, claims, correlations, every run's numbers
  ppl_vs_length.png/.svg, correlation.png/.svg
  synth/             step (i): the files of 'lsalign synth'
  runs/              pretraining runs (checkpoints, metrics; a second repro into the same
                     directory reuses them) and each fine-tune's metrics (ID.jsonl)`,
			d.Model.Layers, d.Model.Dim, d.L, d.Seeds, strings.Join(d.Scalings, ", "), d.Alphas,
			d.Finetune.Steps, d.Finetune.Batch, d.MisalignSamples,
			q.Model.Dim, q.Pretrain.Steps, q.Finetune.Steps, q.Alphas),
		Example: `  lsalign repro                             # the full study into runs/repro, about 12 minutes
  lsalign repro --quick --out /tmp/repro    # every step in about 1 minute`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.out == "" {
				return usagef("repro needs an output directory (--out DIR)")
			}
			o := experiment.DefaultReproOptions()
			switch {
			case f.tiny:
				o = experiment.TinyReproOptions()
			case f.quick:
				o = experiment.QuickReproOptions()
			}
			if cmd.Flags().Changed("seeds") {
				o.Seeds = f.seeds
			}
			if err := o.Validate(); err != nil {
				return usageError{err}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runRepro(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), f, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", filepath.Join("runs", "repro"), "directory for the report and results")
	fl.BoolVar(&f.quick, "quick", false, "small preset: about 1 minute")
	fl.BoolVar(&f.tiny, "tiny", false, "test preset: seconds, meaningless numbers")
	fl.MarkHidden("tiny")
	fl.IntVar(&f.seeds, "seeds", d.Seeds, "seeds (at least 2)")
	fl.BoolVar(&f.json, "json", false, "print a JSON summary (verdicts, files) as the last line of stdout")
	return cmd
}

func runRepro(ctx context.Context, stdout, stderr io.Writer, f reproFlags, o experiment.ReproOptions) error {
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# lsalign repro: L=%d, %d seeds, %d fine-tuned variants per seed, scalings %s\n",
		o.L, o.Seeds, len(o.Variants()), strings.Join(o.Scalings, ","))
	res, err := experiment.RunRepro(ctx, o, f.out, reproProgress(stderr))
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted; run the same command again to continue (finished pretraining in %s is reused)",
			filepath.Join(f.out, experiment.ReproRunsDir))
	}
	if err != nil {
		return err
	}
	files, err := res.WriteOutputs(f.out)
	if err != nil {
		return err
	}
	claims := map[string]string{}
	for _, c := range res.Claims() {
		claims[c.ID] = c.Verdict
		fmt.Fprintf(stdout, "%s: %s\n", c.Statement, c.Verdict)
	}
	fmt.Fprintf(stdout, "# done in %s; wrote %s to %s\n", time.Duration(res.Seconds*float64(time.Second)).Round(time.Second),
		strings.Join(files, ", "), f.out)
	if f.json {
		return json.NewEncoder(stdout).Encode(studySummary{Out: f.out, Seconds: res.Seconds, Claims: claims, Files: files})
	}
	return nil
}

// reproProgress shows a bar with an ETA on a terminal, otherwise a line
// per finished stage.
func reproProgress(stderr io.Writer) experiment.ReproProgress {
	t0 := time.Now()
	if isTerminal(stderr) {
		var bar *progressbar.ProgressBar
		return func(done, total int, stage string) {
			if bar == nil {
				bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(stderr), progressbar.OptionShowCount(),
					progressbar.OptionSetPredictTime(true), progressbar.OptionSetWidth(30),
					progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }))
			}
			bar.Describe(stage)
			bar.Set(done)
		}
	}
	return func(done, total int, stage string) {
		fmt.Fprintf(stderr, "[%d/%d] %s (%s)\n", done, total, stage, time.Since(t0).Round(time.Second))
	}
}
