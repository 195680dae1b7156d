package eval

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
)

// byteModel is a random model over the byte vocabulary (258 tokens).
func byteModel(t *testing.T, seed uint64) *model.Model {
	t.Helper()
	m, err := model.NewInit(model.Config{Family: "llama", Vocab: 258, Dim: 16, Layers: 2, Heads: 2, Hidden: 32, MaxSeq: 64}, seed)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Params.Data {
		m.Params.Data[i] *= 30
	}
	return m
}

// bruteGreedy re-runs the whole sequence for every new token.
func bruteGreedy(t *testing.T, m *model.Model, prompt []int32, n int) []int32 {
	t.Helper()
	seq := slices.Clone(prompt)
	V := m.Config.Vocab
	for range n {
		if err := m.Forward(seq, 1, len(seq), model.ForwardOptions{}); err != nil {
			t.Fatal(err)
		}
		row := m.Logits()[(len(seq)-1)*V : len(seq)*V]
		best := 0
		for i, v := range row {
			if v > row[best] {
				best = i
			}
		}
		seq = append(seq, int32(best))
	}
	return seq[len(prompt):]
}

func TestGreedyMatchesFullForwardPasses(t *testing.T) {
	m := byteModel(t, 3)
	dec := &greedyDecoder{m: m}
	r := rng.New(5)
	for _, n := range []int{5, 30, 12} { // the cache grows, then is reused
		prompt := make([]int32, n)
		for i := range prompt {
			prompt[i] = int32(r.Intn(256))
		}
		want := bruteGreedy(t, m, prompt, 8)
		got, err := dec.decode(prompt, 8, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("prompt of %d: KV-cache greedy %v, full passes %v", n, got, want)
		}
		// A stop token ends before it; done ends after the token that decides.
		got, _ = dec.decode(prompt, 8, func(id int32) bool { return id == want[3] }, nil)
		if k := slices.Index(want, want[3]); !slices.Equal(got, want[:k]) {
			t.Fatalf("stop at %d: got %v from %v", want[3], got, want)
		}
		got, _ = dec.decode(prompt, 8, nil, func(ids []int32) bool { return len(ids) == 2 })
		if !slices.Equal(got, want[:2]) {
			t.Fatalf("done after 2: got %v", got)
		}
	}
}

func TestRunGrid(t *testing.T) {
	m := byteModel(t, 8)
	tok, err := tokenizer.New(tokenizer.ByteVocab())
	if err != nil {
		t.Fatal(err)
	}
	// Each case is random bytes; even trials expect the model's own greedy
	// continuation (correct), odd ones something else (wrong).
	build := func(tok *tokenizer.Tokenizer, length int, depth float64, trial int, r *rng.RNG) (Case, error) {
		prompt := []int32{tok.BOS()}
		for len(prompt) < length {
			prompt = append(prompt, int32(r.Intn(256)))
		}
		want := strings.ToValidUTF8(tok.Decode(bruteGreedy(t, m, prompt, 4)), "\uFFFD") // outputs are valid UTF-8
		if trial%2 == 1 {
			want = "not " + want
		}
		return Case{Task: "toy", Prompt: prompt, Answer: want, MaxNew: 4, Score: func(out string) bool { return out == want }}, nil
	}
	var calls []int
	opt := GridOptions{Lengths: []int{8, 20}, Depths: []float64{0, 0.5, 1}, Trials: 2, Seed: 1,
		Progress: func(done, total int) { calls = append(calls, done*100+total) }}
	res, err := RunGrid(m, tok, opt, build)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accuracy != 0.5 || len(res.Cells) != 6 || len(res.Trials) != 12 || len(calls) != 12 || calls[11] != 1212 {
		t.Fatalf("accuracy %g, %d cells, %d trials, progress %v", res.Accuracy, len(res.Cells), len(res.Trials), calls)
	}
	for i, l := range opt.Lengths {
		for j, d := range opt.Depths {
			c := res.Cell(i, j)
			if c.Length != l || c.Depth != d || c.Correct != 1 || c.Trials != 2 || c.Accuracy != 0.5 {
				t.Fatalf("cell (%d, %d) = %+v", i, j, c)
			}
		}
	}
	for _, tr := range res.Trials {
		if tr.PromptTokens != tr.Length || tr.Correct != (tr.Trial%2 == 0) || tr.Task != "toy" {
			t.Fatalf("trial %+v", tr)
		}
	}
	again, _ := RunGrid(m, tok, GridOptions{Lengths: []int{20}, Depths: []float64{1}, Trials: 2, Seed: 1}, build)
	if again.Trials[0].Output != res.Trials[10].Output {
		t.Fatal("a cell's cases depend on the other cells of the grid")
	}
	for _, bad := range []GridOptions{{Depths: []float64{0}, Trials: 1}, {Lengths: []int{8}, Depths: []float64{1.5}, Trials: 1},
		{Lengths: []int{8}, Depths: []float64{math.NaN()}, Trials: 1}, {Lengths: []int{8}, Depths: []float64{0}}} {
		if _, err := RunGrid(m, tok, bad, build); err == nil {
			t.Errorf("grid %+v was accepted", bad)
		}
	}
}
