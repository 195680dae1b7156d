package kernels

import (
	"fmt"
	"math"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
	"github.com/lsalign/lsalign/kernels/ref"
)

var ropeLayouts = []RopeLayout{RopeAdjacent, RopeHalves}

func ropeTable(T, HS int, s RopeScaling) (cos, sin []float32) {
	cos = make([]float32, T*HS/2)
	sin = make([]float32, T*HS/2)
	RopeTable(cos, sin, T, HS, 10000, s)
	return cos, sin
}

// TestRopeMatchesRef rotates 3 of 5 heads from column col0 of padded rows,
// checks forward and backward against the reference and that the columns
// outside the rotated heads are left alone.
func TestRopeMatchesRef(t *testing.T) {
	const B, T, HS, nHeads, col0, rowStride = 2, 7, 8, 3, 8, 5*8 + 2
	cos, sin := ropeTable(T, HS, RopeScaling{Type: "yarn", Factor: 4, OrigCtx: 4})
	for _, layout := range ropeLayouts {
		t.Run(layout.String(), func(t *testing.T) {
			x0 := testutil.Rand32(rng.New(3), B*T*rowStride, 1)
			for _, backward := range []bool{false, true} {
				x := testutil.NewGuarded(len(x0), 0)
				copy(x.S, x0)
				want := testutil.To64(x0)
				c64, s64 := testutil.To64(cos), testutil.To64(sin)
				if backward {
					RopeBackward(x.S, cos, sin, B, T, rowStride, col0, nHeads, HS, layout)
					ref.RopeBackward(want, c64, s64, B, T, rowStride, col0, nHeads, HS, layout == RopeHalves)
				} else {
					RopeForward(x.S, cos, sin, B, T, rowStride, col0, nHeads, HS, layout)
					ref.RopeForward(want, c64, s64, B, T, rowStride, col0, nHeads, HS, layout == RopeHalves)
				}
				x.Check(t, "x")
				testutil.Close(t, fmt.Sprintf("backward=%v", backward), x.S, want, 1e-6, 1e-6)
				for r := 0; r < B*T; r++ {
					for c := 0; c < rowStride; c++ {
						i := r*rowStride + c
						if (c < col0 || c >= col0+nHeads*HS) && x.S[i] != x0[i] {
							t.Fatalf("column %d of row %d outside the heads changed", c, r)
						}
					}
				}
			}
		})
	}
}

// TestRopePreservesNormAndInverts: without a YaRN factor each rotation is
// orthogonal, so head norms survive and the backward undoes the forward.
func TestRopePreservesNormAndInverts(t *testing.T) {
	const B, T, HS, nHeads = 2, 50, 16, 3
	cos, sin := ropeTable(T, HS, RopeScaling{})
	for _, layout := range ropeLayouts {
		x0 := testutil.Rand32(rng.New(4), B*T*nHeads*HS, 1)
		x := append([]float32(nil), x0...)
		RopeForward(x, cos, sin, B, T, nHeads*HS, 0, nHeads, HS, layout)
		changed := false
		for h := 0; h < B*T*nHeads; h++ {
			var n0, n1 float64
			for i := h * HS; i < (h+1)*HS; i++ {
				n0 += float64(x0[i]) * float64(x0[i])
				n1 += float64(x[i]) * float64(x[i])
				changed = changed || x[i] != x0[i]
			}
			if math.Abs(n1-n0) > 1e-5*n0 {
				t.Fatalf("%v: head %d norm² %v -> %v", layout, h, n0, n1)
			}
		}
		if !changed {
			t.Fatalf("%v: forward left x unchanged", layout)
		}
		RopeBackward(x, cos, sin, B, T, nHeads*HS, 0, nHeads, HS, layout)
		testutil.Close(t, layout.String()+" backward∘forward", x, testutil.To64(x0), 1e-6, 1e-6)
	}
}

// TestRopeDecodeOffset: rotating one row with the table sliced at position
// p gives the same bits as row p of a full-sequence rotation.
func TestRopeDecodeOffset(t *testing.T) {
	const T, HS, nHeads = 20, 8, 2
	cos, sin := ropeTable(T, HS, RopeScaling{})
	x0 := testutil.Rand32(rng.New(5), T*nHeads*HS, 1)
	for _, layout := range ropeLayouts {
		full := append([]float32(nil), x0...)
		RopeForward(full, cos, sin, 1, T, nHeads*HS, 0, nHeads, HS, layout)
		for p := 0; p < T; p++ {
			row := append([]float32(nil), x0[p*nHeads*HS:(p+1)*nHeads*HS]...)
			RopeForward(row, cos[p*HS/2:], sin[p*HS/2:], 1, 1, nHeads*HS, 0, nHeads, HS, layout)
			attnSameBits(t, fmt.Sprintf("%v row %d", layout, p), row, full[p*nHeads*HS:(p+1)*nHeads*HS])
		}
	}
}

// ropeHFPermute reorders one head the way Hugging Face's
// convert_llama_weights_to_hf.py permutes the rows of wq and wk
// (view(n_heads, HS/2, 2, dim).transpose(1, 2)): output dims (2i, 2i+1)
// move to (i, i+HS/2).
func ropeHFPermute(head []float32) []float32 {
	HS := len(head)
	out := make([]float32, HS)
	for i := 0; i < HS/2; i++ {
		out[i] = head[2*i]
		out[i+HS/2] = head[2*i+1]
	}
	return out
}

// TestRopeLayoutsArePermutations: a model whose q/k projections were
// permuted as Hugging Face's conversion script does gives the same
// attention output with the halves layout as the original does with the
// adjacent layout.
func TestRopeLayoutsArePermutations(t *testing.T) {
	s := attnShape{2, 9, 4, 2, 8}
	qkv, alibi := attnInputs(6, s, false)
	W := s.qkvW()
	perm := append([]float32(nil), qkv...)
	for r := 0; r < s.B*s.T; r++ {
		for h := 0; h < s.NH+s.NKV; h++ { // q and k heads, not v
			head := perm[r*W+h*s.HS : r*W+(h+1)*s.HS]
			copy(head, ropeHFPermute(head))
		}
	}
	cos, sin := ropeTable(s.T, s.HS, RopeScaling{})
	RopeForward(qkv, cos, sin, s.B, s.T, W, 0, s.NH+s.NKV, s.HS, RopeAdjacent)
	RopeForward(perm, cos, sin, s.B, s.T, W, 0, s.NH+s.NKV, s.HS, RopeHalves)
	// Rotated vectors are the same permutation of each other, bit for bit.
	for r := 0; r < s.B*s.T; r++ {
		for h := 0; h < s.NH+s.NKV; h++ {
			attnSameBits(t, "rotated head", ropeHFPermute(qkv[r*W+h*s.HS:r*W+(h+1)*s.HS]), perm[r*W+h*s.HS:r*W+(h+1)*s.HS])
		}
	}
	a := attnForwardOut(s, qkv, alibi)
	b := attnForwardOut(s, perm, alibi)
	testutil.Close(t, "attention output", b, testutil.To64(a), 1e-5, 1e-5)
}

func TestRopePanicsOnBadArgs(t *testing.T) {
	x := make([]float32, 16)
	cos := make([]float32, 4)
	mustPanic(t, "HS=3 (HS must be even)", func() { RopeForward(x, cos, cos, 1, 1, 16, 0, 1, 3, RopeAdjacent) })
	mustPanic(t, "len(x) = 15, want at least 16", func() { RopeForward(x[:15], cos, cos, 1, 1, 16, 0, 2, 8, RopeAdjacent) })
	mustPanic(t, "len(cos) = 3", func() { RopeForward(x, cos[:3], cos, 1, 1, 16, 0, 1, 8, RopeAdjacent) })
	mustPanic(t, "rowStride=8 col0=4", func() { RopeForward(x, cos, cos, 1, 1, 8, 4, 1, 8, RopeAdjacent) })
	mustPanic(t, "unknown layout RopeLayout(7)", func() { RopeBackward(x, cos, cos, 1, 1, 16, 0, 1, 8, RopeLayout(7)) })
}

// BenchmarkRope rotates the q and k heads of the packed qkv at the training
// shape B=8, T=256, NH=NKV=4, HS=32.
func BenchmarkRope(b *testing.B) {
	const B, T, NH, NKV, HS = 8, 256, 4, 4, 32
	W := (NH + 2*NKV) * HS
	x := testutil.Rand32(rng.New(1), B*T*W, 1)
	cos, sin := ropeTable(T, HS, RopeScaling{})
	for b.Loop() {
		RopeForward(x, cos, sin, B, T, W, 0, NH+NKV, HS, RopeHalves)
	}
}
