package eval

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/model"
)

func tinyModel(t *testing.T, seed uint64) *model.Model {
	t.Helper()
	m, err := model.NewInit(model.Config{Family: "llama", Vocab: 29, Dim: 16, Layers: 2, Heads: 4, KVHeads: 2,
		Hidden: 24, MaxSeq: 16}, seed)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Params.Data {
		m.Params.Data[i] *= 20 // sharper distributions than the 0.02 init
	}
	return m
}

func randomTokens(seed uint64, V int, lens ...int) [][]int32 {
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

// nllAt runs one plain forward pass on window and returns -log p(window[j+1] | window[:j+1]).
func nllAt(t *testing.T, m *model.Model, window []int32, j int) float64 {
	t.Helper()
	if err := m.Forward(window, 1, len(window), model.ForwardOptions{}); err != nil {
		t.Fatal(err)
	}
	V := m.Config.Vocab
	row := m.Logits()[j*V : (j+1)*V]
	mx := math.Inf(-1)
	for _, v := range row {
		mx = math.Max(mx, float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(s) - float64(row[window[j+1]])
}

// brutePPL scores by the conventions' definitions, one window and one
// prediction at a time: the windows of each document start at 0, step,
// 2*step, ... while they fit, and positions first..N-2 are scored.
func brutePPL(t *testing.T, m *model.Model, docs [][]int32, N, step, first int, bos int32) []float64 {
	var nll []float64
	for _, doc := range docs {
		for s := 0; s+N <= len(doc); s += step {
			w := append([]int32(nil), doc[s:s+N]...)
			if bos >= 0 {
				w[0] = bos
			}
			for j := first; j <= N-2; j++ {
				nll = append(nll, nllAt(t, m, w, j))
			}
		}
	}
	return nll
}

func TestPerplexityConventionsMatchBruteForce(t *testing.T) {
	m := tinyModel(t, 2)
	docs := randomTokens(3, m.Config.Vocab, 50, 7, 33) // the 7-token document holds no window
	const N = 12
	for _, tc := range []struct {
		opt         PPLOptions
		step, first int
		bos         int32
		windows     int
	}{
		{PPLOptions{Ctx: N, Convention: Full}, N, 0, -1, 4 + 0 + 2},
		{PPLOptions{Ctx: N, Convention: Half, ReplaceFirst: true, BOS: 5}, N, N / 2, 5, 4 + 0 + 2},
		{PPLOptions{Ctx: N, Convention: Half, BOS: 5}, N, N / 2, -1, 6},
		{PPLOptions{Ctx: N, Convention: Stride, Stride: 4}, 4, N - 1 - 4, -1, 10 + 0 + 6},
		{PPLOptions{Ctx: N, Convention: Stride}, N / 2, N - 1 - N/2, -1, 7 + 0 + 4},
		{PPLOptions{Ctx: N, Convention: Stride, Stride: N - 1, MaxBatchTokens: 1}, N - 1, 0, -1, 4 + 0 + 2},
	} {
		name := tc.opt.Convention
		for _, batch := range []int{tc.opt.MaxBatchTokens, 3 * N} {
			opt := tc.opt
			opt.MaxBatchTokens = batch
			got, err := Perplexity(m, docs, opt)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			nll := brutePPL(t, m, docs, N, tc.step, tc.first, tc.bos)
			var sum, sum2 float64
			for _, v := range nll {
				sum += v
				sum2 += v * v
			}
			n := float64(len(nll))
			mean := sum / n
			// llama.cpp: sqrt((mean(nll^2) - mean^2) / (count - 1)).
			se := math.Sqrt((sum2/n - mean*mean) / (n - 1))
			if got.Windows != tc.windows || got.Tokens != len(nll) {
				t.Fatalf("%s %+v: %d windows, %d tokens; want %d, %d", name, opt, got.Windows, got.Tokens, tc.windows, len(nll))
			}
			if math.Abs(got.NLL-mean) > 1e-5*mean || math.Abs(got.PPL-math.Exp(mean)) > 1e-5*math.Exp(mean) {
				t.Fatalf("%s %+v: nll %g ppl %g, brute force %g %g", name, opt, got.NLL, got.PPL, mean, math.Exp(mean))
			}
			if math.Abs(got.Stderr-se) > 1e-4*se || math.Abs(got.PPLStderr-se*got.PPL) > 1e-4*se*got.PPL {
				t.Fatalf("%s: stderr %g (ppl ± %g), want %g", name, got.Stderr, got.PPLStderr, se)
			}
		}
	}
}

func TestPerplexityHalfReplacesFirstToken(t *testing.T) {
	// With BOS replacement only the first token changes, so the result differs from keeping it.
	m := tinyModel(t, 5)
	docs := randomTokens(4, m.Config.Vocab, 40)
	a, err := Perplexity(m, docs, PPLOptions{Ctx: 10, Convention: Half, ReplaceFirst: true, BOS: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Perplexity(m, docs, PPLOptions{Ctx: 10, Convention: Half})
	if err != nil {
		t.Fatal(err)
	}
	if a.NLL == b.NLL {
		t.Fatal("replacing the first token by BOS changed nothing")
	}
}

func TestPerplexityErrors(t *testing.T) {
	m := tinyModel(t, 1)
	docs := randomTokens(1, m.Config.Vocab, 20)
	for _, tc := range []struct {
		opt  PPLOptions
		want string
	}{
		{PPLOptions{Ctx: 21}, "text too short"},
		{PPLOptions{Ctx: 8, Convention: "thirds"}, "unknown convention"},
		{PPLOptions{Ctx: 8, Convention: Stride, Stride: 8}, "stride 8 must be in [1, 7]"},
		{PPLOptions{Ctx: 1}, "at least 2"},
		{PPLOptions{Ctx: 2, Convention: Half}, "nothing to score"},
		{PPLOptions{Ctx: 8, Convention: Half, ReplaceFirst: true, BOS: 29}, "outside the vocabulary"},
	} {
		_, err := Perplexity(m, docs, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want an error containing %q", tc.opt, err, tc.want)
		}
	}
}

func TestPerplexityPerPositionAndChunks(t *testing.T) {
	m := tinyModel(t, 3)
	docs := randomTokens(6, m.Config.Vocab, 60, 25)
	const N = 12
	got, err := Perplexity(m, docs, PPLOptions{Ctx: N, Convention: Half, PerPosition: true, Chunks: 5, MaxBatchTokens: 2 * N})
	if err != nil {
		t.Fatal(err)
	}
	// Five windows: all 5 of the first document (60 tokens), none of the second.
	nll := brutePPL(t, m, docs[:1], N, N, N/2, -1)
	if got.Windows != 5 || got.Tokens != len(nll) || len(got.PerPosition) != N-1-N/2 {
		t.Fatalf("%d windows, %d tokens, %d positions", got.Windows, got.Tokens, len(got.PerPosition))
	}
	per := N - 1 - N/2
	for j, p := range got.PerPosition {
		var sum, sum2 float64
		for w := range 5 {
			v := nll[w*per+j]
			sum += v
			sum2 += v * v
		}
		mean := sum / 5
		se := math.Sqrt((sum2/5 - mean*mean) / 4)
		if p.Pos != N/2+j || p.Tokens != 5 || math.Abs(p.NLL-mean) > 1e-5*mean || math.Abs(p.Stderr-se) > 1e-4*se {
			t.Fatalf("position %d: %+v, brute force nll %g ± %g", j, p, mean, se)
		}
	}
	if _, err := Perplexity(m, docs, PPLOptions{Ctx: N, Chunks: -1}); err == nil {
		t.Error("negative chunks accepted")
	}
	if r, _ := Perplexity(m, docs, PPLOptions{Ctx: N}); r.PerPosition != nil {
		t.Error("per-position NLL computed without being asked for")
	}
}

func TestLimitTokens(t *testing.T) {
	docs := [][]int32{{1, 2, 3}, {4, 5}, {6}}
	for _, tc := range []struct {
		n    int
		want [][]int32
	}{
		{0, docs}, {2, [][]int32{{1, 2}}}, {3, [][]int32{{1, 2, 3}}}, {4, [][]int32{{1, 2, 3}, {4}}}, {100, docs},
	} {
		if got := LimitTokens(docs, tc.n); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("LimitTokens(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}
