package ref

import "math"

// RMSNormForward: rstd[n] = 1/sqrt(mean(inp[n]^2)+eps), out = inp*rstd*weight.
func RMSNormForward(out, rstd, inp, weight []float64, N, C int, eps float64) {
	for n := 0; n < N; n++ {
		x := inp[n*C : (n+1)*C]
		ss := 0.0
		for _, v := range x {
			ss += v * v
		}
		r := 1 / math.Sqrt(ss/float64(C)+eps)
		rstd[n] = r
		for c, v := range x {
			out[n*C+c] = v * r * weight[c]
		}
	}
}

// RMSNormBackward accumulates the gradients of RMSNormForward. With
// out_c = x_c*r*w_c and dr/dx_c = -r^3*x_c/C:
// dx_c = r*w_c*dout_c - r^3*x_c/C * sum_k dout_k*w_k*x_k.
func RMSNormBackward(dinp, dweight, dout, inp, weight, rstd []float64, N, C int) {
	for n := 0; n < N; n++ {
		x, dy, r := inp[n*C:(n+1)*C], dout[n*C:(n+1)*C], rstd[n]
		dot := 0.0
		for c := range x {
			dot += dy[c] * weight[c] * x[c]
		}
		for c := range x {
			if dinp != nil {
				dinp[n*C+c] += r*weight[c]*dy[c] - r*r*r*x[c]*dot/float64(C)
			}
			if dweight != nil {
				dweight[c] += dy[c] * x[c] * r
			}
		}
	}
}

// LayerNormForward: out = (inp-mean)*rstd*weight + bias; bias may be nil.
func LayerNormForward(out, mean, rstd, inp, weight, bias []float64, N, C int, eps float64) {
	for n := 0; n < N; n++ {
		x := inp[n*C : (n+1)*C]
		m := 0.0
		for _, v := range x {
			m += v
		}
		m /= float64(C)
		variance := 0.0
		for _, v := range x {
			variance += (v - m) * (v - m)
		}
		r := 1 / math.Sqrt(variance/float64(C)+eps)
		mean[n], rstd[n] = m, r
		for c, v := range x {
			y := (v - m) * r * weight[c]
			if bias != nil {
				y += bias[c]
			}
			out[n*C+c] = y
		}
	}
}

// LayerNormBackward accumulates the gradients of LayerNormForward. With
// xhat = (x-mean)*rstd and g = dout*weight:
// dx = rstd * (g - mean(g) - xhat*mean(g*xhat)).
func LayerNormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd []float64, N, C int) {
	for n := 0; n < N; n++ {
		x, dy := inp[n*C:(n+1)*C], dout[n*C:(n+1)*C]
		xhat := make([]float64, C)
		meanG, meanGX := 0.0, 0.0
		for c := range x {
			xhat[c] = (x[c] - mean[n]) * rstd[n]
			g := dy[c] * weight[c]
			meanG += g
			meanGX += g * xhat[c]
		}
		meanG /= float64(C)
		meanGX /= float64(C)
		for c := range x {
			if dinp != nil {
				dinp[n*C+c] += rstd[n] * (dy[c]*weight[c] - meanG - xhat[c]*meanGX)
			}
			if dweight != nil {
				dweight[c] += dy[c] * xhat[c]
			}
			if dbias != nil {
				dbias[c] += dy[c]
			}
		}
	}
}
