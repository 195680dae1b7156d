package kernels

import (
	"math"

	"github.com/lsalign/lsalign/internal/parallel"
)

// Row statistics are accumulated in float64 (free in scalar code, and
// exact to float32 precision for any C) with four partial sums in a fixed
// order, which hides the add latency without making results depend on
// anything but the data.

// RMSNormForward normalises each row by its root mean square:
// rstd[n] = 1/sqrt(mean(inp[n,:]^2) + eps), out = inp*rstd[n]*weight.
// Shapes: out, inp [N,C]; rstd [N] (saved for backward); weight [C].
func RMSNormForward(out, rstd, inp, weight []float32, N, C int, eps float32) {
	mustLen("RMSNormForward", "out", len(out), N*C)
	mustLen("RMSNormForward", "rstd", len(rstd), N)
	mustLen("RMSNormForward", "inp", len(inp), N*C)
	mustLen("RMSNormForward", "weight", len(weight), C)
	parallel.For(N, rowGrain(C), func(lo, hi int) {
		for n := lo; n < hi; n++ {
			x := inp[n*C : (n+1)*C]
			y, w := out[n*C:(n+1)*C], weight[:len(x)] // reslicing to len(x) drops bounds checks
			y = y[:len(x)]
			r := float32(1 / math.Sqrt(dot64(x, x)/float64(C)+float64(eps)))
			rstd[n] = r
			for c, v := range x {
				y[c] = v * r * w[c]
			}
		}
	})
}

// RMSNormBackward accumulates the gradients of RMSNormForward into dinp
// [N,C] and dweight [C] (either may be nil), given the rstd it saved:
//
//	dinp[c]    += r*w[c]*dout[c] - r^3*x[c]/C * sum_k dout[k]*w[k]*x[k]
//	dweight[c] += sum_n dout[n,c]*x[n,c]*r[n]
func RMSNormBackward(dinp, dweight, dout, inp, weight, rstd []float32, N, C int) {
	mustLen("RMSNormBackward", "dout", len(dout), N*C)
	mustLen("RMSNormBackward", "inp", len(inp), N*C)
	mustLen("RMSNormBackward", "weight", len(weight), C)
	mustLen("RMSNormBackward", "rstd", len(rstd), N)
	if dinp != nil {
		mustLen("RMSNormBackward", "dinp", len(dinp), N*C)
		parallel.For(N, rowGrain(C), func(lo, hi int) {
			g := make([]float32, C) // dout*weight
			for n := lo; n < hi; n++ {
				x, dx := inp[n*C:(n+1)*C], dinp[n*C:(n+1)*C]
				mulTo(g, dout[n*C:(n+1)*C], weight)
				r := rstd[n]
				k := float32(float64(r) * float64(r) * float64(r) * dot64(g, x) / float64(C))
				dx = dx[:len(g)]
				x = x[:len(g)]
				for c, gc := range g {
					dx[c] += r*gc - k*x[c]
				}
			}
		})
	}
	if dweight != nil {
		mustLen("RMSNormBackward", "dweight", len(dweight), C)
		reduceColumns(dweight, N, func(n, c0, c1 int, acc []float64) {
			x, dy, r := inp[n*C+c0:n*C+c1], dout[n*C+c0:n*C+c1], rstd[n]
			dy, acc = dy[:len(x)], acc[:len(x)]
			for i, v := range x {
				acc[i] += float64(dy[i] * v * r)
			}
		})
	}
}

// LayerNormForward: out = (inp-mean)*rstd*weight + bias per row, with
// mean[n] and rstd[n] = 1/sqrt(var+eps) saved for backward (biased
// variance, as PyTorch). Shapes: out, inp [N,C]; mean, rstd [N]; weight,
// bias [C]; bias may be nil.
func LayerNormForward(out, mean, rstd, inp, weight, bias []float32, N, C int, eps float32) {
	mustLen("LayerNormForward", "out", len(out), N*C)
	mustLen("LayerNormForward", "mean", len(mean), N)
	mustLen("LayerNormForward", "rstd", len(rstd), N)
	mustLen("LayerNormForward", "inp", len(inp), N*C)
	mustLen("LayerNormForward", "weight", len(weight), C)
	if bias != nil {
		mustLen("LayerNormForward", "bias", len(bias), C)
	}
	parallel.For(N, rowGrain(C), func(lo, hi int) {
		for n := lo; n < hi; n++ {
			x := inp[n*C : (n+1)*C]
			y, w := out[n*C:(n+1)*C], weight[:len(x)]
			y = y[:len(x)]
			m := sum64(x) / float64(C)
			r := float32(1 / math.Sqrt(sumSqDev64(x, m)/float64(C)+float64(eps)))
			m32 := float32(m)
			mean[n], rstd[n] = m32, r
			for c, v := range x {
				y[c] = (v - m32) * r * w[c]
			}
			if bias != nil {
				addTo(y, bias)
			}
		}
	})
}

// LayerNormBackward accumulates the gradients of LayerNormForward into dinp
// [N,C], dweight [C] and dbias [C] (any may be nil). With xhat =
// (x-mean)*rstd and g = dout*weight:
//
//	dinp    += rstd * (g - mean(g) - xhat*mean(g*xhat))
//	dweight += sum_n dout*xhat,  dbias += sum_n dout
func LayerNormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd []float32, N, C int) {
	mustLen("LayerNormBackward", "dout", len(dout), N*C)
	mustLen("LayerNormBackward", "inp", len(inp), N*C)
	mustLen("LayerNormBackward", "weight", len(weight), C)
	mustLen("LayerNormBackward", "mean", len(mean), N)
	mustLen("LayerNormBackward", "rstd", len(rstd), N)
	if dinp != nil {
		mustLen("LayerNormBackward", "dinp", len(dinp), N*C)
		parallel.For(N, rowGrain(C), func(lo, hi int) {
			g := make([]float32, C) // dout*weight
			for n := lo; n < hi; n++ {
				x, dx := inp[n*C:(n+1)*C], dinp[n*C:(n+1)*C]
				mulTo(g, dout[n*C:(n+1)*C], weight)
				m, r := mean[n], rstd[n]
				// sum(g*xhat) = r*(sum(g*x) - m*sum(g)), exact enough in float64.
				sumG := sum64(g)
				sumGX := float64(r) * (dot64(g, x) - float64(m)*sumG)
				meanG, meanGX := float32(sumG/float64(C)), float32(sumGX/float64(C))
				dx = dx[:len(g)]
				x = x[:len(g)]
				for c, gc := range g {
					xhat := (x[c] - m) * r
					dx[c] += r * (gc - meanG - xhat*meanGX)
				}
			}
		})
	}
	if dweight != nil {
		mustLen("LayerNormBackward", "dweight", len(dweight), C)
		reduceColumns(dweight, N, func(n, c0, c1 int, acc []float64) {
			x, dy, m, r := inp[n*C+c0:n*C+c1], dout[n*C+c0:n*C+c1], mean[n], rstd[n]
			dy, acc = dy[:len(x)], acc[:len(x)]
			for i, v := range x {
				acc[i] += float64(dy[i] * (v - m) * r)
			}
		})
	}
	if dbias != nil {
		mustLen("LayerNormBackward", "dbias", len(dbias), C)
		reduceColumns(dbias, N, func(n, c0, c1 int, acc []float64) {
			for i, g := range dout[n*C+c0 : n*C+c1] {
				acc[i] += float64(g)
			}
		})
	}
}

// dot64 returns sum(a*b) in float64; len(b) >= len(a).
func dot64(a, b []float32) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += float64(a[i]) * float64(b[i])
		s1 += float64(a[i+1]) * float64(b[i+1])
		s2 += float64(a[i+2]) * float64(b[i+2])
		s3 += float64(a[i+3]) * float64(b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += float64(a[i]) * float64(b[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// sumSqDev64 returns sum((x-m)^2) in float64.
func sumSqDev64(x []float32, m float64) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		d0, d1, d2, d3 := float64(x[i])-m, float64(x[i+1])-m, float64(x[i+2])-m, float64(x[i+3])-m
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := float64(x[i]) - m
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// mulTo sets dst = a*b elementwise; len(a), len(b) >= len(dst).
func mulTo(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}
