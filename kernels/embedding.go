package kernels

import (
	"fmt"

	"github.com/lsalign/lsalign/internal/parallel"
)

// EmbeddingForward sets out[n,:] = wte[tokens[n],:].
// Shapes: out [N,C], tokens [N], wte [V,C]. It panics on a token outside
// [0, V): tokens reaching a kernel have already been validated.
func EmbeddingForward(out []float32, tokens []int32, wte []float32, N, C, V int) {
	checkEmbedding("EmbeddingForward", out, tokens, wte, N, C, V)
	parallel.For(N, rowGrain(C), func(lo, hi int) {
		for n := lo; n < hi; n++ {
			tok := int(tokens[n])
			copy(out[n*C:(n+1)*C], wte[tok*C:(tok+1)*C])
		}
	})
}

// EmbeddingBackward accumulates dwte[tokens[n],:] += dout[n,:].
// Shapes: dwte [V,C], dout [N,C], tokens [N].
//
// Repeated tokens add into the same row, so tasks split the columns rather
// than the rows: each element is summed in row order whatever GOMAXPROCS is.
func EmbeddingBackward(dwte []float32, dout []float32, tokens []int32, N, C, V int) {
	checkEmbedding("EmbeddingBackward", dout, tokens, dwte, N, C, V)
	parallel.For(C, columnGrain(N), func(c0, c1 int) {
		for n, tok := range tokens {
			row := int(tok) * C
			addTo(dwte[row+c0:row+c1], dout[n*C+c0:n*C+c1])
		}
	})
}

// checkEmbedding validates the shapes and token range shared by both
// directions; rows is out or dout, table is wte or dwte.
func checkEmbedding(kernel string, rows []float32, tokens []int32, table []float32, N, C, V int) {
	mustLen(kernel, "rows [N,C]", len(rows), N*C)
	mustLen(kernel, "tokens", len(tokens), N)
	mustLen(kernel, "table [V,C]", len(table), V*C)
	for n, tok := range tokens {
		if tok < 0 || int(tok) >= V {
			panic(fmt.Sprintf("kernels.%s: tokens[%d] = %d outside [0, %d)", kernel, n, tok, V))
		}
	}
}
