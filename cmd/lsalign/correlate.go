package main

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lsalign/lsalign/align"
	"github.com/lsalign/lsalign/eval"
	"github.com/lsalign/lsalign/experiment"
	"github.com/lsalign/lsalign/internal/atomicfile"
	"github.com/lsalign/lsalign/report"
)

type correlateOpts struct {
	variants      string
	model         string
	tokenizer     string
	text          string
	samples       int
	maxTokens     int
	passkeyTrials int
	writeVariants string
	resamples     int
	seed          uint64
	png           string
	markdown      string
	json          bool
	out           evalOut
}

// correlateOutput is what `correlate --json` prints.
type correlateOutput struct {
	Variants     []eval.Variant        `json:"variants"`
	Correlations []eval.CorrelationRow `json:"correlations"`
	Resamples    int                   `json:"resamples"`
	Seed         uint64                `json:"seed"`
	PNG          string                `json:"png,omitempty"`
}

func newCorrelateCmd() *cobra.Command {
	var o correlateOpts
	cmd := &cobra.Command{
		Use:   "correlate [FILE...]",
		Short: "Does misalignment predict long-context scores better than loss? Pearson/Spearman with bootstrap CIs",
		Long: `correlate reads result files of several model variants and reports, for each long-context
score, the Pearson and Spearman correlation (with 95% percentile-bootstrap intervals over
variants) of Long-Short Misalignment and of the training or validation loss with that
score: the paper's Table 1 test (|r| 0.85 for misalignment against 0.62 for loss).

Each FILE holds {"variants": [...]}, a list of variants, or one variant:

  {"name": "yarn-x4", "misalignment": 3.21, "train_loss": 1.90, "val_loss": 2.01,
   "scores": {"ppl_2x": 41.2, "ppl_4x": 80.5, "passkey_2x": 0.6, "passkey_4x": 0.3}}

Every field but name is optional; a correlation uses the variants that have both values.
Mind the sign: lower perplexity is better, higher accuracy is better.

--variants rope-scaling builds the variant set from one RoPE model (--model, --text): the
model as it is and with linear, ntk and yarn scaling at factors 2 and 4. For each it
measures misalignment at the training context L (--samples, the same samples for all),
the validation loss (NLL) at L, and perplexity and passkey accuracy at 2L and 4L, writes
the variants to --write-variants (so they can be correlated again) and correlates them.

Prints the variants and the correlations as Markdown tables and writes into --out
(default runs/correlate): results.json, correlation.md, correlation.png (scatter plots of
each predictor against each score) and, with --variants, variants.json and a journal of
measured variants that --resume continues from. --png, --markdown and --write-variants
put those files elsewhere.`,
		Example: `  lsalign correlate runs/*.json
  lsalign correlate --variants rope-scaling --model stories260K.gguf --text emma.txt --samples 200
  lsalign correlate variants.json --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCorrelate(cmd.OutOrStdout(), cmd.ErrOrStderr(), args, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.variants, "variants", "", "build the variants instead of reading them: rope-scaling")
	f.StringVar(&o.model, "model", "", "--variants: the model")
	f.StringVar(&o.tokenizer, "tokenizer", "", "--variants: tokenizer file, if the model brings none")
	f.StringVar(&o.text, "text", "", "--variants: text file or directory of .txt files")
	f.IntVar(&o.samples, "samples", 200, "--variants: misalignment samples per variant")
	f.IntVar(&o.maxTokens, "max-tokens", 32768, "--variants: tokens of each document used for perplexity (0 = all)")
	f.IntVar(&o.passkeyTrials, "passkey-trials", 3, "--variants: passkey trials per length and depth (depths 0, 0.5, 1)")
	f.StringVar(&o.writeVariants, "write-variants", "", "--variants: where to write the variant set (default variants.json in --out)")
	f.IntVar(&o.resamples, "resamples", 2000, "bootstrap resamples")
	f.Uint64Var(&o.seed, "seed", 0, "seed of the bootstrap (and of --variants' samples and passkeys)")
	f.StringVar(&o.png, "png", "", "scatter plots of predictors against scores (default correlation.png in --out)")
	f.StringVar(&o.markdown, "markdown", "", "the Markdown tables (default correlation.md in --out)")
	f.BoolVar(&o.json, "json", false, "print variants and correlations as one JSON object")
	addEvalOutFlags(cmd, &o.out, "correlate")
	return cmd
}

func runCorrelate(stdout, stderr io.Writer, args []string, o correlateOpts) error {
	if o.resamples < 1 {
		return usagef("--resamples must be positive, got %d", o.resamples)
	}
	if err := o.out.prepare(); err != nil {
		return err
	}
	defer o.out.close()
	o.png = cmp.Or(o.png, o.out.path("correlation.png"))
	o.markdown = cmp.Or(o.markdown, o.out.path("correlation.md"))
	o.writeVariants = cmp.Or(o.writeVariants, o.out.path("variants.json"))
	var variants []eval.Variant
	switch o.variants {
	case "":
		if len(args) == 0 {
			return usagef("correlate needs result files, or --variants rope-scaling")
		}
		for _, a := range args {
			data, err := os.ReadFile(a)
			if err != nil {
				return err
			}
			vs, err := eval.ParseVariants(data, a)
			if err != nil {
				return err
			}
			variants = append(variants, vs...)
		}
	case "rope-scaling":
		if len(args) > 0 {
			return usagef("--variants builds the variant set itself; it takes no files (got %q)", args)
		}
		if o.model == "" || o.text == "" {
			return usagef("--variants rope-scaling needs --model and --text")
		}
		vs, err := ropeScalingVariants(stderr, o)
		if err != nil {
			return err
		}
		variants = vs
	default:
		return usagef("--variants: unknown set %q (want rope-scaling)", o.variants)
	}
	if len(variants) < 3 {
		return fmt.Errorf("correlate needs at least 3 variants, got %d", len(variants))
	}
	rows := eval.CorrelateVariants(variants, o.resamples, o.seed)
	out := correlateOutput{Variants: variants, Correlations: rows, Resamples: o.resamples, Seed: o.seed}
	if len(rows) > 0 {
		if err := scatterFigure(variants, rows).Save(o.png); err != nil {
			return err
		}
		out.PNG = o.png
	}
	md := correlateMarkdown(variants, rows, o.resamples)
	if err := atomicfile.WriteBytes(o.markdown, []byte(md)); err != nil {
		return err
	}
	if err := o.out.writeResults(out); err != nil {
		return err
	}
	if o.json {
		return printJSON(stdout, out)
	}
	fmt.Fprint(stdout, md)
	if out.PNG != "" {
		fmt.Fprintf(stdout, "\nscatter plots: %s\n", out.PNG)
	}
	return nil
}

// ropeScalingVariants measures the rope-scaling variant set and writes it.
func ropeScalingVariants(stderr io.Writer, o correlateOpts) ([]eval.Variant, error) {
	if o.samples < 1 || o.maxTokens < 0 || o.passkeyTrials < 1 {
		return nil, usagef("--samples and --passkey-trials must be positive and --max-tokens >= 0")
	}
	l, err := loadEvalModel(o.model, o.tokenizer, ropeFlags{})
	if err != nil {
		return nil, err
	}
	docs, err := readTokenDocs(l, o.text)
	if err != nil {
		return nil, err
	}
	units, err := o.out.units(stderr, "correlate-variants", struct {
		Model         fileStamp `json:"model"`
		Tokenizer     fileStamp `json:"tokenizer"`
		Tokens        string    `json:"tokens_sha256"`
		Samples       int       `json:"samples"`
		MaxTokens     int       `json:"max_tokens"`
		PasskeyTrials int       `json:"passkey_trials"`
		Seed          uint64    `json:"seed"`
	}{stampOf(o.model), stampOf(o.tokenizer), tokensDigest(docs), o.samples, o.maxTokens, o.passkeyTrials, o.seed})
	if err != nil {
		return nil, err
	}
	vs, err := eval.RopeVariants(l.Model, l.Tokenizer, docs, eval.RopeVariantOptions{
		Misalign:      align.MetricOptions{Samples: o.samples, Seed: o.seed},
		MaxTokens:     o.maxTokens,
		PasskeyTrials: o.passkeyTrials,
		Seed:          o.seed,
		Log:           func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) },
		Units:         units,
	})
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(o.writeVariants, func(w io.Writer) error { return printJSON(w, eval.VariantSet{Variants: vs}) }); err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "variants written to %s\n", o.writeVariants)
	return vs, nil
}

// predictorTitle names a predictor for tables and plots; an unknown one
// keeps its own name.
func predictorTitle(pred string) string {
	switch pred {
	case eval.PredMisalignment:
		return "misalignment"
	case eval.PredTrainLoss:
		return "train loss"
	case eval.PredValLoss:
		return "val loss"
	}
	return pred
}

// correlateMarkdown renders the variants and a Table-1-style correlation table.
func correlateMarkdown(vs []eval.Variant, rows []eval.CorrelationRow, resamples int) string {
	scores, preds := scoreAndPredictorNames(rows)
	vt := report.Table{Header: []string{"variant"}, Align: []report.Align{report.Left}}
	for _, p := range preds {
		vt.Header = append(vt.Header, predictorTitle(p))
	}
	vt.Header = append(vt.Header, scores...)
	for range len(vt.Header) - 1 {
		vt.Align = append(vt.Align, report.Right)
	}
	for _, v := range vs {
		row := []string{v.Name}
		for _, p := range preds {
			row = append(row, optional(v.Predictor(p)))
		}
		for _, s := range scores {
			x, ok := v.Scores[s]
			row = append(row, optional(x, ok))
		}
		vt.AddRow(row...)
	}
	ct := report.Table{Header: []string{"score", "n"}, Align: []report.Align{report.Left, report.Right}}
	for _, p := range preds {
		ct.Header = append(ct.Header, predictorTitle(p)+" Pearson r", predictorTitle(p)+" Spearman ρ")
		ct.Align = append(ct.Align, report.Right, report.Right)
	}
	byKey := map[string]eval.CorrelationRow{}
	for _, r := range rows {
		byKey[r.Score+"\x00"+r.Predictor] = r
	}
	for _, s := range scores {
		row := []string{s, ""}
		n := 0
		for _, p := range preds {
			r, ok := byKey[s+"\x00"+p]
			if !ok {
				row = append(row, "-", "-")
				continue
			}
			n = max(n, r.Pearson.N)
			row = append(row, experiment.CorrelationCell(r.Pearson), experiment.CorrelationCell(r.Spearman))
		}
		row[1] = fmt.Sprint(n)
		ct.AddRow(row...)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## Variants\n\n%s\n## Correlation with long-context scores\n\n", vt.Markdown())
	fmt.Fprintf(&b, "Coefficient [95%% percentile-bootstrap interval over variants, %d resamples]; n is the most variants in a cell;\n"+
		"n/a where a variable is constant. Lower perplexity and higher accuracy are better.\n\n%s",
		resamples, ct.Markdown())
	return b.String()
}

// optional formats a table cell: the value, or "-" when there is none.
func optional(x float64, ok bool) string {
	if !ok {
		return "-"
	}
	return report.Num(x)
}

// scoreAndPredictorNames lists the scores and predictors that rows use, in order.
func scoreAndPredictorNames(rows []eval.CorrelationRow) (scores, preds []string) {
	seenS, seenP := map[string]bool{}, map[string]bool{}
	for _, r := range rows {
		if !seenS[r.Score] {
			seenS[r.Score] = true
			scores = append(scores, r.Score)
		}
		seenP[r.Predictor] = true
	}
	for _, p := range eval.PredictorNames() {
		if seenP[p] {
			preds = append(preds, p)
		}
	}
	return scores, preds
}

// scatterFigure plots each predictor (columns) against each score (rows).
func scatterFigure(vs []eval.Variant, rows []eval.CorrelationRow) report.Figure {
	scores, preds := scoreAndPredictorNames(rows)
	fig := report.Figure{Cols: len(preds), Title: "long-context scores against misalignment and loss"}
	byKey := map[string]eval.CorrelationRow{}
	for _, r := range rows {
		byKey[r.Score+"\x00"+r.Predictor] = r
	}
	for _, s := range scores {
		for _, p := range preds {
			r, ok := byKey[s+"\x00"+p]
			if !ok {
				continue
			}
			sc := report.Scatter{XLabel: predictorTitle(p), YLabel: s, Fit: true, LogY: strings.HasPrefix(s, "ppl"),
				Title: fmt.Sprintf("%s: r = %s, ρ = %s", s, coef(r.Pearson.R), coef(r.Spearman.R))}
			for _, v := range vs {
				x, okx := v.Predictor(p)
				y, oky := v.Scores[s]
				if okx && oky {
					sc.Points = append(sc.Points, report.ScatterPoint{X: x, Y: y, Label: v.Name})
				}
			}
			fig.Panels = append(fig.Panels, sc)
		}
	}
	return fig
}

func coef(x eval.Float) string {
	if math.IsNaN(float64(x)) {
		return "n/a"
	}
	return report.Num(float64(x))
}
