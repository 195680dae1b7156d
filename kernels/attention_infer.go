package kernels

import (
	"fmt"

	"github.com/lsalign/lsalign/internal/parallel"
)

// AttentionInfer is causal attention without T×T storage, for evaluation
// and KV-cache decoding. The Tq query rows sit at absolute positions
// pos0..pos0+Tq-1 and attend to keys and values at positions 0..pos0+Tq-1.
//
// q is [B,Tq,NH*HS] with row stride qStride; k and v are [B,Tk,NKV*HS] with
// row stride kvStride and batch stride kvBatch (Tk >= pos0+Tq), so the caller
// can pass a KV cache or the packed qkv buffer of AttentionForward
// (q = qkv, k = qkv[NH*HS:], v = qkv[(NH+NKV)*HS:], qStride = kvStride = QKV,
// kvBatch = T*QKV). out is dense [B,Tq,NH*HS]. alibi is nil or NH slopes.
// Scratch is one block of attnBlock×(pos0+Tq) scores per worker.
func AttentionInfer(out, q, k, v []float32, alibi []float32, B, Tq, pos0, NH, NKV, HS, qStride, kvStride, kvBatch int, scale float32) {
	const fn = "AttentionInfer"
	attnCheckShape(fn, B, Tq, NH, NKV, HS, alibi)
	C, Ckv := NH*HS, NKV*HS
	if pos0 < 0 || qStride < C || kvStride < Ckv {
		panic(fmt.Sprintf("kernels.%s: bad pos0=%d qStride=%d kvStride=%d for NH*HS=%d NKV*HS=%d", fn, pos0, qStride, kvStride, C, Ckv))
	}
	Tk := pos0 + Tq
	if B > 1 && kvBatch < Tk*kvStride {
		panic(fmt.Sprintf("kernels.%s: kvBatch=%d < (pos0+Tq)*kvStride=%d", fn, kvBatch, Tk*kvStride))
	}
	mustLen(fn, "out", len(out), B*Tq*C)
	if B == 0 || Tq == 0 {
		return
	}
	mustMinLen(fn, "q", len(q), (B*Tq-1)*qStride+C)
	kvNeed := (B-1)*kvBatch + (Tk-1)*kvStride + Ckv
	mustMinLen(fn, "k", len(k), kvNeed)
	mustMinLen(fn, "v", len(v), kvNeed)

	group := NH / NKV
	blocks := (Tq + attnBlock - 1) / attnBlock
	unitFlops := 4 * min(attnBlock, Tq) * Tk * HS
	parallel.For(B*NH*blocks, attnGrain(unitFlops), func(lo, hi int) {
		scratch := make([]float32, min(attnBlock, Tq)*Tk)
		for u := lo; u < hi; u++ {
			bh, blk := u/blocks, u%blocks
			b, h := bh/NH, bh%NH
			g := h / group
			i0 := blk * attnBlock
			m := min(attnBlock, Tq-i0)
			n := pos0 + i0 + m
			qb := q[(b*Tq+i0)*qStride+h*HS:]
			kb := k[b*kvBatch+g*HS:]
			vb := v[b*kvBatch+g*HS:]
			ob := out[(b*Tq+i0)*C+h*HS:]
			attnRowsForward(scratch, n, n, ob, C, qb, qStride, kb, vb, kvStride, pos0+i0, m, HS, scale, attnSlope(alibi, h))
		}
	})
}
