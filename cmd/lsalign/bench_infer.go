package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/lsalign/lsalign/infer"
	"github.com/lsalign/lsalign/internal/memlimit"
	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/kernels/gemm"
	"github.com/lsalign/lsalign/load"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
)

type benchInferOpts struct {
	model, random, tokenizer, save string
	promptLen, steps, threads      int
	repeat                         int
	seed                           uint64
	legacy, json                   bool
}

// benchInferResult is what `lsalign bench infer --json` prints.
type benchInferResult struct {
	Model          string  `json:"model"`
	Params         int     `json:"params"`
	Threads        int     `json:"threads"`
	Gemm           string  `json:"gemm"`
	PromptTokens   int     `json:"prompt_tokens"`
	DecodeTokens   int     `json:"decode_tokens"`
	PrefillPerS    float64 `json:"prefill_tokens_per_s"`
	DecodePerS     float64 `json:"decode_tokens_per_s"`
	DecodeMsPerTok float64 `json:"decode_ms_per_token"`
	Ratio          float64 `json:"prefill_over_decode"`
	Repeats        int     `json:"repeats"`
}

// randomShape returns the config of one of llama2.c's tinyllamas (tied
// embeddings), for benchmarks with random weights.
func randomShape(name string) (model.Config, error) {
	base := model.Config{Family: "llama", Vocab: 32000, NormEps: 1e-5, TiedHead: true}
	switch name {
	case "stories15M":
		base.Dim, base.Layers, base.Heads, base.Hidden, base.MaxSeq = 288, 6, 6, 768, 256
	case "stories42M":
		base.Dim, base.Layers, base.Heads, base.Hidden, base.MaxSeq = 512, 8, 8, 1376, 1024
	case "stories110M":
		base.Dim, base.Layers, base.Heads, base.Hidden, base.MaxSeq = 768, 12, 12, 2048, 1024
	default:
		return model.Config{}, usagef("unknown --random shape %q (known: stories15M, stories42M, stories110M)", name)
	}
	return base, nil
}

func newBenchInferCmd() *cobra.Command {
	var o benchInferOpts
	cmd := &cobra.Command{
		Use:   "infer --model FILE | --random SHAPE",
		Short: "Measure inference speed: prefill and decode tokens/s",
		Long: `bench infer times a model's two inference phases on a prompt of seeded random tokens:
prefill, the whole prompt in one batched pass through the GEMM path, and decode, one token
at a time from the KV cache (greedy, continuing the prompt). Each phase is repeated and the
median reported, with the prefill/decode throughput ratio.

--random SHAPE benchmarks random weights of llama2.c's tinyllamas shapes (stories15M: dim
288, 6 layers, 6 heads, hidden 768, vocab 32000). --save writes the benchmarked model
(format by extension, --legacy for run.c's llama2.c version 0) so another implementation
can be timed on the same weights. --threads 1 measures one core.`,
		Example: `  lsalign bench infer --model stories260K.bin --threads 1
  lsalign bench infer --random stories15M --json
  lsalign bench infer --random stories15M --save r15.bin --legacy --tokenizer tokenizer.bin`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBenchInfer(cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.model, "model", "", "model file or directory")
	f.StringVar(&o.random, "random", "", "random weights of a named shape instead of --model (stories15M, stories42M, stories110M)")
	f.StringVar(&o.tokenizer, "tokenizer", "", "tokenizer to save with --save")
	f.StringVar(&o.save, "save", "", "also write the model to this path")
	f.BoolVar(&o.legacy, "legacy", false, "with --save to .bin: llama2.c version 0 (run.c)")
	f.IntVar(&o.promptLen, "prompt-len", 128, "prompt tokens for prefill")
	f.IntVar(&o.steps, "steps", 128, "tokens to decode")
	f.IntVar(&o.threads, "threads", 0, "GOMAXPROCS during the benchmark (0 = as is)")
	f.IntVar(&o.repeat, "repeat", 3, "repetitions of each phase (median reported)")
	f.Uint64Var(&o.seed, "seed", 1, "seed for random weights and prompt")
	f.BoolVar(&o.json, "json", false, "print a JSON summary as the last line")
	return cmd
}

func runBenchInfer(w io.Writer, o benchInferOpts) error {
	if (o.model == "") == (o.random == "") {
		return usagef("give exactly one of --model FILE and --random SHAPE")
	}
	for _, c := range []struct {
		flag  string
		v, lo int
	}{{"--prompt-len", o.promptLen, 1}, {"--steps", o.steps, 1}, {"--repeat", o.repeat, 1}, {"--threads", o.threads, 0}} {
		if err := checkCount(c.flag, c.v, c.lo); err != nil {
			return err
		}
	}
	m, name, err := benchInferModel(o)
	if err != nil {
		return err
	}
	need := infer.DecodeMemory(m.Config, o.promptLen, o.steps)
	if err := memlimit.Check(need, fmt.Sprintf("a %d-token prompt and %d decoded tokens", o.promptLen, o.steps)); err != nil {
		return err
	}
	if m.Config.Pos == model.PosLearned && o.promptLen+o.steps > m.Config.MaxSeq {
		return usagef("--prompt-len + --steps = %d exceeds the model's %d positions", o.promptLen+o.steps, m.Config.MaxSeq)
	}
	if o.threads > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(o.threads))
	}
	r := rng.New(o.seed + 1)
	prompt := make([]int32, o.promptLen)
	for i := range prompt {
		prompt[i] = int32(r.Intn(m.Config.Vocab))
	}
	kv, err := m.NewKVCache(o.promptLen + o.steps)
	if err != nil {
		return err
	}
	var prefill, decode []float64
	for range o.repeat {
		kv.Reset()
		t0 := time.Now()
		logits, err := m.Extend(kv, prompt)
		if err != nil {
			return err
		}
		prefill = append(prefill, time.Since(t0).Seconds())
		t0 = time.Now()
		for range o.steps {
			if logits, err = m.Extend(kv, []int32{kernels.Argmax(logits)}); err != nil {
				return err
			}
		}
		decode = append(decode, time.Since(t0).Seconds())
	}
	pre, dec := median(prefill), median(decode)
	res := benchInferResult{Model: name, Params: m.NumParams(), Threads: runtime.GOMAXPROCS(0), Gemm: gemm.Backend(),
		PromptTokens: o.promptLen, DecodeTokens: o.steps, PrefillPerS: float64(o.promptLen) / pre,
		DecodePerS: float64(o.steps) / dec, DecodeMsPerTok: 1000 * dec / float64(o.steps), Repeats: o.repeat}
	res.Ratio = res.PrefillPerS / res.DecodePerS
	fmt.Fprintf(w, "# lsalign bench infer: %s, %d parameters, GOMAXPROCS %d, gemm %s\n", name, res.Params, res.Threads, res.Gemm)
	fmt.Fprintf(w, "prefill: %d tokens, %.0f tokens/s (%.2f ms)\n", o.promptLen, res.PrefillPerS, 1000*pre)
	fmt.Fprintf(w, "decode:  %d tokens, %.1f tokens/s (%.3f ms/token)\n", o.steps, res.DecodePerS, res.DecodeMsPerTok)
	fmt.Fprintf(w, "prefill/decode: %.1fx\n", res.Ratio)
	if o.json {
		return json.NewEncoder(w).Encode(res)
	}
	return nil
}

// benchInferModel loads --model or builds --random weights, saving them
// when asked.
func benchInferModel(o benchInferOpts) (*model.Model, string, error) {
	var m *model.Model
	var tok *tokenizer.Tokenizer
	name := o.model
	if o.model != "" {
		l, err := load.Load(o.model, load.Options{Tokenizer: o.tokenizer})
		if err != nil {
			return nil, "", err
		}
		m, tok = l.Model, l.Tokenizer
	} else {
		cfg, err := randomShape(o.random)
		if err != nil {
			return nil, "", err
		}
		if m, err = model.NewInit(cfg, o.seed); err != nil {
			return nil, "", err
		}
		name = "random " + o.random
		if o.tokenizer != "" {
			if tok, err = load.LoadTokenizer(o.tokenizer); err != nil {
				return nil, "", err
			}
		}
	}
	if o.save != "" {
		if err := load.Save(o.save, m, tok, load.SaveOptions{Legacy: o.legacy}); err != nil {
			return nil, "", err
		}
	}
	return m, name, nil
}

// median is the middle of xs, or the mean of the two middle values.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
