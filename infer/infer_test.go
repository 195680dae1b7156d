package infer

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/model"
)

func TestValidate(t *testing.T) {
	for _, bad := range []Sampling{{Temperature: -1}, {Temperature: math.NaN()}, {Temperature: math.Inf(1)},
		{TopK: -1}, {TopP: -0.1}, {TopP: 1.5}, {TopP: math.NaN()}} {
		if _, err := NewSampler(bad, 0); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	for _, good := range []Sampling{{}, {Temperature: 0.7, TopK: 40, TopP: 0.95}, {Temperature: 2, TopP: 1}} {
		if _, err := NewSampler(good, 0); err != nil {
			t.Errorf("%+v: %v", good, err)
		}
	}
}

// logitsFor returns logits whose softmax at temperature 1 is p.
func logitsFor(p []float64) []float32 {
	l := make([]float32, len(p))
	for i, x := range p {
		l[i] = float32(math.Log(x))
	}
	return l
}

// frequencies draws n tokens and returns how often each id came up.
func frequencies(t *testing.T, opt Sampling, logits []float32, n int) []float64 {
	t.Helper()
	s, err := NewSampler(opt, 42)
	if err != nil {
		t.Fatal(err)
	}
	f := make([]float64, len(logits))
	for range n {
		f[s.Sample(logits)]++
	}
	for i := range f {
		f[i] /= float64(n)
	}
	return f
}

// checkFreq compares observed frequencies with expected probabilities; with
// 40000 draws the standard error of each is below 0.0025.
func checkFreq(t *testing.T, name string, got, want []float64) {
	t.Helper()
	for i := range want {
		if math.Abs(got[i]-want[i]) > 0.012 {
			t.Errorf("%s: token %d drawn with frequency %.4f, want %.4f (all %v)", name, i, got[i], want[i], got)
			return
		}
	}
}

func TestSamplingDistributions(t *testing.T) {
	p := []float64{0.5, 0.3, 0.15, 0.05}
	logits := logitsFor(p)
	const n = 40000
	checkFreq(t, "T=1", frequencies(t, Sampling{Temperature: 1}, logits, n), p)

	// T=2 flattens: probabilities proportional to sqrt(p).
	flat := make([]float64, len(p))
	sum := 0.0
	for i, x := range p {
		flat[i] = math.Sqrt(x)
		sum += flat[i]
	}
	for i := range flat {
		flat[i] /= sum
	}
	checkFreq(t, "T=2", frequencies(t, Sampling{Temperature: 2}, logits, n), flat)

	checkFreq(t, "top-k 2", frequencies(t, Sampling{Temperature: 1, TopK: 2}, logits, n), []float64{0.5 / 0.8, 0.3 / 0.8, 0, 0})
	// Nucleus 0.7: 0.5 alone falls short, 0.5+0.3 reaches it.
	checkFreq(t, "top-p 0.7", frequencies(t, Sampling{Temperature: 1, TopP: 0.7}, logits, n), []float64{0.5 / 0.8, 0.3 / 0.8, 0, 0})
	checkFreq(t, "top-p 0.9", frequencies(t, Sampling{Temperature: 1, TopP: 0.9}, logits, n), []float64{0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0})
	checkFreq(t, "top-k 3 then top-p 0.5", frequencies(t, Sampling{Temperature: 1, TopK: 3, TopP: 0.5}, logits, n), []float64{1, 0, 0, 0})
	checkFreq(t, "top-k 1", frequencies(t, Sampling{Temperature: 5, TopK: 1}, logits, 100), []float64{1, 0, 0, 0})
}

// TestNucleusFlatTinyP covers a nucleus smaller than one candidate's share
// (p < 1/n): llama2.c's cut (1-p)/(n-1) of the total is then above every
// probability of a flat distribution, and the most probable token alone
// must remain (on a tie, the lowest id, as Argmax picks).
func TestNucleusFlatTinyP(t *testing.T) {
	flat := make([]float32, 512)
	checkFreq(t, "flat, top-p 1e-4", frequencies(t, Sampling{Temperature: 1, TopP: 1e-4}, flat, 50), oneHot(512, 0))

	// The reported case: a huge temperature flattens real logits almost
	// (but not exactly) to uniform; the largest logit still wins.
	logits := make([]float32, 512)
	for i := range logits {
		logits[i] = float32(i%7) * 0.25
	}
	logits[300] = 3
	checkFreq(t, "T=1e6, top-p 1e-4", frequencies(t, Sampling{Temperature: 1e6, TopP: 1e-4}, logits, 50), oneHot(512, 300))
}

func oneHot(n, i int) []float64 {
	v := make([]float64, n)
	v[i] = 1
	return v
}

// TestTopKLargeVocab checks the heap selection on a vocabulary with ties:
// top-k 3 keeps the two largest logits and, of the many equal ones left,
// the lowest id.
func TestTopKLargeVocab(t *testing.T) {
	logits := make([]float32, 1000)
	logits[700], logits[900] = 5, 5
	got := frequencies(t, Sampling{Temperature: 1, TopK: 3}, logits, 20000)
	for i, f := range got {
		keep := i == 700 || i == 900 || i == 0
		if keep != (f > 0) {
			t.Fatalf("token %d drawn with frequency %v", i, f)
		}
	}
}

func TestSeedFixesSequence(t *testing.T) {
	logits := logitsFor([]float64{0.2, 0.2, 0.2, 0.2, 0.2})
	draw := func(seed uint64) []int32 {
		s, err := NewSampler(Sampling{Temperature: 1, TopP: 0.95}, seed)
		if err != nil {
			t.Fatal(err)
		}
		var out []int32
		for range 50 {
			out = append(out, s.Sample(logits))
		}
		return out
	}
	if a, b := draw(1), draw(1); !slices.Equal(a, b) {
		t.Fatalf("same seed, different draws:\n%v\n%v", a, b)
	}
	if a, b := draw(1), draw(2); slices.Equal(a, b) {
		t.Fatalf("seeds 1 and 2 drew the same 50 tokens")
	}
}

func testModel(t *testing.T) *model.Model {
	t.Helper()
	m, err := model.NewInit(model.Config{Family: "llama", Vocab: 41, Dim: 32, Layers: 2, Heads: 4, KVHeads: 2,
		Hidden: 48, MaxSeq: 64}, 11)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Params.Data { // sharper logits than the 0.02 init
		m.Params.Data[i] *= 30
	}
	return m
}

// TestGreedyMatchesForward checks the cached loop against the plain forward
// pass: each greedy token is the argmax of Forward's logits on everything
// before it.
func TestGreedyMatchesForward(t *testing.T) {
	m := testModel(t)
	prompt := []int32{1, 7, 3}
	var streamed []int32
	res, err := Generate(m, prompt, Options{Steps: 12, OnToken: func(id int32) error {
		streamed = append(streamed, id)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tokens) != 12 || res.Stopped {
		t.Fatalf("%d tokens, stopped %v", len(res.Tokens), res.Stopped)
	}
	if !slices.Equal(streamed, res.Tokens) {
		t.Fatalf("streamed %v, returned %v", streamed, res.Tokens)
	}
	seq := slices.Clone(prompt)
	for i, tok := range res.Tokens {
		if err := m.Forward(seq, 1, len(seq), model.ForwardOptions{}); err != nil {
			t.Fatal(err)
		}
		V := m.Config.Vocab
		if want := kernels.Argmax(m.Logits()[(len(seq)-1)*V:]); want != tok {
			t.Fatalf("token %d: generated %d, Forward's argmax %d", i, tok, want)
		}
		seq = append(seq, tok)
	}
	if res.PrefillTokens != 3 || res.DecodeTokens != 11 {
		t.Errorf("prefill %d, decode %d tokens; want 3 and 11", res.PrefillTokens, res.DecodeTokens)
	}
}

func TestGenerateStopsAndSeeds(t *testing.T) {
	m := testModel(t)
	full, err := Generate(m, []int32{1}, Options{Steps: 10})
	if err != nil {
		t.Fatal(err)
	}
	stop := full.Tokens[4]
	first := slices.Index(full.Tokens, stop)
	res, err := Generate(m, []int32{1}, Options{Steps: 10, Stop: []int32{stop}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Stopped || !slices.Equal(res.Tokens, full.Tokens[:first]) {
		t.Fatalf("stop at %d: got %v (stopped %v), want %v", stop, res.Tokens, res.Stopped, full.Tokens[:first])
	}

	opt := Options{Steps: 20, Sampling: Sampling{Temperature: 1.5, TopK: 20, TopP: 0.9}, Seed: 5}
	a, _ := Generate(m, []int32{1}, opt)
	b, _ := Generate(m, []int32{1}, opt)
	opt.Seed = 6
	c, _ := Generate(m, []int32{1}, opt)
	if !slices.Equal(a.Tokens, b.Tokens) || slices.Equal(a.Tokens, c.Tokens) {
		t.Fatalf("seed 5 twice: %v / %v; seed 6: %v", a.Tokens, b.Tokens, c.Tokens)
	}
}

func TestGenerateErrors(t *testing.T) {
	m := testModel(t)
	if _, err := Generate(m, nil, Options{Steps: 3}); err == nil {
		t.Error("empty prompt: no error")
	}
	if _, err := Generate(m, []int32{1}, Options{Steps: -1}); err == nil {
		t.Error("negative steps: no error")
	}
	if _, err := Generate(m, []int32{99}, Options{Steps: 2}); err == nil {
		t.Error("token outside the vocabulary: no error")
	}
	if _, err := Generate(m, []int32{1}, Options{Steps: 2, Sampling: Sampling{TopP: 2}}); err == nil {
		t.Error("bad sampling: no error")
	}
	boom := errors.New("boom")
	if _, err := Generate(m, []int32{1}, Options{Steps: 5, OnToken: func(int32) error { return boom }}); !errors.Is(err, boom) {
		t.Errorf("OnToken error: got %v", err)
	}
	if res, err := Generate(m, []int32{1}, Options{}); err != nil || len(res.Tokens) != 0 {
		t.Errorf("zero steps: %v, %v", res.Tokens, err)
	}
}
