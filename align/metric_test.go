package align

import (
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/model"
)

// lengthProbe is a model whose next-token distribution depends only on the
// input length: zero blocks and zero token embeddings leave the residual
// equal to the learned position row of the last position, which the final
// RMSNorm maps to (1,-1) or (1,1), and the head to logits [0, ln 3] or [0, 0].
// So p = [1/4, 3/4] for lengths in long and [1/2, 1/2] otherwise.
func lengthProbe(t *testing.T, maxSeq int, long map[int]bool) *model.Model {
	t.Helper()
	m, err := model.New(model.Config{Family: "llama", Vocab: 2, Dim: 2, Layers: 1, Heads: 1, Hidden: 1,
		MaxSeq: maxSeq, Pos: model.PosLearned, NormEps: 1e-12})
	if err != nil {
		t.Fatal(err)
	}
	p := m.Params
	pos := p.View("position_embd.weight")
	for l := 1; l <= maxSeq; l++ {
		pos[2*(l-1)] = 1
		pos[2*(l-1)+1] = 1
		if long[l] {
			pos[2*(l-1)+1] = -1
		}
	}
	copy(p.View("output_norm.weight"), []float32{1, 1})
	h := float32(math.Log(3) / 2)
	copy(p.View("output.weight"), []float32{0, 0, h, -h})
	return m
}

func TestMetricHandComputed(t *testing.T) {
	// Lengths 3..6 with l_train 6; lengths 5 and 6 see p = [1/4, 3/4], 3 and 4 see q = [1/2, 1/2].
	m := lengthProbe(t, 6, map[int]bool{5: true, 6: true})
	doc := []int32{0, 1, 1, 0, 1, 0, 0, 1, 1, 1}
	ln2, ln3 := math.Ln2, math.Log(3)
	hp := -(0.25*math.Log(0.25) + 0.75*math.Log(0.75)) // H([1/4, 3/4])
	// Hand values for (p, q): SCE = -sum p ln q - sum q ln p = ln 2 + (ln 4 + ln 4/3)/2;
	// SKL = sum (p-q)(ln p - ln q) = (ln 3)/4; JS = (KL(p||m) + KL(q||m))/2 with m = [3/8, 5/8].
	sceMixed := ln2 + 0.5*(math.Log(4)+math.Log(4.0/3))
	sklMixed := ln3 / 4
	kl := func(a, b [2]float64) float64 { return a[0]*math.Log(a[0]/b[0]) + a[1]*math.Log(a[1]/b[1]) }
	P, Q, M := [2]float64{0.25, 0.75}, [2]float64{0.5, 0.5}, [2]float64{0.375, 0.625}
	jsMixed := 0.5 * (kl(P, M) + kl(Q, M))
	for _, tc := range []struct {
		d                   kernels.Divergence
		bothLong, bothShort float64
		mixed               float64
	}{
		{kernels.SCE, 2 * hp, 2 * ln2, sceMixed},
		{kernels.SKL, 0, 0, sklMixed},
		{kernels.JS, 0, 0, jsMixed},
	} {
		res, samples, err := Misalignment(m, [][]int32{doc}, MetricOptions{Divergence: tc.d, Samples: 200, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		if res.LMin != 3 || res.LMax != 6 || res.LTrain != 6 || res.Eligible != len(doc)-6+1 {
			t.Fatalf("%v: range [%d, %d], l_train %d, eligible %d", tc.d, res.LMin, res.LMax, res.LTrain, res.Eligible)
		}
		var sum float64
		seen := map[bool]int{}
		for _, s := range samples {
			long1, long2 := s.L1 >= 5, s.L2 >= 5
			want := tc.mixed
			switch {
			case long1 && long2:
				want = tc.bothLong
			case !long1 && !long2:
				want = tc.bothShort
			}
			seen[long1 == long2]++
			if math.Abs(s.Value-want) > 2e-6 {
				t.Fatalf("%v: sample %+v: got %.7f, hand-computed %.7f", tc.d, s, s.Value, want)
			}
			sum += s.Value
		}
		if seen[true] == 0 || seen[false] == 0 {
			t.Fatalf("%v: the samples never mixed or never matched lengths: %v", tc.d, seen)
		}
		if got := sum / float64(len(samples)); math.Abs(res.Mean-got) > 1e-12 {
			t.Fatalf("%v: mean %g, samples average %g", tc.d, res.Mean, got)
		}
		if !(res.CI95[0] <= res.Mean && res.Mean <= res.CI95[1]) || res.Stderr <= 0 {
			t.Fatalf("%v: mean %g outside its interval %v (stderr %g)", tc.d, res.Mean, res.CI95, res.Stderr)
		}
	}
}

// randomModel is a small RoPE model with random weights.
func randomModel(t *testing.T, maxSeq int, seed uint64) *model.Model {
	t.Helper()
	m, err := model.NewInit(model.Config{Family: "llama", Vocab: 37, Dim: 16, Layers: 2, Heads: 4, KVHeads: 2,
		Hidden: 24, MaxSeq: maxSeq}, seed)
	if err != nil {
		t.Fatal(err)
	}
	// Larger weights than the 0.02 init so that context visibly moves the output.
	for i := range m.Params.Data {
		m.Params.Data[i] *= 25
	}
	return m
}

func randomDocs(seed uint64, V int, lens ...int) [][]int32 {
	r := rng.New(seed)
	docs := make([][]int32, len(lens))
	for d, n := range lens {
		docs[d] = make([]int32, n)
		for i := range docs[d] {
			docs[d][i] = int32(r.Intn(V))
		}
	}
	return docs
}

// lastLogits64 runs one plain forward pass on tokens and returns the
// log-softmax of its last position in float64.
func lastLogits64(t *testing.T, m *model.Model, tokens []int32) []float64 {
	t.Helper()
	if err := m.Forward(tokens, 1, len(tokens), model.ForwardOptions{}); err != nil {
		t.Fatal(err)
	}
	V := m.Config.Vocab
	return logSoftmax64(testutil.To64(m.Logits()[(len(tokens)-1)*V : len(tokens)*V]))
}

// divergence64 is the definition of each divergence on log-probabilities.
func divergence64(d kernels.Divergence, lp, lq []float64) float64 {
	var s float64
	for j := range lp {
		p, q := math.Exp(lp[j]), math.Exp(lq[j])
		switch d {
		case kernels.SCE:
			s += -p*lq[j] - q*lp[j]
		case kernels.SKL:
			s += (p - q) * (lp[j] - lq[j])
		case kernels.JS:
			m := (p + q) / 2
			s += 0.5 * (p*(lp[j]-math.Log(m)) + q*(lq[j]-math.Log(m)))
		}
	}
	return s
}

func TestMetricValuesMatchPlainForwardPasses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		scaling kernels.RopeScaling
		d       kernels.Divergence
	}{
		{"sce", kernels.RopeScaling{}, kernels.SCE},
		{"js-linear", kernels.RopeScaling{Type: "linear", Factor: 2}, kernels.JS},
		// Dynamic NTK depends on the sequence length: padding must not leak into it.
		{"skl-dynamic-ntk", kernels.RopeScaling{Type: "dynamic-ntk", Factor: 2, OrigCtx: 12}, kernels.SKL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, 24, 3)
			if err := m.SetRopeScaling(tc.scaling); err != nil {
				t.Fatal(err)
			}
			docs := randomDocs(5, m.Config.Vocab, 30, 10, 41) // the 10-token document is too short for l_max 24
			_, samples, err := Misalignment(m, docs, MetricOptions{Divergence: tc.d, Samples: 40, Seed: 11, MaxBatchTokens: 60})
			if err != nil {
				t.Fatal(err)
			}
			var spread float64
			for _, s := range samples {
				if s.Doc == 1 || s.End > len(docs[s.Doc]) || s.End < 24 || s.L1 < 12 || s.L1 > 24 || s.L2 < 12 || s.L2 > 24 {
					t.Fatalf("ineligible sample %+v", s)
				}
				doc := docs[s.Doc]
				want := divergence64(tc.d, lastLogits64(t, m, doc[s.End-s.L1:s.End]), lastLogits64(t, m, doc[s.End-s.L2:s.End]))
				if math.Abs(s.Value-want) > 1e-5*math.Max(1, math.Abs(want)) {
					t.Fatalf("sample %+v: got %.8g, two plain forward passes give %.8g", s, s.Value, want)
				}
				spread = math.Max(spread, want)
			}
			if tc.d != kernels.SCE && spread < 1e-4 {
				t.Fatalf("every divergence is ~0 (max %g): the test model does not depend on context", spread)
			}
		})
	}
}

func TestMetricIdenticalLengths(t *testing.T) {
	// With FracLo = FracHi both suffixes are the same sequence: SCE = H(p) + H(q) = 2H(p), SKL = JS = 0.
	m := randomModel(t, 16, 9)
	docs := randomDocs(2, m.Config.Vocab, 50)
	for _, d := range []kernels.Divergence{kernels.SCE, kernels.SKL, kernels.JS} {
		_, samples, err := Misalignment(m, docs, MetricOptions{Divergence: d, Samples: 12, Seed: 1, FracLo: 1, FracHi: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range samples {
			if s.L1 != 16 || s.L2 != 16 {
				t.Fatalf("lengths %d, %d; want 16, 16", s.L1, s.L2)
			}
			want := 0.0
			if d == kernels.SCE {
				lp := lastLogits64(t, m, docs[0][s.End-16:s.End])
				for _, v := range lp {
					want -= 2 * math.Exp(v) * v
				}
			}
			if math.Abs(s.Value-want) > 1e-5 {
				t.Fatalf("%v %+v: got %g, want %g", d, s, s.Value, want)
			}
		}
	}
}

func TestMetricDeterministic(t *testing.T) {
	m := randomModel(t, 20, 4)
	docs := randomDocs(8, m.Config.Vocab, 64, 33)
	run := func(seed uint64, batch int) ([]MetricSample, MetricResult) {
		res, s, err := Misalignment(m, docs, MetricOptions{Samples: 50, Seed: seed, MaxBatchTokens: batch})
		if err != nil {
			t.Fatal(err)
		}
		return s, res
	}
	a, ra := run(5, 0)
	b, rb := run(5, 20) // one suffix per forward pass
	c, _ := run(6, 0)
	same := 0
	for i := range a {
		if a[i].Doc != b[i].Doc || a[i].End != b[i].End || a[i].L1 != b[i].L1 || a[i].L2 != b[i].L2 {
			t.Fatalf("sample %d differs with the batch size: %+v vs %+v", i, a[i], b[i])
		}
		if math.Abs(a[i].Value-b[i].Value) > 1e-5 {
			t.Fatalf("sample %d value %g vs %g with the batch size", i, a[i].Value, b[i].Value)
		}
		if a[i] == c[i] {
			same++
		}
	}
	if same == len(a) {
		t.Fatal("seeds 5 and 6 drew the same samples")
	}
	if math.Abs(ra.CI95[0]-rb.CI95[0]) > 1e-5 || math.Abs(ra.CI95[1]-rb.CI95[1]) > 1e-5 {
		t.Fatalf("bootstrap intervals differ: %v vs %v", ra.CI95, rb.CI95)
	}
	var progress []int
	_, _, err := Misalignment(m, docs, MetricOptions{Samples: 70, Progress: func(done, total int, _ float64) {
		if total != 70 {
			t.Errorf("progress total %d, want 70", total)
		}
		progress = append(progress, done)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(progress) == 0 || progress[len(progress)-1] != 70 {
		t.Fatalf("progress calls %v do not end at 70", progress)
	}
}

func TestMetricEndsAreUniform(t *testing.T) {
	// Two documents with 3 and 1 eligible ends: each of the 4 ends has probability 1/4.
	m := lengthProbe(t, 4, nil)
	docs := [][]int32{{0, 1, 0, 1, 1, 0}, {1, 1, 1, 1}, {0, 1}}
	_, samples, err := Misalignment(m, docs, MetricOptions{Samples: 4000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	count := map[[2]int]int{}
	lens := map[int]int{}
	for _, s := range samples {
		count[[2]int{s.Doc, s.End}]++
		lens[s.L1]++
		lens[s.L2]++
	}
	for _, k := range [][2]int{{0, 4}, {0, 5}, {0, 6}, {1, 4}} {
		if n := count[k]; n < 850 || n > 1150 {
			t.Fatalf("end %v drawn %d times of 4000, want ~1000 (counts %v)", k, n, count)
		}
	}
	if len(count) != 4 {
		t.Fatalf("ends outside the eligible set: %v", count)
	}
	for l := 2; l <= 4; l++ {
		if n := lens[l]; n < 2400 || n > 2930 {
			t.Fatalf("length %d drawn %d times of 8000, want ~2667 (%v)", l, n, lens)
		}
	}
}

func TestMetricErrors(t *testing.T) {
	rope := randomModel(t, 16, 1)
	learned := lengthProbe(t, 8, nil)
	docs := randomDocs(1, 37, 40)
	for _, tc := range []struct {
		name string
		m    *model.Model
		docs [][]int32
		opt  MetricOptions
		want string
	}{
		{"short text", rope, randomDocs(1, 37, 15, 12), MetricOptions{}, "text too short"},
		{"no documents", rope, nil, MetricOptions{}, "no documents"},
		{"l_train beyond the context", rope, docs, MetricOptions{LTrain: 32}, "exceeds the model's training context 16"},
		{"learned positions", learned, docs, MetricOptions{LTrain: 9, Extrapolate: true}, "learned positions"},
		{"fractions", rope, docs, MetricOptions{FracLo: 0.8, FracHi: 0.5}, "fraction range"},
		{"bad divergence", rope, docs, MetricOptions{Divergence: 7}, "divergence"},
		{"no integer length", rope, docs, MetricOptions{LTrain: 3, FracLo: 0.4, FracHi: 0.6}, "no integer length"},
	} {
		_, _, err := Misalignment(tc.m, tc.docs, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	// A RoPE scaling of factor 2 allows twice the training context; extrapolation allows any.
	if err := rope.SetRopeScaling(kernels.RopeScaling{Type: "linear", Factor: 2}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Misalignment(rope, docs, MetricOptions{LTrain: 32, Samples: 2}); err != nil {
		t.Fatalf("l_train 32 with linear x2 scaling: %v", err)
	}
	if _, _, err := Misalignment(rope, docs, MetricOptions{LTrain: 33, Samples: 2}); err == nil {
		t.Fatal("l_train 33 beyond linear x2 of 16 was accepted")
	}
	if _, _, err := Misalignment(rope, docs, MetricOptions{LTrain: 33, Samples: 2, Extrapolate: true}); err != nil {
		t.Fatalf("extrapolation: %v", err)
	}
}

func TestMeanStderrAndQuantile(t *testing.T) {
	// 1..5: mean 3, sample variance 2.5, stderr sqrt(2.5/5) = sqrt(0.5).
	mean, se := MeanStderr([]float64{1, 2, 3, 4, 5})
	if mean != 3 || math.Abs(se-math.Sqrt(0.5)) > 1e-15 {
		t.Fatalf("MeanStderr = %g, %g; want 3, %g", mean, se, math.Sqrt(0.5))
	}
	if _, se := MeanStderr([]float64{4}); se != 0 {
		t.Fatalf("stderr of one value = %g", se)
	}
	// numpy.quantile([1, 2, 4, 8], 0.5) = 3, 0.25 -> 1.75, 1 -> 8.
	s := []float64{1, 2, 4, 8}
	for q, want := range map[float64]float64{0.5: 3, 0.25: 1.75, 1: 8, 0: 1} {
		if got := Quantile(s, q); math.Abs(got-want) > 1e-12 {
			t.Fatalf("Quantile(%v, %g) = %g, want %g", s, q, got, want)
		}
	}
	if ci := BootstrapMeanCI([]float64{2, 2, 2}, 0.95, 100, 1); ci != [2]float64{2, 2} {
		t.Fatalf("interval of constant data %v", ci)
	}
	// A large normal-ish sample: the bootstrap interval is about mean ± 1.96 stderr.
	r := rng.New(4)
	x := make([]float64, 2000)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	mean, se = MeanStderr(x)
	ci := BootstrapMeanCI(x, 0.95, 2000, 9)
	if math.Abs((ci[1]-ci[0])/(2*1.96*se)-1) > 0.1 || !(ci[0] < mean && mean < ci[1]) {
		t.Fatalf("interval %v around mean %g, stderr %g", ci, mean, se)
	}
}

func TestMetricMemoryDoesNotGrowWithSamples(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation inflates allocations")
	}
	// A large vocabulary makes each sample's two logit rows 2*V*4 = 32 KB:
	// keeping (or even allocating) them per sample would show up as tens of
	// KB per extra sample; what remains is the sample records and the
	// kernels' per-pass bookkeeping.
	m, err := model.NewInit(model.Config{Family: "llama", Vocab: 4096, Dim: 16, Layers: 1, Heads: 2, Hidden: 16, MaxSeq: 16}, 1)
	if err != nil {
		t.Fatal(err)
	}
	docs := randomDocs(3, 4096, 200)
	allocated := func(samples int) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, _, err := Misalignment(m, docs, MetricOptions{Samples: samples, Seed: 1}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	allocated(64) // warm the model's activation arena
	small, large := allocated(64), allocated(640)
	perSample := float64(large-small) / 576
	if perSample > 4096 {
		t.Fatalf("%.0f bytes allocated per extra sample (%d for 64 samples, %d for 640)", perSample, small, large)
	}
}
