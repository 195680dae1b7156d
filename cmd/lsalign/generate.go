package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/lsalign/lsalign/infer"
	"github.com/lsalign/lsalign/load"
)

type generateOpts struct {
	model, tokenizer, prompt string
	steps                    int
	sampling                 infer.Sampling
	seed                     uint64
	ids, json, ignoreEOS     bool
	rope                     ropeFlags
}

// generateResult is what `lsalign generate --json` prints.
type generateResult struct {
	Prompt        []int32 `json:"prompt_ids"`
	Tokens        []int32 `json:"ids"`
	Text          string  `json:"text"`
	Stopped       bool    `json:"stopped"`
	PrefillTokens int     `json:"prefill_tokens"`
	PrefillPerS   float64 `json:"prefill_tokens_per_s"`
	DecodeTokens  int     `json:"decode_tokens"`
	DecodePerS    float64 `json:"decode_tokens_per_s"`
}

func newGenerateCmd() *cobra.Command {
	o := generateOpts{sampling: infer.Sampling{}}
	cmd := &cobra.Command{
		Use:   "generate --model FILE --prompt TEXT",
		Short: "Generate text: batched prefill of the prompt, then KV-cache decoding",
		Long: `generate continues a prompt with a model (llama2.c .bin, GGUF, Hugging Face or lsalign
directory). The prompt is tokenized with BOS as the vocabulary says; an empty prompt starts
from BOS. The prompt runs through the model in one batched pass, then each new token is
decoded from a KV cache.

Sampling: --temperature 0 is greedy; otherwise the logits are divided by the temperature,
then --top-k and --top-p (nucleus) filter them, and a seeded generator draws the token, so
--seed fixes the output. Generation stops after --steps tokens, or at EOS (and at BOS, which
starts a new document, as llama2.c does) unless --ignore-eos.

The text streams to standard output and the speed goes to standard error. With --ids only
the generated token ids are printed, space-separated on one line; --json prints a summary.`,
		Example: `  lsalign generate --model stories260K.bin --tokenizer tok512.bin --prompt "" --steps 60 --temperature 0
  lsalign generate --model model.gguf --prompt "Once upon a time" --seed 7
  lsalign generate --model hf-dir --prompt "..." --rope-scaling yarn --rope-factor 4`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGenerate(cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.model, "model", "", "model file or directory (required)")
	f.StringVar(&o.tokenizer, "tokenizer", "", "tokenizer, when the model brings none or another is wanted")
	f.StringVar(&o.prompt, "prompt", "", "prompt text; empty starts from BOS")
	f.IntVar(&o.steps, "steps", 128, "tokens to generate")
	f.Float64Var(&o.sampling.Temperature, "temperature", 0.8, "sampling temperature; 0 = greedy")
	f.IntVar(&o.sampling.TopK, "top-k", 40, "keep the K most likely tokens; 0 = all")
	f.Float64Var(&o.sampling.TopP, "top-p", 0.95, "nucleus sampling threshold; 1 = off")
	f.Uint64Var(&o.seed, "seed", 0, "seed of the sampler")
	f.BoolVar(&o.ignoreEOS, "ignore-eos", false, "do not stop at EOS or BOS")
	f.BoolVar(&o.ids, "ids", false, "print the generated token ids, space-separated on one line")
	f.BoolVar(&o.json, "json", false, "print a JSON summary")
	addRopeFlags(cmd, &o.rope)
	return cmd
}

func runGenerate(stdout, stderr io.Writer, o generateOpts) error {
	if o.model == "" {
		return usagef("--model FILE is required")
	}
	if err := checkCount("--steps", o.steps, 0); err != nil {
		return err
	}
	if err := o.sampling.Validate(); err != nil {
		return usagef("%v", err)
	}
	l, err := load.Load(o.model, load.Options{Tokenizer: o.tokenizer})
	if err != nil {
		return err
	}
	if err := o.rope.apply(l.Model, l.Meta); err != nil {
		return err
	}
	tok := l.Tokenizer
	if tok == nil {
		return fmt.Errorf("%s brings no tokenizer: pass --tokenizer FILE", o.model)
	}
	prompt, err := tok.Encode(o.prompt, true)
	if err != nil {
		return err
	}
	if o.prompt == "" || len(prompt) == 0 {
		if tok.BOS() < 0 {
			return fmt.Errorf("an empty prompt starts from BOS, and this vocabulary has none")
		}
		prompt = []int32{tok.BOS()}
	}
	if n := len(prompt) + o.steps; n > l.Meta.ContextLength && l.Model.Config.RopeScaling.Type == "" {
		fmt.Fprintf(stderr, "note: %d positions exceed the training context of %d\n", n, l.Meta.ContextLength)
	}
	opt := infer.Options{Steps: o.steps, Sampling: o.sampling, Seed: o.seed}
	if !o.ignoreEOS {
		for _, id := range []int32{tok.EOS(), tok.BOS()} {
			if id >= 0 {
				opt.Stop = append(opt.Stop, id)
			}
		}
	}
	out := bufio.NewWriter(stdout)
	stream := !o.ids && !o.json
	if stream {
		out.WriteString(o.prompt)
		prev := prompt[len(prompt)-1]
		opt.OnToken = func(id int32) error {
			out.Write(tok.Piece(prev, id))
			prev = id
			return out.Flush()
		}
	}
	res, err := infer.Generate(l.Model, prompt, opt)
	if err != nil {
		return err
	}
	switch {
	case o.json:
		err = json.NewEncoder(out).Encode(generateResult{Prompt: prompt, Tokens: nonNilIDs(res.Tokens),
			Text: tok.Decode(res.Tokens), Stopped: res.Stopped, PrefillTokens: res.PrefillTokens,
			PrefillPerS: res.PrefillTokensPerSec(), DecodeTokens: res.DecodeTokens, DecodePerS: res.DecodeTokensPerSec()})
	case o.ids:
		for i, id := range res.Tokens {
			if i > 0 {
				out.WriteByte(' ')
			}
			out.WriteString(strconv.Itoa(int(id)))
		}
		out.WriteByte('\n')
	default:
		out.WriteByte('\n')
	}
	if err != nil {
		return err
	}
	if err := out.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "prefill: %d tokens, %.0f tokens/s; decode: %d tokens, %.1f tokens/s\n",
		res.PrefillTokens, res.PrefillTokensPerSec(), res.DecodeTokens, res.DecodeTokensPerSec())
	return nil
}

func nonNilIDs(ids []int32) []int32 {
	if ids == nil {
		return []int32{}
	}
	return ids
}
