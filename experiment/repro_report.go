package experiment

import (
	"fmt"
	"math"
	"strings"

	"github.com/lsalign/lsalign/eval"
	"github.com/lsalign/lsalign/report"
)

// reproDefinitions explain every number of the report and results.json.
func reproDefinitions() map[string]string {
	return map[string]string{
		"L":              "the pretraining context in tokens (bytes); fine-tuning runs at L' = 2L",
		"nll, ppl":       "held-out next-token loss (nats) and perplexity exp(nll) at L, 2L and 4L: non-overlapping windows of that length over the builtin corpus's held-out documents, every prediction scored",
		"misalign":       "Long-Short Misalignment: mean SCE between the next-token distributions of two suffixes of lengths l1, l2 ~ U[L, 2L] ending at the same token (l_train = 2L), with its standard error and bootstrap interval",
		"passkey":        "share of passkey probes (the builtin corpus's format: filler, \"the pass key is #DDDDD.\" at a depth, \"so the pass key is #\") answered exactly by greedy decoding, at prompt lengths L, 2L, 4L",
		"train_loss":     "L_train (cross-entropy over both windows) averaged over the last tenth of the fine-tuning steps",
		"train_misalign": "L_misalign during fine-tuning, averaged likewise (0 for alpha 0)",
		"score":          "the long-context score of the claims: nll at 4L (lower is better)",
		"baseline":       "alpha 0: plain cross-entropy on both windows of the same sequences the regularized runs see",
	}
}

// variantLabel names a variant in tables and legends.
func variantLabel(v ReproVariant) string {
	return fmt.Sprintf("%s, α=%g, l_extra %s", v.Scaling, v.Alpha, rangeLabel(v.Range))
}

func rangeLabel(rng string) string {
	if rng == RangeFull {
		return "[1, L'-1]"
	}
	return "[1, L'/2]"
}

// groupRuns collects a value of every seed's run of each variant, in the
// order of Options.Variants.
func (r *ReproResult) groupRuns(value func(ReproRun) float64) [][]float64 {
	vs := r.Options.Variants()
	out := make([][]float64, len(vs))
	for _, run := range r.Runs {
		for i, v := range vs {
			if run.ReproVariant == v {
				out[i] = append(out[i], value(run))
			}
		}
	}
	return out
}

// Report renders report.md: the verdicts with their numbers, the tables of
// every step, the settings and the definitions.
func (r *ReproResult) Report() string {
	o := r.Options
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Long-Short Alignment at small scale\n\n")
	p("A byte-level Llama-style model pretrained at L = %d tokens on the builtin corpus, fine-tuned to 2L = %d with "+
		"RoPE scalings %s, for alpha in %v and two l_extra ranges, %d seeds each: %d fine-tuned runs, each evaluated on "+
		"held-out text. Wall time %.0f s. Numbers are for this scale and data; they test whether the paper's claims "+
		"show up here, not whether they hold for Llama2-7B.\n\n",
		o.L, 2*o.L, strings.Join(o.Scalings, ", "), o.Alphas, o.Seeds, len(r.Runs), r.Seconds)

	claims := r.Claims()
	p("## Verdicts\n\n")
	vt := report.Table{Header: []string{"claim", "verdict", "estimate", "95% CI", "n"}, Align: []report.Align{0, 0, report.Right, report.Right, report.Right}}
	for _, c := range claims {
		vt.AddRow(c.Statement, "**"+c.Verdict+"**", fmt.Sprintf("%+.4f", float64(c.Estimate)),
			fmt.Sprintf("[%+.4f, %+.4f]", float64(c.CI95[0]), float64(c.CI95[1])), fmt.Sprint(c.N))
	}
	p("%s\n", vt.Markdown())
	p("Estimates are differences in held-out loss at 4L (nats; negative = the first arm is better) for the first three claims and ")
	p("the difference |r_misalignment| - |r_training loss| for the last.\n\n")
	for _, c := range claims {
		p("### %s: %s\n\n", c.Statement, c.Verdict)
		for _, e := range c.Evidence {
			p("- %s\n", e)
		}
		p("- interval: %s\n\n", c.Interval)
	}

	if r.Synth != nil {
		p("## (i) Synthetic study\n\n")
		p("The quick synthetic study of METHOD.md §1 (details in [synth/summary.md](synth/summary.md)):\n\n")
		for _, c := range r.Synth.Claims() {
			p("- (%s) %s: **%s**\n", c.ID, c.Statement, c.Verdict)
		}
		p("\n")
	}

	p("## (ii) Fine-tuned variants\n\n")
	p("Each cell is mean [min, max] over %d seeds. PPL at L, 2L, 4L; misalignment at l_train = 2L; passkey accuracy at L / 2L / 4L.\n\n", o.Seeds)
	t := report.Table{Header: []string{"variant", "train loss", "misalign", "PPL L", "PPL 2L", "PPL 4L", "passkey"},
		Align: []report.Align{0, report.Right, report.Right, report.Right, report.Right, report.Right, report.Right}}
	cols := []func(ReproRun) float64{
		func(run ReproRun) float64 { return run.TrainLoss },
		func(run ReproRun) float64 { return run.Misalign },
		func(run ReproRun) float64 { return run.PPL[0] },
		func(run ReproRun) float64 { return run.PPL[1] },
		func(run ReproRun) float64 { return run.PPL[2] },
	}
	groups := make([][][]float64, len(cols))
	for i, c := range cols {
		groups[i] = r.groupRuns(c)
	}
	pk := make([][][]float64, 3)
	for k := range pk {
		pk[k] = r.groupRuns(func(run ReproRun) float64 { return run.Passkey[k] })
	}
	for i, v := range o.Variants() {
		row := []string{variantLabel(v)}
		for c := range cols {
			row = append(row, report.Spread(groups[c][i]))
		}
		row = append(row, fmt.Sprintf("%.2f / %.2f / %.2f", mean(pk[0][i]), mean(pk[1][i]), mean(pk[2][i])))
		t.AddRow(row...)
	}
	p("%s\n", t.Markdown())
	p("Before fine-tuning (the pretrained models with the scaling applied, factor 2):\n\n")
	bt := report.Table{Header: []string{"base model", "seed", "misalign", "PPL L", "PPL 2L", "PPL 4L", "passkey"},
		Align: []report.Align{0, report.Right, report.Right, report.Right, report.Right, report.Right, report.Right}}
	for _, run := range r.Base {
		bt.AddRow(run.Scaling, fmt.Sprint(run.Seed), report.Num(run.Misalign), report.Num(run.PPL[0]), report.Num(run.PPL[1]),
			report.Num(run.PPL[2]), fmt.Sprintf("%.2f / %.2f / %.2f", run.Passkey[0], run.Passkey[1], run.Passkey[2]))
	}
	p("%s\n![perplexity against evaluation length](ppl_vs_length.png)\n\n", bt.Markdown())

	p("## (iii) Correlations over the %d fine-tuned runs\n\n", len(r.Runs))
	ct := report.Table{Header: []string{"predictor", "score", "Pearson r [95% CI]", "Spearman r [95% CI]", "n"},
		Align: []report.Align{0, 0, report.Right, report.Right, report.Right}}
	for _, c := range r.Correlations() {
		ct.AddRow(c.Predictor, c.Score, CorrelationCell(c.Pearson), CorrelationCell(c.Spearman), fmt.Sprint(c.Pearson.N))
	}
	p("%s\nIntervals: percentile bootstrap over runs (%d resamples). The paper reports |r| 0.85 for misalignment and 0.62 "+
		"for training loss against long-context benchmark scores of Llama2-7B variants.\n\n![correlations](correlation.png)\n\n",
		ct.Markdown(), o.Bootstrap)

	p("## Settings\n\n")
	st := report.Table{Header: []string{"setting", "value"}}
	m := o.Model
	for _, kv := range [][2]string{
		{"model", fmt.Sprintf("Llama-style: %d layers, width %d, %d heads, SwiGLU %d, RMSNorm, RoPE base 10000, byte vocabulary (258)", m.Layers, m.Dim, m.Heads, m.Hidden)},
		{"data", "builtin corpus (generated; see `lsalign train --help`), training and held-out documents from disjoint seeds"},
		{"pretraining", fmt.Sprintf("context L = %d, %d steps × %d sequences, AdamW lr %g (warmup %d, cosine to lr/10), weight decay 0.1 on matrices, clip 1", o.L, o.Pretrain.Steps, o.Pretrain.Batch, o.Pretrain.LR, o.Pretrain.Warmup)},
		{"fine-tuning", fmt.Sprintf("context 2L = %d, RoPE factor 2, %d steps × %d sequences of 2L + l_extra + 1 tokens (both windows train), lr %g (warmup %d)", 2*o.L, o.Finetune.Steps, o.Finetune.Batch, o.Finetune.LR, o.Finetune.Warmup)},
		{"regularizer", "SCE over every overlapping token, gradients through both windows, L_train over both windows"},
		{"evaluation", fmt.Sprintf("%d held-out documents of 8L tokens; misalignment %d samples; passkey %d trial(s) × depths %v per length", o.EvalDocs, o.MisalignSamples, o.PasskeyTrials, o.PasskeyDepths)},
		{"seeds", fmt.Sprintf("1-%d: pretraining weights and data, fine-tuning data, evaluation sampling", o.Seeds)},
	} {
		st.AddRow(kv[0], kv[1])
	}
	p("%s\nEvery setting and every run's numbers are in results.json; training curves in runs/.\n\n", st.Markdown())
	p("## Definitions\n\n")
	defs := reproDefinitions()
	for _, k := range []string{"L", "nll, ppl", "misalign", "passkey", "train_loss", "train_misalign", "score", "baseline"} {
		p("- **%s**: %s.\n", k, defs[k])
	}
	return b.String()
}

// Figures builds perplexity against evaluation length (a panel per
// scaling, a line per alpha at the half range plus alpha>0 at the full
// range and the unfine-tuned base), and the two correlation scatters.
func (r *ReproResult) Figures() []NamedFigure {
	o := r.Options
	x := []float64{float64(o.L), float64(2 * o.L), float64(4 * o.L)}
	var panels []report.Panel
	for _, s := range o.Scalings {
		lp := report.LinePanel{Title: s + " (factor 2)", XLabel: "evaluation length (tokens)", YLabel: "held-out PPL",
			LogY: true, XTicks: x, Shades: []report.Shade{{From: float64(o.L), To: float64(2 * o.L), Label: "within the fine-tuning context"}}}
		series := func(label string, keep func(ReproRun) bool, runs []ReproRun) {
			y := make([][]float64, 3)
			for _, run := range runs {
				if keep(run) {
					for i := range y {
						y[i] = append(y[i], run.PPL[i])
					}
				}
			}
			if len(y[0]) > 0 {
				lp.Series = append(lp.Series, report.Series{Label: label, X: x, Y: y})
			}
		}
		series("no fine-tuning", func(run ReproRun) bool { return run.Scaling == s }, r.Base)
		for _, v := range o.Variants() {
			if v.Scaling != s || (v.Range == RangeFull && v.Alpha == 0) {
				continue
			}
			label := fmt.Sprintf("α=%g", v.Alpha)
			if v.Range == RangeFull {
				label += " [1,L'-1]"
			}
			series(label, func(run ReproRun) bool { return run.ReproVariant == v }, r.Runs)
		}
		panels = append(panels, lp)
	}
	figs := []NamedFigure{{Name: "ppl_vs_length", Figure: report.Figure{Panels: panels,
		Title: fmt.Sprintf("Held-out perplexity by evaluation length (mean over %d seeds, band min-max)", o.Seeds)}}}

	var mis, loss []report.ScatterPoint
	for _, run := range r.Runs {
		y := run.NLL[scoreIndex]
		mis = append(mis, report.ScatterPoint{X: run.Misalign, Y: y})
		loss = append(loss, report.ScatterPoint{X: run.TrainLoss, Y: y})
	}
	if len(mis) > 0 {
		figs = append(figs, NamedFigure{Name: "correlation", Figure: report.Figure{Title: "Predictors of the long-context score, one point per fine-tuned run",
			Panels: []report.Panel{
				report.Scatter{Title: "misalignment", XLabel: "misalignment (SCE, l_train = 2L)", YLabel: "held-out loss at 4L (nats)", Points: mis, Fit: true},
				report.Scatter{Title: "training loss", XLabel: "final training loss (nats)", YLabel: "held-out loss at 4L (nats)", Points: loss, Fit: true},
			}}})
	}
	return figs
}

// CorrelationCell is "r [lo, hi]", "n/a" when r is undefined (a constant
// variable or too few points).
func CorrelationCell(c eval.Correlation) string {
	if math.IsNaN(float64(c.R)) {
		return "n/a"
	}
	f := func(x eval.Float) string { return report.Num(float64(x)) }
	return fmt.Sprintf("%s [%s, %s]", f(c.R), f(c.CI95[0]), f(c.CI95[1]))
}
