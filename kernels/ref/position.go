package ref

import "math"

// PositionForward adds wpe[t,:] to out[b,t,:] in place.
func PositionForward(out []float64, wpe []float64, B, T, C int) {
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			for c := 0; c < C; c++ {
				out[(b*T+t)*C+c] += wpe[t*C+c]
			}
		}
	}
}

// PositionBackward accumulates dwpe[t,:] += sum over b of dout[b,t,:].
func PositionBackward(dwpe []float64, dout []float64, B, T, C int) {
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			for c := 0; c < C; c++ {
				dwpe[t*C+c] += dout[(b*T+t)*C+c]
			}
		}
	}
}

// SinusoidalTable writes the Vaswani et al. table: column 2i holds
// sin(t / 10000^(2i/C)) and column 2i+1 the cosine of the same angle.
func SinusoidalTable(out []float64, T, C int) {
	for t := 0; t < T; t++ {
		for c := 0; c < C; c++ {
			i := c / 2
			angle := float64(t) / math.Pow(10000, float64(2*i)/float64(C))
			if c%2 == 0 {
				out[t*C+c] = math.Sin(angle)
			} else {
				out[t*C+c] = math.Cos(angle)
			}
		}
	}
}
