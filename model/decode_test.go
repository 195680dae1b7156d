package model

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/kernels"
)

// decodeConfigs covers every branch of Extend: GQA and both RoPE layouts,
// RoPE scaling, biases with LayerNorm and GELU, learned and sinusoidal
// positions, ALiBi, NoPE and an untied head.
func decodeConfigs() map[string]Config {
	llama := Config{Family: "llama", Vocab: 37, Dim: 32, Layers: 2, Heads: 4, KVHeads: 2, Hidden: 40, MaxSeq: 64}
	gpt2 := Config{Family: "gpt2", Vocab: 29, Dim: 24, Layers: 2, Heads: 3, Hidden: 48, MaxSeq: 40, Bias: true, TiedHead: true}
	halves := llama
	halves.RopeLayout, halves.TiedHead = "halves", true
	linear := llama
	linear.RopeScaling = kernels.RopeScaling{Type: "linear", Factor: 2}
	yarn := llama
	yarn.RopeScaling = kernels.RopeScaling{Type: "yarn", Factor: 4, OrigCtx: 8}
	alibi, nope, sinus := llama, llama, gpt2
	alibi.Pos, nope.Pos, sinus.Pos = PosALiBi, PosNoPE, PosSinusoidal
	return map[string]Config{"llama": llama, "gpt2": gpt2, "halves": halves, "linear": linear, "yarn": yarn,
		"alibi": alibi, "nope": nope, "sinusoidal": sinus}
}

// forwardLogits runs the full (non-cached) forward pass on one sequence.
func forwardLogits(t *testing.T, m *Model, tokens []int32) []float32 {
	t.Helper()
	if err := m.Forward(tokens, 1, len(tokens), ForwardOptions{}); err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), m.Logits()...)
}

func randomTokens(r *rng.RNG, n, V int) []int32 {
	toks := make([]int32, n)
	for i := range toks {
		toks[i] = int32(r.Intn(V))
	}
	return toks
}

// TestExtendMatchesForward feeds a sequence to the cache in chunks of
// several sizes (a batched prefill, single decoding steps, and chunks in
// between) and compares each chunk's last logits with Forward's logits at
// the same position.
func TestExtendMatchesForward(t *testing.T) {
	chunks := []int{5, 1, 1, 3, 1, 7, 1, 2}
	for name, cfg := range decodeConfigs() {
		t.Run(name, func(t *testing.T) {
			m, err := NewInit(cfg, 3)
			if err != nil {
				t.Fatal(err)
			}
			boostWeights(m, 20) // std 0.02 makes nearly uniform logits that hide mistakes
			total := 0
			for _, c := range chunks {
				total += c
			}
			tokens := randomTokens(rng.New(4), total, cfg.Vocab)
			want := forwardLogits(t, m, tokens)
			kv, err := m.NewKVCache(total)
			if err != nil {
				t.Fatal(err)
			}
			pos := 0
			for _, c := range chunks {
				got, err := m.Extend(kv, tokens[pos:pos+c])
				if err != nil {
					t.Fatal(err)
				}
				pos += c
				if kv.Len() != pos {
					t.Fatalf("Len() = %d after %d tokens", kv.Len(), pos)
				}
				row := want[(pos-1)*cfg.Vocab : pos*cfg.Vocab]
				if d := maxAbsDiff(got, row); d > 2e-4*maxAbs(row)+1e-5 {
					t.Fatalf("position %d (chunk %d): logits differ from Forward by %g (scale %g)", pos-1, c, d, maxAbs(row))
				}
			}
		})
	}
}

// TestExtendResetReuses checks that a reset cache gives the same logits
// again, with buffers grown by a long chunk and then reused for short ones.
func TestExtendResetReuses(t *testing.T) {
	m, err := NewInit(decodeConfigs()["llama"], 5)
	if err != nil {
		t.Fatal(err)
	}
	boostWeights(m, 20)
	tokens := randomTokens(rng.New(6), 12, m.Config.Vocab)
	kv, err := m.NewKVCache(12)
	if err != nil {
		t.Fatal(err)
	}
	first, err := m.Extend(kv, tokens)
	if err != nil {
		t.Fatal(err)
	}
	first = append([]float32(nil), first...)
	kv.Reset()
	var last []float32
	for i := range tokens {
		if last, err = m.Extend(kv, tokens[i:i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if d := maxAbsDiff(first, last); d > 2e-4*maxAbs(first)+1e-5 {
		t.Fatalf("prefill and token-by-token decoding differ by %g", d)
	}
}

// TestExtendDeterministic: decoding gives the same bits whatever GOMAXPROCS.
func TestExtendDeterministic(t *testing.T) {
	cfg := decodeConfigs()["llama"]
	cfg.Dim, cfg.Hidden, cfg.Vocab = 64, 256, 300 // wide enough for the kernels to split rows
	m, err := NewInit(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	tokens := randomTokens(rng.New(8), 9, cfg.Vocab)
	run := func() []float32 {
		kv, err := m.NewKVCache(len(tokens))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Extend(kv, tokens[:6]); err != nil {
			t.Fatal(err)
		}
		var out []float32
		for _, tok := range tokens[6:] {
			l, err := m.Extend(kv, []int32{tok})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, l...)
		}
		return out
	}
	old := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(old)
	want := run()
	for _, procs := range []int{2, 4} {
		runtime.GOMAXPROCS(procs)
		got := run()
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("GOMAXPROCS %d: logit %d is %v, want %v", procs, i, got[i], want[i])
			}
		}
	}
}

func TestExtendErrors(t *testing.T) {
	cfgs := decodeConfigs()
	llama, err := NewInit(cfgs["llama"], 1)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewInit(cfgs["llama"], 2)
	kv, err := llama.NewKVCache(4)
	if err != nil {
		t.Fatal(err)
	}
	otherKV, _ := other.NewKVCache(4)
	scalarCfg := cfgs["llama"]
	scalarCfg.Head = HeadScalar
	scalar, _ := New(scalarCfg)
	gpt2, _ := New(cfgs["gpt2"])
	for _, c := range []struct {
		name, want string
		fn         func() error
	}{
		{"zero capacity", "capacity", func() error { _, err := llama.NewKVCache(0); return err }},
		{"scalar head", "lm head", func() error { _, err := scalar.NewKVCache(4); return err }},
		{"past learned positions", "learned positions", func() error { _, err := gpt2.NewKVCache(41); return err }},
		{"no tokens", "at least one", func() error { _, err := llama.Extend(kv, nil); return err }},
		{"token outside vocab", "outside the vocabulary", func() error { _, err := llama.Extend(kv, []int32{37}); return err }},
		{"negative token", "outside the vocabulary", func() error { _, err := llama.Extend(kv, []int32{-1}); return err }},
		{"over capacity", "capacity", func() error { _, err := llama.Extend(kv, make([]int32, 5)); return err }},
		{"another model's cache", "another model", func() error { _, err := llama.Extend(otherKV, []int32{1}); return err }},
	} {
		err := c.fn()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	if kv.Len() != 0 {
		t.Errorf("failed calls changed Len() to %d", kv.Len())
	}
}

// boostWeights scales every matrix so activations and logits span a useful
// range.
func boostWeights(m *Model, factor float32) {
	for _, t := range m.Params.Layout.Tensors {
		if t.IsMatrix() {
			for i := range m.Params.Data[t.Off : t.Off+t.Size] {
				m.Params.Data[t.Off+i] *= factor
			}
		}
	}
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("lengths %d and %d", len(a), len(b)))
	}
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

func maxAbs(a []float32) float64 {
	m := 0.0
	for _, v := range a {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}

// BenchmarkDecode times one decoding step of a stories15M-shaped model
// (dim 288, 6 layers, vocab 32000) at positions 128 to 255.
func BenchmarkDecode(b *testing.B) {
	cfg := Config{Family: "llama", Vocab: 32000, Dim: 288, Layers: 6, Heads: 6, Hidden: 768, MaxSeq: 256, TiedHead: true}
	m, err := NewInit(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	kv, err := m.NewKVCache(cfg.MaxSeq)
	if err != nil {
		b.Fatal(err)
	}
	prompt := randomTokens(rng.New(2), 128, cfg.Vocab)
	if _, err := m.Extend(kv, prompt); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if kv.Len() == kv.Cap() {
			kv.n = len(prompt) // keep decoding around position 128..256
		}
		if _, err := m.Extend(kv, []int32{7}); err != nil {
			b.Fatal(err)
		}
	}
}
