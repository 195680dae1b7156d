package llama2c

import (
	"fmt"
	"math"
)

// Config holds the checkpoint header. VocabSize is always positive here; the
// legacy file encodes SharedClassifier in its sign.
type Config struct {
	Dim, HiddenDim, NLayers, NHeads, NKVHeads, VocabSize, SeqLen int
	SharedClassifier                                             bool
	Version                                                      int // 0 (legacy) or 1
}

// HeadSize is Dim / NHeads (HS).
func (c Config) HeadSize() int { return c.Dim / c.NHeads }

// KVDim is the width of the key and value projections, NKVHeads * HeadSize.
func (c Config) KVDim() int { return c.NKVHeads * c.HeadSize() }

// validate checks the dimensions; file names the source in errors.
func (c Config) validate(file string) error {
	fields := []struct {
		name string
		v    int
	}{
		{"dim", c.Dim}, {"hidden_dim", c.HiddenDim}, {"n_layers", c.NLayers}, {"n_heads", c.NHeads},
		{"n_kv_heads", c.NKVHeads}, {"vocab_size", c.VocabSize}, {"seq_len", c.SeqLen},
	}
	for _, f := range fields {
		if f.v <= 0 || f.v > math.MaxInt32 {
			return &FormatError{file, f.name, fmt.Sprintf("%d is not a positive int32", f.v)}
		}
	}
	switch {
	case c.Dim%c.NHeads != 0:
		return &FormatError{file, "n_heads", fmt.Sprintf("%d does not divide dim %d", c.NHeads, c.Dim)}
	case c.NHeads%c.NKVHeads != 0:
		return &FormatError{file, "n_kv_heads", fmt.Sprintf("%d does not divide n_heads %d", c.NKVHeads, c.NHeads)}
	case c.HeadSize()%2 != 0:
		return &FormatError{file, "n_heads", fmt.Sprintf("head size dim/n_heads = %d is odd; RoPE needs it even", c.HeadSize())}
	case c.Version != 0 && c.Version != 1:
		return &FormatError{file, "version", fmt.Sprintf("%d is not 0 or 1", c.Version)}
	}
	return nil
}

// Header sizes in bytes.
const (
	legacyHeaderSize = 7 * 4
	v1HeaderSize     = 256
	v1Magic          = 0x616b3432 // "ak42"
)

// tensorKind tells a layout entry that maps onto a Weights field from the
// legacy RoPE tables, which are skipped on read and generated on write.
type tensorKind int

const (
	weightTensor tensorKind = iota
	freqCisReal
	freqCisImag
)

// tensorSpec is one contiguous float32 block of the file.
type tensorSpec struct {
	name string
	kind tensorKind
	dst  *[]float32 // the Weights field; nil for the RoPE tables
	n    int64      // number of float32 values
}

// layout lists the blocks of a checkpoint in file order. The sizes are
// overflow-checked; ok is false if any product exceeds int64. c must have
// passed validate.
func layout(c Config, w *Weights) (specs []tensorSpec, ok bool) {
	ok = true
	mul := func(xs ...int) int64 {
		p := int64(1)
		for _, x := range xs {
			var fits bool
			p, fits = mulInt64(p, int64(x))
			ok = ok && fits
		}
		return p
	}
	L, C, H, V, kvDim := c.NLayers, c.Dim, c.HiddenDim, c.VocabSize, c.KVDim()
	emb := tensorSpec{"token_embedding", weightTensor, &w.TokenEmbedding, mul(V, C)}
	rmsAtt := tensorSpec{"rms_att", weightTensor, &w.RmsAtt, mul(L, C)}
	wq := tensorSpec{"wq", weightTensor, &w.Wq, mul(L, C, C)}
	wk := tensorSpec{"wk", weightTensor, &w.Wk, mul(L, kvDim, C)}
	wv := tensorSpec{"wv", weightTensor, &w.Wv, mul(L, kvDim, C)}
	wo := tensorSpec{"wo", weightTensor, &w.Wo, mul(L, C, C)}
	rmsFfn := tensorSpec{"rms_ffn", weightTensor, &w.RmsFfn, mul(L, C)}
	w1 := tensorSpec{"w1", weightTensor, &w.W1, mul(L, H, C)}
	w2 := tensorSpec{"w2", weightTensor, &w.W2, mul(L, C, H)}
	w3 := tensorSpec{"w3", weightTensor, &w.W3, mul(L, H, C)}
	rmsFinal := tensorSpec{"rms_final", weightTensor, &w.RmsFinal, int64(C)}
	wcls := tensorSpec{"wcls", weightTensor, &w.Wcls, mul(V, C)}
	if c.Version == 0 {
		half := mul(c.SeqLen, c.HeadSize()/2)
		specs = []tensorSpec{emb, rmsAtt, wq, wk, wv, wo, rmsFfn, w1, w2, w3, rmsFinal,
			{"freq_cis_real", freqCisReal, nil, half}, {"freq_cis_imag", freqCisImag, nil, half}}
	} else {
		// export.py version1_export: norms first, then the embedding, then
		// each matrix kind stacked over all layers.
		specs = []tensorSpec{rmsAtt, rmsFfn, rmsFinal, emb, wq, wk, wv, wo, w1, w2, w3}
	}
	if !c.SharedClassifier {
		specs = append(specs, wcls)
	}
	return specs, ok
}

// fileSize is the exact size in bytes of a checkpoint with config c; ok is
// false if it does not fit in int64.
func fileSize(c Config, specs []tensorSpec) (size int64, ok bool) {
	size = v1HeaderSize
	if c.Version == 0 {
		size = legacyHeaderSize
	}
	for _, s := range specs {
		b, o := mulInt64(s.n, 4)
		if !o || size > math.MaxInt64-b {
			return 0, false
		}
		size += b
	}
	return size, true
}

// mulInt64 multiplies non-negative ints, reporting overflow of int64.
func mulInt64(xs ...int64) (int64, bool) {
	p := int64(1)
	for _, x := range xs {
		if x < 0 {
			return 0, false
		}
		if x != 0 && p > math.MaxInt64/x {
			return 0, false
		}
		p *= x
	}
	return p, true
}
