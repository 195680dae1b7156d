package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/load"
	"github.com/lsalign/lsalign/model"
)

// ropeFlags are the run-time RoPE context-extension flags that commands
// running a model share (generate, convert, misalign, ppl, passkey, ...).
type ropeFlags struct {
	scaling string
	factor  float64
	base    float64
	origCtx int
	fs      *pflag.FlagSet // to tell given flags from defaults
}

// addRopeFlags registers --rope-scaling, --rope-factor, --rope-base and
// --rope-orig-ctx on cmd.
func addRopeFlags(cmd *cobra.Command, f *ropeFlags) {
	fs := cmd.Flags()
	fs.StringVar(&f.scaling, "rope-scaling", "",
		"RoPE context extension: none, linear (PI), ntk, dynamic-ntk, yarn or abf (default: as the model file says)")
	fs.Float64Var(&f.factor, "rope-factor", 0, "scale factor s = new context / training context (linear, ntk, dynamic-ntk, yarn)")
	fs.Float64Var(&f.base, "rope-base", 0, "RoPE base (theta); alone or with --rope-scaling abf it raises the base (ABF)")
	fs.IntVar(&f.origCtx, "rope-orig-ctx", 0, "training context for dynamic-ntk and yarn (default: the model's context length)")
	f.fs = fs
}

// apply sets the scaling the flags ask for on m. Without any rope flag the
// model keeps what its file said. meta gives the training context, the
// default for --rope-orig-ctx. Bad values are usage errors.
func (f ropeFlags) apply(m *model.Model, meta load.Meta) error {
	changed := func(name string) bool { return f.fs != nil && f.fs.Changed(name) }
	if !changed("rope-scaling") && !changed("rope-factor") && !changed("rope-base") && !changed("rope-orig-ctx") {
		return nil
	}
	if m.Config.Pos != model.PosRoPE {
		return usagef("the --rope-* flags need a RoPE model; this one uses %q positions", m.Config.Pos)
	}
	typ := f.scaling
	if typ == "" {
		switch {
		case changed("rope-base"):
			typ = "abf"
		case changed("rope-factor"):
			return usagef("--rope-factor needs --rope-scaling (linear, ntk, dynamic-ntk or yarn)")
		default:
			typ = m.Config.RopeScaling.Type
		}
	}
	orig := f.origCtx
	if orig == 0 {
		orig = meta.ContextLength
	}
	// Only ABF takes a base; the other scalings keep the model's, and a
	// given --rope-base must not be dropped without a word.
	if changed("rope-base") && typ != "abf" {
		return usagef("--rope-base goes with --rope-scaling abf (or alone); --rope-scaling %s keeps the model's base", typ)
	}
	s := kernels.RopeScaling{Type: typ}
	switch typ {
	case "none", "":
		s.Type = "none"
	case "linear", "ntk", "dynamic-ntk", "yarn":
		if !changed("rope-factor") {
			return usagef("--rope-scaling %s needs --rope-factor", typ)
		}
		s.Factor, s.OrigCtx = f.factor, orig
	case "abf":
		if !changed("rope-base") {
			return usagef("--rope-scaling abf needs --rope-base (the raised base)")
		}
		s.NewBase = f.base
	default:
		return usagef("--rope-scaling %q: want none, linear, ntk, dynamic-ntk, yarn or abf", typ)
	}
	if err := m.SetRopeScaling(s); err != nil {
		return usagef("%v", err)
	}
	return nil
}
