package load

import (
	"fmt"
	"math"

	"github.com/lsalign/lsalign/kernels"
)

// ropeScalingFromHF maps a config.json rope_scaling object onto
// kernels.RopeScaling: "linear", "dynamic" (dynamic NTK) and "yarn", with
// transformers' defaults (the original context is
// original_max_position_embeddings, else max_position_embeddings).
func ropeScalingFromHF(m map[string]any, maxPos int) (kernels.RopeScaling, error) {
	var s kernels.RopeScaling
	if m == nil {
		return s, nil
	}
	typ, _ := m["rope_type"].(string)
	if typ == "" {
		typ, _ = m["type"].(string)
	}
	num := func(key string) (float64, error) {
		v, ok := m[key]
		if !ok || v == nil {
			return 0, nil
		}
		f, ok := v.(float64)
		if !ok {
			return 0, fmt.Errorf("%s: %v is not a number", key, v)
		}
		return f, nil
	}
	factor, err := num("factor")
	if err != nil {
		return s, err
	}
	orig, err := num("original_max_position_embeddings")
	if err != nil {
		return s, err
	}
	origCtx := maxPos
	if v, ok := m["original_max_position_embeddings"]; ok && v != nil {
		// Present means meant: a bad value must not fall back silently.
		if orig != math.Trunc(orig) || orig < 1 || orig > math.MaxInt32 {
			return s, fmt.Errorf("original_max_position_embeddings: %v is not a positive integer context length", orig)
		}
		origCtx = int(orig)
	}
	switch typ {
	case "", "default":
		return s, nil
	case "linear":
		s = kernels.RopeScaling{Type: "linear", Factor: factor}
	case "dynamic":
		s = kernels.RopeScaling{Type: "dynamic-ntk", Factor: factor, OrigCtx: origCtx}
	case "yarn":
		s = kernels.RopeScaling{Type: "yarn", Factor: factor, OrigCtx: origCtx}
		for _, f := range []struct {
			key string
			dst *float64
		}{{"beta_fast", &s.BetaFast}, {"beta_slow", &s.BetaSlow}, {"attention_factor", &s.AttnFactor}} {
			if *f.dst, err = num(f.key); err != nil {
				return s, err
			}
		}
	default:
		return s, fmt.Errorf("type %q is not supported (linear, dynamic, yarn)", typ)
	}
	return s, s.Validate()
}

// ropeScalingToHF is the inverse of ropeScalingFromHF for the scalings a
// config.json can hold (foldRopeBase has already folded NTK and ABF into
// the base); nil for none.
func ropeScalingToHF(s kernels.RopeScaling) map[string]any {
	switch s.Type {
	case "linear":
		return map[string]any{"rope_type": "linear", "type": "linear", "factor": s.Factor}
	case "dynamic-ntk":
		return map[string]any{"rope_type": "dynamic", "type": "dynamic", "factor": s.Factor,
			"original_max_position_embeddings": s.OrigCtx}
	case "yarn":
		m := map[string]any{"rope_type": "yarn", "type": "yarn", "factor": s.Factor,
			"original_max_position_embeddings": s.OrigCtx}
		for k, v := range map[string]float64{"beta_fast": s.BetaFast, "beta_slow": s.BetaSlow, "attention_factor": s.AttnFactor} {
			if v != 0 {
				m[k] = v
			}
		}
		return m
	}
	return nil
}
