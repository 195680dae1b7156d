package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/lsalign/lsalign/align"
	"github.com/lsalign/lsalign/eval"
	"github.com/lsalign/lsalign/internal/atomicfile"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/load"
)

type misalignOpts struct {
	model, tokenizer, text string
	samples                int
	seed                   uint64
	lTrain                 int
	divergence             string
	fracLo, fracHi         float64
	extrapolate            bool
	json                   bool
	dump                   string
	rope                   ropeFlags
	out                    evalOut
}

// misalignSettings decide misalign's numbers: a journal made with others
// cannot be resumed.
type misalignSettings struct {
	Model       fileStamp           `json:"model"`
	Tokenizer   fileStamp           `json:"tokenizer"`
	Tokens      string              `json:"tokens_sha256"`
	Samples     int                 `json:"samples"`
	Seed        uint64              `json:"seed"`
	LTrain      int                 `json:"l_train"`
	Divergence  string              `json:"divergence"`
	FracLo      float64             `json:"frac_lo"`
	FracHi      float64             `json:"frac_hi"`
	RopeScaling kernels.RopeScaling `json:"rope_scaling"`
}

// misalignResult is the summary `misalign --json` prints.
type misalignResult struct {
	align.MetricResult
	RopeScaling kernels.RopeScaling `json:"rope_scaling"`
	// Seconds is printed, not part of the JSON: a resumed run's results
	// are byte-identical to an uninterrupted one's.
	Seconds float64 `json:"-"`
}

func newMisalignCmd() *cobra.Command {
	var o misalignOpts
	cmd := &cobra.Command{
		Use:   "misalign",
		Short: "Measure Long-Short Misalignment of a model on a text",
		Long: `misalign estimates Long-Short Misalignment (Du et al., ICML 2025; METHOD.md §2):

  E over (end, l1, l2) of D( g(x[end-l1:end]), g(x[end-l2:end]) )

where g is the model's next-token distribution at the last position of a suffix fed
as a fresh sequence at positions 0..l-1, and D is the symmetric cross-entropy
SCE(p,q) = -sum p log q - sum q log p (natural logs; --divergence skl or js for
symmetric KL or Jensen-Shannon, which are 0 for equal distributions; SCE is H(p)+H(q)).

Each document (the --text file, or every .txt file of a --text directory) is tokenized
once, with BOS where the tokenizer adds it. A sample draws the end position uniformly
over every position of every document that leaves room for the longest suffix
(end >= l_max, so a suffix never crosses documents), then l1 and l2 independently and
uniformly from [ceil(frac_lo*l_train), floor(frac_hi*l_train)] (default [l_train/2,
l_train]; l_train defaults to the model's training context). Samples depend only on
the seed, the settings and the text.

It reports the mean, its standard error, a 95% percentile-bootstrap interval (2000
resamples), and the settings; --dump writes one JSON line per sample with the document
index, end, l1, l2 and value, so any value can be checked with two forward passes.

Files go to --out (default runs/misalign): results.json and a journal of finished groups
of samples that --resume continues from, with the same numbers as an uninterrupted run.

l_train may not exceed the model's training context unless a RoPE scaling allows it
(factor × context) or --extrapolate is given (never past learned positions).`,
		Example: `  lsalign misalign --model stories260K.bin --tokenizer tok512.bin --text austen-emma.txt
  lsalign misalign --model m.gguf --text books/ --samples 2000 --seed 3 --json --dump samples.jsonl
  lsalign misalign --model m.gguf --text book.txt --l-train 1024 --rope-scaling yarn --rope-factor 2`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMisalign(cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.model, "model", "", "model file or directory (llama2.c .bin, .gguf, Hugging Face or lsalign directory)")
	f.StringVar(&o.tokenizer, "tokenizer", "", "tokenizer file, if the model brings none (or to replace it)")
	f.StringVar(&o.text, "text", "", "text file, or directory of .txt files (one document each)")
	f.IntVar(&o.samples, "samples", align.DefaultSamples, "number of (end, l1, l2) samples")
	f.Uint64Var(&o.seed, "seed", 0, "seed of the sampling and the bootstrap")
	f.IntVar(&o.lTrain, "l-train", 0, "l_train (default: the model's training context)")
	f.StringVar(&o.divergence, "divergence", "sce", "sce (the paper's), skl (symmetric KL) or js (Jensen-Shannon)")
	f.Float64Var(&o.fracLo, "frac-lo", align.DefaultFracLo, "shortest suffix as a fraction of l_train")
	f.Float64Var(&o.fracHi, "frac-hi", align.DefaultFracHi, "longest suffix as a fraction of l_train")
	f.BoolVar(&o.extrapolate, "extrapolate", false, "allow l_train beyond the model's usable context")
	f.BoolVar(&o.json, "json", false, "print the summary as one JSON object")
	f.StringVar(&o.dump, "dump", "", "write every sample as a JSON line {doc, end, l1, l2, value} to this file")
	addRopeFlags(cmd, &o.rope)
	addEvalOutFlags(cmd, &o.out, "misalign")
	return cmd
}

func runMisalign(stdout, stderr io.Writer, o misalignOpts) error {
	if o.model == "" || o.text == "" {
		return usagef("misalign needs --model and --text")
	}
	div, err := kernels.ParseDivergence(o.divergence)
	if err != nil {
		return usagef("--divergence: %v", err)
	}
	if o.samples < 1 || o.samples > align.MaxSamples {
		return usagef("--samples must be in [1, %d], got %d", align.MaxSamples, o.samples)
	}
	if err := checkCount("--l-train", o.lTrain, 0); err != nil {
		return err
	}
	l, err := loadEvalModel(o.model, o.tokenizer, o.rope)
	if err != nil {
		return err
	}
	docs, err := readTokenDocs(l, o.text)
	if err != nil {
		return err
	}
	start := time.Now()
	opt := align.MetricOptions{
		Divergence: div, LTrain: o.lTrain, FracLo: o.fracLo, FracHi: o.fracHi,
		Samples: o.samples, Seed: o.seed, Extrapolate: o.extrapolate,
		Progress: newValueProgress(stderr, "misalignment", "samples", div.String()),
	}
	if err := o.out.prepare(); err != nil {
		return err
	}
	defer o.out.close()
	if opt.Units, err = o.out.units(stderr, "misalign", misalignSettings{Model: stampOf(o.model), Tokenizer: stampOf(o.tokenizer),
		Tokens: tokensDigest(docs), Samples: o.samples, Seed: o.seed, LTrain: o.lTrain, Divergence: div.String(),
		FracLo: o.fracLo, FracHi: o.fracHi, RopeScaling: l.Model.Config.RopeScaling}); err != nil {
		return err
	}
	res, err := measureMisalignment(l, docs, opt, o.dump)
	var beyond *align.BeyondContextError
	if errors.As(err, &beyond) {
		return fmt.Errorf("%w (--extrapolate runs it anyway; a --rope-scaling extends the context)", err)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", o.model, err)
	}
	res.Model, res.Text = o.model, o.text
	out := misalignResult{MetricResult: res, RopeScaling: l.Model.Config.RopeScaling, Seconds: time.Since(start).Seconds()}
	if err := o.out.writeResults(out); err != nil {
		return err
	}
	if o.json {
		return printJSON(stdout, out)
	}
	fmt.Fprintf(stdout, "misalignment (%s): %.4f ± %.4f (stderr), 95%% CI [%.4f, %.4f]\n",
		res.Divergence, res.Mean, res.Stderr, res.CI95[0], res.CI95[1])
	fmt.Fprintf(stdout, "%d samples, seed %d, l_train %d, lengths %d..%d, %d of %d tokens eligible as ends (%s)\n",
		res.Samples, res.Seed, res.LTrain, res.LMin, res.LMax, res.Eligible, res.Tokens, plural(res.Documents, "document"))
	fmt.Fprintf(stdout, "model %s, text %s, rope scaling %s, %.1f s\n", o.model, o.text, ropeName(out.RopeScaling), out.Seconds)
	return nil
}

// measureMisalignment runs the metric, streaming the samples into dump
// (when not "") as they are evaluated, so memory stays flat in their
// number; the dump appears only complete. The metric's own errors come
// back as they are, not as errors of the dump file.
func measureMisalignment(l *load.Loaded, docs [][]int32, opt align.MetricOptions, dump string) (align.MetricResult, error) {
	if dump == "" {
		return align.MisalignmentEach(l.Model, docs, opt, nil)
	}
	var res align.MetricResult
	var runErr error
	err := atomicfile.Write(dump, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		res, runErr = align.MisalignmentEach(l.Model, docs, opt, func(s align.MetricSample) error {
			if err := enc.Encode(s); err != nil {
				return fmt.Errorf("%s: %w", dump, err)
			}
			return nil
		})
		return runErr
	})
	if runErr != nil {
		return res, runErr
	}
	return res, err
}

// loadEvalModel loads a model and its tokenizer and applies the RoPE flags.
func loadEvalModel(modelPath, tokPath string, rope ropeFlags) (*load.Loaded, error) {
	l, err := load.Load(modelPath, load.Options{Tokenizer: tokPath})
	if err != nil {
		return nil, err
	}
	if l.Tokenizer == nil {
		return nil, fmt.Errorf("%s brings no tokenizer: give one with --tokenizer", modelPath)
	}
	if err := rope.apply(l.Model, l.Meta); err != nil {
		return nil, err
	}
	return l, nil
}

// readTokenDocs reads --text (a file, or a directory of .txt files) and
// tokenizes each document once.
func readTokenDocs(l *load.Loaded, path string) ([][]int32, error) {
	docs, err := eval.ReadDocuments(path)
	if err != nil {
		return nil, err
	}
	return eval.TokenizeDocuments(l.Tokenizer, docs)
}

// ropeName describes a RoPE scaling for people.
func ropeName(s kernels.RopeScaling) string {
	switch s.Type {
	case "", "none":
		return "none"
	case "abf":
		return fmt.Sprintf("abf (base %g)", s.NewBase)
	}
	return fmt.Sprintf("%s x%g", s.Type, s.Factor)
}

// printJSON writes v as one line of JSON.
func printJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// plural writes "1 document" or "3 documents".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
