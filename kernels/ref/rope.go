package ref

import "math"

// ropePair returns the indices of pair i of a head of size HS: (2i, 2i+1)
// in the adjacent layout, (i, i+HS/2) in the halves (rotate_half) layout.
func ropePair(i, HS int, halves bool) (int, int) {
	if halves {
		return i, i + HS/2
	}
	return 2 * i, 2*i + 1
}

// RopeForward rotates pair i of each of nHeads heads (from column col0 of
// every row of x, row stride rowStride) by the matrix [[c, -s], [s, c]] with
// c = cos[t*HS/2+i], s = sin[t*HS/2+i] for row (b, t). halves selects the
// Hugging Face layout (kernels.RopeHalves) over the adjacent one.
func RopeForward(x []float64, cos, sin []float64, B, T, rowStride, col0, nHeads, HS int, halves bool) {
	ropeRotate(x, cos, sin, B, T, rowStride, col0, nHeads, HS, halves, false)
}

// RopeBackward multiplies the gradient in place by the transposed matrix.
func RopeBackward(dx []float64, cos, sin []float64, B, T, rowStride, col0, nHeads, HS int, halves bool) {
	ropeRotate(dx, cos, sin, B, T, rowStride, col0, nHeads, HS, halves, true)
}

func ropeRotate(x, cos, sin []float64, B, T, rowStride, col0, nHeads, HS int, halves, transpose bool) {
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			for h := 0; h < nHeads; h++ {
				head := x[(b*T+t)*rowStride+col0+h*HS:][:HS]
				for i := 0; i < HS/2; i++ {
					c, s := cos[t*HS/2+i], sin[t*HS/2+i]
					m := [2][2]float64{{c, -s}, {s, c}}
					if transpose {
						m[0][1], m[1][0] = m[1][0], m[0][1]
					}
					j0, j1 := ropePair(i, HS, halves)
					a, bb := head[j0], head[j1]
					head[j0] = m[0][0]*a + m[0][1]*bb
					head[j1] = m[1][0]*a + m[1][1]*bb
				}
			}
		}
	}
}

// RopeTable returns cos and sin [T, len(invFreq)] of the angles t*invFreq[i],
// each multiplied by factor (the YaRN attention factor, 1 otherwise).
func RopeTable(invFreq []float64, T int, factor float64) (cos, sin []float64) {
	half := len(invFreq)
	cos = make([]float64, T*half)
	sin = make([]float64, T*half)
	for t := 0; t < T; t++ {
		for i, f := range invFreq {
			cos[t*half+i] = factor * math.Cos(float64(t)*f)
			sin[t*half+i] = factor * math.Sin(float64(t)*f)
		}
	}
	return cos, sin
}
