package train

import (
	"math"
	"testing"

	"github.com/lsalign/lsalign/align"
	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
	"github.com/lsalign/lsalign/model"
)

// refPairLoss is an independent float64 L* over the logits [2B, l, V] of
// PairWindows' layout: mean cross-entropy over the rows that train, plus
// alpha × the mean SCE(p_A, p_B) over the compared positions. frozenA and
// frozenB, when not nil, replace that side's logits inside the SCE term
// (what a stop-gradient means).
func refPairLoss(logits, frozenA, frozenB []float64, tgt []int32, B, l, extra, V int, reg align.Regularizer) float64 {
	logSoftmax := func(row []float64) []float64 {
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
	rows := 2 * B * l
	if reg.TrainOnA {
		rows = B * l
	}
	var ce float64
	for i := range rows {
		ce -= logSoftmax(logits[i*V : (i+1)*V])[tgt[i]]
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
		return logSoftmax(src[row*V : (row+1)*V])
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
		reg  align.Regularizer
	}{
		{"overlap", align.Regularizer{Alpha: 0.3}},
		{"last", align.Regularizer{Alpha: 0.7, Positions: "last"}},
		{"train-on-a", align.Regularizer{Alpha: 0.3, TrainOnA: true}},
		{"stop-grad-a", align.Regularizer{Alpha: 0.5, StopGrad: "a"}},
		{"stop-grad-b", align.Regularizer{Alpha: 0.5, StopGrad: "b"}},
		{"alpha-0", align.Regularizer{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rng.New(3)
			logits32 := testutil.Rand32(r, 2*B*l*V, 2)
			tgt := make([]int32, 2*B*l)
			for i := range tgt {
				tgt[i] = int32(r.Intn(V))
			}
			o := align.Objective{Reg: tc.reg}
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

// TestStepPairGradientThroughModel checks the gradient that StepPair hands
// the optimizer, for every parameter tensor of a small model, against
// central differences of the float32 forward pass and Objective.Pair: the
// whole regularized objective through both windows.
func TestStepPairGradientThroughModel(t *testing.T) {
	cfg := model.Config{Family: "llama", Vocab: 11, Dim: 8, Layers: 2, Heads: 2, KVHeads: 1, Hidden: 12, MaxSeq: 6}
	m, err := model.NewInit(cfg, 9)
	if err != nil {
		t.Fatal(err)
	}
	r := rng.New(4)
	for i := range m.Params.Data { // larger weights so that every path matters
		m.Params.Data[i] = m.Params.Data[i]*3 + float32(0.05*r.NormFloat64())
	}
	const B, l, extra = 2, 6, 2
	seqs := make([]int32, B*(l+extra+1))
	for i := range seqs {
		seqs[i] = int32(r.Intn(cfg.Vocab))
	}
	reg := align.Regularizer{Alpha: 0.5}
	st := NewStepper(m, 0)
	st.Obj.Reg = reg
	before := append([]float32(nil), m.Params.Data...)
	if _, err := st.StepPair(seqs, B, l, extra, 0); err != nil { // lr 0: gradients only
		t.Fatal(err)
	}
	for i, v := range m.Params.Data {
		if v != before[i] {
			t.Fatalf("lr 0 changed parameter %d", i)
		}
	}
	inp, tgt := align.PairWindows(seqs, B, l, extra)
	obj := align.Objective{Reg: reg}
	loss := func() float64 {
		if err := m.Forward(inp, 2*B, l, model.ForwardOptions{}); err != nil {
			t.Fatal(err)
		}
		return obj.Pair(m.Logits(), nil, tgt, B, l, extra, cfg.Vocab).Total
	}
	for _, ti := range m.Params.Layout.Tensors {
		g := m.Grads.View(ti.Name)
		p := m.Params.View(ti.Name)
		for k := 0; k < 6 && k < len(p); k++ {
			i := (k * 7919) % len(p)
			orig := p[i]
			h := float32(5e-4)
			p[i] = orig + h
			fp := loss()
			p[i] = orig - h
			fm := loss()
			p[i] = orig
			num := (fp - fm) / float64(2*h)
			if d := math.Abs(float64(g[i]) - num); d > 0.03*math.Abs(num)+5e-3 {
				t.Errorf("%s[%d]: analytic %.6g, numeric %.6g", ti.Name, i, g[i], num)
			}
		}
	}
}
