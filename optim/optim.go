// Package optim holds the optimizers (AdamW, SGD), the warmup + cosine
// learning-rate schedule and global-norm gradient clipping, all over flat
// parameter/gradient slabs.
package optim

import (
	"fmt"
	"math"

	"github.com/lsalign/lsalign/internal/parallel"
)

// Range is a half-open span [Off, Off+Len) of a slab.
type Range struct{ Off, Len int }

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter), computed
// in the same order as PyTorch's torch.optim.AdamW so runs can be compared
// step for step.
type AdamW struct {
	Beta1, Beta2, Eps, WeightDecay float64
	// Decay lists the spans that receive weight decay, ordered by offset,
	// disjoint and within the parameters (Update panics otherwise); nil
	// means all parameters (PyTorch's default when given
	// model.parameters()) and an empty list none.
	Decay []Range

	// State, saved in checkpoints.
	M, V []float32
	Step int
}

// NewAdamW returns an optimizer for n parameters with PyTorch's defaults
// (betas 0.9/0.999, eps 1e-8) and the given weight decay.
func NewAdamW(n int, weightDecay float64) *AdamW {
	return &AdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: weightDecay,
		M: make([]float32, n), V: make([]float32, n)}
}

// Update applies one step with learning rate lr to params given grads.
func (o *AdamW) Update(params, grads []float32, lr float64) {
	if len(params) != len(grads) || len(params) != len(o.M) {
		panic(fmt.Sprintf("optim: AdamW sizes params %d grads %d state %d", len(params), len(grads), len(o.M)))
	}
	o.Step++
	bc1 := 1 - math.Pow(o.Beta1, float64(o.Step))
	bc2 := 1 - math.Pow(o.Beta2, float64(o.Step))
	stepSize := float32(lr / bc1)
	bc2Sqrt := float32(math.Sqrt(bc2))
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	eps := float32(o.Eps)
	decayAll := float32(1 - lr*o.WeightDecay)
	update := func(lo, hi int, decay float32) {
		p, g, m, v := params[lo:hi], grads[lo:hi], o.M[lo:hi], o.V[lo:hi]
		for i := range p {
			gi := g[i]
			p[i] *= decay
			m[i] = m[i]*b1 + gi*(1-b1)
			v[i] = v[i]*b2 + gi*gi*(1-b2)
			denom := float32(math.Sqrt(float64(v[i])))/bc2Sqrt + eps
			p[i] -= stepSize * (m[i] / denom)
		}
	}
	if o.Decay == nil {
		parallel.For(len(params), 4096, func(lo, hi int) { update(lo, hi, decayAll) })
		return
	}
	checkDecay(o.Decay, len(params))
	// Each chunk walks the spans in order, updating every element once with
	// its factor.
	parallel.For(len(params), 4096, func(lo, hi int) {
		pos := lo
		for _, r := range o.Decay {
			a, b := max(r.Off, lo), min(r.Off+r.Len, hi)
			if a >= b {
				continue
			}
			if pos < a {
				update(pos, a, 1)
			}
			update(a, b, decayAll)
			pos = b
		}
		if pos < hi {
			update(pos, hi, 1)
		}
	})
}

// checkDecay panics unless spans are ordered, disjoint and within n
// parameters: Update walks them in order, so an unordered list would step
// some parameters twice and an out-of-range one would be silently clipped.
func checkDecay(spans []Range, n int) {
	end := 0
	for i, r := range spans {
		if r.Off < end || r.Len < 0 || r.Off+r.Len > n {
			panic(fmt.Sprintf("optim: AdamW.Decay[%d] = %+v: spans must be ordered by offset, disjoint and within %d parameters", i, r, n))
		}
		end = r.Off + r.Len
	}
}

// SGD is stochastic gradient descent with optional momentum and decoupled
// weight decay.
type SGD struct {
	Momentum, WeightDecay float64
	Buf                   []float32 // momentum buffer, nil until first step
}

// Update applies one step.
func (o *SGD) Update(params, grads []float32, lr float64) {
	if len(params) != len(grads) {
		panic("optim: SGD size mismatch")
	}
	if o.Momentum != 0 && o.Buf == nil {
		o.Buf = make([]float32, len(params))
	}
	mu, decay, step := float32(o.Momentum), float32(1-lr*o.WeightDecay), float32(lr)
	parallel.For(len(params), 4096, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g := grads[i]
			if o.Buf != nil {
				o.Buf[i] = o.Buf[i]*mu + g
				g = o.Buf[i]
			}
			params[i] = params[i]*decay - step*g
		}
	})
}

// Schedule is linear warmup to MaxLR over Warmup steps, then cosine decay
// to MinLR at step Total. Steps count from 0.
type Schedule struct {
	MaxLR, MinLR  float64
	Warmup, Total int
}

// LR returns the learning rate for a step.
func (s Schedule) LR(step int) float64 {
	switch {
	case step < s.Warmup:
		return s.MaxLR * float64(step+1) / float64(s.Warmup)
	case s.Total <= s.Warmup: // no decay phase
		return s.MaxLR
	case step >= s.Total:
		return s.MinLR
	}
	progress := float64(step-s.Warmup) / float64(s.Total-s.Warmup)
	return s.MinLR + 0.5*(s.MaxLR-s.MinLR)*(1+math.Cos(math.Pi*progress))
}

// gradChunks fixes the reduction order of GlobalNorm whatever GOMAXPROCS is.
const gradChunks = 16

// GlobalNorm returns the L2 norm of grads, summed in float64 in a fixed
// order.
func GlobalNorm(grads []float32) float64 {
	var partial [gradChunks]float64
	parallel.Chunks(len(grads), gradChunks, func(c, lo, hi int) {
		var s float64
		for _, g := range grads[lo:hi] {
			s += float64(g) * float64(g)
		}
		partial[c] = s
	})
	var s float64
	for _, p := range partial {
		s += p
	}
	return math.Sqrt(s)
}

// ClipGradNorm scales grads so their global norm is at most maxNorm (as
// torch.nn.utils.clip_grad_norm_ does: by maxNorm/(norm+1e-6) when norm
// exceeds maxNorm) and returns the norm before clipping. maxNorm <= 0
// disables clipping.
func ClipGradNorm(grads []float32, maxNorm float64) float64 {
	norm := GlobalNorm(grads)
	if maxNorm > 0 && norm > maxNorm {
		f := float32(maxNorm / (norm + 1e-6))
		parallel.For(len(grads), 4096, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				grads[i] *= f
			}
		})
	}
	return norm
}
