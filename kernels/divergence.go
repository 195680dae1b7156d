package kernels

import (
	"fmt"
	"math"
	"strings"

	"github.com/lsalign/lsalign/internal/parallel"
)

// Divergence names a discrepancy between two next-token distributions
// p = softmax(a) and q = softmax(b) (METHOD.md §2). All use natural logs.
type Divergence int

const (
	// SCE is the symmetric cross-entropy of the paper's misalignment
	// metric: CE(p,q) + CE(q,p) = -sum p log q - sum q log p
	// (= SKL + H(p) + H(q), so it is 2H(p), not 0, when p = q).
	SCE Divergence = iota
	// SKL is the symmetric KL divergence KL(p||q) + KL(q||p)
	// = sum (p-q)(log p - log q): an alternative that is 0 when p = q.
	SKL
	// JS is the Jensen-Shannon divergence 0.5 KL(p||m) + 0.5 KL(q||m),
	// m = (p+q)/2: an alternative bounded by ln 2.
	JS
)

// numDivergences bounds the valid values.
const numDivergences = 3

// String returns the lower-case name: "sce", "skl" or "js".
func (d Divergence) String() string {
	switch d {
	case SCE:
		return "sce"
	case SKL:
		return "skl"
	case JS:
		return "js"
	}
	return fmt.Sprintf("Divergence(%d)", int(d))
}

func (d Divergence) valid() bool { return d >= 0 && d < numDivergences }

// ParseDivergence is the inverse of String (case-insensitive).
func ParseDivergence(s string) (Divergence, error) {
	for d := Divergence(0); d < numDivergences; d++ {
		if strings.EqualFold(s, d.String()) {
			return d, nil
		}
	}
	return 0, fmt.Errorf("unknown divergence %q (want sce, skl or js)", s)
}

// MarshalText writes the name, so configs hold "sce" rather than 0.
func (d Divergence) MarshalText() ([]byte, error) {
	if !d.valid() {
		return nil, fmt.Errorf("invalid divergence %d", int(d))
	}
	return []byte(d.String()), nil
}

// UnmarshalText parses a name written by MarshalText.
func (d *Divergence) UnmarshalText(b []byte) error {
	v, err := ParseDivergence(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// DivergenceForward sets out[n] = D(softmax(logitsA[n,:]), softmax(logitsB[n,:])).
// Shapes: out [N]; logitsA, logitsB [N,V].
func DivergenceForward(d Divergence, out []float32, logitsA, logitsB []float32, N, V int) {
	checkDivergence("DivergenceForward", d, logitsA, logitsB, N, V)
	mustLen("DivergenceForward", "out", len(out), N)
	parallel.For(N, softmaxGrain(2*V), func(lo, hi int) {
		w := newDivRow(d, V)
		for n := lo; n < hi; n++ {
			w.load(d, logitsA[n*V:(n+1)*V], logitsB[n*V:(n+1)*V])
			out[n] = float32(w.value(d))
		}
	})
}

// DivergenceBackward accumulates dA[n,:] += dout[n] * dD/dlogitsA[n,:] and
// dB likewise. A nil dA or dB skips that side (a stop-gradient).
// Shapes: dA, dB, logitsA, logitsB [N,V]; dout [N].
func DivergenceBackward(d Divergence, dA, dB []float32, dout []float32, logitsA, logitsB []float32, N, V int) {
	checkDivergence("DivergenceBackward", d, logitsA, logitsB, N, V)
	mustLen("DivergenceBackward", "dout", len(dout), N)
	if dA != nil {
		mustLen("DivergenceBackward", "dA", len(dA), N*V)
	}
	if dB != nil {
		mustLen("DivergenceBackward", "dB", len(dB), N*V)
	}
	if dA == nil && dB == nil {
		return
	}
	parallel.For(N, softmaxGrain(3*V), func(lo, hi int) {
		w := newDivRow(d, V)
		for n := lo; n < hi; n++ {
			w.load(d, logitsA[n*V:(n+1)*V], logitsB[n*V:(n+1)*V])
			if dA != nil {
				w.grad(d, dA[n*V:(n+1)*V], float64(dout[n]), &w.a, &w.b)
			}
			if dB != nil {
				w.grad(d, dB[n*V:(n+1)*V], float64(dout[n]), &w.b, &w.a)
			}
		}
	})
}

func checkDivergence(kernel string, d Divergence, logitsA, logitsB []float32, N, V int) {
	if !d.valid() {
		panic(fmt.Sprintf("kernels.%s: invalid divergence %d", kernel, int(d)))
	}
	mustPositive(kernel, "V", V)
	mustLen(kernel, "logitsA", len(logitsA), N*V)
	mustLen(kernel, "logitsB", len(logitsB), N*V)
}

// softmaxRow is one logits row with the statistics of its softmax, in
// buffers reused from row to row.
type softmaxRow struct {
	logits []float32
	e      []float32 // exp(logits - max)
	lse    float64   // logsumexp(logits)
	inv    float64   // 1/sum(e)
}

func (r *softmaxRow) load(logits []float32) {
	r.logits = logits
	var sum float64
	r.lse, sum = logSumExpRow(logits, r.e)
	r.inv = 1 / sum
}

// prob returns softmax(logits)[j] and logp the log-softmax, in float64.
// logp comes from the logits, not log(prob), so it stays exact where the
// probability underflows.
func (r *softmaxRow) prob(j int) float64 { return float64(r.e[j]) * r.inv }
func (r *softmaxRow) logp(j int) float64 { return float64(r.logits[j]) - r.lse }

// divRow is the pair of rows a divergence compares, plus JS's mixture.
type divRow struct {
	a, b softmaxRow
	lm   []float64 // JS only: log m, m = (p+q)/2
}

func newDivRow(d Divergence, V int) *divRow {
	w := &divRow{a: softmaxRow{e: make([]float32, V)}, b: softmaxRow{e: make([]float32, V)}}
	if d == JS {
		w.lm = make([]float64, V)
	}
	return w
}

func (w *divRow) load(d Divergence, a, b []float32) {
	w.a.load(a)
	w.b.load(b)
	if d == JS {
		// log((p+q)/2) = lp + log((1 + q/p)/2) = lp - ln 2 + softplus(lq - lp):
		// finite and exact even where p and q underflow.
		for j := range w.lm {
			lp, lq := w.a.logp(j), w.b.logp(j)
			w.lm[j] = lp - math.Ln2 + softplus(lq-lp)
		}
	}
}

// softplus returns log(1 + e^z) without overflow.
func softplus(z float64) float64 { return math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) }

// value returns D(p, q) for the loaded rows, summed in float64.
func (w *divRow) value(d Divergence) float64 {
	x, y := &w.a, &w.b
	var s float64
	switch d {
	case SCE:
		for j := range x.e {
			s -= x.prob(j)*y.logp(j) + y.prob(j)*x.logp(j)
		}
	case SKL:
		for j := range x.e {
			s += (x.prob(j) - y.prob(j)) * (x.logp(j) - y.logp(j))
		}
	case JS:
		for j, lm := range w.lm {
			s += x.prob(j)*(x.logp(j)-lm) + y.prob(j)*(y.logp(j)-lm)
		}
		s *= 0.5
	}
	return s
}

// grad accumulates dst[j] += scale * dD/dx_j, where x is the side being
// differentiated (p = softmax(x)) and y the other (q); every D here is
// symmetric, so either row of w can play x. Through the softmax,
// dF/dx_j = p_j*(g_j - sum_k p_k g_k) for g = dF/dp, which gives, with
// lp = log p, lq = log q, lm = log m:
//
//	SCE: p_j - q_j - p_j*(lq_j - sum p*lq)
//	SKL: p_j*((lp-lq)_j - KL(p||q)) + p_j - q_j
//	JS:  0.5*p_j*((lp-lm)_j - KL(p||m))
func (w *divRow) grad(d Divergence, dst []float32, scale float64, x, y *softmaxRow) {
	dst = dst[:len(x.e)]
	switch d {
	case SCE:
		var k float64
		for j := range dst {
			k += x.prob(j) * y.logp(j)
		}
		for j := range dst {
			p := x.prob(j)
			dst[j] += float32(scale * (p - y.prob(j) - p*(y.logp(j)-k)))
		}
	case SKL:
		var k float64
		for j := range dst {
			k += x.prob(j) * (x.logp(j) - y.logp(j))
		}
		for j := range dst {
			p := x.prob(j)
			dst[j] += float32(scale * (p*(x.logp(j)-y.logp(j)-k) + p - y.prob(j)))
		}
	case JS:
		lm := w.lm[:len(dst)]
		var k float64
		for j := range dst {
			k += x.prob(j) * (x.logp(j) - lm[j])
		}
		for j := range dst {
			p := x.prob(j)
			dst[j] += float32(scale * 0.5 * p * (x.logp(j) - lm[j] - k))
		}
	}
}
