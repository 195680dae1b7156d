package align

import (
	"fmt"
	"slices"

	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/model"
)

// suffixJob is one suffix to run: side 0 (l1) or 1 (l2) of sample i of the
// current group, tokens doc[start : start+n].
type suffixJob struct {
	sample, side int
	tokens       []int32
}

// groupEvaluator computes the values of one group of at most
// samplesPerGroup samples at a time, reusing its buffers: their 2×group
// suffixes are sorted by length (longest first) so that right padding
// wastes little, packed into batches of at most o.MaxBatchTokens tokens,
// and the logits of each suffix's last position are gathered per side.
type groupEvaluator struct {
	m            *model.Model
	o            MetricOptions
	lastA, lastB []float32 // [group, V] last-position logits of the l1 and l2 suffixes
	values       []float32 // [group]
	// Dynamic NTK derives its frequencies from the padded length T, so
	// padding would change a shorter suffix's positions: batch equal lengths only.
	equalLengths bool
	tokens       []int32
	rows         []int
	jobs         []suffixJob
}

func newGroupEvaluator(m *model.Model, o MetricOptions) *groupEvaluator {
	V := m.Config.Vocab
	return &groupEvaluator{
		m: m, o: o,
		lastA: make([]float32, samplesPerGroup*V), lastB: make([]float32, samplesPerGroup*V),
		values:       make([]float32, samplesPerGroup),
		equalLengths: m.Config.Pos == model.PosRoPE && m.Config.RopeScaling.Type == "dynamic-ntk",
		jobs:         make([]suffixJob, 0, 2*samplesPerGroup),
	}
}

// evaluate fills in the Value of every sample of group (at most
// samplesPerGroup of them).
func (e *groupEvaluator) evaluate(docs [][]int32, group []MetricSample) error {
	V := e.m.Config.Vocab
	e.jobs = e.jobs[:0]
	for i, s := range group {
		doc := docs[s.Doc]
		e.jobs = append(e.jobs, suffixJob{i, 0, doc[s.End-s.L1 : s.End]}, suffixJob{i, 1, doc[s.End-s.L2 : s.End]})
	}
	jobs := e.jobs
	slices.SortStableFunc(jobs, func(a, b suffixJob) int { return len(b.tokens) - len(a.tokens) })
	for j := 0; j < len(jobs); {
		T := len(jobs[j].tokens)
		maxB := max(1, e.o.MaxBatchTokens/T)
		k := j + 1
		for k < len(jobs) && k-j < maxB && (!e.equalLengths || len(jobs[k].tokens) == T) {
			k++
		}
		B := k - j
		e.tokens, e.rows = padBatch(e.tokens[:0], e.rows[:0], jobs[j:k], T)
		if err := e.m.Forward(e.tokens, B, T, model.ForwardOptions{Rows: e.rows}); err != nil {
			return fmt.Errorf("misalignment: %w", err)
		}
		logits := e.m.Logits()
		for b, job := range jobs[j:k] {
			dst := e.lastA
			if job.side == 1 {
				dst = e.lastB
			}
			copy(dst[job.sample*V:(job.sample+1)*V], logits[b*V:(b+1)*V])
		}
		j = k
	}
	n := len(group)
	kernels.DivergenceForward(e.o.Divergence, e.values[:n], e.lastA[:n*V], e.lastB[:n*V], n, V)
	for i := range n {
		group[i].Value = float64(e.values[i])
	}
	return nil
}

// padBatch lays the jobs' suffixes out as B rows of T tokens, right-padded
// with token 0 (causal attention keeps padding invisible to earlier
// positions), and returns the row index of each suffix's last token.
func padBatch(tokens []int32, rows []int, jobs []suffixJob, T int) ([]int32, []int) {
	for b, job := range jobs {
		tokens = append(tokens, job.tokens...)
		for range T - len(job.tokens) {
			tokens = append(tokens, 0)
		}
		rows = append(rows, b*T+len(job.tokens)-1)
	}
	return tokens, rows
}
