package train

import (
	"errors"
	"math"
	"runtime"
	"slices"
	"testing"

	"github.com/lsalign/lsalign/align"
	"github.com/lsalign/lsalign/data"
	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/model"
)

var tinyTest = model.Config{Family: "llama", Vocab: 64, Dim: 32, Layers: 2, Heads: 4, KVHeads: 2, Hidden: 48, MaxSeq: 32}

// run20 trains 20 steps (alternating plain and regularized steps) and
// returns the loss bits of every step.
func run20(t *testing.T, procs int) []uint64 {
	old := runtime.GOMAXPROCS(procs)
	defer runtime.GOMAXPROCS(old)
	m, err := model.NewInit(tinyTest, 5)
	if err != nil {
		t.Fatal(err)
	}
	st := NewStepper(m, 0.01)
	st.Clip = 1
	st.Obj.Reg = align.Regularizer{Alpha: 0.1}
	corpus := data.Markov(64, 5000, 1)
	r := rng.New(2)
	const B, T = 4, 32
	var bits []uint64
	for step := range 20 {
		var loss float64
		if step%2 == 0 {
			inp, tgt := data.SplitShift(data.RandomWindows(corpus, B, T+1, r), B, T)
			loss, err = st.StepCE(inp, tgt, B, T, 3e-3)
		} else {
			extra := r.IntRange(1, T/2)
			var l align.Loss
			l, err = st.StepPair(data.RandomWindows(corpus, B, T+extra+1, r), B, T, extra, 3e-3)
			loss = l.Total
		}
		if err != nil {
			t.Fatal(err)
		}
		bits = append(bits, math.Float64bits(loss))
	}
	return bits
}

func TestDeterministicAcrossGOMAXPROCS(t *testing.T) {
	a, b := run20(t, 1), run20(t, 2)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("step %d: loss %v at GOMAXPROCS=1 but %v at 2", i, math.Float64frombits(a[i]), math.Float64frombits(b[i]))
		}
	}
	// Even steps are plain cross-entropy steps: the model must be learning.
	if first, last := math.Float64frombits(a[0]), math.Float64frombits(a[18]); last >= first {
		t.Fatalf("cross-entropy did not fall in 20 steps: %v -> %v", first, last)
	}
}

// TestRollback: Rollback restores the parameters and AdamW state from
// before the latest update, bit for bit, once; an update that makes a
// weight non-finite is undone by the step itself.
func TestRollback(t *testing.T) {
	m, err := model.NewInit(tinyTest, 5)
	if err != nil {
		t.Fatal(err)
	}
	st := NewStepper(m, 0.01)
	corpus := data.Markov(64, 5000, 1)
	r := rng.New(2)
	const B, T = 2, 16
	step := func(lr float64) error {
		inp, tgt := data.SplitShift(data.RandomWindows(corpus, B, T+1, r), B, T)
		_, err := st.StepCE(inp, tgt, B, T, lr)
		return err
	}
	type state struct {
		p, m, v []float32
		n       int
	}
	snap := func() state {
		return state{slices.Clone(m.Params.Data), slices.Clone(st.Opt.M), slices.Clone(st.Opt.V), st.Opt.Step}
	}
	same := func(what string, a, b state) {
		t.Helper()
		for i, pair := range [][2][]float32{{a.p, b.p}, {a.m, b.m}, {a.v, b.v}} {
			for j := range pair[0] {
				if math.Float32bits(pair[0][j]) != math.Float32bits(pair[1][j]) {
					t.Fatalf("%s: buffer %d element %d: %v vs %v", what, i, j, pair[0][j], pair[1][j])
				}
			}
		}
		if a.n != b.n {
			t.Fatalf("%s: optimizer step %d vs %d", what, a.n, b.n)
		}
	}
	if st.Rollback() {
		t.Fatal("Rollback before any update reported a restore")
	}
	if err := step(1e-3); err != nil {
		t.Fatal(err)
	}
	before := snap()
	if err := step(1e-3); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(snap().p, before.p) {
		t.Fatal("the step did not change the parameters")
	}
	if !st.Rollback() {
		t.Fatal("Rollback after an update did nothing")
	}
	same("after Rollback", snap(), before)
	if st.Rollback() {
		t.Fatal("a second Rollback reported a restore")
	}

	// lr 1e39 overflows float32: the update makes every weight infinite.
	err = step(1e39)
	var nf *NonFiniteError
	if !errors.As(err, &nf) || nf.What != "parameter" {
		t.Fatalf("step at lr 1e39: %v, want a non-finite parameter", err)
	}
	same("after a non-finite update", snap(), before)
	if st.Rollback() {
		t.Fatal("Rollback after a self-undone update reported a restore")
	}
}
