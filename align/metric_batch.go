package align

import (
	"fmt"
	"sort"

	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/model"
)

// suffixJob is one suffix to run: side 0 (l1) or 1 (l2) of sample i of the
// current group, tokens doc[start : start+n].
type suffixJob struct {
	sample, side int
	tokens       []int32
}

// evaluateSamples fills in the Value of every sample. Groups of
// samplesPerGroup samples are evaluated together: their 2×group
// suffixes are sorted by length (longest first) so that right padding
// wastes little, packed into batches of at most o.MaxBatchTokens tokens,
// and the logits of each suffix's last position are gathered per side.
func evaluateSamples(m *model.Model, docs [][]int32, samples []MetricSample, o MetricOptions) error {
	V := m.Config.Vocab
	group := samplesPerGroup
	lastA, lastB := make([]float32, group*V), make([]float32, group*V)
	values := make([]float32, group)
	// Dynamic NTK derives its frequencies from the padded length T, so
	// padding would change a shorter suffix's positions: batch equal lengths only.
	equalLengths := m.Config.Pos == model.PosRoPE && m.Config.RopeScaling.Type == "dynamic-ntk"
	var tokens []int32
	var rows []int
	jobs := make([]suffixJob, 0, 2*group)
	for g0 := 0; g0 < len(samples); g0 += group {
		g1 := min(g0+group, len(samples))
		jobs = jobs[:0]
		for i := g0; i < g1; i++ {
			s := samples[i]
			doc := docs[s.Doc]
			jobs = append(jobs, suffixJob{i - g0, 0, doc[s.End-s.L1 : s.End]}, suffixJob{i - g0, 1, doc[s.End-s.L2 : s.End]})
		}
		sort.SliceStable(jobs, func(a, b int) bool { return len(jobs[a].tokens) > len(jobs[b].tokens) })
		for j := 0; j < len(jobs); {
			T := len(jobs[j].tokens)
			maxB := max(1, o.MaxBatchTokens/T)
			k := j + 1
			for k < len(jobs) && k-j < maxB && (!equalLengths || len(jobs[k].tokens) == T) {
				k++
			}
			B := k - j
			tokens, rows = padBatch(tokens[:0], rows[:0], jobs[j:k], T)
			if err := m.Forward(tokens, B, T, model.ForwardOptions{Rows: rows}); err != nil {
				return fmt.Errorf("misalignment: %w", err)
			}
			logits := m.Logits()
			for b, job := range jobs[j:k] {
				dst := lastA
				if job.side == 1 {
					dst = lastB
				}
				copy(dst[job.sample*V:(job.sample+1)*V], logits[b*V:(b+1)*V])
			}
			j = k
		}
		n := g1 - g0
		kernels.DivergenceForward(o.Divergence, values[:n], lastA[:n*V], lastB[:n*V], n, V)
		for i := range n {
			samples[g0+i].Value = float64(values[i])
		}
		if o.Progress != nil {
			o.Progress(g1, len(samples))
		}
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
