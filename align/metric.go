package align

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/lsalign/lsalign/internal/journal"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/model"
)

// MetricOptions configures Misalignment (METHOD.md §2). The zero value of
// each field means the default in its comment.
type MetricOptions struct {
	Divergence kernels.Divergence // SCE (default), symmetric KL or Jensen-Shannon
	// LTrain is l_train; 0 means the model's training context (Config.MaxSeq).
	LTrain int
	// FracLo and FracHi bound the suffix lengths as fractions of LTrain:
	// l1, l2 ~ U{ceil(FracLo*LTrain) .. floor(FracHi*LTrain)}. Both zero
	// means the paper's [0.5, 1].
	FracLo, FracHi float64
	Samples        int    // number of (end, l1, l2) samples, at most MaxSamples; 0 means 1000
	Seed           uint64 // seeds the sampling and the bootstrap
	// Extrapolate allows suffixes longer than ContextLimit for position
	// schemes that can run them (not learned positions).
	Extrapolate bool
	// MaxBatchTokens caps B×T of one forward pass; 0 means 8192 (or one
	// sequence when that is longer). Results do not depend on it beyond
	// float rounding.
	MaxBatchTokens int
	// Progress, when set, is called each time a group of samples is done,
	// with the number of finished and total samples and the mean so far.
	Progress func(done, total int, mean float64)
	// Units, when set, records each finished group of samples and takes the
	// groups an interrupted run finished from it (see internal/journal);
	// the result is the same either way.
	Units journal.Units
}

// Default settings of MetricOptions.
const (
	DefaultSamples     = 1000
	DefaultFracLo      = 0.5
	DefaultFracHi      = 1.0
	defaultBatchTokens = 8192
	bootstrapResamples = 2000
	bootstrapSeedMix   = 0x5ce1b007 // decorrelates the bootstrap stream from sampling
	samplesPerGroup    = 64         // samples whose suffixes are sorted and batched together
)

// MaxSamples bounds MetricOptions.Samples: beyond it a run would take
// years, and its values (4 B each) would outgrow memory.
const MaxSamples = 1_000_000_000

// MetricSample is one draw: the suffixes doc[End-L1:End] and doc[End-L2:End]
// of document Doc (End is an exclusive token index) and their divergence.
type MetricSample struct {
	Doc   int     `json:"doc"`
	End   int     `json:"end"`
	L1    int     `json:"l1"`
	L2    int     `json:"l2"`
	Value float64 `json:"value"`
}

// MetricResult summarises the samples. Model and Text are for the caller to
// fill (file names); Misalignment leaves them empty.
type MetricResult struct {
	Mean       float64    `json:"mean"`
	Stderr     float64    `json:"stderr"` // sample standard deviation / sqrt(n)
	CI95       [2]float64 `json:"ci95"`   // percentile bootstrap of the mean
	Samples    int        `json:"samples"`
	LTrain     int        `json:"l_train"`
	LMin       int        `json:"l_min"` // the suffix length range actually drawn from
	LMax       int        `json:"l_max"`
	Divergence string     `json:"divergence"`
	Seed       uint64     `json:"seed"`
	Documents  int        `json:"documents"`
	Tokens     int        `json:"tokens"`   // tokens in all documents
	Eligible   int        `json:"eligible"` // end positions drawn from
	Model      string     `json:"model"`
	Text       string     `json:"text"`
}

// withDefaults fills zero fields and checks the rest against the model.
func (o MetricOptions) withDefaults(c model.Config) (MetricOptions, error) {
	if o.LTrain == 0 {
		o.LTrain = c.MaxSeq
	}
	if o.FracLo == 0 && o.FracHi == 0 {
		o.FracLo, o.FracHi = DefaultFracLo, DefaultFracHi
	}
	if o.Samples == 0 {
		o.Samples = DefaultSamples
	}
	if o.MaxBatchTokens == 0 {
		o.MaxBatchTokens = defaultBatchTokens
	}
	switch {
	case o.LTrain < 1:
		return o, fmt.Errorf("misalignment: l_train must be positive, got %d", o.LTrain)
	case o.Samples < 1 || o.Samples > MaxSamples:
		return o, fmt.Errorf("misalignment: samples must be in [1, %d], got %d", MaxSamples, o.Samples)
	case !(o.FracLo > 0 && o.FracLo <= o.FracHi && o.FracHi <= 1):
		return o, fmt.Errorf("misalignment: fraction range [%g, %g] must satisfy 0 < lo <= hi <= 1", o.FracLo, o.FracHi)
	case o.MaxBatchTokens < 1:
		return o, fmt.Errorf("misalignment: max batch tokens must be positive, got %d", o.MaxBatchTokens)
	}
	if _, err := o.Divergence.MarshalText(); err != nil {
		return o, fmt.Errorf("misalignment: %v", err)
	}
	if c.Head != model.HeadLM {
		return o, fmt.Errorf("misalignment: the model has a %q head; the metric needs next-token logits", c.Head)
	}
	lo, hi := o.lengthRange()
	if lo > hi {
		return o, fmt.Errorf("misalignment: no integer length in [%g, %g] × l_train %d", o.FracLo, o.FracHi, o.LTrain)
	}
	if err := CheckContext(c, hi, o.Extrapolate); err != nil {
		return o, fmt.Errorf("misalignment: l_train %d: %w", o.LTrain, err)
	}
	return o, nil
}

// lengthRange is [ceil(FracLo*LTrain), floor(FracHi*LTrain)], at least 1
// and at most LTrain (fractions are at most 1).
func (o MetricOptions) lengthRange() (lo, hi int) {
	// The epsilon keeps 0.5*511 = 255.5 exact while absorbing 0.1*30 = 3.0000000000000004.
	lo = clampLength(math.Ceil(o.FracLo*float64(o.LTrain)-1e-9), o.LTrain)
	hi = clampLength(math.Floor(o.FracHi*float64(o.LTrain)+1e-9), o.LTrain)
	return max(lo, 1), hi
}

// clampLength converts an integral length x to int, clamped to limit:
// converting a float beyond the int range is implementation-defined in Go
// (math.MinInt on amd64), and float64(math.MaxInt) itself is beyond it.
func clampLength(x float64, limit int) int {
	if !(x < float64(limit)) {
		return limit
	}
	return int(x)
}

// ContextLimit is the longest input the model takes without extrapolating:
// its training context (Config.MaxSeq), times the factor of a RoPE
// scaling (linear, ntk, dynamic-ntk, yarn), applied to the scaling's
// original context when set. 0 means no limit (ABF, whose raised base
// names no length). hard reports learned positions, which cannot run longer
// inputs at all.
func ContextLimit(c model.Config) (limit int, hard bool) {
	if c.Pos == model.PosLearned {
		return c.MaxSeq, true
	}
	if c.Pos != model.PosRoPE {
		return c.MaxSeq, false
	}
	s := c.RopeScaling
	switch s.Type {
	case "linear", "ntk", "dynamic-ntk", "yarn":
		orig := c.MaxSeq
		if s.OrigCtx > 0 {
			orig = s.OrigCtx
		}
		return clampLength(math.Floor(s.Factor*float64(orig)+1e-9), math.MaxInt), false
	case "abf":
		return 0, false
	}
	return c.MaxSeq, false
}

// CheckContext reports an input length n beyond ContextLimit, unless
// extrapolate is set and the positions allow it.
func CheckContext(c model.Config, n int, extrapolate bool) error {
	limit, hard := ContextLimit(c)
	if limit == 0 || n <= limit {
		return nil
	}
	if hard {
		return fmt.Errorf("length %d exceeds the model's %d learned positions", n, limit)
	}
	if extrapolate {
		return nil
	}
	if c.Pos == model.PosRoPE && (c.RopeScaling.Type == "" || c.RopeScaling.Type == "none") {
		return &BeyondContextError{fmt.Sprintf("length %d exceeds the model's training context %d; use a RoPE scaling (factor >= %.3g) or allow extrapolation",
			n, limit, float64(n)/float64(limit))}
	}
	return &BeyondContextError{fmt.Sprintf("length %d exceeds the model's usable context %d (training context %d, rope scaling %q); allow extrapolation to run it anyway",
		n, limit, c.MaxSeq, c.RopeScaling.Type)}
}

// BeyondContextError is a length CheckContext refuses without
// extrapolation, so that callers can say how to allow it.
type BeyondContextError struct{ msg string }

func (e *BeyondContextError) Error() string { return e.msg }

// Misalignment estimates Long-Short Misalignment of m on docs (token ids,
// each document tokenized once, BOS included where the tokenizer adds it):
// the mean over samples of D(g(x[end-l1:end]), g(x[end-l2:end])), where g is
// the next-token distribution at the last position of a suffix fed as a
// fresh sequence at positions 0..l-1. It returns every sample, so its
// memory grows with the number of samples (40 B each); MisalignmentEach
// streams them instead.
func Misalignment(m *model.Model, docs [][]int32, opt MetricOptions) (MetricResult, []MetricSample, error) {
	var samples []MetricSample
	res, err := MisalignmentEach(m, docs, opt, func(s MetricSample) error {
		samples = append(samples, s)
		return nil
	})
	if err != nil {
		return MetricResult{}, nil, err
	}
	return res, samples, nil
}

// MisalignmentEach is Misalignment that hands each evaluated sample to each
// (in draw order; nil discards them; an error it returns ends the run)
// instead of keeping it.
//
// Sampling (see sampleDrawer): end is uniform over every position of every
// document that leaves room for the longest suffix (end >= l_max), so a
// suffix never crosses documents; l1 and l2 are independent and uniform in
// [l_min, l_max]. The samples come from one seeded generator in order, so
// they depend only on the seed, the options and the document lengths.
//
// Samples are drawn and evaluated samplesPerGroup at a time; each group's
// suffixes are sorted by length and right-padded into batches of at most
// MaxBatchTokens tokens. Memory grows with the suffix length, and with
// the number of samples only by their values (4 B each), which the
// bootstrap interval resamples.
func MisalignmentEach(m *model.Model, docs [][]int32, opt MetricOptions, each func(MetricSample) error) (MetricResult, error) {
	o, err := opt.withDefaults(m.Config)
	if err != nil {
		return MetricResult{}, err
	}
	drawer, err := newSampleDrawer(docs, o)
	if err != nil {
		return MetricResult{}, err
	}
	evaluator := newGroupEvaluator(m, o)
	// The kernel computes each value in float32, so float32 keeps them exactly.
	values := make([]float32, 0, o.Samples)
	group := make([]MetricSample, samplesPerGroup)
	var sum float64
	for len(values) < o.Samples {
		g := group[:min(samplesPerGroup, o.Samples-len(values))]
		drawer.draw(g)
		if err := evaluateGroup(evaluator, docs, g, len(values)/samplesPerGroup, o.Units); err != nil {
			return MetricResult{}, err
		}
		for _, s := range g {
			sum += s.Value
			values = append(values, float32(s.Value))
			if each != nil {
				if err := each(s); err != nil {
					return MetricResult{}, err
				}
			}
		}
		if o.Progress != nil {
			o.Progress(len(values), o.Samples, sum/float64(len(values)))
		}
	}
	lo, hi := o.lengthRange()
	res := MetricResult{
		Samples: len(values), LTrain: o.LTrain, LMin: lo, LMax: hi,
		Divergence: o.Divergence.String(), Seed: o.Seed,
		Documents: len(docs), Eligible: drawer.total,
	}
	for _, d := range docs {
		res.Tokens += len(d)
	}
	res.Mean, res.Stderr = MeanStderr(values)
	res.CI95 = BootstrapMeanCI(values, 0.95, bootstrapResamples, o.Seed^bootstrapSeedMix)
	return res, nil
}

// evaluateGroup evaluates group number gi, or takes its values from units
// when an interrupted run finished it (after checking that the journal
// drew the same samples).
func evaluateGroup(ev *groupEvaluator, docs [][]int32, g []MetricSample, gi int, units journal.Units) error {
	if units != nil {
		if raw, ok := units.Done(gi); ok {
			var rec []MetricSample
			if err := json.Unmarshal(raw, &rec); err != nil || len(rec) != len(g) {
				return fmt.Errorf("misalignment: resuming group %d: the journal holds no group of %d samples", gi, len(g))
			}
			for i, r := range rec {
				if r.Doc != g[i].Doc || r.End != g[i].End || r.L1 != g[i].L1 || r.L2 != g[i].L2 {
					return fmt.Errorf("misalignment: resuming group %d: sample %d differs from the journal's (other text or settings)", gi, i)
				}
				g[i].Value = r.Value
			}
			return nil
		}
	}
	if err := ev.evaluate(docs, g); err != nil {
		return err
	}
	for i, smp := range g {
		if math.IsNaN(smp.Value) || math.IsInf(smp.Value, 0) {
			return fmt.Errorf("misalignment: sample %d (document %d, end %d, lengths %d and %d) is %v: the model's logits overflow",
				gi*samplesPerGroup+i, smp.Doc, smp.End, smp.L1, smp.L2, smp.Value)
		}
	}
	if units != nil {
		return units.Record(gi, g)
	}
	return nil
}
