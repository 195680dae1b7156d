package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/lsalign/lsalign/experiment"
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
func variantLabel(v experiment.ReproVariant) string {
	return fmt.Sprintf("%s, α=%g, l_extra %s", v.Scaling, v.Alpha, rangeLabel(v.Range))
}

func rangeLabel(r string) string {
	if r == experiment.RangeFull {
		return "[1, L'-1]"
	}
	return "[1, L'/2]"
}

// groupRuns collects a value of every seed's run of each variant, in the
// order of Options.Variants.
func groupRuns(res *experiment.ReproResult, value func(experiment.ReproRun) float64) [][]float64 {
	vs := res.Options.Variants()
	out := make([][]float64, len(vs))
	for _, r := range res.Runs {
		for i, v := range vs {
			if r.ReproVariant == v {
				out[i] = append(out[i], value(r))
			}
		}
	}
	return out
}

func reproReport(res *experiment.ReproResult) string {
	o := res.Options
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Long-Short Alignment at small scale\n\n")
	p("A byte-level Llama-style model pretrained at L = %d tokens on the builtin corpus, fine-tuned to 2L = %d with "+
		"RoPE scalings %s, for alpha in %v and two l_extra ranges, %d seeds each: %d fine-tuned runs, each evaluated on "+
		"held-out text. Wall time %.0f s. Numbers are for this scale and data; they test whether the paper's claims "+
		"show up here, not whether they hold for Llama2-7B.\n\n",
		o.L, 2*o.L, strings.Join(o.Scalings, ", "), o.Alphas, o.Seeds, len(res.Runs), res.Seconds)

	claims := res.Claims()
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

	if res.Synth != nil {
		p("## (i) Synthetic study\n\n")
		p("The quick synthetic study of METHOD.md §1 (details in [synth/summary.md](synth/summary.md)):\n\n")
		for _, c := range res.Synth.Claims() {
			p("- (%s) %s: **%s**\n", c.ID, c.Statement, c.Verdict)
		}
		p("\n")
	}

	p("## (ii) Fine-tuned variants\n\n")
	p("Each cell is mean [min, max] over %d seeds. PPL at L, 2L, 4L; misalignment at l_train = 2L; passkey accuracy at L / 2L / 4L.\n\n", o.Seeds)
	t := report.Table{Header: []string{"variant", "train loss", "misalign", "PPL L", "PPL 2L", "PPL 4L", "passkey"},
		Align: []report.Align{0, report.Right, report.Right, report.Right, report.Right, report.Right, report.Right}}
	cols := []func(experiment.ReproRun) float64{
		func(r experiment.ReproRun) float64 { return r.TrainLoss },
		func(r experiment.ReproRun) float64 { return r.Misalign },
		func(r experiment.ReproRun) float64 { return r.PPL[0] },
		func(r experiment.ReproRun) float64 { return r.PPL[1] },
		func(r experiment.ReproRun) float64 { return r.PPL[2] },
	}
	groups := make([][][]float64, len(cols))
	for i, c := range cols {
		groups[i] = groupRuns(res, c)
	}
	pk := make([][][]float64, 3)
	for k := range pk {
		pk[k] = groupRuns(res, func(r experiment.ReproRun) float64 { return r.Passkey[k] })
	}
	for i, v := range o.Variants() {
		row := []string{variantLabel(v)}
		for c := range cols {
			row = append(row, report.Spread(groups[c][i]))
		}
		row = append(row, fmt.Sprintf("%.2f / %.2f / %.2f", meanOf(pk[0][i]), meanOf(pk[1][i]), meanOf(pk[2][i])))
		t.AddRow(row...)
	}
	p("%s\n", t.Markdown())
	p("Before fine-tuning (the pretrained models with the scaling applied, factor 2):\n\n")
	bt := report.Table{Header: []string{"base model", "seed", "misalign", "PPL L", "PPL 2L", "PPL 4L", "passkey"},
		Align: []report.Align{0, report.Right, report.Right, report.Right, report.Right, report.Right, report.Right}}
	for _, r := range res.Base {
		bt.AddRow(r.Scaling, fmt.Sprint(r.Seed), report.Num(r.Misalign), report.Num(r.PPL[0]), report.Num(r.PPL[1]),
			report.Num(r.PPL[2]), fmt.Sprintf("%.2f / %.2f / %.2f", r.Passkey[0], r.Passkey[1], r.Passkey[2]))
	}
	p("%s\n![perplexity against evaluation length](ppl_vs_length.png)\n\n", bt.Markdown())

	p("## (iii) Correlations over the %d fine-tuned runs\n\n", len(res.Runs))
	ct := report.Table{Header: []string{"predictor", "score", "Pearson r [95% CI]", "Spearman r [95% CI]", "n"},
		Align: []report.Align{0, 0, report.Right, report.Right, report.Right}}
	for _, c := range res.Correlations() {
		ct.AddRow(c.Predictor, c.Score, corrCell(c.Pearson), corrCell(c.Spearman), fmt.Sprint(c.Pearson.N))
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

func meanOf(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// reproFigure is a figure with its file name stem.
type reproFigure struct {
	report.Figure
	name string
}

// reproFigures: perplexity against evaluation length (a panel per
// scaling, a line per alpha at the half range plus alpha>0 at the full
// range and the unfine-tuned base), and the two correlation scatters.
func reproFigures(res *experiment.ReproResult) []reproFigure {
	o := res.Options
	x := []float64{float64(o.L), float64(2 * o.L), float64(4 * o.L)}
	var panels []report.Panel
	for _, s := range o.Scalings {
		lp := report.LinePanel{Title: s + " (factor 2)", XLabel: "evaluation length (tokens)", YLabel: "held-out PPL",
			LogY: true, XTicks: x, Shades: []report.Shade{{From: float64(o.L), To: float64(2 * o.L), Label: "within the fine-tuning context"}}}
		series := func(label string, keep func(experiment.ReproRun) bool, runs []experiment.ReproRun) {
			y := make([][]float64, 3)
			for _, r := range runs {
				if keep(r) {
					for i := range y {
						y[i] = append(y[i], r.PPL[i])
					}
				}
			}
			if len(y[0]) > 0 {
				lp.Series = append(lp.Series, report.Series{Label: label, X: x, Y: y})
			}
		}
		series("no fine-tuning", func(r experiment.ReproRun) bool { return r.Scaling == s }, res.Base)
		for _, v := range o.Variants() {
			if v.Scaling != s || (v.Range == experiment.RangeFull && v.Alpha == 0) {
				continue
			}
			label := fmt.Sprintf("α=%g", v.Alpha)
			if v.Range == experiment.RangeFull {
				label += " [1,L'-1]"
			}
			series(label, func(r experiment.ReproRun) bool { return r.ReproVariant == v }, res.Runs)
		}
		panels = append(panels, lp)
	}
	figs := []reproFigure{{name: "ppl_vs_length", Figure: report.Figure{Panels: panels,
		Title: fmt.Sprintf("Held-out perplexity by evaluation length (mean over %d seeds, band min-max)", o.Seeds)}}}

	var mis, loss []report.ScatterPoint
	for _, r := range res.Runs {
		y := r.NLL[2]
		mis = append(mis, report.ScatterPoint{X: r.Misalign, Y: y})
		loss = append(loss, report.ScatterPoint{X: r.TrainLoss, Y: y})
	}
	if len(mis) > 0 {
		figs = append(figs, reproFigure{name: "correlation", Figure: report.Figure{Title: "Predictors of the long-context score, one point per fine-tuned run",
			Panels: []report.Panel{
				report.Scatter{Title: "misalignment", XLabel: "misalignment (SCE, l_train = 2L)", YLabel: "held-out loss at 4L (nats)", Points: mis, Fit: true},
				report.Scatter{Title: "training loss", XLabel: "final training loss (nats)", YLabel: "held-out loss at 4L (nats)", Points: loss, Fit: true},
			}}})
	}
	return figs
}
