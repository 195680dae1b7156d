package load

import (
	"fmt"

	"github.com/lsalign/lsalign/model"
)

// llamaCompatible reports why c is not a plain Llama (RMSNorm, SwiGLU,
// RoPE, no biases, LM head), or nil.
func llamaCompatible(c model.Config) error {
	var bad []string
	check := func(ok bool, what string) {
		if !ok {
			bad = append(bad, what)
		}
	}
	check(c.Norm == "rmsnorm", "norm "+c.Norm)
	check(c.MLP == "swiglu", "mlp "+c.MLP)
	check(c.Pos == model.PosRoPE, "positions "+c.Pos)
	check(!c.Bias, "biases")
	check(c.Head == model.HeadLM, "head "+c.Head)
	if len(bad) > 0 {
		return fmt.Errorf("not a Llama-style model (%v)", bad)
	}
	return nil
}

// gpt2Compatible reports why c is not a GPT-2 (LayerNorm, GELU, learned
// positions, biases, full attention heads, LM head), or nil.
func gpt2Compatible(c model.Config) error {
	var bad []string
	check := func(ok bool, what string) {
		if !ok {
			bad = append(bad, what)
		}
	}
	check(c.Norm == "layernorm", "norm "+c.Norm)
	check(c.MLP == "gelu", "mlp "+c.MLP)
	check(c.Pos == model.PosLearned, "positions "+c.Pos)
	check(c.Bias, "no biases")
	check(c.KVHeads == c.Heads, "grouped-query attention")
	check(c.Head == model.HeadLM, "head "+c.Head)
	if len(bad) > 0 {
		return fmt.Errorf("not a GPT-2-style model (%v)", bad)
	}
	return nil
}
