package ref

import (
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
)

func TestEmbeddingGrad(t *testing.T) {
	r := rng.New(1)
	const N, C, V = 7, 3, 5
	tokens := []int32{0, 4, 4, 2, 0, 4, 1} // repeats must add up; token 3 unused
	wte := randn(r, V*C, 1)
	dout := randn(r, N*C, 1)
	out := make([]float64, N*C)
	forward := func() []float64 {
		EmbeddingForward(out, tokens, wte, N, C, V)
		return out
	}
	dwte := make([]float64, V*C)
	EmbeddingBackward(dwte, dout, tokens, N, C, V)
	checkGrads(t, forward, dout, wrt{"dwte", wte, dwte})
	for c := 0; c < C; c++ {
		if dwte[3*C+c] != 0 {
			t.Fatalf("unused token 3 got gradient %v", dwte[3*C:4*C])
		}
	}
}
