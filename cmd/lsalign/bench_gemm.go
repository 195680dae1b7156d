package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/lsalign/lsalign/internal/memlimit"
	"github.com/lsalign/lsalign/kernels/gemm"
)

type benchGemmOpts struct {
	m, k, n, threads int
	seconds          float64
	compare, json    bool
}

type benchGemmResult struct {
	M        int     `json:"m"`
	K        int     `json:"k"`
	N        int     `json:"n"`
	Threads  int     `json:"threads"`
	Backend  string  `json:"backend"`
	GFlops   float64 `json:"gflops"`
	OpenBLAS float64 `json:"openblas_gflops,omitempty"`
	Ratio    float64 `json:"ratio_vs_openblas,omitempty"`
}

func newBenchGemmCmd() *cobra.Command {
	var o benchGemmOpts
	cmd := &cobra.Command{
		Use:   "gemm",
		Short: "Measure single-precision GEMM GFLOP/s (C[m,n] = A[m,k]·B[k,n])",
		Long: `bench gemm times the engine's SGEMM on random matrices and reports GFLOP/s
(2·m·n·k flops per call, median of repeated timings).

With --openblas it also times OpenBLAS's cblas_sgemm (loaded at run time without cgo from
libopenblas.so.0), interleaved in the same process, and reports the ratio.`,
		Example: `  lsalign bench gemm --m 2048 --k 256 --n 1024 --threads 1 --openblas`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBenchGemm(cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.m, "m", 2048, "rows of A and C")
	f.IntVar(&o.k, "k", 256, "inner dimension")
	f.IntVar(&o.n, "n", 1024, "columns of B and C")
	f.IntVar(&o.threads, "threads", 1, "goroutines (0 = GOMAXPROCS)")
	f.Float64Var(&o.seconds, "seconds", 2, "measuring time per backend")
	f.BoolVar(&o.compare, "openblas", false, "also measure OpenBLAS and report the ratio")
	f.BoolVar(&o.json, "json", false, "print a JSON summary as the last line")
	return cmd
}

func runBenchGemm(w io.Writer, o benchGemmOpts) error {
	for _, c := range []struct {
		flag  string
		v, lo int
	}{{"--m", o.m, 1}, {"--k", o.k, 1}, {"--n", o.n, 1}, {"--threads", o.threads, 0}} {
		if err := checkCount(c.flag, c.v, c.lo); err != nil {
			return err
		}
	}
	if !(o.seconds > 0) {
		return usagef("--seconds must be positive, got %v", o.seconds)
	}
	if err := memlimit.Check(gemmMemory(o.m, o.k, o.n), fmt.Sprintf("a %dx%dx%d GEMM", o.m, o.k, o.n)); err != nil {
		return err
	}
	dur := time.Duration(o.seconds * float64(time.Second))
	res := benchGemmResult{M: o.m, K: o.k, N: o.n, Threads: o.threads, Backend: gemm.Backend()}
	var err error
	if res.GFlops, err = gemm.Measure(o.m, o.k, o.n, o.threads, false, dur); err != nil {
		return err
	}
	if o.compare {
		if res.OpenBLAS, err = gemm.Measure(o.m, o.k, o.n, o.threads, true, dur); err != nil {
			return err
		}
		res.Ratio = res.GFlops / res.OpenBLAS
	}
	if o.json {
		return json.NewEncoder(w).Encode(res)
	}
	fmt.Fprintf(w, "sgemm %dx%dx%d, %d thread(s), %s: %.1f GFLOP/s\n", o.m, o.k, o.n, o.threads, res.Backend, res.GFlops)
	if o.compare {
		fmt.Fprintf(w, "openblas: %.1f GFLOP/s; ratio %.3f\n", res.OpenBLAS, res.Ratio)
	}
	return nil
}
