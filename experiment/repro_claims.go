package experiment

import (
	"fmt"
	"math"

	"github.com/lsalign/lsalign/eval"
)

// ReproInconclusive is the verdict of a ReproClaim whose interval contains
// zero (the others are ClaimHolds, ClaimDoesNotHold and ClaimNotEvaluated).
const ReproInconclusive = "inconclusive (CI overlaps)"

// ReproClaim is one of the paper's claims decided on the study's numbers.
// Each compares paired runs (same seed, scaling and data) or correlations
// with a 95% interval; the verdict is ClaimHolds when the interval lies on the
// claimed side of zero, ClaimDoesNotHold when it lies on the other side, and
// ReproInconclusive when it contains zero. Nothing is tuned to the results.
type ReproClaim struct {
	ID        string        `json:"id"`
	Statement string        `json:"statement"`
	Verdict   string        `json:"verdict"`
	Estimate  eval.Float    `json:"estimate"` // the mean difference, or the difference of |r| (null when undefined)
	CI95      [2]eval.Float `json:"ci95"`
	N         int           `json:"n"`        // pairs, or variants for the correlation claim
	Interval  string        `json:"interval"` // how CI95 was computed
	Evidence  []string      `json:"evidence"`
}

// ReproCorrelation is one predictor against the long-context score over
// every fine-tuned run.
type ReproCorrelation struct {
	Predictor string           `json:"predictor"` // "misalignment" or "training loss"
	Score     string           `json:"score"`
	Pearson   eval.Correlation `json:"pearson"`
	Spearman  eval.Correlation `json:"spearman"`
}

// ScoreName is the long-context score of the claims: the held-out
// next-token loss at 4L, twice the fine-tuning length (lower is better).
const ScoreName = "NLL at 4L"

// scoreIndex is 4L in ReproRun.NLL.
const scoreIndex = 2

// Claims decides the four claims of the paper's regularizer.
func (r *ReproResult) Claims() []ReproClaim {
	return []ReproClaim{
		r.alphaClaim("alpha-0.1", 0.1, -1, "alpha 0.1 improves long-length perplexity over the baseline (alpha 0)"),
		r.alphaClaim("alpha-1.0", 1.0, +1, "alpha 1.0 hurts long-length perplexity compared with the baseline (alpha 0)"),
		r.rangeClaim(),
		r.correlationClaim(),
	}
}

// find returns the fine-tuned run of a variant and seed.
func (r *ReproResult) find(v ReproVariant, seed int) (ReproRun, bool) {
	for _, run := range r.Runs {
		if run.ReproVariant == v && run.Seed == seed {
			return run, true
		}
	}
	return ReproRun{}, false
}

// pairedClaim decides a claim from paired differences d = a - b of the
// score: side -1 claims d < 0, +1 claims d > 0. The interval is Student's
// t over the pairs.
func pairedClaim(id, statement string, side float64, a, b []ReproRun) ReproClaim {
	c := ReproClaim{ID: id, Statement: statement, N: len(a),
		Interval: "Student t 95% interval of the mean paired difference (pairs share seed, scaling and data)"}
	if len(a) < 2 {
		c.Verdict = ClaimNotEvaluated
		c.Evidence = []string{fmt.Sprintf("%d pairs: the grid lacks the variants this claim compares", len(a))}
		return c
	}
	d := make([]float64, len(a))
	var na, nb, d2 []float64
	for i := range a {
		d[i] = a[i].NLL[scoreIndex] - b[i].NLL[scoreIndex]
		na, nb = append(na, a[i].NLL[scoreIndex]), append(nb, b[i].NLL[scoreIndex])
		d2 = append(d2, a[i].NLL[1]-b[i].NLL[1])
	}
	est, ci := tInterval(d)
	c.setInterval(est, ci)
	c.Verdict = sideVerdict(ci, side)
	c.Evidence = []string{
		fmt.Sprintf("%s: %.4f vs %.4f nats (PPL %.3f vs %.3f), mean over %d pairs", ScoreName,
			mean(na), mean(nb), math.Exp(mean(na)), math.Exp(mean(nb)), len(a)),
		fmt.Sprintf("difference %+.4f nats, 95%% CI [%+.4f, %+.4f]", est, ci[0], ci[1]),
	}
	m2, ci2 := tInterval(d2)
	c.Evidence = append(c.Evidence, fmt.Sprintf("at 2L (the fine-tuning length, not deciding): %+.4f nats, 95%% CI [%+.4f, %+.4f]",
		m2, ci2[0], ci2[1]))
	return c
}

// setInterval stores an estimate and its interval (NaN is written as null).
func (c *ReproClaim) setInterval(est float64, ci [2]float64) {
	c.Estimate, c.CI95 = eval.Float(est), [2]eval.Float{eval.Float(ci[0]), eval.Float(ci[1])}
}

// sideVerdict is ClaimHolds when ci lies strictly on side (-1: below 0, +1:
// above), ClaimDoesNotHold when strictly on the other side, else
// ReproInconclusive.
func sideVerdict(ci [2]float64, side float64) string {
	switch {
	case math.IsNaN(ci[0]) || math.IsNaN(ci[1]):
		return ReproInconclusive
	case side < 0 && ci[1] < 0, side > 0 && ci[0] > 0:
		return ClaimHolds
	case side < 0 && ci[0] > 0, side > 0 && ci[1] < 0:
		return ClaimDoesNotHold
	}
	return ReproInconclusive
}

// alphaClaim compares alpha with the baseline at the half range.
func (r *ReproResult) alphaClaim(id string, alpha, side float64, statement string) ReproClaim {
	var a, b []ReproRun
	o := r.Options
	for _, s := range o.Scalings {
		for seed := 1; seed <= o.Seeds; seed++ {
			x, ok1 := r.find(ReproVariant{s, alpha, RangeHalf}, seed)
			y, ok2 := r.find(ReproVariant{s, 0, RangeHalf}, seed)
			if ok1 && ok2 {
				a, b = append(a, x), append(b, y)
			}
		}
	}
	c := pairedClaim(id, statement, side, a, b)
	c.Evidence = append(c.Evidence, "pairs: every RoPE scaling × seed, l_extra in [1, L'/2]; the baseline trains on the same sequences")
	return c
}

// rangeClaim compares l_extra in [1, L'/2] with [1, L'-1] for every
// positive alpha.
func (r *ReproResult) rangeClaim() ReproClaim {
	var a, b []ReproRun
	o := r.Options
	for _, s := range o.Scalings {
		for _, alpha := range o.Alphas {
			if alpha == 0 {
				continue
			}
			for seed := 1; seed <= o.Seeds; seed++ {
				x, ok1 := r.find(ReproVariant{s, alpha, RangeHalf}, seed)
				y, ok2 := r.find(ReproVariant{s, alpha, RangeFull}, seed)
				if ok1 && ok2 {
					a, b = append(a, x), append(b, y)
				}
			}
		}
	}
	c := pairedClaim("range", "l_extra in [1, l/2] gives better long-length perplexity than [1, l]", -1, a, b)
	c.Evidence = append(c.Evidence, "pairs: every RoPE scaling × positive alpha × seed; [1, l] is [1, L'-1] here so that the windows overlap")
	return c
}

// correlations returns misalignment and training loss against the score
// over every fine-tuned run.
func (r *ReproResult) correlations() (mis, loss, score []float64) {
	for _, run := range r.Runs {
		mis = append(mis, run.Misalign)
		loss = append(loss, run.TrainLoss)
		score = append(score, run.NLL[scoreIndex])
	}
	return mis, loss, score
}

// Correlations are Pearson's and Spearman's r with bootstrap intervals.
func (r *ReproResult) Correlations() []ReproCorrelation {
	mis, loss, score := r.correlations()
	n := r.Options.Bootstrap
	return []ReproCorrelation{
		{"misalignment", ScoreName, eval.Correlate(mis, score, eval.Pearson, n, 1), eval.Correlate(mis, score, eval.Spearman, n, 2)},
		{"training loss", ScoreName, eval.Correlate(loss, score, eval.Pearson, n, 3), eval.Correlate(loss, score, eval.Spearman, n, 4)},
	}
}

// correlationClaim: |Pearson r| of misalignment with the score exceeds
// that of the training loss; the interval is a paired bootstrap of the
// difference of the two |r| over runs.
func (r *ReproResult) correlationClaim() ReproClaim {
	mis, loss, score := r.correlations()
	c := ReproClaim{ID: "correlation", N: len(score),
		Statement: "misalignment correlates with long-context performance more strongly than training loss does",
		Interval:  fmt.Sprintf("percentile bootstrap (%d resamples of the runs) of |r_misalignment| - |r_training loss|, Pearson", r.Options.Bootstrap)}
	diff := func(idx []int) float64 {
		var x, y, z []float64
		for _, i := range idx {
			x, y, z = append(x, mis[i]), append(y, loss[i]), append(z, score[i])
		}
		return math.Abs(eval.Pearson(x, z)) - math.Abs(eval.Pearson(y, z))
	}
	all := make([]int, len(score))
	for i := range all {
		all[i] = i
	}
	est, ci := diff(all), eval.Bootstrap(len(score), r.Options.Bootstrap, 5, diff)
	c.setInterval(est, ci)
	c.Verdict = sideVerdict(ci, +1)
	if len(score) < 3 || math.IsNaN(est) {
		c.Verdict = ClaimNotEvaluated
	}
	cs := r.Correlations()
	c.Evidence = []string{
		fmt.Sprintf("misalignment vs %s over %d fine-tuned runs: Pearson r %.3f, 95%% CI %s", ScoreName, len(score),
			float64(cs[0].Pearson.R), ciString(cs[0].Pearson.CI95)),
		fmt.Sprintf("training loss vs %s: Pearson r %.3f, 95%% CI %s", ScoreName, float64(cs[1].Pearson.R), ciString(cs[1].Pearson.CI95)),
		fmt.Sprintf("|r| difference %+.3f, 95%% CI [%+.3f, %+.3f] (the paper: 0.85 vs 0.62)", est, ci[0], ci[1]),
		"the runs with alpha > 0 minimize misalignment directly, so across them it is partly a training target rather than a passive measurement; the paper correlates variants trained without the regularizer",
		misalignDirection(float64(cs[0].Pearson.R)),
	}
	if e := r.passiveCorrelation(); e != "" {
		c.Evidence = append(c.Evidence, e)
	}
	return c
}

// misalignDirection says whether misalignment moves with the score the way
// the paper's argument predicts: the score is a loss (lower is better), so
// more misalignment should mean a higher score, r > 0.
func misalignDirection(r float64) string {
	switch {
	case math.IsNaN(r):
		return "direction: undefined"
	case r > 0:
		return "direction: as the paper predicts (more misalignment, higher long-length loss: r > 0)"
	default:
		return "direction: opposite to the paper's prediction: here the more misaligned models have the lower long-length loss (r < 0), so |r| alone overstates agreement with the paper"
	}
}

// passiveCorrelation reports, without a verdict, the two correlations over
// the alpha = 0 runs only, where misalignment is measured but never
// optimized, the setting closest to the paper's.
func (r *ReproResult) passiveCorrelation() string {
	var mis, loss, score []float64
	for _, run := range r.Runs {
		if run.Alpha == 0 {
			mis, loss, score = append(mis, run.Misalign), append(loss, run.TrainLoss), append(score, run.NLL[scoreIndex])
		}
	}
	if len(score) < 3 {
		return ""
	}
	return fmt.Sprintf("over the %d alpha = 0 runs only (misalignment measured, never trained on; no verdict at this n): Pearson r %.3f for misalignment, %.3f for training loss",
		len(score), eval.Pearson(mis, score), eval.Pearson(loss, score))
}

func ciString(ci [2]eval.Float) string {
	return fmt.Sprintf("[%.3f, %.3f]", float64(ci[0]), float64(ci[1]))
}

// tInterval is the mean of x and its two-sided 95% Student t interval.
func tInterval(x []float64) (float64, [2]float64) {
	m := mean(x)
	n := len(x)
	if n < 2 {
		return m, [2]float64{math.NaN(), math.NaN()}
	}
	var ss float64
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	half := tQuantile975(n-1) * math.Sqrt(ss/float64(n-1)/float64(n))
	return m, [2]float64{m - half, m + half}
}

// tQuantile975 is the 0.975 quantile of Student's t with df degrees of
// freedom (tabulated to 30, then the normal value plus its first
// correction term).
func tQuantile975(df int) float64 {
	table := [...]float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
		2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}
	if df >= 1 && df <= len(table) {
		return table[df-1]
	}
	const z = 1.959964
	return z + (z*z*z+z)/(4*float64(df))
}

// mean is the arithmetic mean of xs, NaN when there are none.
func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
