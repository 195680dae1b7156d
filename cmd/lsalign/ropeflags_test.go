package main

import (
	"errors"
	"testing"

	"github.com/spf13/cobra"

	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/load"
	"github.com/lsalign/lsalign/model"
)

// applyRopeArgs parses args as rope flags and applies them to a fresh
// RoPE model whose file said fileScaling, with a training context of 64.
func applyRopeArgs(t *testing.T, fileScaling kernels.RopeScaling, args ...string) (kernels.RopeScaling, error) {
	t.Helper()
	var f ropeFlags
	cmd := &cobra.Command{Use: "x"}
	addRopeFlags(cmd, &f)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	m, err := model.New(model.Config{Family: "llama", Vocab: 8, Dim: 8, Layers: 1, Heads: 2, MaxSeq: 64, RopeScaling: fileScaling})
	if err != nil {
		t.Fatal(err)
	}
	err = f.apply(m, load.Meta{ContextLength: 64})
	return m.Config.RopeScaling, err
}

func TestRopeFlags(t *testing.T) {
	file := kernels.RopeScaling{Type: "linear", Factor: 2}
	for _, c := range []struct {
		args []string
		want kernels.RopeScaling
	}{
		{nil, file}, // no flag keeps what the file said
		{[]string{"--rope-scaling", "none"}, kernels.RopeScaling{Type: "none"}},
		{[]string{"--rope-scaling", "yarn", "--rope-factor", "4"}, kernels.RopeScaling{Type: "yarn", Factor: 4, OrigCtx: 64}},
		{[]string{"--rope-scaling", "dynamic-ntk", "--rope-factor", "2", "--rope-orig-ctx", "32"},
			kernels.RopeScaling{Type: "dynamic-ntk", Factor: 2, OrigCtx: 32}},
		{[]string{"--rope-base", "500000"}, kernels.RopeScaling{Type: "abf", NewBase: 500000}},
		{[]string{"--rope-scaling", "abf", "--rope-base", "1e6"}, kernels.RopeScaling{Type: "abf", NewBase: 1e6}},
	} {
		got, err := applyRopeArgs(t, file, c.args...)
		if err != nil || got != c.want {
			t.Errorf("%v: %+v, %v; want %+v", c.args, got, err, c.want)
		}
	}
	for _, args := range [][]string{
		{"--rope-scaling", "linear"},                         // no factor
		{"--rope-factor", "2"},                               // no type
		{"--rope-scaling", "abf"},                            // no base
		{"--rope-scaling", "bogus", "--rope-factor", "2"},    // unknown type
		{"--rope-scaling", "linear", "--rope-factor", "0.5"}, // factor < 1
		// A base the scaling would drop.
		{"--rope-scaling", "ntk", "--rope-factor", "2", "--rope-base", "50000"},
		{"--rope-scaling", "yarn", "--rope-factor", "2", "--rope-base", "50000"},
		{"--rope-scaling", "none", "--rope-base", "50000"},
	} {
		_, err := applyRopeArgs(t, file, args...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: error %v, want a usage error", args, err)
		}
	}
}
