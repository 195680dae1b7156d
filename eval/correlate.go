package eval

import (
	"math"
	"slices"
	"sort"

	"github.com/lsalign/lsalign/align"
	"github.com/lsalign/lsalign/internal/rng"
)

// Pearson is the sample correlation coefficient of x and y; NaN when they
// differ in length, have fewer than two points, or either is constant.
func Pearson(x, y []float64) float64 {
	n := len(x)
	if n != len(y) || n < 2 {
		return math.NaN()
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// Ranks returns the 1-based ranks of x, ties getting the average of the
// ranks they span (scipy.stats.rankdata's "average").
func Ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && x[idx[j+1]] == x[idx[i]] {
			j++
		}
		avg := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = avg
		}
		i = j + 1
	}
	return r
}

// Spearman is Pearson's r of the ranks (ties averaged).
func Spearman(x, y []float64) float64 {
	if len(x) != len(y) {
		return math.NaN()
	}
	return Pearson(Ranks(x), Ranks(y))
}

// Correlation is a coefficient with its 95% percentile-bootstrap interval.
// Values that cannot be computed (too few points, a constant variable)
// are NaN and written to JSON as null.
type Correlation struct {
	R    Float    `json:"r"`
	CI95 [2]Float `json:"ci95"`
	N    int      `json:"n"`
}

// minValidResamples is the share of bootstrap resamples that must give a
// defined statistic (a resample of few points can be constant) for the
// interval to be reported.
const minValidResamples = 0.5

// Correlate computes f(x, y) (Pearson or Spearman) and its percentile
// bootstrap interval over resampled pairs (see Bootstrap).
func Correlate(x, y []float64, f func(x, y []float64) float64, resamples int, seed uint64) Correlation {
	c := Correlation{R: Float(f(x, y)), N: len(x), CI95: [2]Float{Float(math.NaN()), Float(math.NaN())}}
	if len(x) != len(y) {
		return c
	}
	bx, by := make([]float64, len(x)), make([]float64, len(x))
	ci := Bootstrap(len(x), resamples, seed, func(idx []int) float64 {
		for i, j := range idx {
			bx[i], by[i] = x[j], y[j]
		}
		return f(bx, by)
	})
	c.CI95 = [2]Float{Float(ci[0]), Float(ci[1])}
	return c
}

// Bootstrap is the 95% percentile-bootstrap interval of a statistic of n
// items: `resamples` times, n indices are drawn with replacement by a
// generator seeded with seed and stat is computed on them (idx is reused
// between calls). Resamples whose statistic is NaN are dropped, and the
// interval is NaN when more than half are, or when n < 3 or resamples < 1.
func Bootstrap(n, resamples int, seed uint64, stat func(idx []int) float64) [2]float64 {
	nan := [2]float64{math.NaN(), math.NaN()}
	if n < 3 || resamples < 1 {
		return nan
	}
	r := rng.New(seed)
	idx := make([]int, n)
	var vals []float64
	for range resamples {
		for i := range idx {
			idx[i] = r.Intn(n)
		}
		if v := stat(idx); !math.IsNaN(v) {
			vals = append(vals, v)
		}
	}
	if float64(len(vals)) < minValidResamples*float64(resamples) {
		return nan
	}
	slices.Sort(vals)
	return [2]float64{align.Quantile(vals, 0.025), align.Quantile(vals, 0.975)}
}
