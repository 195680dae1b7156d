package align

import (
	"math"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
)

// logSoftmax64 is log(softmax(row)) in float64.
func logSoftmax64(row []float64) []float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = math.Max(mx, v)
	}
	var z float64
	for _, v := range row {
		z += math.Exp(v - mx)
	}
	out := make([]float64, len(row))
	for i, v := range row {
		out[i] = v - mx - math.Log(z)
	}
	return out
}

// refPairLoss is an independent float64 L* over the logits [2B, l, V] of
// PairWindows' layout: mean cross-entropy over the rows that train, plus
// alpha × the mean SCE(p_A, p_B) over the compared positions. frozenA and
// frozenB, when not nil, replace that side's logits inside the SCE term
// (what a stop-gradient means).
func refPairLoss(logits, frozenA, frozenB []float64, tgt []int32, B, l, extra, V int, reg Regularizer) float64 {
	rows := 2 * B * l
	if reg.TrainOnA {
		rows = B * l
	}
	var ce float64
	for i := range rows {
		ce -= logSoftmax64(logits[i*V : (i+1)*V])[tgt[i]]
	}
	ce /= float64(rows)
	if reg.Alpha == 0 {
		return ce
	}
	n, aOff, bOff := l-extra, extra, 0
	if reg.Positions == "last" {
		n, aOff, bOff = 1, l-1, l-1-extra
	}
	side := func(frozen []float64, row int) []float64 {
		src := logits
		if frozen != nil {
			src = frozen
		}
		return logSoftmax64(src[row*V : (row+1)*V])
	}
	var sce float64
	for b := range B {
		for j := range n {
			la, lb := side(frozenA, b*l+aOff+j), side(frozenB, (B+b)*l+bOff+j)
			for v := range V {
				sce -= math.Exp(la[v])*lb[v] + math.Exp(lb[v])*la[v]
			}
		}
	}
	return ce + reg.Alpha*sce/float64(B*n)
}

// TestPairObjectiveGradient checks Objective.Pair's value and its
// gradient with respect to the logits of both windows against central
// differences of refPairLoss, for every option of the regularizer.
func TestPairObjectiveGradient(t *testing.T) {
	const B, l, extra, V = 2, 5, 2, 7
	for _, tc := range []struct {
		name string
		reg  Regularizer
	}{
		{"overlap", Regularizer{Alpha: 0.3}},
		{"last", Regularizer{Alpha: 0.7, Positions: "last"}},
		{"train-on-a", Regularizer{Alpha: 0.3, TrainOnA: true}},
		{"stop-grad-a", Regularizer{Alpha: 0.5, StopGrad: "a"}},
		{"stop-grad-b", Regularizer{Alpha: 0.5, StopGrad: "b"}},
		{"alpha-0", Regularizer{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rng.New(3)
			logits32 := testutil.Rand32(r, 2*B*l*V, 2)
			tgt := make([]int32, 2*B*l)
			for i := range tgt {
				tgt[i] = int32(r.Intn(V))
			}
			o := Objective{Reg: tc.reg}
			dl := make([]float32, len(logits32))
			got := o.Pair(logits32, dl, tgt, B, l, extra, V)

			x := testutil.To64(logits32)
			frozen := append([]float64(nil), x...)
			var fa, fb []float64
			switch tc.reg.StopGrad {
			case "a":
				fa = frozen
			case "b":
				fb = frozen
			}
			want := refPairLoss(x, fa, fb, tgt, B, l, extra, V, tc.reg)
			if math.Abs(got.Total-want) > 1e-5*math.Max(1, math.Abs(want)) {
				t.Fatalf("L* = %.8g, reference %.8g", got.Total, want)
			}
			if math.Abs(got.CE+tc.reg.Alpha*got.Misalign-got.Total) > 1e-9 {
				t.Fatalf("parts %+v do not add up", got)
			}
			numeric := testutil.NumGrad(func() float64 { return refPairLoss(x, fa, fb, tgt, B, l, extra, V, tc.reg) }, x, 1e-5)
			testutil.CheckGrad(t, "dL*/dlogits", testutil.To64(dl), numeric, 1e-3)
			if tc.reg.TrainOnA && tc.reg.Alpha > 0 {
				// Window B only enters through the misalignment term, at overlapping rows.
				var nonzero bool
				for _, g := range dl[B*l*V:] {
					nonzero = nonzero || g != 0
				}
				if !nonzero {
					t.Fatal("no gradient reaches window B")
				}
			}
		})
	}
}

// TestCrossEntropyIgnoresNegativeTargets: the loss is the mean over the
// rows whose target is not negative, and dlogits gains scale times its
// gradient there (checked against central differences) and nothing on the
// ignored rows; with every target ignored the loss is 0 and dlogits is
// left alone.
func TestCrossEntropyIgnoresNegativeTargets(t *testing.T) {
	const N, V, scale = 6, 5, 2.5
	r := rng.New(8)
	logits32 := testutil.Rand32(r, N*V, 2)
	tgt := []int32{3, -1, 0, 4, -1, 1}
	x := testutil.To64(logits32)
	ref := func() float64 {
		var sum float64
		for i, t := range tgt {
			if t >= 0 {
				sum -= logSoftmax64(x[i*V : (i+1)*V])[t]
			}
		}
		return sum / 4
	}
	var o Objective
	dl := make([]float32, N*V)
	for i := range dl {
		dl[i] = 0.5 // CrossEntropy adds to what is there
	}
	got := o.CrossEntropy(logits32, dl, tgt, N, V, scale)
	if want := ref(); math.Abs(got-want) > 1e-6*math.Max(1, want) {
		t.Fatalf("loss %.8g, mean over the 4 kept rows %.8g", got, want)
	}
	analytic := testutil.To64(dl)
	for i := range analytic {
		analytic[i] -= 0.5
	}
	numeric := testutil.NumGrad(ref, x, 1e-5)
	for i := range numeric {
		numeric[i] *= scale
	}
	testutil.CheckGrad(t, "scale × dCE/dlogits", analytic, numeric, 1e-3)
	for _, row := range []int{1, 4} {
		for _, g := range dl[row*V : (row+1)*V] {
			if g != 0.5 {
				t.Fatalf("ignored row %d: dlogits %v, want untouched", row, dl[row*V:(row+1)*V])
			}
		}
	}

	none := []int32{-1, -1, -1, -1, -1, -1}
	dl2 := make([]float32, N*V)
	if got := o.CrossEntropy(logits32, dl2, none, N, V, scale); got != 0 {
		t.Fatalf("every target ignored: loss %v, want 0", got)
	}
	for _, g := range dl2 {
		if g != 0 {
			t.Fatal("every target ignored: dlogits changed")
		}
	}
}
