package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lsalign/lsalign/load"
	"github.com/lsalign/lsalign/model"
)

type convertOpts struct {
	tokenizer, format, dtype string
	legacy, noCheck, json    bool
	rope                     ropeFlags
}

// convertResult is what `lsalign convert --json` prints.
type convertResult struct {
	In        string  `json:"in"`
	Out       string  `json:"out"`
	Format    string  `json:"format"`
	DType     string  `json:"dtype"`
	Params    int     `json:"params"`
	Tokenizer string  `json:"tokenizer,omitempty"`
	MaxDiff   float64 `json:"max_abs_logit_diff"` // -1 when not checked
}

func newConvertCmd() *cobra.Command {
	var o convertOpts
	cmd := &cobra.Command{
		Use:   "convert IN OUT",
		Short: "Convert a model between llama2.c, GGUF and safetensors (Hugging Face) formats",
		Long: `convert reads IN (llama2.c .bin, GGUF, Hugging Face or lsalign directory) and writes OUT in
the format its name chooses: .gguf is GGUF (llama.cpp's keys, F32 or F16), .bin a llama2.c
checkpoint (F32; version 1, or 0 for run.c with --legacy), anything else a directory: a
Hugging Face one (config.json, model.safetensors, tokenizer.json) for Llama and GPT-2 models,
an lsalign checkpoint for other architectures. Query and key rows are permuted between the
RoPE layouts as the formats require (GGUF and llama2.c adjacent, Hugging Face halves).

The tokenizer travels with the model: embedded in GGUF, tokenizer.json in a directory, and
OUT's name with .tokenizer.bin for llama2.c, so later commands need no --tokenizer.

Afterwards OUT is read back and its logits compared with IN's on a short sequence; the
largest difference is printed, and above 1e-4 for F32 output it is an error.`,
		Example: `  lsalign convert stories260K.bin stories260K.gguf --tokenizer tok512.bin
  lsalign convert stories260K.gguf hf-dir
  lsalign convert hf-dir model-f16.gguf --dtype f16
  lsalign convert model.gguf run-c.bin --legacy`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConvert(cmd.OutOrStdout(), args[0], args[1], o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.tokenizer, "tokenizer", "", "tokenizer to attach, when IN brings none or another is wanted")
	f.StringVar(&o.format, "format", "", "output format: gguf, llama2c, safetensors or lsalign (default: from OUT's name)")
	f.StringVar(&o.dtype, "dtype", "f32", "weight type: f32, or f16 (GGUF, safetensors)")
	f.BoolVar(&o.legacy, "legacy", false, "llama2.c: write version 0, the format run.c reads")
	f.BoolVar(&o.noCheck, "no-check", false, "skip reading OUT back and comparing logits")
	f.BoolVar(&o.json, "json", false, "print a JSON summary")
	addRopeFlags(cmd, &o.rope)
	return cmd
}

func runConvert(w io.Writer, in, out string, o convertOpts) error {
	dtype := strings.ToUpper(o.dtype)
	if dtype != "F32" && dtype != "F16" {
		return usagef("--dtype must be f32 or f16, got %q", o.dtype)
	}
	switch o.format {
	case "", load.FormatGGUF, load.FormatLlama2C, load.FormatHF, load.FormatLsalign:
	default:
		return usagef("--format must be gguf, llama2c, safetensors or lsalign, got %q", o.format)
	}
	l, err := load.Load(in, load.Options{Tokenizer: o.tokenizer})
	if err != nil {
		return err
	}
	if err := o.rope.apply(l.Model, l.Meta); err != nil {
		return err
	}
	format := o.format
	if format == "" {
		format = load.FormatFor(out, l.Model)
	}
	err = load.Save(out, l.Model, l.Tokenizer, load.SaveOptions{Format: format, DType: dtype, Legacy: o.legacy, Name: l.Meta.Name})
	if err != nil {
		return err
	}
	res := convertResult{In: in, Out: out, Format: format, DType: dtype, Params: l.Model.NumParams(), MaxDiff: -1}
	if l.Tokenizer != nil {
		res.Tokenizer = string(l.Tokenizer.Kind())
	}
	if !o.noCheck {
		back, err := load.Load(out, load.Options{})
		if err != nil {
			return fmt.Errorf("reading %s back: %w", out, err)
		}
		if res.MaxDiff, err = logitDiff(l.Model, back.Model); err != nil {
			return err
		}
		if dtype == "F32" && !(res.MaxDiff < 1e-4) {
			return fmt.Errorf("%s: logits differ from %s by %g after conversion", out, in, res.MaxDiff)
		}
	}
	if o.json {
		return json.NewEncoder(w).Encode(res)
	}
	tk := "no tokenizer"
	if res.Tokenizer != "" {
		tk = res.Tokenizer + " tokenizer"
	}
	fmt.Fprintf(w, "wrote %s: %s, %s, %d parameters, %s\n", out, format, dtype, res.Params, tk)
	if res.MaxDiff >= 0 {
		fmt.Fprintf(w, "read back: max |logit difference| %.3g\n", res.MaxDiff)
	}
	return nil
}

// logitDiff runs both models on the same short sequence and returns the
// largest absolute difference of their logits.
func logitDiff(a, b *model.Model) (float64, error) {
	if a.Config.Vocab != b.Config.Vocab {
		return 0, fmt.Errorf("vocabulary %d became %d", a.Config.Vocab, b.Config.Vocab)
	}
	T := min(16, a.Config.MaxSeq)
	tokens := make([]int32, T)
	for i := range tokens {
		tokens[i] = int32((i*7919 + 1) % a.Config.Vocab)
	}
	logits := func(m *model.Model) ([]float32, error) {
		if err := m.Forward(tokens, 1, T, model.ForwardOptions{}); err != nil {
			return nil, err
		}
		return m.Logits(), nil
	}
	la, err := logits(a)
	if err != nil {
		return 0, err
	}
	la = append([]float32(nil), la...)
	lb, err := logits(b)
	if err != nil {
		return 0, err
	}
	d := 0.0
	for i := range la {
		d = math.Max(d, math.Abs(float64(la[i])-float64(lb[i])))
	}
	return d, nil
}
