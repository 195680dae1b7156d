package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/lsalign/lsalign/align"
	"github.com/lsalign/lsalign/data"
	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/kernels/gemm"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/train"
)

// benchConfig is a named training-speed workload.
type benchConfig struct {
	Model model.Config
	Batch int
	Seq   int
	LR    float64
}

// namedBenchConfig returns the workloads `lsalign bench` knows. "tiny" is
// the shape of the PyTorch reference script's defaults.
func namedBenchConfig(name string) (benchConfig, error) {
	switch name {
	case "tiny":
		return benchConfig{
			Model: model.Config{Family: "llama", Vocab: 512, Dim: 128, Layers: 2, Heads: 4, KVHeads: 4,
				Hidden: 352, MaxSeq: 256},
			Batch: 8, Seq: 256, LR: 1e-3,
		}, nil
	case "small":
		return benchConfig{
			Model: model.Config{Family: "llama", Vocab: 512, Dim: 256, Layers: 4, Heads: 8, KVHeads: 4,
				Hidden: 704, MaxSeq: 512},
			Batch: 8, Seq: 512, LR: 1e-3,
		}, nil
	}
	return benchConfig{}, usagef("unknown bench config %q (known: tiny, small)", name)
}

type benchOpts struct {
	config  string
	loss    string
	alpha   float64
	steps   int
	warmup  int
	seed    uint64
	json    bool
	verbose bool
	profile string
}

// benchResult is the JSON summary printed last by `lsalign bench --json`.
type benchResult struct {
	Config        string  `json:"config"`
	Loss          string  `json:"loss"`
	StepsPerS     float64 `json:"steps_per_s"`
	TokensPerS    float64 `json:"tokens_per_s"`
	Gemm          string  `json:"gemm"`
	MedianS       float64 `json:"median_s_per_step"`
	MinS          float64 `json:"min_s_per_step"`
	TokensPerStep int     `json:"tokens_per_step"`
	TimedSteps    int     `json:"timed_steps"`
	Threads       int     `json:"threads"`
	Params        int     `json:"params"`
	LossFirst     float64 `json:"loss_first"`
	LossLast      float64 `json:"loss_last"`
}

func newBenchCmd() *cobra.Command {
	var o benchOpts
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure training speed (steps/s) of a named config, GEMM GFLOP/s, or inference tokens/s",
		Long: `bench runs training steps of a named config: a few untimed warm-up steps, then timed
steps, and reports the median step time as steps/s and tokens/s.

Losses match ../shared/bench/torch_bench.py exactly so the two can be compared side by side:
  ce      next-token cross-entropy on B windows of seq tokens
  ce+sce  L* = CE + alpha*SCE: each sample is seq+l_extra+1 tokens, l_extra ~ U[1, seq/2];
          windows A = [0, seq) and B = [l_extra, l_extra+seq) run as one batch of 2B;
          CE is averaged over both windows, SCE over the overlapping positions.

Configs: tiny (Llama-style, 2 layers, dim 128, 4 heads, hidden 352, vocab 512, seq 256,
batch 8, AdamW lr 1e-3), small (4 layers, dim 256, 8 heads / 4 kv heads, seq 512).`,
		Example: `  lsalign bench --config tiny --loss ce
  lsalign bench --config tiny --loss ce+sce --json
  lsalign bench gemm --m 2048 --k 256 --n 1024 --threads 1`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBench(cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "tiny", "named config: tiny or small")
	f.StringVar(&o.loss, "loss", "ce", "objective: ce or ce+sce")
	f.Float64Var(&o.alpha, "alpha", 0.1, "weight of the SCE term for ce+sce")
	f.IntVar(&o.steps, "steps", 20, "timed steps")
	f.IntVar(&o.warmup, "warmup", 3, "untimed warm-up steps")
	f.Uint64Var(&o.seed, "seed", 0, "seed for weights and data")
	f.BoolVar(&o.json, "json", false, "print a JSON summary as the last line")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "print every step")
	f.StringVar(&o.profile, "cpuprofile", "", "write a pprof CPU profile of the timed steps to this file")
	cmd.AddCommand(newBenchGemmCmd())
	cmd.AddCommand(newBenchInferCmd())
	return cmd
}

func runBench(w io.Writer, o benchOpts) error {
	bc, err := namedBenchConfig(o.config)
	if err != nil {
		return err
	}
	if o.loss != "ce" && o.loss != "ce+sce" {
		return usagef("--loss must be ce or ce+sce, got %q", o.loss)
	}
	if o.steps < 1 || o.warmup < 0 {
		return usagef("--steps must be >= 1 and --warmup >= 0")
	}
	m, err := model.NewInit(bc.Model, o.seed)
	if err != nil {
		return err
	}
	st := train.NewStepper(m, 0.01) // torch.optim.AdamW's default weight decay, as the reference uses
	st.Obj.Reg = align.Regularizer{Alpha: o.alpha}
	corpus := data.Markov(bc.Model.Vocab, 200_000, o.seed)
	r := rng.New(o.seed + 1)
	B, T := bc.Batch, bc.Seq
	windows := 1
	if o.loss == "ce+sce" {
		windows = 2
	}
	fmt.Fprintf(w, "# lsalign bench: config %s, loss %s, params %d, gemm %s, GOMAXPROCS %d\n",
		o.config, o.loss, m.NumParams(), gemm.Backend(), runtime.GOMAXPROCS(0))
	var times []float64
	var losses []float64
	for step := 0; step < o.warmup+o.steps; step++ {
		if step == o.warmup && o.profile != "" {
			stop, err := startCPUProfile(o.profile)
			if err != nil {
				return err
			}
			defer stop()
		}
		t0 := time.Now()
		var loss float64
		if o.loss == "ce" {
			inp, tgt := data.SplitShift(data.RandomWindows(corpus, B, T+1, r), B, T)
			loss, err = st.StepCE(inp, tgt, B, T, bc.LR)
		} else {
			extra := r.IntRange(1, T/2)
			s := data.RandomWindows(corpus, B, T+extra+1, r)
			var l align.Loss
			l, err = st.StepPair(s, B, T, extra, bc.LR)
			loss = l.Total
		}
		if err != nil {
			return err
		}
		dt := time.Since(t0).Seconds()
		losses = append(losses, loss)
		if step >= o.warmup {
			times = append(times, dt)
		}
		if o.verbose {
			fmt.Fprintf(w, "# step %d %.4fs loss %.4f\n", step, dt, loss)
		}
	}
	med := median(times)
	res := benchResult{
		Config: o.config, Loss: o.loss, StepsPerS: 1 / med, TokensPerS: float64(B*T*windows) / med,
		Gemm: gemm.Backend(), MedianS: med, MinS: slices.Min(times), TokensPerStep: B * T * windows,
		TimedSteps: len(times), Threads: runtime.GOMAXPROCS(0), Params: m.NumParams(),
		LossFirst: losses[0], LossLast: losses[len(losses)-1],
	}
	if o.json {
		return json.NewEncoder(w).Encode(res)
	}
	fmt.Fprintf(w, "%.2f steps/s, %.0f tokens/s (median %.1f ms/step over %d steps); loss %.4f -> %.4f\n",
		res.StepsPerS, res.TokensPerS, med*1000, len(times), res.LossFirst, res.LossLast)
	return nil
}

// startCPUProfile starts a pprof CPU profile into path and returns the
// function that stops it and closes the file.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
