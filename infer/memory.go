package infer

import (
	"github.com/lsalign/lsalign/internal/memlimit"
	"github.com/lsalign/lsalign/internal/parallel"
	"github.com/lsalign/lsalign/model"
)

// MaxSteps bounds Options.Steps: more tokens than this is no generation
// anyone can wait for, only a typo.
const MaxSteps = 1_000_000_000

// DecodeMemory estimates the bytes that decoding allocates for a prompt of
// promptLen tokens followed by up to steps generated ones, as
// model.NewKVCache and model.Extend size them: the KV cache of
// promptLen+steps positions (layers × positions × kv_dim × 2 × 4 B, the
// attention scratch and, for sinusoidal positions, the position table)
// and the activations and attention scores of the batched prefill of
// promptLen rows. Absurd sizes saturate at math.MaxInt64 instead of
// wrapping around; negative ones are programmer errors (they panic).
func DecodeMemory(c model.Config, promptLen, steps int) int64 {
	const f32 = 4
	nkv := c.KVHeads
	if nkv == 0 {
		nkv = c.Heads
	}
	hs := int64(c.HeadSize())
	C, H, NH, L := int64(c.Dim), int64(c.Hidden), int64(c.Heads), int64(c.Layers)
	positions := memlimit.Sum(int64(promptLen), int64(steps))
	kv := memlimit.Product(L, positions, int64(nkv)*hs, 2, f32)
	perPosition := NH // attention scratch of one decoding step
	if c.Pos == model.PosSinusoidal {
		perPosition += C
	}
	fc := H
	if c.MLP == "swiglu" {
		fc = 2 * H
	}
	qkv := (NH + 2*int64(nkv)) * hs
	// x, xn, proj [C]; mean, rstd; qkv; atty [NH*HS]; fc; fcAct [H]; cos, sin [HS/2]
	perRow := 3*C + 2 + qkv + NH*hs + fc + H + hs
	// The prefill's attention scores: a block of attnRows query rows
	// against every prompt position, per worker (kernels.AttentionInfer).
	const attnRows = 64
	scores := memlimit.Product(int64(parallel.Workers()), min(attnRows, int64(promptLen)), int64(promptLen), f32)
	return memlimit.Sum(kv,
		memlimit.Product(positions, perPosition, f32),
		memlimit.Product(int64(promptLen), perRow, f32),
		scores,
		int64(c.Vocab)*f32)
}
