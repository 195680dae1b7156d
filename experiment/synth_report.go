package experiment

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lsalign/lsalign/report"
	"github.com/lsalign/lsalign/synth"
)

// This file renders what the synthetic study writes for people: summary.md
// and the figures.

// Summary renders summary.md: the claims with their numbers first, then
// the per-combination table, the settings and the definitions.
func (r *SynthResult) Summary() string {
	o := r.Options
	in, beyond := o.lengthWindows()
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Synthetic length-generalization study\n\n")
	p("%d models trained from scratch (tasks %s; encodings %s; %d seed(s) each), trained on lengths %d-%d "+
		"and tested at every length %d-%d on %d held-out samples per length. Wall time %.0f s.\n\n",
		len(r.Training), strings.Join(o.Tasks, ", "), strings.Join(o.PEs, ", "), o.Seeds,
		o.TrainLengths.Min, o.TrainLengths.Max, o.TestLengths.Min, o.TestLengths.Max, o.EvalSamples, r.Seconds)

	p("## The paper's claims\n\n")
	for _, c := range r.Claims() {
		p("**(%s) %s: %s.**\n\n", c.ID, c.Statement, c.Verdict)
		for _, e := range c.Evidence {
			p("- %s\n", e)
		}
		p("- decided on: %s\n\n", c.Decision)
		if len(c.Table) > 1 {
			t := report.Table{Header: c.Table[0], Rows: c.Table[1:], Align: synthRightAligned(len(c.Table[0]))}
			p("%s\n", t.Markdown())
		}
		if c.Verdict == ClaimDoesNotHold {
			p("What to look at: %s.\n\n", c.Note)
		}
	}

	p("## Results per combination\n\n")
	p("![MSE against test length](loss_vs_length.png)\n\n")
	if synthHasReparamFigure(o) {
		p("![Length task by reparameterization](reparam_vs_length.png)\n\n")
	}
	p("MSE in the task's own units (length space for the length task), as mean [min, max] over seeds. ")
	p("The training MSE is in f-space, averaged over the last tenth of the steps.\n\n")
	win := func(w synth.Lengths) string { return fmt.Sprintf("%d-%d", w.Min, w.Max) }
	t := report.Table{Header: []string{"task", "reparam", "pe", "MSE " + win(in), "MSE " + win(beyond),
		fmt.Sprintf("MSE at %d", o.TestLengths.Max), "train MSE"}, Align: []report.Align{0, 0, 0, 1, 1, 1, 1}}
	var rp report.Table
	rp.Header = []string{"reparam", "pe", "f-space MSE " + win(in), "f-space MSE " + win(beyond),
		fmt.Sprintf("f-space MSE at %d", o.TestLengths.Max)}
	rp.Align = []report.Align{0, 0, 1, 1, 1}
	for _, g := range r.Groups() {
		t.AddRow(g.Task, g.Reparam, g.PE, report.Spread(g.InRange), report.Spread(g.Beyond),
			report.Spread(g.AtMax), report.Spread(g.TrainLoss))
		if g.Reparam != synth.Identity {
			rp.AddRow(g.Reparam, g.PE, report.Spread(g.InRangeF), report.Spread(g.BeyondF), report.Spread(g.AtMaxF))
		}
	}
	p("%s\n", t.Markdown())
	if len(rp.Rows) > 0 {
		p("The reparameterized runs in the space they were trained in (for reference; the claims use length space):\n\n%s\n", rp.Markdown())
	}

	p("## Settings\n\n")
	m := o.Model
	settings := report.Table{Header: []string{"setting", "value"}}
	for _, kv := range [][2]string{
		{"model", fmt.Sprintf("Llama-style decoder: %d layers, dim %d, %d heads, SwiGLU hidden %d, RMSNorm, no biases, scalar head on the last position", m.Layers, m.Dim, m.Heads, m.Hidden)},
		{"inputs", "tokens i.i.d. uniform over the task's alphabet; lengths uniform over the training range"},
		{"training", fmt.Sprintf("%d AdamW steps of %d sequences, MSE on f(target)", o.Steps, o.Batch)},
		{"learning rate", fmt.Sprintf("%g, %d warmup steps, cosine decay to %g", o.LR, o.Warmup, o.MinLR)},
		{"weight decay / clip", fmt.Sprintf("%g on matrices / global norm %g", o.WeightDecay, o.Clip)},
		{"evaluation", fmt.Sprintf("%d held-out samples per length, lengths %d-%d", o.EvalSamples, o.TestLengths.Min, o.TestLengths.Max)},
		{"seeds", fmt.Sprintf("%s; each combination seeded from (task, pe, reparam, seed) alone", SeedRange(o.Seeds))},
	} {
		settings.AddRow(kv[0], kv[1])
	}
	p("%s\nEvery setting is in config.json.\n\n", settings.Markdown())

	p("## Definitions\n\n")
	p("- **mse**: %s.\n- **mse_fspace**: %s.\n- **evaluation**: %s.\n", DefMSE, DefMSEFSpace, DefEvaluation)
	p("- **f^-1 outside f's image**: %s.\n", "predictions are clamped into f's image before inverting and the result is capped at 1e6 (a non-positive inv-sqrt output reads as 1e6)")
	p("- **MSE %s, %s, at %d**: the per-length MSE averaged over those lengths, for each seed; tables show the mean over seeds and [min, max].\n",
		win(in), win(beyond), o.TestLengths.Max)
	p("- **answer %d** (the dashed reference in the length plots): the length-space MSE of a model that answers %d for every longer input, (l - %d)^2; on lengths %s it averages %.4g.\n\n",
		o.TrainLengths.Max, o.TrainLengths.Max, o.TrainLengths.Max, win(beyond), o.SaturationMSE())

	p("## Files\n\n")
	p("results.json and results.csv hold the MSE of every combination at every test length; training.json how each model trained; ")
	p("config.json every setting; loss_vs_length.png/.svg plots MSE against test length per task, one line per encoding")
	if synthHasReparamFigure(o) {
		p("; reparam_vs_length.png/.svg compares the length task's reparameterizations per encoding")
	}
	p(".\n")
	return b.String()
}

// synthHasReparamFigure says whether reparam_vs_length is drawn: the
// length task ran with more than one reparameterization.
func synthHasReparamFigure(o SynthOptions) bool {
	return len(o.Reparams) > 1 && slices.Contains(o.Tasks, "length")
}

// SeedRange names seeds 1..n: "1" or "1-n".
func SeedRange(n int) string {
	if n == 1 {
		return "1"
	}
	return fmt.Sprintf("1-%d", n)
}

func synthRightAligned(n int) []report.Align {
	a := make([]report.Align, n)
	for i := 1; i < n; i++ {
		a[i] = report.Right
	}
	return a
}

// Figures builds loss_vs_length (a panel per task and
// reparameterization, a line per encoding) and, when the length task ran
// with several reparameterizations, reparam_vs_length (a panel per
// encoding, a line per reparameterization).
func (r *SynthResult) Figures() []NamedFigure {
	o := r.Options
	shade := []report.Shade{{From: float64(o.TrainLengths.Min), To: float64(o.TrainLengths.Max), Label: "training lengths"}}
	xticks := synthLengthTicks(o.TestLengths.Min, o.TestLengths.Max, o.TrainLengths.Max)
	var panels []report.Panel
	for _, v := range r.Variants() {
		title := v.Task
		if v.Reparam != synth.Identity {
			title += " (trained on " + v.Reparam + ")"
		}
		lp := report.LinePanel{Title: title, XLabel: "test length", YLabel: "MSE", LogY: true, Shades: shade, XTicks: xticks}
		if v.Task == "length" {
			lp.YLabel = "MSE (length space)"
			lp.References = synthSaturation(o)
		}
		for _, pe := range o.PEs {
			x, y := r.SeedCurves(v.Task, pe, v.Reparam, false)
			lp.Series = append(lp.Series, report.Series{Label: pe, X: x, Y: y})
		}
		panels = append(panels, lp)
	}
	seeds := "mean over 1 seed"
	if o.Seeds > 1 {
		seeds = fmt.Sprintf("mean over %d seeds, band min-max", o.Seeds)
	}
	figs := []NamedFigure{{Name: "loss_vs_length", Figure: report.Figure{Panels: panels,
		Title: "MSE vs test length, one line per positional encoding (" + seeds + ")"}}}

	if synthHasReparamFigure(o) {
		panels = nil
		for _, pe := range o.PEs {
			lp := report.LinePanel{Title: "length task, pe " + pe, XLabel: "test length", YLabel: "MSE (length space)",
				LogY: true, Shades: shade, XTicks: xticks, References: synthSaturation(o)}
			for _, rp := range o.Reparams {
				x, y := r.SeedCurves("length", pe, rp, false)
				lp.Series = append(lp.Series, report.Series{Label: rp, X: x, Y: y})
			}
			panels = append(panels, lp)
		}
		figs = append(figs, NamedFigure{Name: "reparam_vs_length", Figure: report.Figure{Panels: panels,
			Title: "Length task by target reparameterization, MSE in length space (" + seeds + ")"}})
	}
	return figs
}

// synthLengthTicks labels the first and last test lengths, the end of the
// training range and round lengths in between.
func synthLengthTicks(lo, hi, trainMax int) []float64 {
	step := 10
	for (hi-lo)/step > 6 {
		step *= 2
	}
	ticks := []float64{float64(lo)}
	for v := step; v < hi; v += step {
		if v > lo {
			ticks = append(ticks, float64(v))
		}
	}
	ticks = append(ticks, float64(hi))
	if trainMax > lo && trainMax < hi && !slices.Contains(ticks, float64(trainMax)) {
		ticks = append(ticks, float64(trainMax))
	}
	return ticks
}

// synthSaturation is the reference curve (l - trainMax)^2 beyond the
// training range: the error of answering the longest training length.
func synthSaturation(o SynthOptions) []report.Series {
	ref := report.Series{Label: fmt.Sprintf("answer %d", o.TrainLengths.Max)}
	for l := max(o.TrainLengths.Max+1, o.TestLengths.Min); l <= o.TestLengths.Max; l++ {
		d := float64(l - o.TrainLengths.Max)
		ref.X, ref.Y = append(ref.X, float64(l)), append(ref.Y, []float64{d * d})
	}
	if len(ref.X) == 0 {
		return nil
	}
	return []report.Series{ref}
}
