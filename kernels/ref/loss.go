package ref

import "math"

// logSumExp returns log(sum(exp(x))), shifted by the max for stability.
func logSumExp(x []float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, v)
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(v - m)
	}
	return m + math.Log(s)
}

// LogSoftmax sets out[n,:] = logits[n,:] - logsumexp(logits[n,:]).
func LogSoftmax(out, logits []float64, N, V int) {
	for n := 0; n < N; n++ {
		row := logits[n*V : (n+1)*V]
		lse := logSumExp(row)
		for v, x := range row {
			out[n*V+v] = x - lse
		}
	}
}

// CrossEntropyForward: lse[n] = logsumexp(logits[n]) and
// losses[n] = lse[n] - logits[n][targets[n]]; a negative target gives loss 0.
func CrossEntropyForward(losses, lse []float64, logits []float64, targets []int32, N, V int) {
	for n := 0; n < N; n++ {
		row := logits[n*V : (n+1)*V]
		lse[n] = logSumExp(row)
		losses[n] = 0
		if targets[n] >= 0 {
			losses[n] = lse[n] - row[targets[n]]
		}
	}
}

// CrossEntropyBackward accumulates dlogits[n] += dlosses[n]*(softmax(logits[n]) - onehot(target)),
// skipping rows with a negative target.
func CrossEntropyBackward(dlogits []float64, dlosses []float64, logits, lse []float64, targets []int32, N, V int) {
	for n := 0; n < N; n++ {
		if targets[n] < 0 {
			continue
		}
		for v := 0; v < V; v++ {
			p := math.Exp(logits[n*V+v] - lse[n])
			if v == int(targets[n]) {
				p -= 1
			}
			dlogits[n*V+v] += dlosses[n] * p
		}
	}
}

// MSEForward: losses[i] = (pred[i]-target[i])^2.
func MSEForward(losses []float64, pred, target []float64, n int) {
	for i := 0; i < n; i++ {
		d := pred[i] - target[i]
		losses[i] = d * d
	}
}

// MSEBackward accumulates dpred[i] += dlosses[i]*2*(pred[i]-target[i]).
func MSEBackward(dpred []float64, dlosses []float64, pred, target []float64, n int) {
	for i := 0; i < n; i++ {
		dpred[i] += dlosses[i] * 2 * (pred[i] - target[i])
	}
}
