package align

import (
	"math"
	"slices"

	"github.com/lsalign/lsalign/internal/rng"
)

// MeanStderr returns the mean of x and its standard error, the sample
// standard deviation (n-1 denominator) over sqrt(n); the error is 0 for
// fewer than two values and both are NaN for none. Sums are float64
// whatever the element type.
func MeanStderr[F ~float32 | ~float64](x []F) (mean, stderr float64) {
	n := float64(len(x))
	if len(x) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, v := range x {
		mean += float64(v)
	}
	mean /= n
	if len(x) < 2 {
		return mean, 0
	}
	var ss float64
	for _, v := range x {
		ss += (float64(v) - mean) * (float64(v) - mean)
	}
	return mean, math.Sqrt(ss/(n-1)) / math.Sqrt(n)
}

// BootstrapMeanCI is the percentile bootstrap interval of the mean at the
// given level (0.95 for a 95% interval): the mean is recomputed on
// `resamples` resamples of x drawn with replacement by a generator seeded
// with seed, and the (1-level)/2 and (1+level)/2 quantiles of those means
// (linear interpolation between order statistics) are returned.
func BootstrapMeanCI[F ~float32 | ~float64](x []F, level float64, resamples int, seed uint64) [2]float64 {
	if len(x) == 0 || resamples < 1 {
		return [2]float64{math.NaN(), math.NaN()}
	}
	r := rng.New(seed)
	means := make([]float64, resamples)
	for b := range means {
		var s float64
		for range x {
			s += float64(x[r.Intn(len(x))])
		}
		means[b] = s / float64(len(x))
	}
	slices.Sort(means)
	return [2]float64{Quantile(means, (1-level)/2), Quantile(means, (1+level)/2)}
}

// Quantile returns the q-quantile of sorted values, interpolating linearly
// between order statistics (numpy's default "linear" method).
func Quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(sorted)-1)
	i := int(math.Floor(pos))
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	if i < 0 {
		return sorted[0]
	}
	frac := pos - float64(i)
	return sorted[i] + frac*(sorted[i+1]-sorted[i])
}
