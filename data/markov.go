// Package data provides token streams and seeded samplers: synthetic
// corpora, windows drawn from long token sequences, and the built-in corpora.
package data

import "github.com/lsalign/lsalign/internal/rng"

// Markov returns n tokens of an order-1 Markov chain over vocab symbols in
// which each symbol has 4 preferred successors taking probability 0.9
// together, and any symbol follows with the remaining 0.1. It is the
// learnable default corpus of the PyTorch speed reference, so both sides of
// a benchmark train on the same kind of data (entropy about 2.2 nats at
// vocab 512).
func Markov(vocab, n int, seed uint64) []int32 {
	r := rng.New(seed)
	succ := make([][4]int32, vocab)
	for i := range succ {
		for j := range succ[i] {
			succ[i][j] = int32(r.Intn(vocab))
		}
	}
	out := make([]int32, n)
	cur := int32(0)
	for i := range out {
		if r.Float64() < 0.1 {
			cur = int32(r.Intn(vocab))
		} else {
			cur = succ[cur][r.Intn(4)]
		}
		out[i] = cur
	}
	return out
}

// RandomWindows is Windows over corpus as a Stream, for callers whose
// corpus fits every window by construction: it panics when corpus is
// shorter than length.
func RandomWindows(corpus []int32, B, length int, r *rng.RNG) []int32 {
	out, err := Windows(Stream(corpus), B, length, r)
	if err != nil {
		panic(err.Error())
	}
	return out
}
