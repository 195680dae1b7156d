package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lsalign/lsalign/load"
	"github.com/lsalign/lsalign/model"
)

type inspectOpts struct {
	tokenizer string
	tensors   bool
	json      bool
}

// inspectResult is what `lsalign inspect --json` prints.
type inspectResult struct {
	load.Meta
	Params    int          `json:"params"`
	Config    model.Config `json:"config"`
	Tensors   []tensorInfo `json:"tensors"`
	TokenSize int          `json:"tokenizer_size,omitempty"`
	BOS       *int32       `json:"bos,omitempty"`
	EOS       *int32       `json:"eos,omitempty"`
}

type tensorInfo struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

func newInspectCmd() *cobra.Command {
	var o inspectOpts
	cmd := &cobra.Command{
		Use:   "inspect FILE",
		Short: "Describe a model file: format, architecture, shapes, parameters, context, RoPE, tokenizer",
		Long: `inspect loads a llama2.c checkpoint (.bin), a GGUF file, a Hugging Face model directory
or an lsalign checkpoint directory, checking every tensor, and describes it: format and
storage type, architecture and hyper-parameters, parameter count, training context length,
RoPE base, layout and scaling, the tokenizer it brings, and the tensor shapes (the first
block's stand for all blocks unless --tensors is given; --json always lists every tensor).

A truncated or malformed file is an error (exit status 1) naming the file and the field.`,
		Example: `  lsalign inspect stories260K.gguf
  lsalign inspect --json stories260K.bin --tokenizer tok512.bin`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInspect(cmd.OutOrStdout(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.tokenizer, "tokenizer", "", "tokenizer to check against the model instead of the one it brings")
	f.BoolVar(&o.tensors, "tensors", false, "list every tensor, not only the first block's")
	f.BoolVar(&o.json, "json", false, "print one JSON object")
	return cmd
}

func runInspect(w io.Writer, path string, o inspectOpts) error {
	l, err := load.Load(path, load.Options{Tokenizer: o.tokenizer})
	if err != nil {
		return err
	}
	m, c := l.Model, l.Model.Config
	res := inspectResult{Meta: l.Meta, Params: m.NumParams(), Config: c}
	for _, t := range m.Params.Layout.Tensors {
		res.Tensors = append(res.Tensors, tensorInfo{t.Name, t.Shape})
	}
	if tok := l.Tokenizer; tok != nil {
		bos, eos := tok.BOS(), tok.EOS()
		res.TokenSize, res.BOS, res.EOS = tok.Size(), &bos, &eos
	}
	if o.json {
		return json.NewEncoder(w).Encode(res)
	}
	p := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-15s %s\n", label+":", fmt.Sprintf(format, args...))
	}
	p("file", "%s", l.Meta.Path)
	version := ""
	if l.Meta.Format == load.FormatLlama2C || l.Meta.Format == load.FormatGGUF {
		version = fmt.Sprintf(" v%d", l.Meta.Version)
	}
	p("format", "%s%s, %s", l.Meta.Format, version, l.Meta.DType)
	arch := l.Meta.Architecture
	if l.Meta.Name != "" && l.Meta.Name != arch {
		arch += fmt.Sprintf(" (%s)", l.Meta.Name)
	}
	p("architecture", "%s", arch)
	p("parameters", "%d (%s)", res.Params, humanCount(res.Params))
	p("shape", "vocab %d, dim %d, layers %d, heads %d, kv heads %d, head size %d, hidden %d",
		c.Vocab, c.Dim, c.Layers, c.Heads, c.KVHeads, c.HeadSize(), c.Hidden)
	p("context length", "%d", c.MaxSeq)
	p("blocks", "%s (eps %g), %s MLP, biases %v, head %s, tied %v", c.Norm, c.NormEps, c.MLP, c.Bias, c.Head, c.TiedHead)
	if c.Pos == model.PosRoPE {
		p("rope", "base %g, layout %s, scaling %s", c.RopeBase, c.RopeLayout, describeScaling(l.Meta))
	} else {
		p("positions", "%s", c.Pos)
	}
	if tok := l.Tokenizer; tok != nil {
		p("tokenizer", "%s, %d tokens, bos %d, eos %d (%s)", tok.Kind(), tok.Size(), tok.BOS(), tok.EOS(), l.Meta.TokenizerPath)
	} else {
		p("tokenizer", "none (pass --tokenizer to commands that need text)")
	}
	fmt.Fprintln(w, "tensors:")
	for _, t := range res.Tensors {
		if !o.tensors && c.Layers > 1 && strings.HasPrefix(t.Name, "blk.") && !strings.HasPrefix(t.Name, "blk.0.") {
			continue
		}
		fmt.Fprintf(w, "  %-28s %v\n", t.Name, t.Shape)
		if !o.tensors && c.Layers > 1 && t.Name == lastBlock0Tensor(res.Tensors) {
			fmt.Fprintf(w, "  %-28s (same shapes)\n", fmt.Sprintf("blk.1 .. blk.%d", c.Layers-1))
		}
	}
	return nil
}

func lastBlock0Tensor(ts []tensorInfo) string {
	last := ""
	for _, t := range ts {
		if strings.HasPrefix(t.Name, "blk.0.") {
			last = t.Name
		}
	}
	return last
}

func describeScaling(m load.Meta) string {
	s := m.RopeScaling
	switch s.Type {
	case "", "none":
		return "none"
	case "abf":
		return fmt.Sprintf("abf (base %g)", s.NewBase)
	case "dynamic-ntk", "yarn":
		return fmt.Sprintf("%s (factor %g, original context %d)", s.Type, s.Factor, s.OrigCtx)
	}
	return fmt.Sprintf("%s (factor %g)", s.Type, s.Factor)
}

// humanCount writes n as 15.2M, 260.1K, ...
func humanCount(n int) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
