package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot/vg"

	"github.com/spf13/cobra"

	"github.com/lsalign/lsalign/align"
	"github.com/lsalign/lsalign/eval"
	"github.com/lsalign/lsalign/internal/atomicfile"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/load"
	"github.com/lsalign/lsalign/report"
)

type pplOpts struct {
	model, tokenizer, text string
	ctx                    []string
	convention             string
	stride                 int
	chunks, maxTokens      int
	batchTokens            int
	perPosition            bool
	json                   bool
	rope                   ropeFlags
	out                    evalOut
}

// pplSettings decide ppl's numbers: a journal made with others cannot be resumed.
type pplSettings struct {
	Model       fileStamp           `json:"model"`
	Tokenizer   fileStamp           `json:"tokenizer"`
	Tokens      string              `json:"tokens_sha256"`
	Ctx         int                 `json:"ctx"`
	Convention  string              `json:"convention"`
	Stride      int                 `json:"stride"`
	Chunks      int                 `json:"chunks"`
	PerPosition bool                `json:"per_position"`
	RopeScaling kernels.RopeScaling `json:"rope_scaling"`
	BatchTokens int                 `json:"batch_tokens"`
}

// pplResults is `ppl --json` with several context lengths.
type pplResults struct {
	Model   string           `json:"model"`
	Text    string           `json:"text"`
	Results []eval.PPLResult `json:"results"`
}

// pplResult is `ppl --json` with one context length.
type pplResult struct {
	eval.PPLResult
	Model string `json:"model"`
	Text  string `json:"text"`
}

func newPPLCmd() *cobra.Command {
	var o pplOpts
	cmd := &cobra.Command{
		Use:   "ppl",
		Short: "Perplexity against context length (full, llama.cpp half-window, or strided windows)",
		Long: `ppl measures perplexity at one or more context lengths. Each document (the --text file,
or every .txt file of a --text directory) is tokenized once, BOS first where the
tokenizer adds it, and cut into windows of N tokens (the incomplete tail dropped; windows
never cross documents). Each window is a fresh sequence at positions 0..N-1, and logit j
predicts window token j+1. Conventions:

  full    non-overlapping windows; all N-1 predictions scored.
  half    llama.cpp's perplexity: non-overlapping windows whose first token is replaced
          by BOS; logits N/2 .. N-2 scored (every scored token sees >= N/2 tokens).
  stride  llama.cpp's --ppl-stride: windows start every S tokens (--stride, default N/2)
          and their last S predictions are scored.

--max-tokens keeps only the first N tokens of the text and --chunks only the first N
windows (llama.cpp's --chunks), for a quick estimate. --per-position writes the mean NLL
at each window position to --out (nll_by_position.csv: ctx, pos, context_tokens,
windows, nll, stderr; and nll_by_position.png): NLL falling with the context a
prediction sees, and flattening where the model stops using more of it.

Files go to --out (default runs/ppl): results.json, and a journal per length that
records every finished batch of windows; --resume continues a killed run from it and
gives the same numbers as an uninterrupted one.

For each length it reports the mean NLL, PPL = exp(NLL), the predictions scored, and
the standard error of the mean NLL as llama.cpp computes it; ppl_stderr = PPL × stderr
is the "±" llama.cpp prints. --ctx takes token counts or multiples of the model's
training context ("2x"). Lengths beyond the training context run as they are (the model
extrapolates) unless a --rope-scaling flag extends the context.`,
		Example: `  lsalign ppl --model stories260K.gguf --text emma.txt --ctx 512 --convention half
  lsalign ppl --model m.gguf --text book.txt --ctx 1x,2x,4x,8x --json
  lsalign ppl --model m.gguf --text book.txt --ctx 2048 --rope-scaling yarn --rope-factor 4
  lsalign ppl --model m.gguf --text book.txt --ctx 1x,4x --per-position --chunks 50 --out runs/ppl-m
  lsalign ppl --model m.gguf --text book.txt --ctx 8x --out runs/ppl-m --resume     # after an interruption`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPPL(cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.model, "model", "", "model file or directory")
	f.StringVar(&o.tokenizer, "tokenizer", "", "tokenizer file, if the model brings none (or to replace it)")
	f.StringVar(&o.text, "text", "", "text file, or directory of .txt files (one document each)")
	f.StringSliceVar(&o.ctx, "ctx", nil, "context lengths: tokens or multiples of the training context (512,1024 or 1x,2x)")
	f.StringVar(&o.convention, "convention", eval.Full, "full, half (llama.cpp) or stride")
	f.IntVar(&o.stride, "stride", 0, "stride convention: window step and predictions scored per window (default ctx/2)")
	f.IntVar(&o.chunks, "chunks", 0, "score only the first N windows of each length (0: all)")
	f.IntVar(&o.maxTokens, "max-tokens", 0, "use only the first N tokens of the text (0: all)")
	f.IntVar(&o.batchTokens, "batch-tokens", 8192, "tokens per forward pass (bounds memory; a journal's batches follow it)")
	f.BoolVar(&o.perPosition, "per-position", false, "write the mean NLL by window position to --out (CSV and plot)")
	f.BoolVar(&o.json, "json", false, "print JSON: one object, or {results: [...]} for several lengths")
	addRopeFlags(cmd, &o.rope)
	addEvalOutFlags(cmd, &o.out, "ppl")
	return cmd
}

// parseLengths reads token counts ("512") and multiples of the training
// context ("2x", "0.5x"), each in [1, maxCount] tokens.
func parseLengths(flag string, values []string, trainCtx int) ([]int, error) {
	if len(values) == 0 {
		return nil, usagef("%s needs at least one length", flag)
	}
	out := make([]int, 0, len(values))
	for _, v := range values {
		v = strings.TrimSpace(v)
		if mult, ok := strings.CutSuffix(v, "x"); ok {
			f, err := strconv.ParseFloat(mult, 64)
			if err != nil || !(f > 0) {
				return nil, usagef("%s: %q is not a positive multiple like 2x", flag, v)
			}
			// Compare in float64 before converting: the product can pass the int range.
			n := math.Round(f * float64(trainCtx))
			if !(n >= 1 && n <= maxCount) {
				return nil, usagef("%s: %q (× the training context %d) is %.4g tokens, outside [1, %d]", flag, v, trainCtx, n, maxCount)
			}
			out = append(out, int(n))
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, usagef("%s: %q is not a positive token count or a multiple like 2x", flag, v)
		}
		if n > maxCount {
			return nil, usagef("%s: %d tokens is beyond %d", flag, n, maxCount)
		}
		out = append(out, n)
	}
	return out, nil
}

// noteExtrapolation tells on stderr which lengths lie beyond the model's
// usable context, where results measure extrapolation.
func noteExtrapolation(stderr io.Writer, l *load.Loaded, lengths []int) {
	c := l.Model.Config
	limit, _ := align.ContextLimit(c)
	for _, n := range lengths {
		if limit > 0 && n > limit {
			fmt.Fprintf(stderr, "note: length %d is beyond the model's usable context %d (training context %d, rope scaling %s): the model extrapolates\n",
				n, limit, c.MaxSeq, ropeName(c.RopeScaling))
		}
	}
}

func runPPL(stdout, stderr io.Writer, o pplOpts) error {
	if o.model == "" || o.text == "" {
		return usagef("ppl needs --model, --text and --ctx")
	}
	switch o.convention {
	case eval.Full, eval.Half, eval.Stride:
	default:
		return usagef("--convention must be full, half or stride, got %q", o.convention)
	}
	l, err := loadEvalModel(o.model, o.tokenizer, o.rope)
	if err != nil {
		return err
	}
	ctxs, err := parseLengths("--ctx", o.ctx, l.Model.Config.MaxSeq)
	if err != nil {
		return err
	}
	if err := checkCount("--chunks", o.chunks, 0); err != nil {
		return err
	}
	if err := checkCount("--max-tokens", o.maxTokens, 0); err != nil {
		return err
	}
	if err := checkCount("--batch-tokens", o.batchTokens, 1); err != nil {
		return err
	}
	docs, err := readTokenDocs(l, o.text)
	if err != nil {
		return err
	}
	docs = eval.LimitTokens(docs, o.maxTokens)
	noteExtrapolation(stderr, l, ctxs)
	if err := o.out.prepare(); err != nil {
		return err
	}
	defer o.out.close()
	var results []eval.PPLResult
	for _, n := range ctxs {
		opt := eval.PPLOptions{Ctx: n, Convention: o.convention, Stride: o.stride, Chunks: o.chunks, PerPosition: o.perPosition,
			MaxBatchTokens: o.batchTokens,
			ReplaceFirst:   eval.AddsBOS(l.Tokenizer), BOS: l.Tokenizer.BOS(),
			Progress: newValueProgress(stderr, fmt.Sprintf("ppl @%d", n), "windows", "nll")}
		settings := pplSettings{Model: stampOf(o.model), Tokenizer: stampOf(o.tokenizer), Tokens: tokensDigest(docs), Ctx: n,
			Convention: o.convention, Stride: o.stride, Chunks: o.chunks, PerPosition: o.perPosition,
			RopeScaling: l.Model.Config.RopeScaling, BatchTokens: opt.MaxBatchTokens}
		if opt.Units, err = o.out.units(stderr, fmt.Sprintf("ppl-%d", n), settings); err != nil {
			return err
		}
		r, err := eval.Perplexity(l.Model, docs, opt)
		if err != nil {
			return fmt.Errorf("%s, ctx %d: %w", o.model, n, err)
		}
		results = append(results, r)
	}
	if o.perPosition {
		csv := o.out.path("nll_by_position.csv")
		if err := writePerPosition(csv, o.model, results); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "ppl: NLL by position written to %s and %s\n", csv, perPositionPNG(csv))
	}
	var js any = pplResults{Model: o.model, Text: o.text, Results: results}
	if len(results) == 1 {
		js = pplResult{PPLResult: results[0], Model: o.model, Text: o.text}
	}
	if err := o.out.writeResults(js); err != nil {
		return err
	}
	if o.json {
		return printJSON(stdout, js)
	}
	fmt.Fprintf(stdout, "model %s, text %s, rope scaling %s\n\n%s", o.model, o.text, ropeName(l.Model.Config.RopeScaling),
		pplTable(results).Markdown())
	return nil
}

// pplTable is lm-evaluation-harness's layout: one row per metric with its
// value, "±" and standard error (of the PPL, and of the mean NLL).
func pplTable(results []eval.PPLResult) report.Table {
	t := report.Table{Header: []string{"ctx", "convention", "windows", "tokens", "metric", "value", "", "stderr"},
		Align: []report.Align{report.Right, report.Left, report.Right, report.Right, report.Left, report.Right, report.Left, report.Right}}
	for _, r := range results {
		conv := r.Convention
		if r.Stride > 0 {
			conv = fmt.Sprintf("stride %d", r.Stride)
		}
		t.AddRow(strconv.Itoa(r.Ctx), conv, strconv.Itoa(r.Windows), strconv.Itoa(r.Tokens),
			"ppl ↓", fmt.Sprintf("%.4f", r.PPL), "±", fmt.Sprintf("%.4f", r.PPLStderr))
		t.AddRow("", "", "", "", "nll ↓", fmt.Sprintf("%.4f", r.NLL), "±", fmt.Sprintf("%.4f", r.Stderr))
	}
	return t
}

// perPositionPNG is the plot written beside a --per-position file.
func perPositionPNG(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".png"
}

// writePerPosition writes the NLL by window position of each length as CSV
// and plots it against the context each prediction sees.
func writePerPosition(path, modelPath string, results []eval.PPLResult) error {
	err := atomicfile.Write(path, func(w io.Writer) error {
		fmt.Fprintln(w, "ctx,pos,context_tokens,windows,nll,stderr")
		for _, r := range results {
			for _, p := range r.PerPosition {
				fmt.Fprintf(w, "%d,%d,%d,%d,%.6f,%.6f\n", r.Ctx, p.Pos, p.Pos+1, p.Tokens, p.NLL, p.Stderr)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	panel := report.LinePanel{Title: "NLL by position (" + filepath.Base(modelPath) + ")",
		XLabel: "context tokens seen by the prediction", YLabel: "mean NLL (nats)", Legend: report.LegendTopRight}
	for _, r := range results {
		panel.Series = append(panel.Series, positionSeries(r))
	}
	return report.Figure{Panels: []report.Panel{panel}, Width: 6 * vg.Inch, Height: 4 * vg.Inch}.Save(perPositionPNG(path))
}

// positionSeries bins the positions of one length into at most 128 runs
// of equal width, each point the mean over its positions, so the curve of
// a long window stays readable.
func positionSeries(r eval.PPLResult) report.Series {
	s := report.Series{Label: fmt.Sprintf("ctx %d", r.Ctx)}
	per := r.PerPosition
	bins := min(128, len(per))
	for b := range bins {
		lo, hi := b*len(per)/bins, (b+1)*len(per)/bins
		var x, y float64
		for _, p := range per[lo:hi] {
			x += float64(p.Pos + 1)
			y += p.NLL
		}
		n := float64(hi - lo)
		s.X = append(s.X, x/n)
		s.Y = append(s.Y, []float64{y / n})
	}
	return s
}
