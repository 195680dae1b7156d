package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/lsalign/lsalign/align"
	"github.com/lsalign/lsalign/internal/journal"
	"github.com/lsalign/lsalign/internal/parallel"
	"github.com/lsalign/lsalign/model"
)

// KL divergence of a model Q against a base model P on the same tokens, as
// llama.cpp's perplexity --kl-divergence measures it: windows of Ctx
// tokens (non-overlapping, the first token replaced by BOS where the
// tokenizer adds it), logits Ctx/2 .. Ctx-2 scored, and per scored token
// KL(P || Q) = sum_v p_v (log p_v - log q_v), the probability each model
// gives the actual next token, and whether their most likely tokens agree.
//
// Unlike llama.cpp, which stores the base's log-probabilities rounded to 16
// bits, a live comparison of two models is exact (float64 over float32
// logits). A saved base (SaveBase) keeps the top K log-probabilities of
// each token and the probability mass of the rest; KL over those K+1
// outcomes is a lower bound of the exact value (merging outcomes never
// raises a divergence), equal to it when K covers the vocabulary.

// KLDOptions configures KLDivergence and SaveBase.
type KLDOptions struct {
	Ctx int // window length N
	// BOS, when >= 0, replaces each window's first token (set it where the
	// tokenizer adds BOS, as llama.cpp does); -1 keeps the text's token.
	BOS int32
	// Chunks limits the windows to the first Chunks (0: all), as
	// llama.cpp's --chunks.
	Chunks int
	// MaxBatchTokens caps B×Ctx of one forward pass (0: 8192).
	MaxBatchTokens int
	// Progress, when set, is called after each batch with the windows done,
	// the total and the running mean KLD.
	Progress func(done, total int, meanKLD float64)
	// Units, when set, records each finished batch's per-token values and
	// skips the batches an interrupted run finished (see internal/journal).
	Units journal.Units
}

// KLDResult holds llama.cpp's statistics blocks. Stderr fields are the
// standard errors llama.cpp prints after "±"; percentiles interpolate
// linearly between order statistics.
type KLDResult struct {
	Ctx     int `json:"ctx"`
	Windows int `json:"windows"`
	Tokens  int `json:"tokens"`
	// TopK is the number of base log-probabilities kept per token when the
	// base came from a saved file (KLD is then a lower bound); 0 means the
	// comparison was exact.
	TopK int `json:"top_k,omitempty"`

	PPL               Estimate `json:"ppl"`      // PPL(Q)
	PPLBase           Estimate `json:"ppl_base"` // PPL(base)
	LogPPLCorrelation float64  `json:"log_ppl_correlation"`
	LogPPLRatio       Estimate `json:"log_ppl_ratio"` // mean ln(PPL(Q)/PPL(base))
	PPLRatio          Estimate `json:"ppl_ratio"`     // PPL(Q)/PPL(base)
	PPLDiff           Estimate `json:"ppl_diff"`      // PPL(Q)-PPL(base)

	KLD         Estimate    `json:"kld"`
	KLDQuantile Percentiles `json:"kld_percentiles"`

	DeltaP         Estimate    `json:"delta_p"` // p_Q(next) - p_base(next)
	DeltaPQuantile Percentiles `json:"delta_p_percentiles"`
	DeltaPRMS      Estimate    `json:"delta_p_rms"`
	SameTop        Estimate    `json:"same_top_p"` // fraction of tokens whose argmax agrees
}

// Estimate is a value and its standard error.
type Estimate struct {
	Value  float64 `json:"value"`
	Stderr float64 `json:"stderr"`
}

// Percentiles are the order statistics llama.cpp reports (P75 and P25 for
// Δp only).
type Percentiles struct {
	Max    float64 `json:"max"`
	P99_9  float64 `json:"p99_9"`
	P99    float64 `json:"p99"`
	P95    float64 `json:"p95"`
	P90    float64 `json:"p90"`
	P75    float64 `json:"p75,omitempty"`
	Median float64 `json:"median"`
	P25    float64 `json:"p25,omitempty"`
	P10    float64 `json:"p10"`
	P5     float64 `json:"p5"`
	P1     float64 `json:"p1"`
	P0_1   float64 `json:"p0_1"`
	Min    float64 `json:"min"`
}

// tokenStats is what one scored token contributes.
type tokenStats struct {
	nll, nllBase, kld, pDiff float64
	sameTop                  bool
}

// kldAccumulator collects tokenStats in order.
type kldAccumulator struct {
	tokens []tokenStats
	sumKLD float64
}

func (a *kldAccumulator) add(ts []tokenStats) {
	for _, t := range ts {
		a.sumKLD += t.kld
	}
	a.tokens = append(a.tokens, ts...)
}

func (a *kldAccumulator) mean() float64 {
	if len(a.tokens) == 0 {
		return 0
	}
	return a.sumKLD / float64(len(a.tokens))
}

// KLDivergence compares m against base on the same windows of docs. Both
// models must share the vocabulary.
func KLDivergence(base, m *model.Model, docs [][]int32, opt KLDOptions) (KLDResult, error) {
	if err := checkKLDModels(base, m); err != nil {
		return KLDResult{}, err
	}
	plan, err := kldPlan(docs, m.Config.Vocab, opt)
	if err != nil {
		return KLDResult{}, err
	}
	V := m.Config.Vocab
	maxB := plan.batchSize(opt.MaxBatchTokens, V)
	tokens, err := runKLDBatches(docs, plan, maxB, opt, nil, func(wb windowBatch, stats []tokenStats) error {
		if err := wb.forward(base, plan.ctx); err != nil {
			return fmt.Errorf("kld: base: %w", err)
		}
		if err := wb.forward(m, plan.ctx); err != nil {
			return fmt.Errorf("kld: model: %w", err)
		}
		pl, ql := base.Logits(), m.Logits()
		parallel.For(len(stats), 8, func(lo, hi int) {
			lp, lq := make([]float64, V), make([]float64, V)
			for i := lo; i < hi; i++ {
				logSoftmax64(lp, pl[i*V:(i+1)*V])
				logSoftmax64(lq, ql[i*V:(i+1)*V])
				stats[i] = exactTokenStats(lp, lq, wb.targets[i])
			}
		})
		return nil
	})
	if err != nil {
		return KLDResult{}, err
	}
	return summarizeKLD(tokens, plan, 0), nil
}

// kldBatch is one batch's per-token values, the unit a journal records.
type kldBatch struct {
	NLL     []float64 `json:"nll"`
	NLLBase []float64 `json:"nll_base"`
	KLD     []float64 `json:"kld"`
	DeltaP  []float64 `json:"delta_p"`
	SameTop []bool    `json:"same_top"`
}

func (b kldBatch) stats() ([]tokenStats, error) {
	n := len(b.NLL)
	if len(b.NLLBase) != n || len(b.KLD) != n || len(b.DeltaP) != n || len(b.SameTop) != n {
		return nil, fmt.Errorf("per-token lists of different lengths")
	}
	ts := make([]tokenStats, n)
	for i := range ts {
		ts[i] = tokenStats{nll: b.NLL[i], nllBase: b.NLLBase[i], kld: b.KLD[i], pDiff: b.DeltaP[i], sameTop: b.SameTop[i]}
	}
	return ts, nil
}

func newKLDBatch(ts []tokenStats) kldBatch {
	var b kldBatch
	for _, t := range ts {
		b.NLL, b.NLLBase, b.KLD = append(b.NLL, t.nll), append(b.NLLBase, t.nllBase), append(b.KLD, t.kld)
		b.DeltaP, b.SameTop = append(b.DeltaP, t.pDiff), append(b.SameTop, t.sameTop)
	}
	return b
}

// runKLDBatches drives a comparison batch by batch: each calls every (when
// set) and then score, unless opt.Units holds the batch from an
// interrupted run; the per-token values are checked, recorded and
// collected in order.
func runKLDBatches(docs [][]int32, plan windowPlan, maxB int, opt KLDOptions, every func(windowBatch) error,
	score func(windowBatch, []tokenStats) error) ([]tokenStats, error) {
	var acc kldAccumulator
	stats := make([]tokenStats, maxB*plan.scored())
	err := plan.forEachBatch(docs, maxB, func(wb windowBatch) error {
		if every != nil {
			if err := every(wb); err != nil {
				return err
			}
		}
		n := len(wb.rows)
		if raw, ok := unitDone(opt.Units, wb.index); ok {
			var b kldBatch
			var ts []tokenStats
			err := json.Unmarshal(raw, &b)
			if err == nil {
				ts, err = b.stats()
			}
			if err == nil && len(ts) != n {
				err = fmt.Errorf("%d values for %d predictions", len(ts), n)
			}
			if err != nil {
				return fmt.Errorf("kld: resuming batch %d: %w", wb.index, err)
			}
			copy(stats, ts)
		} else {
			if err := score(wb, stats[:n]); err != nil {
				return err
			}
			if err := checkFiniteStats(stats[:n], wb, plan); err != nil {
				return err
			}
			if opt.Units != nil {
				if err := opt.Units.Record(wb.index, newKLDBatch(stats[:n])); err != nil {
					return err
				}
			}
		}
		acc.add(stats[:n])
		if opt.Progress != nil {
			opt.Progress(wb.first+wb.B, len(plan.wins), acc.mean())
		}
		return nil
	})
	return acc.tokens, err
}

// unitDone looks unit i up in units, which may be nil.
func unitDone(units journal.Units, i int) (json.RawMessage, bool) {
	if units == nil {
		return nil, false
	}
	return units.Done(i)
}

func checkKLDModels(base, m *model.Model) error {
	for _, x := range []*model.Model{base, m} {
		if x.Config.Head != model.HeadLM {
			return fmt.Errorf("kld: a model has a %q head; KL divergence needs next-token logits", x.Config.Head)
		}
	}
	if base.Config.Vocab != m.Config.Vocab {
		return fmt.Errorf("kld: the base model has %d tokens and the model %d: they must share the vocabulary", base.Config.Vocab, m.Config.Vocab)
	}
	return nil
}

// kldPlan is llama.cpp's --kl-divergence windowing.
func kldPlan(docs [][]int32, vocab int, opt KLDOptions) (windowPlan, error) {
	N := opt.Ctx
	if N < 4 {
		return windowPlan{}, fmt.Errorf("kld: context %d must be at least 4", N)
	}
	if opt.BOS >= int32(vocab) || opt.BOS < -1 {
		return windowPlan{}, fmt.Errorf("kld: BOS %d is outside the vocabulary [0, %d)", opt.BOS, vocab)
	}
	if opt.Chunks < 0 {
		return windowPlan{}, fmt.Errorf("kld: chunks %d must not be negative", opt.Chunks)
	}
	plan, err := planWindows(docs, N, N/2, N, opt.Chunks, opt.BOS)
	if err != nil {
		return windowPlan{}, fmt.Errorf("kld: %w", err)
	}
	return plan, nil
}

// checkFiniteStats names the first window and position whose statistics
// are not finite (an overflowing model), instead of letting NaN reach the
// results.
func checkFiniteStats(stats []tokenStats, wb windowBatch, plan windowPlan) error {
	per := plan.scored()
	for i, t := range stats {
		if isFinite(t.nll) && isFinite(t.nllBase) && isFinite(t.kld) && isFinite(t.pDiff) {
			continue
		}
		return fmt.Errorf("kld: window %d, position %d: non-finite result (nll %g, base nll %g, kld %g): a model's logits overflow",
			wb.first+i/per, plan.first+i%per, t.nll, t.nllBase, t.kld)
	}
	return nil
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// logSoftmax64 sets out = logits - logsumexp(logits) in float64.
func logSoftmax64(out []float64, logits []float32) {
	m := float64(logits[0])
	for _, v := range logits {
		m = max(m, float64(v))
	}
	var s float64
	for _, v := range logits {
		s += math.Exp(float64(v) - m)
	}
	lse := m + math.Log(s)
	for i, v := range logits {
		out[i] = float64(v) - lse
	}
}

// exactTokenStats compares two full log-probability rows.
func exactTokenStats(lp, lq []float64, target int32) tokenStats {
	var kld float64
	for i, a := range lp {
		if p := math.Exp(a); p > 0 {
			kld += p * (a - lq[i])
		}
	}
	return tokenStats{
		nll: -lq[target], nllBase: -lp[target], kld: max(kld, 0),
		pDiff:   math.Exp(lq[target]) - math.Exp(lp[target]),
		sameTop: argmax64(lp) == argmax64(lq),
	}
}

// argmax64 is the first index of the largest value, as kernels.Argmax.
func argmax64(x []float64) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// meanStderr is llama.cpp's mean_and_uncertainty: the mean and, from 11
// values on, sqrt(var/(n-1)).
func meanStderr(sum, sum2 float64, n int) Estimate {
	if n < 1 {
		return Estimate{}
	}
	f := sum / float64(n)
	e := Estimate{Value: f}
	if v := sum2/float64(n) - f*f; v > 0 && n > 10 {
		e.Stderr = math.Sqrt(v / float64(n-1))
	}
	return e
}

// summarizeKLD computes llama.cpp's statistics from per-token values.
func summarizeKLD(ts []tokenStats, plan windowPlan, topK int) KLDResult {
	n := len(ts)
	var sNLL, sNLL2, sBase, sBase2, sCross, sKLD, sKLD2, sDP, sDP2, sDP4 float64
	same := 0
	klds, dps := make([]float64, n), make([]float64, n)
	for i, t := range ts {
		sNLL += t.nll
		sNLL2 += t.nll * t.nll
		sBase += t.nllBase
		sBase2 += t.nllBase * t.nllBase
		sCross += t.nll * t.nllBase
		sKLD += t.kld
		sKLD2 += t.kld * t.kld
		d2 := t.pDiff * t.pDiff
		sDP += t.pDiff
		sDP2 += d2
		sDP4 += d2 * d2
		if t.sameTop {
			same++
		}
		klds[i], dps[i] = t.kld, t.pDiff
	}
	r := KLDResult{Ctx: plan.ctx, Windows: len(plan.wins), Tokens: n, TopK: topK}
	logPPL, logBase := meanStderr(sNLL, sNLL2, n), meanStderr(sBase, sBase2, n)
	cov := 0.0
	if n >= 10 {
		cov = (sCross/float64(n) - (sNLL/float64(n))*(sBase/float64(n))) / float64(n-1)
	}
	r.PPL = Estimate{math.Exp(logPPL.Value), math.Exp(logPPL.Value) * logPPL.Stderr}
	r.PPLBase = Estimate{math.Exp(logBase.Value), math.Exp(logBase.Value) * logBase.Stderr}
	if logPPL.Stderr > 0 && logBase.Stderr > 0 {
		r.LogPPLCorrelation = cov / (logPPL.Stderr * logBase.Stderr)
	}
	ratioUnc := math.Sqrt(max(0, logPPL.Stderr*logPPL.Stderr+logBase.Stderr*logBase.Stderr-2*cov))
	r.LogPPLRatio = Estimate{logPPL.Value - logBase.Value, ratioUnc}
	ratio := math.Exp(r.LogPPLRatio.Value)
	r.PPLRatio = Estimate{ratio, ratio * ratioUnc}
	pplCov := r.PPL.Value * r.PPLBase.Value * cov
	r.PPLDiff = Estimate{r.PPL.Value - r.PPLBase.Value,
		math.Sqrt(max(0, r.PPL.Stderr*r.PPL.Stderr+r.PPLBase.Stderr*r.PPLBase.Stderr-2*pplCov))}

	r.KLD = meanStderr(sKLD, sKLD2, n)
	r.DeltaP = meanStderr(sDP, sDP2, n)
	mse := meanStderr(sDP2, sDP4, n)
	if rms := math.Sqrt(mse.Value); rms > 0 {
		r.DeltaPRMS = Estimate{rms, 0.5 / rms * mse.Stderr}
	}
	if n > 1 {
		p := float64(same) / float64(n)
		r.SameTop = Estimate{p, math.Sqrt(p * (1 - p) / float64(n-1))}
	}
	slices.Sort(klds)
	slices.Sort(dps)
	r.KLDQuantile = percentiles(klds, false)
	r.DeltaPQuantile = percentiles(dps, true)
	return r
}

func percentiles(sorted []float64, quartiles bool) Percentiles {
	if len(sorted) == 0 {
		return Percentiles{}
	}
	q := func(f float64) float64 { return align.Quantile(sorted, f) }
	p := Percentiles{Max: sorted[len(sorted)-1], P99_9: q(0.999), P99: q(0.99), P95: q(0.95), P90: q(0.90),
		Median: q(0.5), P10: q(0.10), P5: q(0.05), P1: q(0.01), P0_1: q(0.001), Min: sorted[0]}
	if quartiles {
		p.P75, p.P25 = q(0.75), q(0.25)
	}
	return p
}
