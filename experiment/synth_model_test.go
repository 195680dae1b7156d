package experiment

import (
	"math"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/synth"
)

// uniformMeanModel builds by hand a one-layer NoPE model whose scalar head
// outputs the mean of the bits it has seen, at any length:
//
//   - embeddings: bit b -> (K, b, 0, 0). The constant channel K dominates
//     every RMSNorm, so each norm divides by K/2 up to a relative
//     (b^2 + m^2)/K^2 <= 2e-6 and the ratio between channels survives.
//   - attention: Wq = 0, so every score is 0 and causal softmax is uniform
//     over the prefix; Wv copies the bit channel (rescaled by K/2 to undo
//     the norm) into channel 2; Wo is the identity. Channel 2 of the
//     residual at position t is then the mean of the bits 0..t.
//   - MLP: all zero, adds nothing.
//   - head: reads channel 2 times K/2, undoing the final norm.
func uniformMeanModel(t *testing.T) *model.Model {
	t.Helper()
	const K = 1000
	m, err := model.New(model.Config{Family: "llama", Vocab: 2, Dim: 4, Layers: 1, Heads: 1, KVHeads: 1,
		Hidden: 4, MaxSeq: 8, Pos: model.PosNoPE, Head: model.HeadScalar})
	if err != nil {
		t.Fatal(err)
	}
	p := m.Params
	p.Zero()
	copy(p.View("token_embd.weight"), []float32{K, 0, 0, 0, K, 1, 0, 0})
	for _, name := range []string{"blk.0.attn_norm.weight", "blk.0.ffn_norm.weight", "output_norm.weight"} {
		copy(p.View(name), []float32{1, 1, 1, 1})
	}
	p.View("blk.0.attn_v.weight")[2*4+1] = K / 2 // v[2] = (K/2) * normed bit channel
	wo := p.View("blk.0.attn_output.weight")
	for i := range 4 {
		wo[i*4+i] = 1
	}
	p.View("output_scalar.weight")[2] = K / 2
	return m
}

func TestUniformAttentionNoPEComputesPrefixMean(t *testing.T) {
	m := uniformMeanModel(t)
	task, _ := synth.TaskByName("mean")
	r := rng.New(5)
	worst := 0.0
	for l := 1; l <= 200; l += 1 + l/20 {
		// a right-padded batch: one sequence of length l and one of length l/2+1
		B, T := 2, l
		tokens := make([]int32, B*T)
		task.Fill(tokens[:l], r)
		short := l/2 + 1
		task.Fill(tokens[T:T+short], r)
		lens := []int{l, short}
		for _, train := range []bool{false, true} {
			if err := m.Forward(tokens, B, T, model.ForwardOptions{Train: train, Lens: lens}); err != nil {
				t.Fatal(err)
			}
			for b, n := range lens {
				want := task.Target(tokens[b*T : b*T+n])
				got := float64(m.Scalars()[b])
				worst = max(worst, math.Abs(got-want))
				if math.Abs(got-want) > 1e-5 {
					t.Fatalf("length %d (train %v): output %.7f, prefix mean %.7f", n, train, got, want)
				}
			}
		}
	}
	t.Logf("largest error over lengths 1..200: %.2g", worst)
}

func TestSynthEvalOfExactMeanModel(t *testing.T) {
	o := DefaultSynthOptions()
	o.TestLengths = synth.Lengths{Min: 1, Max: 200}
	o.EvalSamples = 150 // two passes, the second partial
	rows, _, err := evalSynth(o, SynthCombo{Task: "mean", PE: model.PosNoPE, Reparam: synth.Identity, Seed: 1}, uniformMeanModel(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 200 {
		t.Fatalf("%d rows for 200 lengths", len(rows))
	}
	for i, row := range rows {
		if row.Length != i+1 || row.MSE > 1e-10 || row.MSE != row.MSEFSpace {
			t.Fatalf("row %+v: want length %d, MSE below 1e-10 and equal in both spaces", row, i+1)
		}
	}
}

// A trained model's outputs vary with position; random weights of a
// larger scale stand in for that.
func randomScalarModel(t *testing.T, pe string, vocab int, seed uint64) *model.Model {
	t.Helper()
	o := DefaultSynthOptions()
	o.Model = SynthModel{Layers: 2, Dim: 16, Heads: 2, Hidden: 24}
	cfg := o.modelConfig(pe, vocab)
	m, err := model.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	model.InitParams(m.Params, m.Config, rng.New(seed), 0.3)
	m.Params.View("output_scalar.bias")[0] = 0.7
	return m
}

func TestSynthPrefixEvalMatchesPerLength(t *testing.T) {
	const T = 50
	for _, pe := range synthPEs() {
		m := randomScalarModel(t, pe, 2, 3)
		twin, bias, err := prefixTwin(m)
		if err != nil {
			t.Fatal(err)
		}
		seq := make([]int32, T)
		synth.Tasks()[0].Fill(seq, rng.New(11))
		if err := twin.Forward(seq, 1, T, model.ForwardOptions{}); err != nil {
			t.Fatal(err)
		}
		logits := append([]float32(nil), twin.Logits()...)
		spread := 0.0
		for l := 1; l <= T; l++ {
			if err := m.Forward(seq[:l], 1, l, model.ForwardOptions{}); err != nil {
				t.Fatal(err)
			}
			alone := float64(m.Scalars()[0])
			prefix := float64(logits[(l-1)*2] + bias)
			spread = max(spread, math.Abs(alone-float64(logits[0]+bias)))
			if math.Abs(alone-prefix) > 1e-5*max(1, math.Abs(alone)) {
				t.Fatalf("pe %s length %d: prefix evaluation %.7g, the prefix alone %.7g", pe, l, prefix, alone)
			}
		}
		if spread < 1e-3 {
			t.Errorf("pe %s: outputs barely vary with length (%.2g), the check is too weak", pe, spread)
		}
	}
}

func TestSynthGroupedGradients(t *testing.T) {
	o := DefaultSynthOptions()
	o.Model = SynthModel{Layers: 2, Dim: 16, Heads: 2, Hidden: 24}
	for _, pe := range []string{model.PosRoPE, model.PosLearned} {
		s, err := newSynthTrainer(o, SynthCombo{Task: "length", PE: pe, Reparam: "log", Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		model.InitParams(s.model.Params, s.model.Config, rng.New(2), 0.2)
		var b synth.Batch
		s.task.Sample(&b, 24, o.TrainLengths, rng.New(9))
		loss, err := s.gradients(&b)
		if err != nil {
			t.Fatal(err)
		}
		grouped := append([]float32(nil), s.model.Grads.Data...)

		// One right-padded pass reading position Lens[b]-1 of each row.
		m := s.model
		m.ZeroGrad()
		if err := m.Forward(b.Tokens, b.B, b.T, model.ForwardOptions{Train: true, Lens: b.Lens}); err != nil {
			t.Fatal(err)
		}
		target, dloss, dpred, losses := make([]float32, b.B), make([]float32, b.B), make([]float32, b.B), make([]float32, b.B)
		for i, y := range b.Targets {
			target[i], dloss[i] = float32(math.Log(y)), 1/float32(b.B)
		}
		kernels.MSEForward(losses, m.Scalars(), target, b.B)
		kernels.MSEBackward(dpred, dloss, m.Scalars(), target, b.B)
		if err := m.BackwardScalar(dpred); err != nil {
			t.Fatal(err)
		}
		var padLoss, scale, diff float64
		for _, v := range losses {
			padLoss += float64(v) / float64(b.B)
		}
		for i, g := range m.Grads.Data {
			scale = max(scale, math.Abs(float64(g)))
			diff = max(diff, math.Abs(float64(g-grouped[i])))
		}
		if math.Abs(loss-padLoss) > 1e-5*padLoss || diff > 1e-4*scale || scale == 0 {
			t.Errorf("pe %s: grouped loss %.6g vs padded %.6g; gradient max diff %.3g of max %.3g", pe, loss, padLoss, diff, scale)
		}
	}
}

func TestSynthEvalSpacesOfConstantModel(t *testing.T) {
	// A model with every weight zero outputs its head bias c at every
	// position, so the errors at length l are known in closed form:
	// f-space (c - ln l)^2 and length space (e^c - l)^2 for log, and
	// (c - l)^2 in both spaces for the identity.
	const c = 2.0
	o := DefaultSynthOptions()
	o.TestLengths = synth.Lengths{Min: 3, Max: 12}
	o.EvalSamples = 10
	for _, rp := range []string{"log", synth.Identity} {
		m := randomScalarModel(t, model.PosRoPE, 2, 1)
		m.Params.Zero()
		for _, tn := range m.Params.Layout.Tensors {
			if strings.HasSuffix(tn.Name, "norm.weight") {
				for i := range m.Params.View(tn.Name) {
					m.Params.View(tn.Name)[i] = 1
				}
			}
		}
		m.Params.View("output_scalar.bias")[0] = c
		rows, _, err := evalSynth(o, SynthCombo{Task: "length", PE: model.PosRoPE, Reparam: rp, Seed: 1}, m)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 10 || rows[0].Length != 3 || rows[9].Length != 12 {
			t.Fatalf("%s: rows cover lengths %d..%d", rp, rows[0].Length, rows[len(rows)-1].Length)
		}
		for _, row := range rows {
			l := float64(row.Length)
			wantF, want := (c-l)*(c-l), (c-l)*(c-l)
			if rp == "log" {
				wantF, want = (c-math.Log(l))*(c-math.Log(l)), (math.Exp(c)-l)*(math.Exp(c)-l)
			}
			if math.Abs(row.MSEFSpace-wantF) > 1e-9*max(1, wantF) || math.Abs(row.MSE-want) > 1e-6*max(1, want) {
				t.Errorf("%s length %d: mse %.9g (want %.9g), mse_fspace %.9g (want %.9g)", rp, row.Length, row.MSE, want, row.MSEFSpace, wantF)
			}
		}
	}

	// An inv-sqrt output of -0.5 means "longer than anything": every
	// prediction reads as the cap, 1e6.
	m := randomScalarModel(t, model.PosNoPE, 2, 1)
	m.Params.Zero()
	m.Params.View("output_scalar.bias")[0] = -0.5
	rows, capped, err := evalSynth(o, SynthCombo{Task: "length", PE: model.PosNoPE, Reparam: "inv-sqrt", Seed: 1}, m)
	if err != nil {
		t.Fatal(err)
	}
	if capped != 10*10 {
		t.Errorf("%d capped predictions, want all 100", capped)
	}
	if l := float64(rows[0].Length); math.Abs(rows[0].MSE-(1e6-l)*(1e6-l)) > 1 {
		t.Errorf("capped MSE %g, want (1e6 - %g)^2", rows[0].MSE, l)
	}
}
