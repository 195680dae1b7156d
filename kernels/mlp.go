package kernels

import "github.com/lsalign/lsalign/internal/parallel"

// SwiGLUForward is the gated activation of Llama's MLP. Each inp row is
// [gate(H) | up(H)], 2H wide (one fused projection); out[n,j] =
// silu(gate[n,j]) * up[n,j] with silu(g) = g*sigmoid(g).
// Shapes: out [N,H], inp [N,2H].
func SwiGLUForward(out, inp []float32, N, H int) {
	mustLen("SwiGLUForward", "out", len(out), N*H)
	mustLen("SwiGLUForward", "inp", len(inp), N*2*H)
	parallel.For(N, rowGrain(3*H), func(lo, hi int) {
		sig := make([]float32, H)
		for n := lo; n < hi; n++ {
			gate, up := inp[2*n*H:(2*n+1)*H], inp[(2*n+1)*H:(2*n+2)*H]
			y := out[n*H : (n+1)*H]
			sigmoidRow(sig, gate)
			gate, up, y = gate[:len(sig)], up[:len(sig)], y[:len(sig)]
			for j, s := range sig {
				y[j] = gate[j] * s * up[j]
			}
		}
	})
}

// SwiGLUBackward accumulates into dinp [N,2H] (same [gate | up] layout as
// inp) from dout [N,H]:
//
//	dgate += dout*up*silu'(g), silu'(g) = s*(1 + g*(1-s)), s = sigmoid(g)
//	dup   += dout*silu(g)
func SwiGLUBackward(dinp, dout, inp []float32, N, H int) {
	mustLen("SwiGLUBackward", "dinp", len(dinp), N*2*H)
	mustLen("SwiGLUBackward", "dout", len(dout), N*H)
	mustLen("SwiGLUBackward", "inp", len(inp), N*2*H)
	parallel.For(N, rowGrain(5*H), func(lo, hi int) {
		sig := make([]float32, H)
		for n := lo; n < hi; n++ {
			gate, up := inp[2*n*H:(2*n+1)*H], inp[(2*n+1)*H:(2*n+2)*H]
			dgate, dup := dinp[2*n*H:(2*n+1)*H], dinp[(2*n+1)*H:(2*n+2)*H]
			dy := dout[n*H : (n+1)*H]
			sigmoidRow(sig, gate)
			gate, up, dgate, dup, dy = gate[:len(sig)], up[:len(sig)], dgate[:len(sig)], dup[:len(sig)], dy[:len(sig)]
			for j, s := range sig {
				g := gate[j]
				dgate[j] += dy[j] * up[j] * s * (1 + g*(1-s))
				dup[j] += dy[j] * g * s
			}
		}
	})
}

// GELU, tanh approximation (GPT-2): 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3))).
const (
	geluScale = 0.7978845608028654 // sqrt(2/pi)
	geluCubic = 0.044715
)

// geluBlock is how many elements GELU handles per tanhRow call.
const geluBlock = 256

// geluBlocks calls fn(b0, b1) on the blocks [b0, b1) of geluBlock elements
// (the last one shorter) that tile [0, n), spread over goroutines. Blocks
// sit on a fixed grid, not at the workers' bounds: tanhRow sends a block's
// multiple-of-8 prefix to SIMD and its tail to exp32, which may differ in
// the last bit, so an element's path must not depend on GOMAXPROCS.
func geluBlocks(n int, fn func(b0, b1 int)) {
	parallel.For((n+geluBlock-1)/geluBlock, elemsPerTask/4/geluBlock, func(lo, hi int) {
		for blk := lo; blk < hi; blk++ {
			fn(blk*geluBlock, min((blk+1)*geluBlock, n))
		}
	})
}

// GELUForward sets out = GELU(inp) elementwise over n values.
func GELUForward(out, inp []float32, n int) {
	mustLen("GELUForward", "out", len(out), n)
	mustLen("GELUForward", "inp", len(inp), n)
	geluBlocks(n, func(b0, b1 int) {
		var t [geluBlock]float32
		x, y := inp[b0:b1], out[b0:b1]
		geluTanh(t[:len(x)], x)
		for i, v := range x {
			y[i] = 0.5 * v * (1 + t[i])
		}
	})
}

// GELUBackward accumulates dinp += dout * GELU'(inp), where
// GELU'(x) = 0.5(1+t) + 0.5x(1-t^2)*sqrt(2/pi)(1+3*0.044715x^2), t = tanh(...).
func GELUBackward(dinp, dout, inp []float32, n int) {
	mustLen("GELUBackward", "dinp", len(dinp), n)
	mustLen("GELUBackward", "dout", len(dout), n)
	mustLen("GELUBackward", "inp", len(inp), n)
	geluBlocks(n, func(b0, b1 int) {
		var t [geluBlock]float32
		x, dy, dx := inp[b0:b1], dout[b0:b1], dinp[b0:b1]
		geluTanh(t[:len(x)], x)
		for i, v := range x {
			grad := 0.5*(1+t[i]) + 0.5*v*(1-t[i]*t[i])*geluScale*(1+3*geluCubic*v*v)
			dx[i] += dy[i] * grad
		}
	})
}

// geluTanh sets t = tanh(sqrt(2/pi)*(x+0.044715x^3)); len(x) <= geluBlock.
func geluTanh(t, x []float32) {
	var u [geluBlock]float32
	for i, v := range x {
		u[i] = geluScale * (v + geluCubic*v*v*v)
	}
	tanhRow(t, u[:len(x)])
}
