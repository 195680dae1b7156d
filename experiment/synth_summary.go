package experiment

import (
	"math"

	"github.com/lsalign/lsalign/synth"
)

// SynthGroup summarises one (task, encoding, reparameterization) across its
// seeds. Each slice holds one value per seed, in seed order:
//
//	InRange  mean over the test lengths inside the training range (1-10 by default)
//	Beyond   mean over the test lengths above it (11-50)
//	AtMax    the value at the longest test length (50)
//
// in length space (MSE) and, with an F suffix, in f-space (MSEFSpace).
type SynthGroup struct {
	Task, PE, Reparam         string
	Seeds                     []int
	InRange, Beyond, AtMax    []float64
	InRangeF, BeyondF, AtMaxF []float64
	TrainLoss                 []float64 // final training MSE in f-space
}

// lengthWindows returns the inclusive test-length windows inside and above
// the training range; an empty window has lo > hi.
func (o SynthOptions) lengthWindows() (in, beyond synth.Lengths) {
	in = synth.Lengths{Min: max(o.TestLengths.Min, o.TrainLengths.Min), Max: min(o.TestLengths.Max, o.TrainLengths.Max)}
	beyond = synth.Lengths{Min: max(o.TestLengths.Min, o.TrainLengths.Max+1), Max: o.TestLengths.Max}
	return in, beyond
}

// Groups summarises the result per (task, pe, reparam), in combination order.
func (r *SynthResult) Groups() []SynthGroup {
	in, beyond := r.Options.lengthWindows()
	type key struct{ task, pe, rp string }
	var order []key
	groups := map[key]*SynthGroup{}
	byCombo := map[SynthCombo][]SynthRow{}
	for _, row := range r.Rows {
		byCombo[row.SynthCombo] = append(byCombo[row.SynthCombo], row)
	}
	for _, t := range r.Training {
		k := key{t.Task, t.PE, t.Reparam}
		g := groups[k]
		if g == nil {
			g = &SynthGroup{Task: t.Task, PE: t.PE, Reparam: t.Reparam}
			groups[k] = g
			order = append(order, k)
		}
		rows := byCombo[t.SynthCombo]
		g.Seeds = append(g.Seeds, t.Seed)
		g.TrainLoss = append(g.TrainLoss, t.FinalLoss)
		g.InRange = append(g.InRange, synthWindowMean(rows, in, false))
		g.Beyond = append(g.Beyond, synthWindowMean(rows, beyond, false))
		g.AtMax = append(g.AtMax, synthWindowMean(rows, synth.Lengths{Min: beyond.Max, Max: beyond.Max}, false))
		g.InRangeF = append(g.InRangeF, synthWindowMean(rows, in, true))
		g.BeyondF = append(g.BeyondF, synthWindowMean(rows, beyond, true))
		g.AtMaxF = append(g.AtMaxF, synthWindowMean(rows, synth.Lengths{Min: beyond.Max, Max: beyond.Max}, true))
	}
	out := make([]SynthGroup, len(order))
	for i, k := range order {
		out[i] = *groups[k]
	}
	return out
}

// synthWindowMean is the mean error over the rows whose length is in w (NaN if none).
func synthWindowMean(rows []SynthRow, w synth.Lengths, fspace bool) float64 {
	var s float64
	n := 0
	for _, row := range rows {
		if row.Length >= w.Min && row.Length <= w.Max {
			if fspace {
				s += row.MSEFSpace
			} else {
				s += row.MSE
			}
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// SynthVariant is a task with one of its reparameterizations: a panel of
// the loss-vs-length figure.
type SynthVariant struct{ Task, Reparam string }

// Variants lists the (task, reparam) pairs of the result in combination order.
func (r *SynthResult) Variants() []SynthVariant {
	var out []SynthVariant
	for _, t := range r.Training {
		v := SynthVariant{t.Task, t.Reparam}
		if len(out) == 0 || out[len(out)-1] != v {
			out = append(out, v)
		}
	}
	return out
}

// SeedCurves returns, for one (task, pe, reparam), the test lengths and at
// each of them the error of every seed (length space, or f-space).
func (r *SynthResult) SeedCurves(task, pe, rp string, fspace bool) (lengths []float64, perSeed [][]float64) {
	idx := map[int]int{}
	for _, row := range r.Rows {
		if row.Task != task || row.PE != pe || row.Reparam != rp {
			continue
		}
		i, ok := idx[row.Length]
		if !ok {
			i = len(lengths)
			idx[row.Length] = i
			lengths = append(lengths, float64(row.Length))
			perSeed = append(perSeed, nil)
		}
		v := row.MSE
		if fspace {
			v = row.MSEFSpace
		}
		perSeed[i] = append(perSeed[i], v)
	}
	return lengths, perSeed
}
