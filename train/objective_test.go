package train

import (
	"math"
	"testing"

	"github.com/lsalign/lsalign/align"
	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/model"
)

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
