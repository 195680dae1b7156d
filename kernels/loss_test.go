package kernels

import (
	"fmt"
	"math"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
	"github.com/lsalign/lsalign/kernels/ref"
)

// lossShapes includes V=1, N=1, odd sizes, and a 32000-entry vocabulary.
var lossShapes = []struct{ N, V int }{{1, 1}, {1, 2}, {5, 7}, {33, 512}, {300, 65}, {3, 32000}}

// randLogits returns logits with std 3 and a per-row offset, so rows range
// from flat to peaked and sit far from 0 (the max shift must matter).
func randLogits(r *rng.RNG, N, V int) []float32 {
	x := testutil.Rand32(r, N*V, 3)
	for n := 0; n < N; n++ {
		off := float32(r.NormFloat64() * 50)
		for v := range x[n*V : (n+1)*V] {
			x[n*V+v] += off
		}
	}
	return x
}

func TestCrossEntropyMatchesRef(t *testing.T) {
	for i, s := range lossShapes {
		t.Run(fmt.Sprintf("%+v", s), func(t *testing.T) {
			N, V := s.N, s.V
			r := rng.New(uint64(i))
			logits := randLogits(r, N, V)
			targets := randTargets(r, N, V)
			dlosses := testutil.Rand32(r, N, 1)
			logits64 := testutil.To64(logits)

			losses, lse := testutil.NewGuarded(N, 7), testutil.NewGuarded(N, 7)
			CrossEntropyForward(losses.S, lse.S, logits, targets, N, V)
			losses.Check(t, "losses")
			lse.Check(t, "lse")
			wantL, wantLse := make([]float64, N), make([]float64, N)
			ref.CrossEntropyForward(wantL, wantLse, logits64, targets, N, V)
			// The loss is taken in float64 before rounding, so it is exact
			// to float32 precision even though lse is ~50 in magnitude.
			testutil.Close(t, "lse", lse.S, wantLse, 0, 2e-7)
			testutil.Close(t, "losses", losses.S, wantL, 1e-6, 1e-6)

			dlogits := testutil.NewGuarded(N*V, 0.5)
			CrossEntropyBackward(dlogits.S, dlosses, logits, lse.S, targets, N, V)
			dlogits.Check(t, "dlogits")
			wantD := filled(N*V, 0.5)
			ref.CrossEntropyBackward(wantD, testutil.To64(dlosses), logits64, wantLse, targets, N, V)
			testutil.Close(t, "dlogits", dlogits.S, wantD, 1e-6, 1e-5)
		})
	}
}

// randTargets draws targets in [0, V), making every fourth one -1 (ignored).
func randTargets(r *rng.RNG, N, V int) []int32 {
	targets := randTokens(r, N, V)
	for n := 3; n < N; n += 4 {
		targets[n] = -1
	}
	return targets
}

func TestCrossEntropyHandValues(t *testing.T) {
	// Row 0: logits (0, ln 3), softmax (1/4, 3/4), target 0: loss ln 4,
	// gradient (1/4 - 1, 3/4) = (-3/4, 3/4) times dloss 2. Row 1 is ignored.
	logits := []float32{0, float32(math.Log(3)), 5, -5}
	losses, lse := make([]float32, 2), make([]float32, 2)
	CrossEntropyForward(losses, lse, logits, []int32{0, -1}, 2, 2)
	if math.Abs(float64(losses[0])-math.Log(4)) > 1e-6 || losses[1] != 0 {
		t.Fatalf("losses = %v, want [ln 4, 0]", losses)
	}
	dlogits := []float32{1, 1, 1, 1}
	CrossEntropyBackward(dlogits, []float32{2, 2}, logits, lse, []int32{0, -1}, 2, 2)
	want := []float64{1 - 1.5, 1 + 1.5, 1, 1}
	testutil.Close(t, "dlogits", dlogits, want, 1e-6, 0)
}

func TestCrossEntropyTargetOutOfRangePanics(t *testing.T) {
	mustPanic(t, "targets[1] = 3, want < V = 3", func() {
		CrossEntropyForward(make([]float32, 2), make([]float32, 2), make([]float32, 6), []int32{0, 3}, 2, 3)
	})
	mustPanic(t, "V = 0", func() {
		CrossEntropyForward(make([]float32, 1), make([]float32, 1), nil, []int32{-1}, 1, 0)
	})
}

func TestLogSoftmaxMatchesRef(t *testing.T) {
	for i, s := range lossShapes {
		N, V := s.N, s.V
		r := rng.New(uint64(i))
		logits := randLogits(r, N, V)
		out := testutil.NewGuarded(N*V, 7)
		LogSoftmax(out.S, logits, N, V)
		out.Check(t, "out")
		want := make([]float64, N*V)
		ref.LogSoftmax(want, testutil.To64(logits), N, V)
		testutil.Close(t, fmt.Sprintf("%+v", s), out.S, want, 1e-6, 1e-6)
		LogSoftmax(logits, logits, N, V) // in place
		testutil.Close(t, fmt.Sprintf("%+v in place", s), logits, want, 1e-6, 1e-6)
	}
}

func TestMSEMatchesRef(t *testing.T) {
	for i, n := range []int{1, 3, 100} {
		r := rng.New(uint64(i))
		pred, target, dlosses := testutil.Rand32(r, n, 2), testutil.Rand32(r, n, 2), testutil.Rand32(r, n, 1)
		losses := testutil.NewGuarded(n, 7)
		MSEForward(losses.S, pred, target, n)
		losses.Check(t, "losses")
		want := make([]float64, n)
		ref.MSEForward(want, testutil.To64(pred), testutil.To64(target), n)
		testutil.Close(t, "losses", losses.S, want, 1e-6, 1e-6)
		dpred := testutil.NewGuarded(n, 0.5)
		MSEBackward(dpred.S, dlosses, pred, target, n)
		dpred.Check(t, "dpred")
		wantD := filled(n, 0.5)
		ref.MSEBackward(wantD, testutil.To64(dlosses), testutil.To64(pred), testutil.To64(target), n)
		testutil.Close(t, "dpred", dpred.S, wantD, 1e-6, 1e-6)
	}
}

func TestLossDeterministic(t *testing.T) {
	const N, V = 300, 512
	r := rng.New(7)
	logits, targets, dlosses := randLogits(r, N, V), randTargets(r, N, V), testutil.Rand32(r, N, 1)
	sameBitsAcrossProcs(t, "CrossEntropy", func() [][]float32 {
		losses, lse := make([]float32, N), make([]float32, N)
		CrossEntropyForward(losses, lse, logits, targets, N, V)
		dlogits := make([]float32, N*V)
		CrossEntropyBackward(dlogits, dlosses, logits, lse, targets, N, V)
		logp := make([]float32, N*V)
		LogSoftmax(logp, logits, N, V)
		return [][]float32{losses, lse, dlogits, logp}
	})
}

func BenchmarkCrossEntropy(b *testing.B) {
	const N, V = 2048, 512
	r := rng.New(1)
	logits, targets, dlosses := randLogits(r, N, V), randTargets(r, N, V), testutil.Rand32(r, N, 1)
	losses, lse, dlogits := make([]float32, N), make([]float32, N), make([]float32, N*V)
	b.Run("forward", func(b *testing.B) {
		for b.Loop() {
			CrossEntropyForward(losses, lse, logits, targets, N, V)
		}
	})
	b.Run("backward", func(b *testing.B) {
		for b.Loop() {
			CrossEntropyBackward(dlogits, dlosses, logits, lse, targets, N, V)
		}
	})
}

func TestRowMaxMatchesLoop(t *testing.T) {
	r := rng.New(5)
	for n := 1; n < 300; n++ {
		row := testutil.Rand32(r, n, 3)
		if n > 20 {
			row[n/2] = float32(math.NaN()) // skipped, as by a `>` loop
		}
		want := row[0]
		for _, v := range row[1:] {
			if v > want {
				want = v
			}
		}
		if got := rowMax(row); got != want {
			t.Fatalf("n=%d: rowMax %v, loop %v", n, got, want)
		}
	}
}

func TestArgmaxFirstOnTies(t *testing.T) {
	if got := Argmax([]float32{1, 3, -2, 3, 0}); got != 1 {
		t.Fatalf("Argmax = %d, want 1", got)
	}
	if got := Argmax([]float32{-5}); got != 0 {
		t.Fatalf("Argmax of one = %d", got)
	}
}
