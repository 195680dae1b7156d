package kernels

import (
	"fmt"
	"math"

	"github.com/lsalign/lsalign/internal/parallel"
)

// Softmax rows are shifted by their max before exp and summed in float64,
// so logsumexp is accurate to float32 precision for V up to 32000 and
// beyond, and huge logits cannot overflow.

// rowMax returns the largest element of a non-empty row: AVX2 on the
// longest multiple-of-8 prefix where available, then four independent
// running maxima (twice as fast as one). NaN elements after the first are
// skipped on both paths.
func rowMax(row []float32) float32 {
	i, m := rowMaxVec(row)
	if i == 0 {
		m = row[0]
	}
	m0, m1, m2, m3 := m, m, m, m
	for ; i+4 <= len(row); i += 4 {
		if row[i] > m0 {
			m0 = row[i]
		}
		if row[i+1] > m1 {
			m1 = row[i+1]
		}
		if row[i+2] > m2 {
			m2 = row[i+2]
		}
		if row[i+3] > m3 {
			m3 = row[i+3]
		}
	}
	for ; i < len(row); i++ {
		if row[i] > m0 {
			m0 = row[i]
		}
	}
	return max(m0, m1, m2, m3)
}

// Argmax returns the index of the largest element of a non-empty row, the
// first one on ties (greedy decoding).
func Argmax(row []float32) int32 {
	best := 0
	for i, v := range row {
		if v > row[best] {
			best = i
		}
	}
	return int32(best)
}

// logSumExpRow returns log(sum(exp(row))) in float64 and leaves the shifted
// exponentials in scratch (len(row)): scratch[v] = exp(row[v] - max(row)).
// The caller guarantees a non-empty row.
func logSumExpRow(row, scratch []float32) (lse, sum float64) {
	m := rowMax(row)
	sum = expRow(scratch, row, m)
	return float64(m) + math.Log(sum), sum
}

// softmaxGrain is the row grain of the softmax kernels: each element costs
// an exp, several times a plain add.
func softmaxGrain(V int) int { return max(1, elemsPerTask/(4*max(V, 1))) }

// LogSoftmax sets out[n,:] = logits[n,:] - logsumexp(logits[n,:]).
// Shapes: out, logits [N,V]; out may alias logits.
func LogSoftmax(out, logits []float32, N, V int) {
	mustLen("LogSoftmax", "out", len(out), N*V)
	mustLen("LogSoftmax", "logits", len(logits), N*V)
	if V == 0 {
		return
	}
	parallel.For(N, softmaxGrain(V), func(lo, hi int) {
		scratch := make([]float32, V)
		for n := lo; n < hi; n++ {
			lse, _ := logSumExpRow(logits[n*V:(n+1)*V], scratch)
			y, x := out[n*V:(n+1)*V], logits[n*V:(n+1)*V]
			for v, xv := range x {
				y[v] = float32(float64(xv) - lse)
			}
		}
	})
}

// CrossEntropyForward computes the next-token loss per row:
// lse[n] = logsumexp(logits[n,:]) (saved for backward) and
// losses[n] = lse[n] - logits[n,targets[n]]. A negative target means
// "ignore": loss 0 (lse is still written). A target >= V panics.
// Shapes: losses, lse [N]; logits [N,V]; targets [N].
func CrossEntropyForward(losses, lse []float32, logits []float32, targets []int32, N, V int) {
	checkCrossEntropy("CrossEntropyForward", logits, targets, N, V)
	mustLen("CrossEntropyForward", "losses", len(losses), N)
	mustLen("CrossEntropyForward", "lse", len(lse), N)
	parallel.For(N, softmaxGrain(V), func(lo, hi int) {
		scratch := make([]float32, V)
		for n := lo; n < hi; n++ {
			row := logits[n*V : (n+1)*V]
			l, _ := logSumExpRow(row, scratch)
			lse[n] = float32(l)
			losses[n] = 0
			if tgt := targets[n]; tgt >= 0 {
				losses[n] = float32(l - float64(row[tgt]))
			}
		}
	})
}

// CrossEntropyBackward accumulates dlogits[n,:] += dlosses[n] *
// (softmax(logits[n,:]) - onehot(targets[n])), with the softmax rebuilt
// from the lse that CrossEntropyForward saved; rows with a negative target
// get nothing. Shapes: dlogits, logits [N,V]; dlosses, lse, targets [N].
func CrossEntropyBackward(dlogits []float32, dlosses []float32, logits, lse []float32, targets []int32, N, V int) {
	checkCrossEntropy("CrossEntropyBackward", logits, targets, N, V)
	mustLen("CrossEntropyBackward", "dlogits", len(dlogits), N*V)
	mustLen("CrossEntropyBackward", "dlosses", len(dlosses), N)
	mustLen("CrossEntropyBackward", "lse", len(lse), N)
	parallel.For(N, softmaxGrain(V), func(lo, hi int) {
		scratch := make([]float32, V)
		for n := lo; n < hi; n++ {
			tgt := targets[n]
			if tgt < 0 {
				continue
			}
			expRow(scratch, logits[n*V:(n+1)*V], lse[n])
			dl := dlosses[n]
			dx := dlogits[n*V : (n+1)*V]
			dx = dx[:len(scratch)]
			for v, p := range scratch {
				dx[v] += dl * p
			}
			dx[tgt] -= dl
		}
	})
}

// checkCrossEntropy validates logits and targets (< V; negative ignores).
func checkCrossEntropy(kernel string, logits []float32, targets []int32, N, V int) {
	mustPositive(kernel, "V", V)
	mustLen(kernel, "logits", len(logits), N*V)
	mustLen(kernel, "targets", len(targets), N)
	for n, tgt := range targets {
		if int(tgt) >= V {
			panic(fmt.Sprintf("kernels.%s: targets[%d] = %d, want < V = %d", kernel, n, tgt, V))
		}
	}
}

// MSEForward sets losses[i] = (pred[i]-target[i])^2 over n values.
func MSEForward(losses []float32, pred, target []float32, n int) {
	mustLen("MSEForward", "losses", len(losses), n)
	mustLen("MSEForward", "pred", len(pred), n)
	mustLen("MSEForward", "target", len(target), n)
	for i := range losses {
		d := pred[i] - target[i]
		losses[i] = d * d
	}
}

// MSEBackward accumulates dpred[i] += dlosses[i]*2*(pred[i]-target[i]).
func MSEBackward(dpred []float32, dlosses []float32, pred, target []float32, n int) {
	mustLen("MSEBackward", "dpred", len(dpred), n)
	mustLen("MSEBackward", "dlosses", len(dlosses), n)
	mustLen("MSEBackward", "pred", len(pred), n)
	mustLen("MSEBackward", "target", len(target), n)
	for i := range dpred {
		dpred[i] += dlosses[i] * 2 * (pred[i] - target[i])
	}
}
