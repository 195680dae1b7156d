package ref

import "math"

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// SwiGLUForward: each inp row is [gate(H) | up(H)]; out[n,j] = silu(gate_j)*up_j.
func SwiGLUForward(out, inp []float64, N, H int) {
	for n := 0; n < N; n++ {
		for j := 0; j < H; j++ {
			g, u := inp[n*2*H+j], inp[n*2*H+H+j]
			out[n*H+j] = g * sigmoid(g) * u
		}
	}
}

// SwiGLUBackward accumulates into dinp (same [gate | up] layout), using
// silu'(g) = s + g*s*(1-s) with s = sigmoid(g).
func SwiGLUBackward(dinp, dout, inp []float64, N, H int) {
	for n := 0; n < N; n++ {
		for j := 0; j < H; j++ {
			g, u, dy := inp[n*2*H+j], inp[n*2*H+H+j], dout[n*H+j]
			s := sigmoid(g)
			dinp[n*2*H+j] += dy * u * (s + g*s*(1-s))
			dinp[n*2*H+H+j] += dy * g * s
		}
	}
}

const geluCoef = 0.044715

// GELUForward is GPT-2's tanh approximation
// 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3))).
func GELUForward(out, inp []float64, n int) {
	k := math.Sqrt(2 / math.Pi)
	for i := 0; i < n; i++ {
		x := inp[i]
		out[i] = 0.5 * x * (1 + math.Tanh(k*(x+geluCoef*x*x*x)))
	}
}

// GELUBackward accumulates dinp += dout * d/dx GELU(x).
func GELUBackward(dinp, dout, inp []float64, n int) {
	k := math.Sqrt(2 / math.Pi)
	for i := 0; i < n; i++ {
		x := inp[i]
		t := math.Tanh(k * (x + geluCoef*x*x*x))
		grad := 0.5*(1+t) + 0.5*x*(1-t*t)*k*(1+3*geluCoef*x*x)
		dinp[i] += dout[i] * grad
	}
}
