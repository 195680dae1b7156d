package ref

// MatmulForward: out[n,o] = sum_i inp[n,i]*weight[o,i] (+ bias[o]); weight
// is [OUT, IN] as in PyTorch; bias may be nil.
func MatmulForward(out, inp, weight, bias []float64, N, IN, OUT int) {
	for n := 0; n < N; n++ {
		for o := 0; o < OUT; o++ {
			s := 0.0
			if bias != nil {
				s = bias[o]
			}
			for i := 0; i < IN; i++ {
				s += inp[n*IN+i] * weight[o*IN+i]
			}
			out[n*OUT+o] = s
		}
	}
}

// MatmulBackward accumulates dinp += dout@weight, dweight += dout^T@inp and
// dbias += column sums of dout.
func MatmulBackward(dinp, dweight, dbias, dout, inp, weight []float64, N, IN, OUT int) {
	for n := 0; n < N; n++ {
		for o := 0; o < OUT; o++ {
			g := dout[n*OUT+o]
			if dbias != nil {
				dbias[o] += g
			}
			for i := 0; i < IN; i++ {
				if dinp != nil {
					dinp[n*IN+i] += g * weight[o*IN+i]
				}
				if dweight != nil {
					dweight[o*IN+i] += g * inp[n*IN+i]
				}
			}
		}
	}
}
