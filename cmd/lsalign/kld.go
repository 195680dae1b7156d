package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lsalign/lsalign/eval"
	"github.com/lsalign/lsalign/internal/atomicfile"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/load"
)

type kldOpts struct {
	base, baseFile, model, tokenizer, text string
	ctx                                    string
	chunks, topK, batchTokens              int
	saveBase                               string
	json                                   bool
	rope                                   ropeFlags
	out                                    evalOut
}

// kldSettings decide kld's numbers: a journal made with others cannot be resumed.
type kldSettings struct {
	Base        fileStamp           `json:"base"`
	Model       fileStamp           `json:"model"`
	Tokens      string              `json:"tokens_sha256"`
	Ctx         int                 `json:"ctx"`
	BOS         int32               `json:"bos"`
	Chunks      int                 `json:"chunks"`
	RopeScaling kernels.RopeScaling `json:"rope_scaling"`
	BatchTokens int                 `json:"batch_tokens"`
}

// kldOutput is `kld --json`.
type kldOutput struct {
	eval.KLDResult
	Base  string `json:"base"`
	Model string `json:"model"`
	Text  string `json:"text,omitempty"`
}

func newKLDCmd() *cobra.Command {
	var o kldOpts
	cmd := &cobra.Command{
		Use:   "kld",
		Short: "KL divergence of a model against a base model on the same tokens (llama.cpp's --kl-divergence)",
		Long: `kld compares the next-token distributions of --model (Q) with those of --base (P) on
the same text: a quantized against a float model, a RoPE-scaled variant against its base
(the --rope-* flags apply to --model only), a fine-tuned model against its init.

Files go to --out (default runs/kld): results.json and a journal of finished batches
that --resume continues from (--save-base writes where it says).

Windows follow llama.cpp's perplexity --kl-divergence: the text (each document tokenized
once with the base's tokenizer, BOS first where it adds BOS) is cut into non-overlapping
windows of --ctx tokens, each window's first token is replaced by BOS where the tokenizer
adds BOS, and the predictions of its second half (logits N/2 .. N-2) are scored. Per
token: KL(P||Q) = sum_v p_v (log p_v - log q_v), the probability each model gives the
actual next token, and whether both rank the same token first. The report has llama.cpp's
three blocks: perplexity of both with their ratio and correlation; KLD mean ± standard
error, maximum, percentiles and minimum; Δp = p_Q(next) - p_P(next), its percentiles and
RMS; and "same top p".

A live comparison is exact (float64 over both models' logits). --save-base FILE stores
the base's windows and, per scored token, its top --top-k log-probabilities with the mass
of the rest, so that models can be compared later with --base-file FILE without the base
model. KLD over those K+1 outcomes is a lower bound of the exact KLD (equal when K covers
the vocabulary); the report says so.`,
		Example: `  lsalign kld --base m-f32.gguf --model m-q8_0.gguf --text wiki.txt --ctx 512
  lsalign kld --base m.gguf --model m.gguf --rope-scaling yarn --rope-factor 4 --text book.txt --ctx 2x
  lsalign kld --base m-f32.gguf --text wiki.txt --ctx 512 --save-base m-f32.kldbase
  lsalign kld --base-file m-f32.kldbase --model m-q4_k_m.gguf --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKLD(cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.base, "base", "", "base model P (file or directory)")
	f.StringVar(&o.baseFile, "base-file", "", "saved base log-probabilities (from --save-base) instead of --base")
	f.StringVar(&o.model, "model", "", "model Q compared with the base")
	f.StringVar(&o.tokenizer, "tokenizer", "", "tokenizer file, if the base brings none")
	f.StringVar(&o.text, "text", "", "text file, or directory of .txt files (one document each)")
	f.StringVar(&o.ctx, "ctx", "1x", "window length: tokens, or a multiple of the base's training context (1x)")
	f.IntVar(&o.chunks, "chunks", 0, "use only the first N windows (0: all), as llama.cpp's --chunks")
	f.IntVar(&o.batchTokens, "batch-tokens", 8192, "tokens per forward pass (bounds memory; a journal's batches follow it)")
	f.StringVar(&o.saveBase, "save-base", "", "write the base's log-probabilities to FILE for later --base-file runs")
	f.IntVar(&o.topK, "top-k", 256, "--save-base: log-probabilities kept per token (the rest is kept as one mass)")
	f.BoolVar(&o.json, "json", false, "print the results as one JSON object")
	addRopeFlags(cmd, &o.rope)
	addEvalOutFlags(cmd, &o.out, "kld")
	return cmd
}

func (o kldOpts) check() error {
	switch {
	case (o.base == "") == (o.baseFile == ""):
		return usagef("kld needs exactly one of --base and --base-file")
	case o.baseFile != "" && (o.text != "" || o.saveBase != ""):
		return usagef("--base-file brings its own windows: --text and --save-base go with --base")
	case o.base != "" && o.text == "":
		return usagef("kld --base needs --text")
	case o.model == "" && o.saveBase == "":
		return usagef("kld needs --model (or --save-base to only store the base)")
	case o.chunks < 0:
		return usagef("--chunks must not be negative, got %d", o.chunks)
	case o.topK < 1:
		return usagef("--top-k must be positive, got %d", o.topK)
	case o.batchTokens < 1:
		return usagef("--batch-tokens must be positive, got %d", o.batchTokens)
	}
	return nil
}

func runKLD(stdout, stderr io.Writer, o kldOpts) error {
	if err := o.check(); err != nil {
		return err
	}
	if o.baseFile != "" {
		return runKLDFromFile(stdout, stderr, o)
	}
	base, err := loadEvalModel(o.base, o.tokenizer, ropeFlags{})
	if err != nil {
		return err
	}
	lengths, err := parseLengths("--ctx", []string{o.ctx}, base.Model.Config.MaxSeq)
	if err != nil {
		return err
	}
	docs, err := readTokenDocs(base, o.text)
	if err != nil {
		return err
	}
	opt := eval.KLDOptions{Ctx: lengths[0], BOS: -1, Chunks: o.chunks, MaxBatchTokens: o.batchTokens}
	if eval.AddsBOS(base.Tokenizer) {
		opt.BOS = base.Tokenizer.BOS()
	}
	if o.saveBase != "" {
		opt.Progress = newValueProgress(stderr, "kld: saving base", "windows", "")
		hdr := eval.BaseHeader{Model: o.base, Text: o.text}
		if err := atomicfile.Write(o.saveBase, func(w io.Writer) error {
			return eval.SaveBase(w, base.Model, docs, opt, o.topK, hdr)
		}); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "kld: saved the base's top-%d log-probabilities to %s\n", min(o.topK, base.Model.Config.Vocab), o.saveBase)
		if o.model == "" {
			return nil
		}
	}
	m, err := loadKLDModel(o, base)
	if err != nil {
		return err
	}
	if err := o.out.prepare(); err != nil {
		return err
	}
	defer o.out.close()
	opt.Progress = kldProgress(stderr, "kld")
	if opt.Units, err = o.out.units(stderr, "kld", kldSettings{Base: stampOf(o.base), Model: stampOf(o.model), Tokens: tokensDigest(docs),
		Ctx: opt.Ctx, BOS: opt.BOS, Chunks: opt.Chunks, RopeScaling: m.Model.Config.RopeScaling, BatchTokens: o.batchTokens}); err != nil {
		return err
	}
	r, err := eval.KLDivergence(base.Model, m.Model, docs, opt)
	if err != nil {
		return fmt.Errorf("%s against %s: %w", o.model, o.base, err)
	}
	return o.finish(stdout, kldOutput{KLDResult: r, Base: o.base, Model: o.model, Text: o.text})
}

// finish writes results.json and prints the report.
func (o kldOpts) finish(stdout io.Writer, out kldOutput) error {
	if err := o.out.writeResults(out); err != nil {
		return err
	}
	return printKLD(stdout, out, o.json)
}

// loadKLDModel loads --model with its RoPE flags and checks that it reads
// the base's tokens the same way.
func loadKLDModel(o kldOpts, base *load.Loaded) (*load.Loaded, error) {
	m, err := load.Load(o.model, load.Options{})
	if err != nil {
		return nil, err
	}
	if err := o.rope.apply(m.Model, m.Meta); err != nil {
		return nil, err
	}
	if base != nil && m.Tokenizer != nil && base.Tokenizer != nil {
		bt, mt := base.Tokenizer.Vocab().Tokens, m.Tokenizer.Vocab().Tokens
		if !slices.Equal(bt, mt) {
			return nil, fmt.Errorf("%s and %s have different vocabularies: KL divergence compares distributions over the same tokens", o.base, o.model)
		}
	}
	return m, nil
}

func runKLDFromFile(stdout, stderr io.Writer, o kldOpts) error {
	bf, err := eval.OpenBase(o.baseFile)
	if err != nil {
		return err
	}
	defer bf.Close()
	if o.chunks != 0 || o.ctx != "1x" {
		fmt.Fprintf(stderr, "kld: note: --ctx and --chunks are ignored with --base-file (%s holds %d windows of %d tokens)\n",
			o.baseFile, bf.Header.Windows, bf.Header.Ctx)
	}
	m, err := loadKLDModel(o, nil)
	if err != nil {
		return err
	}
	if err := o.out.prepare(); err != nil {
		return err
	}
	defer o.out.close()
	opt := eval.KLDOptions{Progress: kldProgress(stderr, "kld"), MaxBatchTokens: o.batchTokens}
	if opt.Units, err = o.out.units(stderr, "kld", kldSettings{Base: stampOf(o.baseFile), Model: stampOf(o.model),
		Ctx: bf.Header.Ctx, BOS: bf.Header.BOS, RopeScaling: m.Model.Config.RopeScaling, BatchTokens: o.batchTokens}); err != nil {
		return err
	}
	r, err := eval.KLDivergenceFromBase(m.Model, bf, opt)
	if err != nil {
		return fmt.Errorf("%s against %s: %w", o.model, o.baseFile, err)
	}
	base := bf.Header.Model
	if base == "" {
		base = o.baseFile
	}
	return o.finish(stdout, kldOutput{KLDResult: r, Base: base, Model: o.model, Text: bf.Header.Text})
}

func kldProgress(stderr io.Writer, desc string) func(done, total int, mean float64) {
	return newValueProgress(stderr, desc, "windows", "kld")
}

func printKLD(w io.Writer, out kldOutput, asJSON bool) error {
	if asJSON {
		return printJSON(w, out)
	}
	r := out.KLDResult
	var b strings.Builder
	fmt.Fprintf(&b, "base %s, model %s, %d windows of %d tokens, %d tokens scored\n", out.Base, out.Model, r.Windows, r.Ctx, r.Tokens)
	if r.TopK > 0 {
		fmt.Fprintf(&b, "base saved with its top %d log-probabilities per token: KLD is a lower bound of the exact value\n", r.TopK)
	}
	e := func(name string, v eval.Estimate) {
		fmt.Fprintf(&b, "%-30s: %10.6f ± %10.6f\n", name, v.Value, v.Stderr)
	}
	b.WriteString("\n====== Perplexity statistics ======\n")
	e("Mean PPL(Q)", r.PPL)
	e("Mean PPL(base)", r.PPLBase)
	fmt.Fprintf(&b, "%-30s: %6.2f%%\n", "Cor(ln(PPL(Q)), ln(PPL(base)))", 100*r.LogPPLCorrelation)
	e("Mean ln(PPL(Q)/PPL(base))", r.LogPPLRatio)
	e("Mean PPL(Q)/PPL(base)", r.PPLRatio)
	e("Mean PPL(Q)-PPL(base)", r.PPLDiff)
	b.WriteString("\n====== KL divergence statistics ======\n")
	fmt.Fprintf(&b, "Mean    KLD: %10.6f ± %10.6f\n", r.KLD.Value, r.KLD.Stderr)
	q := r.KLDQuantile
	for _, row := range []struct {
		name string
		v    float64
	}{{"Maximum KLD", q.Max}, {"99.9%   KLD", q.P99_9}, {"99.0%   KLD", q.P99}, {"95.0%   KLD", q.P95}, {"90.0%   KLD", q.P90},
		{"Median  KLD", q.Median}, {"10.0%   KLD", q.P10}, {" 5.0%   KLD", q.P5}, {" 1.0%   KLD", q.P1}, {" 0.1%   KLD", q.P0_1},
		{"Minimum KLD", q.Min}} {
		fmt.Fprintf(&b, "%s: %10.6f\n", row.name, row.v)
	}
	b.WriteString("\n====== Token probability statistics ======\n")
	fmt.Fprintf(&b, "Mean    Δp: %6.3f ± %5.3f %%\n", 100*r.DeltaP.Value, 100*r.DeltaP.Stderr)
	d := r.DeltaPQuantile
	for _, row := range []struct {
		name string
		v    float64
	}{{"Maximum Δp", d.Max}, {"99.9%   Δp", d.P99_9}, {"99.0%   Δp", d.P99}, {"95.0%   Δp", d.P95}, {"90.0%   Δp", d.P90},
		{"75.0%   Δp", d.P75}, {"Median  Δp", d.Median}, {"25.0%   Δp", d.P25}, {"10.0%   Δp", d.P10}, {" 5.0%   Δp", d.P5},
		{" 1.0%   Δp", d.P1}, {" 0.1%   Δp", d.P0_1}, {"Minimum Δp", d.Min}} {
		fmt.Fprintf(&b, "%s: %6.3f%%\n", row.name, 100*row.v)
	}
	fmt.Fprintf(&b, "RMS Δp    : %6.3f ± %5.3f %%\n", 100*r.DeltaPRMS.Value, 100*r.DeltaPRMS.Stderr)
	fmt.Fprintf(&b, "Same top p: %6.3f ± %5.3f %%\n", 100*r.SameTop.Value, 100*r.SameTop.Stderr)
	_, err := io.WriteString(w, b.String())
	return err
}
