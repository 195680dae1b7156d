package eval

import (
	"fmt"

	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/model"
)

// greedyDecoder decodes with one KV cache reused across prompts.
type greedyDecoder struct {
	m  *model.Model
	kv *model.KVCache
}

// decode runs prompt through the model and then appends the most likely
// token (the lowest id among equal logits) up to maxNew times. It stops
// before a stop token and after the token for which done, given every
// token generated so far, reports true.
func (g *greedyDecoder) decode(prompt []int32, maxNew int, stop func(int32) bool, done func([]int32) bool) ([]int32, error) {
	if len(prompt) == 0 {
		return nil, fmt.Errorf("decode: empty prompt")
	}
	need := len(prompt) + maxNew
	if g.kv == nil || g.kv.Cap() < need {
		kv, err := g.m.NewKVCache(need)
		if err != nil {
			return nil, err
		}
		g.kv = kv
	}
	g.kv.Reset()
	logits, err := g.m.Extend(g.kv, prompt)
	if err != nil {
		return nil, err
	}
	var out []int32
	for range maxNew {
		next := kernels.Argmax(logits)
		if stop != nil && stop(next) {
			break
		}
		out = append(out, next)
		if done != nil && done(out) {
			break
		}
		if len(out) == maxNew {
			break
		}
		if logits, err = g.m.Extend(g.kv, []int32{next}); err != nil {
			return nil, err
		}
	}
	return out, nil
}
