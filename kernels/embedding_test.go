package kernels

import (
	"fmt"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
	"github.com/lsalign/lsalign/kernels/ref"
)

func randTokens(r *rng.RNG, N, V int) []int32 {
	tokens := make([]int32, N)
	for i := range tokens {
		tokens[i] = int32(r.Intn(V))
	}
	return tokens
}

// embeddingShapes has N=1, C=1, V=1, odd sizes, and sizes large enough to
// run on several goroutines.
var embeddingShapes = []struct{ N, C, V int }{{1, 1, 1}, {1, 4, 3}, {7, 5, 3}, {65, 33, 50}, {300, 128, 97}, {2000, 64, 2}}

func TestEmbeddingMatchesRef(t *testing.T) {
	for i, s := range embeddingShapes {
		t.Run(fmt.Sprintf("%+v", s), func(t *testing.T) {
			r := rng.New(uint64(i))
			tokens := randTokens(r, s.N, s.V)
			wte := testutil.Rand32(r, s.V*s.C, 1)
			dout := testutil.Rand32(r, s.N*s.C, 1)

			out := testutil.NewGuarded(s.N*s.C, 7)
			EmbeddingForward(out.S, tokens, wte, s.N, s.C, s.V)
			out.Check(t, "out")
			want := make([]float64, s.N*s.C)
			ref.EmbeddingForward(want, tokens, testutil.To64(wte), s.N, s.C, s.V)
			testutil.Close(t, "out", out.S, want, 0, 0) // a copy: exact

			dwte := testutil.NewGuarded(s.V*s.C, 0.5)
			EmbeddingBackward(dwte.S, dout, tokens, s.N, s.C, s.V)
			dwte.Check(t, "dwte")
			wantD := filled(s.V*s.C, 0.5)
			ref.EmbeddingBackward(wantD, testutil.To64(dout), tokens, s.N, s.C, s.V)
			testutil.Close(t, "dwte", dwte.S, wantD, 1e-5, 1e-5)
		})
	}
}

func TestEmbeddingTokenOutOfRangePanics(t *testing.T) {
	out, wte := make([]float32, 2*3), make([]float32, 4*3)
	mustPanic(t, "tokens[1] = 4 outside [0, 4)", func() { EmbeddingForward(out, []int32{0, 4}, wte, 2, 3, 4) })
	mustPanic(t, "tokens[0] = -1 outside [0, 4)", func() { EmbeddingBackward(wte, out, []int32{-1, 0}, 2, 3, 4) })
}

func TestEmbeddingDeterministic(t *testing.T) {
	const N, C, V = 3000, 96, 40 // many repeated tokens
	r := rng.New(9)
	tokens := randTokens(r, N, V)
	dout := testutil.Rand32(r, N*C, 1)
	sameBitsAcrossProcs(t, "EmbeddingBackward", func() [][]float32 {
		dwte := make([]float32, V*C)
		EmbeddingBackward(dwte, dout, tokens, N, C, V)
		return [][]float32{dwte}
	})
}
