// Package infer generates text from a model: seeded sampling (greedy,
// temperature, top-k, top-p) and the generation loop, which prefills the
// prompt in one batched pass and then decodes token by token from a KV
// cache (model.Extend).
package infer

import (
	"fmt"
	"math"
	"slices"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/kernels"
)

// Sampling chooses how the next token is drawn from the logits. The zero
// value is greedy decoding.
//
// The filters apply in Hugging Face's (and llama2.c's) order: the logits
// are divided by Temperature, the TopK most likely tokens are kept, then
// the smallest set of those whose probability reaches TopP, and the token
// is drawn from what is left, renormalised.
type Sampling struct {
	Temperature float64 // 0 = greedy: the most likely token (the lowest id on ties)
	TopK        int     // keep the K most likely tokens; 0 keeps all
	TopP        float64 // nucleus sampling; 0 or 1 keeps all
}

// Validate reports a setting Sample cannot use.
func (s Sampling) Validate() error {
	switch {
	case !(s.Temperature >= 0) || math.IsInf(s.Temperature, 0):
		return fmt.Errorf("infer: temperature %v must be a finite number >= 0", s.Temperature)
	case s.TopK < 0:
		return fmt.Errorf("infer: top-k %d must be >= 0", s.TopK)
	case !(s.TopP >= 0 && s.TopP <= 1):
		return fmt.Errorf("infer: top-p %v must be in [0, 1]", s.TopP)
	}
	return nil
}

// Sampler draws tokens from logits with its own seeded generator, so a
// seed fixes the whole generated sequence. Not safe for concurrent use.
type Sampler struct {
	opt   Sampling
	rng   *rng.RNG
	cands []candidate // scratch
}

type candidate struct {
	id int32
	p  float64 // unnormalised probability
}

// NewSampler validates opt and seeds the generator.
func NewSampler(opt Sampling, seed uint64) (*Sampler, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	return &Sampler{opt: opt, rng: rng.New(seed)}, nil
}

// Sample returns the next token id. logits must not be empty and must not
// hold NaN (a model with finite weights does not produce it).
func (s *Sampler) Sample(logits []float32) int32 {
	if len(logits) == 0 {
		panic("infer: Sample of empty logits")
	}
	if s.opt.Temperature == 0 || s.opt.TopK == 1 {
		return kernels.Argmax(logits)
	}
	c := s.candidates(logits)
	total := 0.0
	for _, x := range c {
		total += x.p
	}
	if p := s.opt.TopP; p > 0 && p < 1 {
		c, total = nucleus(c, total, p)
	}
	r := s.rng.Float64() * total
	for _, x := range c {
		r -= x.p
		if r < 0 {
			return x.id
		}
	}
	return c[len(c)-1].id // rounding left r just above zero
}

// candidates returns the tokens that survive top-k with their
// unnormalised probabilities exp((logit - max) / T), in id order, or in
// decreasing order of probability when top-k selected them.
func (s *Sampler) candidates(logits []float32) []candidate {
	T := s.opt.Temperature
	mx := float64(logits[kernels.Argmax(logits)])
	c := s.cands[:0]
	for i, l := range logits {
		c = append(c, candidate{int32(i), float64(l)})
	}
	if k := s.opt.TopK; k > 0 && k < len(c) {
		c = topK(c, k)
	}
	for i := range c {
		c[i].p = math.Exp((c[i].p - mx) / T)
	}
	s.cands = c
	return c
}

// nucleus keeps the most probable candidates until their share of total
// reaches p (at least one), returning them and their sum. Candidates below
// (1-p)/(n-1) of the total cannot be needed (llama2.c's cut) and are
// dropped before sorting. The cut can drop every candidate (a nearly flat
// distribution and p < 1/n); then the most probable one alone reaches p.
func nucleus(c []candidate, total, p float64) ([]candidate, float64) {
	cut := (1 - p) / float64(len(c)-1) * total
	kept := c[:0]
	for _, x := range c {
		if x.p >= cut {
			kept = append(kept, x)
		}
	}
	if len(kept) == 0 {
		best := 0
		for i, x := range c {
			if better(x, c[best]) {
				best = i
			}
		}
		c[0], c[best] = c[best], c[0]
		return c[:1], c[0].p
	}
	sortCandidates(kept)
	sum := 0.0
	for i, x := range kept {
		sum += x.p
		if sum >= p*total {
			return kept[:i+1], sum
		}
	}
	return kept, sum
}

// topK moves the k best candidates (by better) to the front of c, sorted,
// in O(len(c) log k): a heap of the best k seen, its worst at the root.
func topK(c []candidate, k int) []candidate {
	h := c[:k]
	for i := k/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
	for _, x := range c[k:] {
		if better(x, h[0]) {
			h[0] = x
			siftDown(h, 0)
		}
	}
	sortCandidates(h)
	return h
}

// siftDown restores the heap property (worst candidate at the root) below i.
func siftDown(h []candidate, i int) {
	for {
		w := i
		for _, j := range [2]int{2*i + 1, 2*i + 2} {
			if j < len(h) && better(h[w], h[j]) {
				w = j
			}
		}
		if w == i {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}

// better orders candidates by decreasing p, lower id first on ties.
func better(a, b candidate) bool { return a.p > b.p || (a.p == b.p && a.id < b.id) }

// sortCandidates orders by better, a total order (ids are distinct), so
// the result never depends on the sort algorithm.
func sortCandidates(c []candidate) {
	slices.SortFunc(c, func(a, b candidate) int {
		switch {
		case better(a, b):
			return -1
		case better(b, a):
			return 1
		}
		return 0
	})
}
