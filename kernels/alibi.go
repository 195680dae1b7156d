package kernels

import (
	"fmt"
	"math"
)

// AlibiSlopes returns the NH head slopes of ALiBi (Press et al., 2022). For
// NH a power of two, m_h = 2^(-8(h+1)/NH). Otherwise, as in the reference
// implementation, the slopes of the largest power of two n < NH come first,
// followed by the first NH-n of every other slope of 2n (those of odd
// exponent, which fall between the first ones).
func AlibiSlopes(NH int) []float32 {
	if NH <= 0 {
		panic(fmt.Sprintf("kernels.AlibiSlopes: NH = %d, want > 0", NH))
	}
	n := 1
	for n*2 <= NH {
		n *= 2
	}
	slopes := make([]float32, 0, NH)
	for h := range n {
		slopes = append(slopes, float32(math.Exp2(-8*float64(h+1)/float64(n))))
	}
	// Every other slope of 2n, starting with the first: 2^(-8(2j+1)/(2n)).
	for j := 0; len(slopes) < NH; j++ {
		slopes = append(slopes, float32(math.Exp2(-4*float64(2*j+1)/float64(n))))
	}
	return slopes
}
