// Package align implements Long-Short Misalignment (METHOD.md §2) and the
// regularized training objective L* = L_train + alpha*L_misalign (§3).
package align

import (
	"fmt"

	"github.com/lsalign/lsalign/kernels"
)

// Regularizer configures the misalignment term of the training objective.
// The zero value of Divergence and Positions means the METHOD.md default;
// Alpha 0 leaves the term out.
type Regularizer struct {
	Alpha      float64            // weight of L_misalign (0.1 in the paper)
	Divergence kernels.Divergence // SCE (default), symmetric KL or Jensen-Shannon
	// Positions chooses which token pairs enter L_misalign: "overlap"
	// (default: every token both windows see) or "last" (only the last
	// overlapping token: the metric with l1 = l, l2 = l - l_extra).
	Positions string
	// TrainOnA computes L_train over window A only instead of both windows.
	TrainOnA bool
	// StopGrad stops the misalignment gradient on one side: "", "a" or "b".
	StopGrad string
}

// PairWindows lays out the two windows of each sequence for one batched
// forward pass. seqs holds B sequences of l+extra+1 tokens; window A is
// tokens [0, l) and window B tokens [extra, extra+l), each with its
// next-token targets. The result is inputs and targets of shape [2B, l]:
// the B A-windows first, then the B B-windows.
func PairWindows(seqs []int32, B, l, extra int) (inp, tgt []int32) {
	n := l + extra + 1
	if len(seqs) != B*n || extra < 0 || extra >= l {
		panic(fmt.Sprintf("align: PairWindows got %d tokens for B=%d l=%d extra=%d", len(seqs), B, l, extra))
	}
	inp, tgt = make([]int32, 2*B*l), make([]int32, 2*B*l)
	for b := range B {
		s := seqs[b*n : (b+1)*n]
		copy(inp[b*l:], s[:l])
		copy(tgt[b*l:], s[1:l+1])
		copy(inp[(B+b)*l:], s[extra:extra+l])
		copy(tgt[(B+b)*l:], s[extra+1:extra+l+1])
	}
	return inp, tgt
}

// Loss is the value of the objective and its parts.
type Loss struct {
	Total    float64 `json:"loss"`
	CE       float64 `json:"ce"`
	Misalign float64 `json:"misalign"`
}

// Objective evaluates losses and their gradients with respect to logits,
// reusing its buffers across calls. Not safe for concurrent use.
type Objective struct {
	Reg Regularizer

	losses, lse, dloss []float32
	div, ddiv          []float32
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// CrossEntropy returns the mean next-token cross-entropy of logits [N, V]
// against targets (negative targets are ignored) and, when dlogits is not
// nil, adds scale × its gradient to dlogits.
func (o *Objective) CrossEntropy(logits, dlogits []float32, targets []int32, N, V int, scale float64) float64 {
	o.losses, o.lse = grow(o.losses, N), grow(o.lse, N)
	kernels.CrossEntropyForward(o.losses, o.lse, logits, targets, N, V)
	count := 0
	var sum float64
	for i, t := range targets {
		if t >= 0 {
			count++
			sum += float64(o.losses[i])
		}
	}
	if count == 0 {
		return 0
	}
	if dlogits != nil {
		o.dloss = grow(o.dloss, N)
		w := float32(scale / float64(count))
		for i := range o.dloss {
			o.dloss[i] = w
		}
		kernels.CrossEntropyBackward(dlogits, o.dloss, logits, o.lse, targets, N, V)
	}
	return sum / float64(count)
}

// Pair evaluates L* on the logits [2B, l, V] of PairWindows' inputs and,
// when dlogits is not nil, accumulates its gradient there.
func (o *Objective) Pair(logits, dlogits []float32, tgt []int32, B, l, extra, V int) Loss {
	r := o.Reg
	var loss Loss
	if r.TrainOnA {
		loss.CE = o.CrossEntropy(logits[:B*l*V], sub(dlogits, 0, B*l*V), tgt[:B*l], B*l, V, 1)
	} else {
		loss.CE = o.CrossEntropy(logits, dlogits, tgt, 2*B*l, V, 1)
	}
	loss.Total = loss.CE
	if r.Alpha == 0 {
		return loss
	}
	// Row ranges of the compared positions: A rows [a0, a0+n) against B rows [b0, b0+n) per sequence.
	n, aOff, bOff := l-extra, extra, 0
	if r.Positions == "last" {
		n, aOff, bOff = 1, l-1, l-1-extra
	}
	o.div, o.ddiv = grow(o.div, n), grow(o.ddiv, n)
	w := float32(r.Alpha / float64(B*n))
	for i := range o.ddiv {
		o.ddiv[i] = w
	}
	var sum float64
	for b := range B {
		a0, b0 := (b*l+aOff)*V, ((B+b)*l+bOff)*V
		la, lb := logits[a0:a0+n*V], logits[b0:b0+n*V]
		kernels.DivergenceForward(r.Divergence, o.div, la, lb, n, V)
		for _, v := range o.div {
			sum += float64(v)
		}
		if dlogits != nil {
			da, db := dlogits[a0:a0+n*V], dlogits[b0:b0+n*V]
			switch r.StopGrad {
			case "a":
				da = nil
			case "b":
				db = nil
			}
			kernels.DivergenceBackward(r.Divergence, da, db, o.ddiv, la, lb, n, V)
		}
	}
	loss.Misalign = sum / float64(B*n)
	loss.Total += r.Alpha * loss.Misalign
	return loss
}

func sub(s []float32, lo, hi int) []float32 {
	if s == nil {
		return nil
	}
	return s[lo:hi]
}
