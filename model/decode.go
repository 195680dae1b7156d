package model

import (
	"fmt"
	"math"

	"github.com/lsalign/lsalign/kernels"
)

// KVCache holds the keys and values one sequence has produced so far, so
// that Extend runs only the new tokens: a prompt in one batched pass
// through the GEMM path (prefill), then one token at a time through
// matrix-vector products (decoding).
//
// A cache belongs to the model that made it. Extend reads the parameters
// and writes only the cache, so several caches of one model may be
// extended concurrently, but not while the parameters change.
type KVCache struct {
	m      *Model
	cap, n int
	k, v   [][]float32 // per layer [cap, NKV*HS]; keys after RoPE
	s      decodeScratch
	sinus  []float32 // [cap, C] sinusoidal position table, when used
	att    []float32 // [NH, cap] attention scratch for one decoding step
}

// decodeScratch are the activations of one Extend call.
type decodeScratch struct {
	x, xn, mean, rstd, qkv, atty, proj, fc []float32
	fcAct, cos, sin                        []float32
	logits                                 []float32 // [V]
}

// NewKVCache returns an empty cache for up to capacity positions. A model
// with learned positions cannot go past its MaxSeq, and a scalar-head model
// has no next-token logits to decode.
func (m *Model) NewKVCache(capacity int) (*KVCache, error) {
	c := m.Config
	switch {
	case capacity <= 0:
		return nil, fmt.Errorf("model: KV cache capacity %d must be positive", capacity)
	case c.Head != HeadLM:
		return nil, fmt.Errorf("model: decoding needs an lm head, this model has %q", c.Head)
	case c.Pos == PosLearned && capacity > c.MaxSeq:
		return nil, fmt.Errorf("model: KV cache capacity %d exceeds the %d learned positions", capacity, c.MaxSeq)
	}
	kv := &KVCache{m: m, cap: capacity}
	Ckv := c.KVHeads * c.HeadSize()
	for range c.Layers {
		kv.k = append(kv.k, make([]float32, capacity*Ckv))
		kv.v = append(kv.v, make([]float32, capacity*Ckv))
	}
	if c.Pos == PosSinusoidal {
		kv.sinus = make([]float32, capacity*c.Dim)
		kernels.SinusoidalTable(kv.sinus, capacity, c.Dim)
	}
	kv.s.logits = make([]float32, c.Vocab)
	kv.att = make([]float32, c.Heads*capacity)
	return kv, nil
}

// Len is the number of positions the cache holds.
func (kv *KVCache) Len() int { return kv.n }

// Cap is the number of positions the cache can hold.
func (kv *KVCache) Cap() int { return kv.cap }

// Reset empties the cache, keeping its memory.
func (kv *KVCache) Reset() { kv.n = 0 }

// Extend runs tokens at positions Len()..Len()+len(tokens)-1, appends
// their keys and values to the cache, and returns the logits [V] of the
// last token. The slice is reused by the next call.
//
// The result equals Forward's logits at that position up to float32
// rounding, with one exception: dynamic-NTK RoPE scaling depends on the
// sequence length, and here each call uses the length reached so far
// (as Hugging Face's cached generation does), where Forward uses the
// whole length for every position.
func (m *Model) Extend(kv *KVCache, tokens []int32) ([]float32, error) {
	c := m.Config
	n, pos0 := len(tokens), kv.n
	switch {
	case kv.m != m:
		return nil, fmt.Errorf("model: the KV cache belongs to another model")
	case n == 0:
		return nil, fmt.Errorf("model: Extend needs at least one token")
	case pos0+n > kv.cap:
		return nil, fmt.Errorf("model: %d positions exceed the KV cache capacity %d", pos0+n, kv.cap)
	}
	if err := checkTokens(tokens, c.Vocab); err != nil {
		return nil, err
	}
	s := kv.scratch(n)
	C, NH, NKV, HS, H := c.Dim, c.Heads, c.KVHeads, c.HeadSize(), c.Hidden
	QKV, FC, Ckv := c.QKVDim(), c.fcWidth(), NKV*HS
	p := m.Params
	kernels.EmbeddingForward(s.x, tokens, p.View("token_embd.weight"), n, C, c.Vocab)
	switch c.Pos {
	case PosLearned:
		kernels.PositionForward(s.x, p.View("position_embd.weight")[pos0*C:(pos0+n)*C], 1, n, C)
	case PosSinusoidal:
		kernels.PositionForward(s.x, kv.sinus[pos0*C:(pos0+n)*C], 1, n, C)
	case PosRoPE:
		kernels.RopeTableRange(s.cos, s.sin, pos0, n, HS, c.RopeBase, c.RopeScaling)
	}
	scale := float32(1 / math.Sqrt(float64(HS)))
	for l := range c.Layers {
		w := &m.layers[l]
		m.normForward(s.xn, s.mean, s.rstd, s.x, w.attnNorm, w.attnNormB, n)
		linear(s.qkv, s.xn, w.wqkv, w.bqkv, n, C, QKV)
		if c.Pos == PosRoPE {
			kernels.RopeForward(s.qkv, s.cos, s.sin, 1, n, QKV, 0, NH+NKV, HS, c.ropeLayout())
		}
		for t := range n {
			row := s.qkv[t*QKV : (t+1)*QKV]
			copy(kv.k[l][(pos0+t)*Ckv:(pos0+t+1)*Ckv], row[NH*HS:])
			copy(kv.v[l][(pos0+t)*Ckv:(pos0+t+1)*Ckv], row[(NH+NKV)*HS:])
		}
		if n == 1 {
			kernels.AttentionDecode(s.atty, s.qkv, kv.k[l], kv.v[l], m.alibiSlopes, kv.att, pos0+1, NH, NKV, HS, Ckv, scale)
		} else {
			kernels.AttentionInfer(s.atty, s.qkv, kv.k[l], kv.v[l], m.alibiSlopes,
				1, n, pos0, NH, NKV, HS, QKV, Ckv, kv.cap*Ckv, scale)
		}
		linear(s.proj, s.atty, w.wo, w.bo, n, NH*HS, C)
		kernels.ResidualForward(s.x, s.x, s.proj, n*C)
		m.normForward(s.xn, s.mean, s.rstd, s.x, w.ffnNorm, w.ffnNormB, n)
		linear(s.fc, s.xn, w.wfc, w.bfc, n, C, FC)
		m.mlpActForward(s.fcAct, s.fc, n)
		linear(s.proj, s.fcAct, w.wproj, w.bproj, n, H, C)
		kernels.ResidualForward(s.x, s.x, s.proj, n*C)
	}
	kv.n += n
	last := s.x[(n-1)*C : n*C]
	m.normForward(s.xn[:C], s.mean[:1], s.rstd[:1], last, p.View("output_norm.weight"), p.maybe("output_norm.bias"), 1)
	kernels.MatvecForward(s.logits, s.xn[:C], m.outputWeight(p), nil, C, c.Vocab)
	return s.logits, nil
}

// scratch returns the activation buffers sized for n tokens, growing them
// when a call brings more tokens than any before.
func (kv *KVCache) scratch(n int) *decodeScratch {
	s, c := &kv.s, kv.m.Config
	C, HS := c.Dim, c.HeadSize()
	s.x, s.xn, s.proj = fit(s.x, n*C), fit(s.xn, n*C), fit(s.proj, n*C)
	s.mean, s.rstd = fit(s.mean, n), fit(s.rstd, n)
	s.qkv, s.atty = fit(s.qkv, n*c.QKVDim()), fit(s.atty, n*c.Heads*HS)
	s.fc, s.fcAct = fit(s.fc, n*c.fcWidth()), fit(s.fcAct, n*c.Hidden)
	s.cos, s.sin = fit(s.cos, n*HS/2), fit(s.sin, n*HS/2)
	return s
}

// fit returns buf resliced to n elements, or a new slice when its capacity
// is short.
func fit(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// linear is MatmulForward, with the matrix-vector kernel for one row.
func linear(out, inp, weight, bias []float32, N, IN, OUT int) {
	if N == 1 {
		kernels.MatvecForward(out, inp, weight, bias, IN, OUT)
		return
	}
	kernels.MatmulForward(out, inp, weight, bias, N, IN, OUT)
}
