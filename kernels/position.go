package kernels

import (
	"math"

	"github.com/lsalign/lsalign/internal/parallel"
)

// PositionForward adds the position embedding in place:
// out[b,t,:] += wpe[t,:] for positions t = 0..T-1 of every sequence.
// Shapes: out [B,T,C], wpe [T,C] (the first T rows of the table).
func PositionForward(out []float32, wpe []float32, B, T, C int) {
	mustLen("PositionForward", "out", len(out), B*T*C)
	mustLen("PositionForward", "wpe", len(wpe), T*C)
	parallel.For(B*T, rowGrain(C), func(lo, hi int) {
		for n := lo; n < hi; n++ {
			t := n % T
			addTo(out[n*C:(n+1)*C], wpe[t*C:(t+1)*C])
		}
	})
}

// PositionBackward accumulates dwpe[t,:] += sum over b of dout[b,t,:].
// Shapes: dwpe [T,C], dout [B,T,C]. Tasks own positions and sum the batch in
// order, so the result does not depend on GOMAXPROCS.
func PositionBackward(dwpe []float32, dout []float32, B, T, C int) {
	mustLen("PositionBackward", "dwpe", len(dwpe), T*C)
	mustLen("PositionBackward", "dout", len(dout), B*T*C)
	parallel.For(T, rowGrain(B*C), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			dst := dwpe[t*C : (t+1)*C]
			for b := 0; b < B; b++ {
				n := b*T + t
				addTo(dst, dout[n*C:(n+1)*C])
			}
		}
	})
}

// SinusoidalTable writes the fixed encoding of Vaswani et al. into out
// [T,C]: PE[t,2i] = sin(t/10000^(2i/C)) and PE[t,2i+1] = cos of the same
// angle. With odd C the last column is a sine. Computed in float64, once
// per model, so speed does not matter.
func SinusoidalTable(out []float32, T, C int) {
	mustLen("SinusoidalTable", "out", len(out), T*C)
	for c := 0; c < C; c += 2 {
		invFreq := math.Pow(10000, -float64(c)/float64(C)) // c = 2i
		for t := 0; t < T; t++ {
			s, co := math.Sincos(float64(t) * invFreq)
			out[t*C+c] = float32(s)
			if c+1 < C {
				out[t*C+c+1] = float32(co)
			}
		}
	}
}
