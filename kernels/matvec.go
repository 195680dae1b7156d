package kernels

import (
	"fmt"

	"github.com/lsalign/lsalign/internal/parallel"
)

// Matrix-vector kernels for decoding, where one token's step reads every
// weight once: memory traffic, not arithmetic, bounds it, and a GEMM's
// packing of the matrix would double that traffic.

// matvecMinMACs is the least work (multiply-adds) worth a goroutine.
const matvecMinMACs = 1 << 15

// MatvecForward is MatmulForward for a single row: out = w @ x (+ bias),
// out[o] = sum_i w[o,i]*x[i] + bias[o]. Shapes: out [OUT], x [IN], w
// [OUT,IN] (PyTorch linear layout), bias [OUT] or nil.
//
// It reads w in place, four rows at a time sharing each load of x. Rows
// are spread over goroutines, and each output's arithmetic does not depend
// on the split.
func MatvecForward(out, x, w, bias []float32, IN, OUT int) {
	mustLen("MatvecForward", "out", len(out), OUT)
	mustLen("MatvecForward", "x", len(x), IN)
	mustLen("MatvecForward", "weight", len(w), OUT*IN)
	if bias != nil {
		mustLen("MatvecForward", "bias", len(bias), OUT)
	}
	grain := max(4, matvecMinMACs/max(IN, 1))
	parallel.For(OUT, grain, func(lo, hi int) {
		matvecRows(out[lo:hi], x, w[lo*IN:], IN, IN)
		if bias != nil {
			for o := lo; o < hi; o++ {
				out[o] += bias[o]
			}
		}
	})
}

// AttentionDecode is AttentionInfer for a single query row (B = Tq = 1) at
// position Tk-1, in matrix-vector form: per head, the scores are the
// products of the Tk key rows with q, then softmax, then the Tk value rows
// weighted by the probabilities. q is [NH*HS]; k and v are [Tk, NKV*HS]
// rows kvStride apart (a KV cache); out is [NH*HS]; alibi is nil or NH
// slopes; att is scratch of at least NH*Tk. Heads are spread over
// goroutines; each head's arithmetic does not depend on the split.
func AttentionDecode(out, q, k, v, alibi, att []float32, Tk, NH, NKV, HS, kvStride int, scale float32) {
	const fn = "AttentionDecode"
	attnCheckShape(fn, 1, 1, NH, NKV, HS, alibi)
	if Tk <= 0 || kvStride < NKV*HS {
		panic(fmt.Sprintf("kernels.%s: bad Tk=%d kvStride=%d for NKV*HS=%d", fn, Tk, kvStride, NKV*HS))
	}
	mustLen(fn, "out", len(out), NH*HS)
	mustMinLen(fn, "q", len(q), NH*HS)
	mustMinLen(fn, "k", len(k), (Tk-1)*kvStride+NKV*HS)
	mustMinLen(fn, "v", len(v), (Tk-1)*kvStride+NKV*HS)
	mustMinLen(fn, "att", len(att), NH*Tk)
	group := NH / NKV
	parallel.For(NH, max(1, matvecMinMACs/(2*Tk*HS)), func(lo, hi int) {
		for h := lo; h < hi; h++ {
			g := h / group
			row := att[h*Tk : (h+1)*Tk]
			matvecRows(row, q[h*HS:(h+1)*HS], k[g*HS:], HS, kvStride)
			for s := range row {
				row[s] *= scale
			}
			attnSoftmaxCausal(row, attnSlope(alibi, h))
			vecmatRows(out[h*HS:(h+1)*HS], row, v[g*HS:], kvStride)
		}
	})
}

// matvecRows sets out[r] = dot(w[r*ldw : r*ldw+n], x[:n]) for r < len(out):
// the vector kernel takes the longest multiple of 8 columns (or all of
// them), Go adds the rest.
func matvecRows(out, x, w []float32, n, ldw int) {
	if len(out) == 0 {
		return
	}
	_ = w[(len(out)-1)*ldw+n-1] // one bounds check for the vector kernel's reads
	done := matvecVec(out, x[:n], w, n, ldw)
	if done == n {
		return
	}
	xt := x[done:n]
	for r := range out {
		row := w[r*ldw+done : r*ldw+n]
		row = row[:len(xt)]
		s := out[r]
		for i, v := range xt {
			s += row[i] * v
		}
		out[r] = s
	}
}

// vecmatRows sets out[j] = sum_r p[r] * w[r*ldw+j] for j < len(out), r <
// len(p): the transposed product, vector kernel first, Go for the columns
// past the last multiple of 8.
func vecmatRows(out, p, w []float32, ldw int) {
	n := len(out)
	if len(p) == 0 {
		clear(out)
		return
	}
	_ = w[(len(p)-1)*ldw+n-1]
	done := vecmatVec(out, p, w, ldw)
	for j := done; j < n; j++ {
		var s float32
		for r, pr := range p {
			s += pr * w[r*ldw+j]
		}
		out[j] = s
	}
}

// matvecDotGo is the portable dot product of one row: eight partial sums
// in a fixed order, so the loop is not bound by the latency of one chain.
func matvecDotGo(row, x []float32) float32 {
	x = x[:len(row)]
	var s [8]float32
	i := 0
	for ; i+8 <= len(row); i += 8 {
		r, v := row[i:i+8:i+8], x[i:i+8:i+8]
		s[0] += r[0] * v[0]
		s[1] += r[1] * v[1]
		s[2] += r[2] * v[2]
		s[3] += r[3] * v[3]
		s[4] += r[4] * v[4]
		s[5] += r[5] * v[5]
		s[6] += r[6] * v[6]
		s[7] += r[7] * v[7]
	}
	sum := ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
	for ; i < len(row); i++ {
		sum += row[i] * x[i]
	}
	return sum
}

func matvecGo(out, x, w []float32, n, ldw int) {
	for r := range out {
		out[r] = matvecDotGo(w[r*ldw:r*ldw+n], x[:n])
	}
}

// vecmatGo is the portable transposed product, row by row.
func vecmatGo(out, p, w []float32, ldw int) {
	clear(out)
	for r, pr := range p {
		row := w[r*ldw : r*ldw+len(out)]
		for j, x := range row {
			out[j] += pr * x
		}
	}
}
