package kernels

import (
	"fmt"

	"github.com/lsalign/lsalign/internal/parallel"
)

// RopeLayout says which head dimensions RoPE rotates together.
type RopeLayout int

const (
	// RopeAdjacent rotates pairs (x[2i], x[2i+1]): llama2.c, Meta and GGUF.
	RopeAdjacent RopeLayout = iota
	// RopeHalves rotates pairs (x[i], x[i+HS/2]): Hugging Face rotate_half.
	RopeHalves
)

func (l RopeLayout) String() string {
	switch l {
	case RopeAdjacent:
		return "adjacent"
	case RopeHalves:
		return "halves"
	}
	return fmt.Sprintf("RopeLayout(%d)", int(l))
}

// ropeMinChunk is the number of rotated pairs below which splitting the rows
// over goroutines costs more than it saves.
const ropeMinChunk = 1 << 14

// RopeForward rotates x in place. For each of the B*T rows (row stride
// rowStride) it rotates nHeads consecutive heads of size HS starting at
// column col0; row (b, t) uses table row t: cos[t*HS/2+i], sin[t*HS/2+i].
// Pair i of a head (see RopeLayout) becomes
// (x0*cos - x1*sin, x0*sin + x1*cos).
// The model calls it once with col0 = 0 and nHeads = NH+NKV on the packed
// qkv, whose q and k heads are adjacent. For decoding at position p pass
// cos[p*HS/2:], sin[p*HS/2:] and T = 1.
func RopeForward(x []float32, cos, sin []float32, B, T, rowStride, col0, nHeads, HS int, layout RopeLayout) {
	ropeApply("RopeForward", x, cos, sin, B, T, rowStride, col0, nHeads, HS, layout, false)
}

// RopeBackward applies the transposed rotation to the gradient dx in place
// (RoPE is linear, and orthogonal up to the YaRN factor folded into the
// tables, so this is exactly its backward pass).
func RopeBackward(dx []float32, cos, sin []float32, B, T, rowStride, col0, nHeads, HS int, layout RopeLayout) {
	ropeApply("RopeBackward", dx, cos, sin, B, T, rowStride, col0, nHeads, HS, layout, true)
}

func ropeApply(fn string, x, cos, sin []float32, B, T, rowStride, col0, nHeads, HS int, layout RopeLayout, transpose bool) {
	if B < 0 || T < 0 || nHeads < 0 || col0 < 0 || HS <= 0 || HS%2 != 0 || rowStride < col0+nHeads*HS {
		panic(fmt.Sprintf("kernels.%s: bad dims B=%d T=%d rowStride=%d col0=%d nHeads=%d HS=%d (HS must be even)",
			fn, B, T, rowStride, col0, nHeads, HS))
	}
	if layout != RopeAdjacent && layout != RopeHalves {
		panic(fmt.Sprintf("kernels.%s: unknown layout %v", fn, layout))
	}
	half := HS / 2
	if len(cos) < T*half || len(sin) < T*half {
		panic(fmt.Sprintf("kernels.%s: len(cos) = %d, len(sin) = %d, want at least T*HS/2 = %d", fn, len(cos), len(sin), T*half))
	}
	rows := B * T
	if rows == 0 || nHeads == 0 {
		return
	}
	if len(x) < (rows-1)*rowStride+col0+nHeads*HS {
		panic(fmt.Sprintf("kernels.%s: len(x) = %d, want at least %d", fn, len(x), (rows-1)*rowStride+col0+nHeads*HS))
	}
	// The backward rotation is the forward one with sin negated.
	sign := float32(1)
	if transpose {
		sign = -1
	}
	parallel.For(rows, max(1, ropeMinChunk/(nHeads*half)), func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			t := r % T
			c := cos[t*half : t*half+half]
			s := sin[t*half : t*half+half]
			row := x[r*rowStride+col0 : r*rowStride+col0+nHeads*HS]
			for h := 0; h < nHeads; h++ {
				head := row[h*HS : h*HS+HS]
				if layout == RopeHalves {
					ropeRotateHalves(head[:half], head[half:], c, s, sign)
				} else {
					ropeRotateAdjacent(head, c, s, sign)
				}
			}
		}
	})
}

// ropeRotateAdjacent turns each pair (x[2i], x[2i+1]) by the angle whose
// cosine and sine are c[i] and sign*s[i].
func ropeRotateAdjacent(x, c, s []float32, sign float32) {
	s = s[:len(c)]
	x = x[:2*len(c)]
	for i, ci := range c {
		si := sign * s[i]
		p := x[2*i : 2*i+2 : 2*i+2]
		a, b := p[0], p[1]
		p[0] = a*ci - b*si
		p[1] = a*si + b*ci
	}
}

// ropeRotateHalves turns each pair (lo[i], hi[i]) likewise.
func ropeRotateHalves(lo, hi, c, s []float32, sign float32) {
	s = s[:len(c)]
	lo, hi = lo[:len(c)], hi[:len(c)]
	for i, ci := range c {
		si := sign * s[i]
		a, b := lo[i], hi[i]
		lo[i] = a*ci - b*si
		hi[i] = a*si + b*ci
	}
}
