package kernels

import (
	"fmt"

	"github.com/lsalign/lsalign/internal/parallel"
	"github.com/lsalign/lsalign/kernels/gemm"
)

// Causal grouped-query attention on the fused projection. Row n of qkv holds
// QKV = (NH+2*NKV)*HS columns: query heads h at [h*HS, (h+1)*HS), key heads g
// at [(NH+g)*HS, ...), value heads g at [(NH+NKV+g)*HS, ...). Query head h
// reads kv head h/(NH/NKV). Position t attends to keys 0..t.
//
// Work is done on blocks of attnBlock query rows: block [i0, i1) only needs
// keys [0, i1), so two small GEMMs per block skip most of the masked upper
// triangle while the GEMM micro-kernel still sees reasonably large panels.
const attnBlock = 64

// attnMinChunkFlops keeps tiny problems (decoding one token of a small
// model) on the calling goroutine, where spawning workers costs more than
// the arithmetic.
const attnMinChunkFlops = 1 << 16

// attnDirectRows: blocks with fewer query rows than this skip GEMM (whose
// micro-tiles are 6 or 12 rows tall and whose packing dominates at m=1).
const attnDirectRows = 4

// AttentionForward computes out [B,T,NH*HS] = softmax(scale*q·k + bias) · v
// with a causal mask, for every sequence b and query head h, from qkv
// [B,T,(NH+2*NKV)*HS]. att [B,NH,T,T] receives the probabilities for the
// backward pass: row t holds them in columns 0..t and zeros after. alibi is
// nil or holds NH slopes m_h; the bias is -m_h*(t-s) for query t, key s.
// out, att and qkv must have exactly the lengths their shapes give.
func AttentionForward(out, att, qkv []float32, alibi []float32, B, T, NH, NKV, HS int, scale float32) {
	qkvW := attnCheckShape("AttentionForward", B, T, NH, NKV, HS, alibi)
	mustLen("AttentionForward", "out", len(out), B*T*NH*HS)
	mustLen("AttentionForward", "att", len(att), B*NH*T*T)
	mustLen("AttentionForward", "qkv", len(qkv), B*T*qkvW)
	C := NH * HS
	group := NH / NKV
	parallel.For(B*NH, attnGrain(attnCausalFlops(T, HS)), func(lo, hi int) {
		for u := lo; u < hi; u++ {
			b, h := u/NH, u%NH
			g := h / group
			seq := qkv[b*T*qkvW:]
			q := seq[h*HS:]
			k := seq[(NH+g)*HS:]
			v := seq[(NH+NKV+g)*HS:]
			p := att[u*T*T:]
			o := out[b*T*C+h*HS:]
			slope := attnSlope(alibi, h)
			for i0 := 0; i0 < T; i0 += attnBlock {
				m := min(attnBlock, T-i0)
				attnRowsForward(p[i0*T:], T, T, o[i0*C:], C, q[i0*qkvW:], qkvW, k, v, qkvW, i0, m, HS, scale, slope)
			}
		}
	})
}

// AttentionBackward accumulates (+=) into dqkv [B,T,(NH+2*NKV)*HS] the
// gradients of the q, k and v parts from dout [B,T,NH*HS], given the qkv and
// att that AttentionForward used. alibi is accepted for symmetry with the
// forward pass: the bias is constant, so it does not enter the gradient.
// A nil dqkv makes this a no-op.
//
// Units of work are (b, kv head) pairs and the query heads of a group run in
// order inside one unit, so the shared k/v gradients are summed in a fixed
// order and the result is bit-identical for any GOMAXPROCS.
func AttentionBackward(dqkv, dout, qkv, att []float32, alibi []float32, B, T, NH, NKV, HS int, scale float32) {
	qkvW := attnCheckShape("AttentionBackward", B, T, NH, NKV, HS, alibi)
	if dqkv == nil {
		return
	}
	mustLen("AttentionBackward", "dqkv", len(dqkv), B*T*qkvW)
	mustLen("AttentionBackward", "dout", len(dout), B*T*NH*HS)
	mustLen("AttentionBackward", "qkv", len(qkv), B*T*qkvW)
	mustLen("AttentionBackward", "att", len(att), B*NH*T*T)
	C := NH * HS
	group := NH / NKV
	unitFlops := 2 * group * attnCausalFlops(T, HS)
	parallel.For(B*NKV, attnGrain(unitFlops), func(lo, hi int) {
		ds := make([]float32, min(attnBlock, T)*T)
		for u := lo; u < hi; u++ {
			b, g := u/NKV, u%NKV
			seq := qkv[b*T*qkvW:]
			dseq := dqkv[b*T*qkvW:]
			k, dk := seq[(NH+g)*HS:], dseq[(NH+g)*HS:]
			v, dv := seq[(NH+NKV+g)*HS:], dseq[(NH+NKV+g)*HS:]
			for h := g * group; h < (g+1)*group; h++ {
				q, dq := seq[h*HS:], dseq[h*HS:]
				p := att[(b*NH+h)*T*T:]
				do := dout[b*T*C+h*HS:]
				for i0 := 0; i0 < T; i0 += attnBlock {
					m := min(attnBlock, T-i0)
					r := i0 * qkvW
					attnRowsBackward(dq[r:], dk, dv, qkvW, do[i0*C:], C, q[r:], k, v, qkvW,
						p[i0*T:], T, ds, i0, m, HS, scale)
				}
			}
		}
	})
}

// attnRowsForward handles m query rows at absolute positions pos..pos+m-1
// against keys 0..pos+m-1. Row r of p (stride ldp) receives the
// probabilities of query pos+r in columns 0..pos+r and zeros up to width;
// row r of out (stride ldo) receives their weighted sum of values.
func attnRowsForward(p []float32, ldp, width int, out []float32, ldo int, q []float32, ldq int,
	k, v []float32, ldkv, pos, m, HS int, scale, slope float32) {
	if m < attnDirectRows {
		attnRowsDirect(p, ldp, width, out, ldo, q, ldq, k, v, ldkv, pos, m, HS, scale, slope)
		return
	}
	n := pos + m
	gemm.SgemmThreads(1, false, true, m, n, HS, scale, q, ldq, k, ldkv, 0, p, ldp)
	for r := 0; r < m; r++ {
		t := pos + r
		row := p[r*ldp : r*ldp+width]
		attnSoftmaxCausal(row[:t+1], slope)
		clear(row[t+1:])
	}
	gemm.SgemmThreads(1, false, false, m, HS, n, 1, p, ldp, v, ldkv, 0, out, ldo)
}

// attnRowsDirect is attnRowsForward with plain loops over contiguous key and
// value rows, for the few-row case (decoding), where GEMM packing would cost
// far more than the arithmetic.
func attnRowsDirect(p []float32, ldp, width int, out []float32, ldo int, q []float32, ldq int,
	k, v []float32, ldkv, pos, m, HS int, scale, slope float32) {
	for r := 0; r < m; r++ {
		t := pos + r
		qr := q[r*ldq : r*ldq+HS]
		row := p[r*ldp : r*ldp+width]
		for s := 0; s <= t; s++ {
			row[s] = scale * attnDot(qr, k[s*ldkv:s*ldkv+HS])
		}
		attnSoftmaxCausal(row[:t+1], slope)
		clear(row[t+1:])
		o := out[r*ldo : r*ldo+HS]
		clear(o)
		for s, ps := range row[:t+1] {
			vs := v[s*ldkv : s*ldkv+HS]
			for i := range o {
				o[i] += ps * vs[i]
			}
		}
	}
}

// attnRowsBackward is the backward of attnRowsForward for one head and one
// block of query rows (pos = first row). ds is scratch of at least m*(pos+m).
func attnRowsBackward(dq, dk, dv []float32, ldd int, dout []float32, ldo int, q, k, v []float32, ldqkv int,
	p []float32, ldp int, ds []float32, pos, m, HS int, scale float32) {
	n := pos + m
	// dP = dO · Vᵀ, then dS = P ⊙ (dP - rowsum(P ⊙ dP)) in place.
	gemm.SgemmThreads(1, false, true, m, n, HS, 1, dout, ldo, v, ldqkv, 0, ds, n)
	for r := 0; r < m; r++ {
		t := pos + r
		pr := p[r*ldp : r*ldp+t+1]
		dr := ds[r*n : r*n+n]
		dot := attnDot(pr, dr[:t+1])
		for s, ps := range pr {
			dr[s] = ps * (dr[s] - dot)
		}
		clear(dr[t+1:])
	}
	gemm.SgemmThreads(1, false, false, m, HS, n, scale, ds, n, k, ldqkv, 1, dq, ldd)
	gemm.SgemmThreads(1, true, false, n, HS, m, scale, ds, n, q, ldqkv, 1, dk, ldd)
	gemm.SgemmThreads(1, true, false, n, HS, m, 1, p, ldp, dout, ldo, 1, dv, ldd)
}

// attnSoftmaxCausal turns the scores of query t = len(row)-1 against keys
// 0..t into probabilities in place, adding the ALiBi bias -slope*(t-s).
func attnSoftmaxCausal(row []float32, slope float32) {
	t := len(row) - 1
	if slope != 0 {
		for s := range row {
			row[s] -= slope * float32(t-s)
		}
	}
	inv := float32(1 / expRow(row, row, rowMax(row)))
	for s := range row {
		row[s] *= inv
	}
}

// attnDot returns a·b with four partial sums, which breaks the add latency
// chain; the order is fixed, so the result does not depend on scheduling.
func attnDot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		x, y := a[i:i+4:i+4], b[i:i+4:i+4]
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// attnCausalFlops estimates the multiply-adds of one head's causal forward.
func attnCausalFlops(T, HS int) int { return 2 * T * (T + 1) * HS }

// attnGrain is the number of units a worker needs so that its share is worth
// a goroutine.
func attnGrain(unitFlops int) int { return max(1, attnMinChunkFlops/max(unitFlops, 1)) }

func attnSlope(alibi []float32, h int) float32 {
	if alibi == nil {
		return 0
	}
	return alibi[h]
}

// attnCheckShape panics on impossible dimensions and returns the qkv width.
func attnCheckShape(fn string, B, T, NH, NKV, HS int, alibi []float32) int {
	if B < 0 || T < 0 || NH <= 0 || NKV <= 0 || HS <= 0 || NH%NKV != 0 {
		panic(fmt.Sprintf("kernels.%s: bad dims B=%d T=%d NH=%d NKV=%d HS=%d (need NH %% NKV == 0)", fn, B, T, NH, NKV, HS))
	}
	if alibi != nil && len(alibi) != NH {
		panic(fmt.Sprintf("kernels.%s: len(alibi) = %d, want NH = %d", fn, len(alibi), NH))
	}
	return (NH + 2*NKV) * HS
}
