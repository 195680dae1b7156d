package kernels

import (
	"fmt"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
	"github.com/lsalign/lsalign/kernels/ref"
)

// matvecShapes covers column counts below, at and between multiples of 8
// and 16, and row counts on both sides of the four-row blocking.
var matvecShapes = []struct{ IN, OUT int }{
	{1, 1}, {3, 2}, {7, 5}, {8, 4}, {9, 3}, {15, 7}, {16, 8}, {17, 9}, {24, 13}, {64, 1}, {72, 6},
	{288, 97}, {1000, 33},
}

func TestMatvecMatchesRef(t *testing.T) {
	for i, s := range matvecShapes {
		for _, withBias := range []bool{false, true} {
			t.Run(fmt.Sprintf("%+v/bias=%v", s, withBias), func(t *testing.T) {
				r := rng.New(uint64(100 + i))
				x, w := testutil.Rand32(r, s.IN, 1), testutil.Rand32(r, s.OUT*s.IN, 1)
				var bias []float32
				var bias64 []float64
				if withBias {
					bias = testutil.Rand32(r, s.OUT, 1)
					bias64 = testutil.To64(bias)
				}
				want := make([]float64, s.OUT)
				ref.MatmulForward(want, testutil.To64(x), testutil.To64(w), bias64, 1, s.IN, s.OUT)

				out := testutil.NewGuarded(s.OUT, 7)
				MatvecForward(out.S, x, w, bias, s.IN, s.OUT)
				out.Check(t, "out")
				testutil.Close(t, "out", out.S, want, 1e-5, 1e-5)

				// The portable path, which the asm build skips, must agree too.
				goOut := testutil.NewGuarded(s.OUT, 7)
				matvecGo(goOut.S, x, w, s.IN, s.IN)
				goOut.Check(t, "go out")
				if bias != nil {
					for o := range goOut.S {
						goOut.S[o] += bias[o]
					}
				}
				testutil.Close(t, "go out", goOut.S, want, 1e-5, 1e-5)
			})
		}
	}
}

// TestMatvecRowIndependent checks that a row's result does not depend on
// which rows it is computed with (the four-row loop or the one-row tail),
// which is what makes the parallel split invisible in the output.
func TestMatvecRowIndependent(t *testing.T) {
	const IN, OUT = 200, 11
	r := rng.New(9)
	x, w := testutil.Rand32(r, IN, 1), testutil.Rand32(r, OUT*IN, 1)
	all := make([]float32, OUT)
	matvecRows(all, x, w, IN, IN)
	for o := range OUT {
		one := make([]float32, 1)
		matvecRows(one, x, w[o*IN:(o+1)*IN], IN, IN)
		if one[0] != all[o] {
			t.Fatalf("row %d: %v alone, %v in a block", o, one[0], all[o])
		}
	}
}

func TestMatvecDeterministic(t *testing.T) {
	const IN, OUT = 512, 999
	r := rng.New(5)
	x, w, bias := testutil.Rand32(r, IN, 1), testutil.Rand32(r, OUT*IN, 1), testutil.Rand32(r, OUT, 1)
	sameBitsAcrossProcs(t, "Matvec", func() [][]float32 {
		out := make([]float32, OUT)
		MatvecForward(out, x, w, bias, IN, OUT)
		return [][]float32{out}
	})
}

// TestVecmatMatchesNaive checks the transposed product on strided rows,
// with row counts on both sides of the two-accumulator pairing, against a
// float64 sum, in the vector and the portable path.
func TestVecmatMatchesNaive(t *testing.T) {
	for i, s := range []struct{ N, R, ld int }{{1, 1, 1}, {8, 1, 8}, {8, 2, 10}, {12, 5, 30}, {16, 7, 16}, {48, 33, 96}, {64, 200, 64}} {
		r := rng.New(uint64(200 + i))
		p, w := testutil.Rand32(r, s.R, 1), testutil.Rand32(r, s.R*s.ld, 1)
		want := make([]float64, s.N)
		for j := range want {
			for k := range s.R {
				want[j] += float64(p[k]) * float64(w[k*s.ld+j])
			}
		}
		name := fmt.Sprintf("%+v", s)
		out := testutil.NewGuarded(s.N, 7)
		vecmatRows(out.S, p, w, s.ld)
		out.Check(t, name)
		testutil.Close(t, name, out.S, want, 1e-5, 1e-5)
		goOut := testutil.NewGuarded(s.N, 7)
		vecmatGo(goOut.S, p, w, s.ld)
		goOut.Check(t, name+" go")
		testutil.Close(t, name+" go", goOut.S, want, 1e-5, 1e-5)
	}
}

// TestAttentionDecodeMatchesInfer compares the matrix-vector attention
// with AttentionInfer's last query row over a strided KV cache.
func TestAttentionDecodeMatchesInfer(t *testing.T) {
	for i, s := range []struct {
		Tk, NH, NKV, HS int
		alibi           bool
	}{{1, 2, 1, 8, false}, {5, 4, 2, 8, true}, {37, 6, 6, 48, false}, {20, 3, 1, 12, true}, {130, 8, 4, 8, false}} {
		t.Run(fmt.Sprintf("%+v", s), func(t *testing.T) {
			r := rng.New(uint64(300 + i))
			ldkv := s.NKV*s.HS + 3 // rows of a cache wider than one kv head set
			q := testutil.Rand32(r, s.NH*s.HS, 1)
			k, v := testutil.Rand32(r, s.Tk*ldkv, 1), testutil.Rand32(r, s.Tk*ldkv, 1)
			var alibi []float32
			if s.alibi {
				alibi = AlibiSlopes(s.NH)
			}
			scale := float32(0.3)
			want := make([]float32, s.NH*s.HS)
			AttentionInfer(want, q, k, v, alibi, 1, 1, s.Tk-1, s.NH, s.NKV, s.HS, s.NH*s.HS, ldkv, s.Tk*ldkv, scale)
			out := testutil.NewGuarded(s.NH*s.HS, 7)
			AttentionDecode(out.S, q, k, v, alibi, make([]float32, s.NH*s.Tk), s.Tk, s.NH, s.NKV, s.HS, ldkv, scale)
			out.Check(t, "out")
			testutil.Close(t, "out", out.S, testutil.To64(want), 1e-5, 1e-4)
		})
	}
}

func TestAttentionDecodeDeterministic(t *testing.T) {
	const Tk, NH, NKV, HS = 300, 8, 2, 64
	r := rng.New(7)
	q, k, v := testutil.Rand32(r, NH*HS, 1), testutil.Rand32(r, Tk*NKV*HS, 1), testutil.Rand32(r, Tk*NKV*HS, 1)
	sameBitsAcrossProcs(t, "AttentionDecode", func() [][]float32 {
		out := make([]float32, NH*HS)
		AttentionDecode(out, q, k, v, nil, make([]float32, NH*Tk), Tk, NH, NKV, HS, NKV*HS, 0.125)
		return [][]float32{out}
	})
}

func BenchmarkMatvec(b *testing.B) {
	for _, s := range []struct{ IN, OUT int }{{288, 864}, {288, 1536}, {768, 288}, {288, 32000}} {
		b.Run(fmt.Sprintf("%dx%d", s.OUT, s.IN), func(b *testing.B) {
			r := rng.New(1)
			x, w := testutil.Rand32(r, s.IN, 1), testutil.Rand32(r, s.OUT*s.IN, 1)
			out := make([]float32, s.OUT)
			b.SetBytes(int64(4 * s.IN * s.OUT))
			for b.Loop() {
				MatvecForward(out, x, w, nil, s.IN, s.OUT)
			}
		})
	}
}
