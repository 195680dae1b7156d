package ref

import "math"

// Divergence mirrors kernels.Divergence (same values, same order).
type Divergence int

// The divergences between two next-token distributions.
const (
	SCE Divergence = iota // symmetric cross-entropy CE(p,q)+CE(q,p)
	SKL                   // symmetric KL: KL(p||q)+KL(q||p)
	JS                    // Jensen-Shannon
)

// value returns D(p, q) for probability vectors p and q.
func (d Divergence) value(p, q []float64) float64 {
	s := 0.0
	for v := range p {
		switch d {
		case SCE:
			s += -p[v]*math.Log(q[v]) - q[v]*math.Log(p[v])
		case SKL:
			s += (p[v] - q[v]) * (math.Log(p[v]) - math.Log(q[v]))
		case JS:
			m := (p[v] + q[v]) / 2
			s += 0.5*p[v]*math.Log(p[v]/m) + 0.5*q[v]*math.Log(q[v]/m)
		default:
			panic("ref: unknown divergence")
		}
	}
	return s
}

// gradP returns dD/dp_v (p and q treated as free variables).
func (d Divergence) gradP(p, q []float64, v int) float64 {
	switch d {
	case SCE: // -sum p log q - sum q log p
		return -math.Log(q[v]) - q[v]/p[v]
	case SKL: // sum (p-q)(log p - log q)
		return math.Log(p[v]) - math.Log(q[v]) + 1 - q[v]/p[v]
	case JS: // the m-dependent terms cancel
		return 0.5 * math.Log(2*p[v]/(p[v]+q[v]))
	}
	panic("ref: unknown divergence")
}

func softmax(x []float64) []float64 {
	lse := logSumExp(x)
	p := make([]float64, len(x))
	for i, v := range x {
		p[i] = math.Exp(v - lse)
	}
	return p
}

// DivergenceForward: out[n] = D(softmax(a[n]), softmax(b[n])), natural logs.
func DivergenceForward(d Divergence, out []float64, logitsA, logitsB []float64, N, V int) {
	for n := 0; n < N; n++ {
		p := softmax(logitsA[n*V : (n+1)*V])
		q := softmax(logitsB[n*V : (n+1)*V])
		out[n] = d.value(p, q)
	}
}

// DivergenceBackward accumulates dA[n] += dout[n]*dD/da[n] and dB likewise
// (a nil side is skipped), by the chain rule through softmax:
// dD/da_j = p_j*(g_j - sum_v p_v g_v) with g = dD/dp. D is symmetric, so the
// b side is the same computation with the roles swapped.
func DivergenceBackward(d Divergence, dA, dB []float64, dout []float64, logitsA, logitsB []float64, N, V int) {
	for n := 0; n < N; n++ {
		p := softmax(logitsA[n*V : (n+1)*V])
		q := softmax(logitsB[n*V : (n+1)*V])
		if dA != nil {
			softmaxChain(d, dA[n*V:(n+1)*V], dout[n], p, q)
		}
		if dB != nil {
			softmaxChain(d, dB[n*V:(n+1)*V], dout[n], q, p)
		}
	}
}

// softmaxChain accumulates dlogits += scale * J_softmax^T * dD/dp.
func softmaxChain(d Divergence, dlogits []float64, scale float64, p, q []float64) {
	g := make([]float64, len(p))
	mean := 0.0
	for v := range p {
		g[v] = d.gradP(p, q, v)
		mean += p[v] * g[v]
	}
	for v := range p {
		dlogits[v] += scale * p[v] * (g[v] - mean)
	}
}
