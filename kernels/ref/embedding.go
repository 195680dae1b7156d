package ref

// EmbeddingForward sets out[n,:] = wte[tokens[n],:].
func EmbeddingForward(out []float64, tokens []int32, wte []float64, N, C, V int) {
	for n := 0; n < N; n++ {
		tok := int(tokens[n])
		if tok < 0 || tok >= V {
			panic("ref.EmbeddingForward: token out of range")
		}
		copy(out[n*C:(n+1)*C], wte[tok*C:(tok+1)*C])
	}
}

// EmbeddingBackward accumulates dwte[tokens[n],:] += dout[n,:].
func EmbeddingBackward(dwte []float64, dout []float64, tokens []int32, N, C, V int) {
	for n := 0; n < N; n++ {
		tok := int(tokens[n])
		for c := 0; c < C; c++ {
			dwte[tok*C+c] += dout[n*C+c]
		}
	}
}
