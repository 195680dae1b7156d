package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary run as the lsalign command inside scripts,
// and points the commands' default output folders ($LSALIGN_RUNS) at a
// temporary folder, so that no test writes into the source tree.
func TestMain(m *testing.M) {
	testscript.Main(runsInTemp{m}, map[string]func(){
		"lsalign": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

type runsInTemp struct{ m *testing.M }

func (r runsInTemp) Run() int {
	dir, err := os.MkdirTemp("", "lsalign-runs")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	os.Setenv(runsEnv, dir)
	return r.m.Run()
}

// TestScript runs the command-line contracts in testdata/script/*.txtar.
// $SHARED is the ../shared fixtures directory; scripts that need it start
// with "[!shared] skip".
func TestScript(t *testing.T) {
	shared, err := filepath.Abs(filepath.Join("..", "..", "..", "shared"))
	if err != nil {
		t.Fatal(err)
	}
	_, statErr := os.Stat(shared)
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("SHARED", shared)
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "shared" {
				return statErr == nil, nil
			}
			return false, nil
		},
	})
}

// TestModelCommandsExitStatus checks the exit statuses scripts cannot:
// 1 for bad input, 2 for bad usage.
func TestModelCommandsExitStatus(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.bin")
	if err := os.WriteFile(garbage, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"inspect", garbage}, 1},
		{[]string{"inspect", filepath.Join(dir, "absent.gguf")}, 1},
		{[]string{"inspect"}, 2},
		{[]string{"generate", "--prompt", "x"}, 2},
		{[]string{"generate", "--model", garbage, "--top-p", "3"}, 2},
		{[]string{"generate", "--model", garbage}, 1},
		{[]string{"convert", garbage, filepath.Join(dir, "o.gguf"), "--dtype", "q4"}, 2},
		{[]string{"convert", garbage, filepath.Join(dir, "o.gguf")}, 1},
		{[]string{"tokenize"}, 2},
		{[]string{"bench", "infer", "--steps", "0", "--random", "stories15M"}, 2},
		{[]string{"bench", "--config", "huge"}, 2},
		{[]string{"bench", "--loss", "mse"}, 2},
		{[]string{"bench", "gemm", "--m", "0"}, 2},
		{[]string{"bench", "gemm", "--seconds", "0"}, 2},
		{[]string{"bench", "infer", "--threads", "-1", "--random", "stories15M"}, 2},
		{[]string{"no-such-command"}, 2},
		{[]string{"bench", "--no-such-flag"}, 2},
	} {
		var out, errOut strings.Builder
		if got := run(c.args, &out, &errOut); got != c.want {
			t.Errorf("lsalign %v: status %d, want %d (stderr %q)", c.args, got, c.want, errOut.String())
		}
	}
}
