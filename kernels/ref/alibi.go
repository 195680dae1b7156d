package ref

import "math"

// AlibiSlopes transcribes get_slopes from the ALiBi reference code (Press et
// al.): a geometric sequence starting at 2^(-8/n) for a power of two n;
// otherwise the slopes of the closest smaller power of two followed by
// every other slope of the next power of two.
func AlibiSlopes(NH int) []float64 {
	powerOf2 := func(n int) []float64 {
		start := math.Pow(2, -math.Pow(2, -(math.Log2(float64(n))-3)))
		s := make([]float64, n)
		for i := range s {
			s[i] = start * math.Pow(start, float64(i))
		}
		return s
	}
	l := math.Log2(float64(NH))
	if l == math.Floor(l) {
		return powerOf2(NH)
	}
	closest := int(math.Pow(2, math.Floor(l)))
	out := powerOf2(closest)
	next := AlibiSlopes(2 * closest)
	for i := 0; i < len(next) && len(out) < NH; i += 2 {
		out = append(out, next[i])
	}
	return out
}
