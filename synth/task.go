// Package synth holds the synthetic length-generalization tasks of the
// paper's case studies (METHOD.md §1): scalar targets computed from random
// token sequences, the invertible output reparameterizations f ("OutRep")
// with their inverses, and seeded sample generation. It is data only: it
// knows nothing of models or training.
package synth

import (
	"fmt"
	"strings"

	"github.com/lsalign/lsalign/internal/rng"
)

// Task is a scalar regression problem on a sequence of tokens drawn
// independently and uniformly from [0, Vocab). The target depends only on
// the sequence, so every prefix of a sample is itself a sample of the
// prefix's length (the property the evaluation's prefix trick relies on).
type Task struct {
	Name  string
	Vocab int    // tokens are uniform on [0, Vocab)
	About string // one line: input and target
	// RangeMoves says whether the target's range grows with the length
	// (length, count, sum) or stays fixed (mean, max, parity). The paper's
	// argument is that the former fails to generalize and the latter can.
	RangeMoves bool
	// Reparams says whether the OutRep reparameterizations apply: the
	// target must be >= 1 so that every f and f^-1 is defined on it.
	Reparams bool

	target func(seq []int32) float64
}

// Target returns the task's target for one sequence (len(seq) >= 1).
func (t Task) Target(seq []int32) float64 {
	if len(seq) == 0 {
		panic("synth: Target of an empty sequence")
	}
	return t.target(seq)
}

// Fill sets seq to independent uniform tokens of the task's vocabulary.
func (t Task) Fill(seq []int32, r *rng.RNG) {
	for i := range seq {
		seq[i] = int32(r.Intn(t.Vocab))
	}
}

// DigitVocab is the alphabet of the tasks on small integers (0..9).
const DigitVocab = 10

// Tasks returns every built-in task, in the order reports list them.
func Tasks() []Task {
	return []Task{
		{Name: "mean", Vocab: 2, About: "bits; target = mean of the bits, in [0, 1]", target: mean},
		{Name: "length", Vocab: 2, About: "bits; target = the length l", RangeMoves: true, Reparams: true,
			target: func(s []int32) float64 { return float64(len(s)) }},
		{Name: "count", Vocab: 2, About: "bits; target = number of ones, in [0, l]", RangeMoves: true, target: sum},
		{Name: "sum", Vocab: DigitVocab, About: "digits 0-9; target = their sum, in [0, 9l]", RangeMoves: true, target: sum},
		{Name: "max", Vocab: DigitVocab, About: "digits 0-9; target = their maximum, in [0, 9]", target: maximum},
		{Name: "parity", Vocab: 2, About: "bits; target = number of ones mod 2, in {0, 1}", target: parity},
	}
}

// TaskNames lists the built-in task names in order.
func TaskNames() []string {
	var names []string
	for _, t := range Tasks() {
		names = append(names, t.Name)
	}
	return names
}

// TaskByName returns the built-in task with the given name.
func TaskByName(name string) (Task, error) {
	for _, t := range Tasks() {
		if t.Name == name {
			return t, nil
		}
	}
	return Task{}, fmt.Errorf("unknown task %q (known: %s)", name, strings.Join(TaskNames(), ", "))
}

func sum(s []int32) float64 {
	var n int64
	for _, v := range s {
		n += int64(v)
	}
	return float64(n)
}

func mean(s []int32) float64 { return sum(s) / float64(len(s)) }

func maximum(s []int32) float64 {
	m := s[0]
	for _, v := range s[1:] {
		m = max(m, v)
	}
	return float64(m)
}

func parity(s []int32) float64 {
	var n int32
	for _, v := range s {
		n ^= v & 1
	}
	return float64(n)
}
