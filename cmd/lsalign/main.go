// Command lsalign studies and improves length generalization of language
// models with Long-Short Alignment (Du et al., ICML 2025).
//
// Exit status: 0 success, 1 error, 2 usage error.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lsalign/lsalign/internal/buildinfo"
	"github.com/lsalign/lsalign/kernels/gemm"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// usageError marks errors in how the command was called (exit status 2).
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// run executes the command line and returns the exit status; tests call it.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "lsalign:", err)
	// Cobra reports an unknown subcommand with a plain error of its own;
	// everything else that is a usage error is wrapped in usageError here.
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") {
		return 2
	}
	return 1
}

func newRoot() *cobra.Command {
	// con wraps stderr with the progress settings for every subcommand.
	con := &console{every: defaultProgressEvery}
	root := &cobra.Command{
		Use:   "lsalign",
		Short: "Long-Short Alignment: measure and improve length generalization of language models",
		Long: `lsalign implements "Long-Short Alignment for Effective Long-Context Modeling in LLMs"
(Du, Huang, Wang, Wang; ICML 2025) on the CPU, from one binary: a model generalizes to
inputs longer than it was trained on when its output distribution stays consistent
across input lengths.

It trains and evaluates decoder-only transformers with hand-written kernels, reads
llama2.c, GGUF and safetensors models, reproduces the paper's synthetic studies,
measures Long-Short Misalignment, and trains with the misalignment regularizer.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// A GEMM backend asked for through LSALIGN_BLAS that cannot be used
		// falls back to the native kernels; say so rather than let a
		// comparison silently measure the wrong thing.
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if con.every <= 0 {
				return usagef("--progress-every must be positive, got %s", con.every)
			}
			con.Writer = cmd.ErrOrStderr()
			cmd.SetErr(con)
			if os.Getenv(gemm.BackendEnv) == "" {
				return nil
			}
			if err := gemm.BackendError(); err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "lsalign: warning:", err)
			}
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.BoolVarP(&con.quiet, "quiet", "q", false, "no progress output (messages and results still print)")
	pf.DurationVar(&con.every, "progress-every", defaultProgressEvery,
		"when stderr is not a terminal (logs, CI), print a progress line this often")
	// The revision is looked up only when --version asks for it.
	root.Version = buildinfo.Version
	cobra.AddTemplateFunc("lsalignVersion", buildinfo.Describe)
	root.SetVersionTemplate("lsalign {{lsalignVersion}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(newBenchCmd())
	root.AddCommand(newMisalignCmd())
	root.AddCommand(newPPLCmd())
	root.AddCommand(newKLDCmd())
	root.AddCommand(newPasskeyCmd())
	root.AddCommand(newBabilongCmd())
	root.AddCommand(newRulerCmd())
	root.AddCommand(newCorrelateCmd())
	root.AddCommand(newSynthCmd())
	root.AddCommand(newInspectCmd())
	root.AddCommand(newTokenizeCmd())
	root.AddCommand(newGenerateCmd())
	root.AddCommand(newConvertCmd())
	root.AddCommand(newTrainCmd())
	root.AddCommand(newReproCmd())
	return root
}

// exactArgs is cobra.ExactArgs(n) with the error marked as a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{fmt.Errorf("%w (see '%s --help')", err, cmd.CommandPath())}
		}
		return nil
	}
}

// noArgs rejects positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}
