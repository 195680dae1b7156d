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

// changed reports whether the named flag was given.
func (f ropeFlags) changed(name string) bool { return f.fs != nil && f.fs.Changed(name) }

// given reports whether any --rope-* flag was given.
func (f ropeFlags) given() bool {
	return f.changed("rope-scaling") || f.changed("rope-factor") || f.changed("rope-base") || f.changed("rope-orig-ctx")
}

// apply sets the scaling the flags ask for on m. Without any rope flag the
// model keeps what its file said. meta gives the training context, the
// default for --rope-orig-ctx. Bad values are usage errors.
func (f ropeFlags) apply(m *model.Model, meta load.Meta) error {
	if !f.given() {
		return nil
	}
	if m.Config.Pos != model.PosRoPE {
		return usagef("the --rope-* flags need a RoPE model; this one uses %q positions", m.Config.Pos)
	}
	keep := m.Config.RopeScaling.Type
	if keep == "" {
		keep = "none"
	}
	s, err := f.resolve(keep, meta.ContextLength)
	if err != nil {
		return err
	}
	if err := m.SetRopeScaling(s); err != nil {
		return usagef("%v", err)
	}
	return nil
}

// resolve reads the given flags as one scaling; train and the commands
// that run a model share it, so they accept the same flags with the same
// messages. keepType is the type when the flags name none (only
// --rope-orig-ctx): the model's, or "" when there is no model yet, which
// makes that a usage error. defaultOrig is the original context of the
// factor scalings when --rope-orig-ctx is not given (0 leaves it to the
// run). Bad values are usage errors.
func (f ropeFlags) resolve(keepType string, defaultOrig int) (kernels.RopeScaling, error) {
	typ := f.scaling
	if typ == "" {
		switch {
		case f.changed("rope-base"):
			typ = "abf"
		case f.changed("rope-factor"):
			return kernels.RopeScaling{}, usagef("--rope-factor needs --rope-scaling (linear, ntk, dynamic-ntk or yarn)")
		case keepType == "":
			return kernels.RopeScaling{}, usagef("--rope-orig-ctx needs --rope-scaling (linear, ntk, dynamic-ntk or yarn)")
		default:
			typ = keepType
		}
	}
	// Only ABF takes a base; the other scalings keep the model's, and a
	// given --rope-base must not be dropped without a word.
	if f.changed("rope-base") && typ != "abf" {
		return kernels.RopeScaling{}, usagef("--rope-base goes with --rope-scaling abf (or alone); --rope-scaling %s keeps the model's base", typ)
	}
	s := kernels.RopeScaling{Type: typ}
	switch typ {
	case "none":
	case "linear", "ntk", "dynamic-ntk", "yarn":
		if !f.changed("rope-factor") {
			return kernels.RopeScaling{}, usagef("--rope-scaling %s needs --rope-factor", typ)
		}
		s.Factor, s.OrigCtx = f.factor, f.origCtx
		if s.OrigCtx == 0 {
			s.OrigCtx = defaultOrig
		}
	case "abf":
		if !f.changed("rope-base") {
			return kernels.RopeScaling{}, usagef("--rope-scaling abf needs --rope-base (the raised base)")
		}
		s.NewBase = f.base
	default:
		return kernels.RopeScaling{}, usagef("--rope-scaling %q: want none, linear, ntk, dynamic-ntk, yarn or abf", typ)
	}
	return s, nil
}
