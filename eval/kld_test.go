package eval

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lsalign/lsalign/model"
)

// bruteKLD computes each scored token's KL(P||Q), nll under both and the
// argmax agreement by the definitions, one window at a time in float64.
func bruteKLD(t *testing.T, base, m *model.Model, docs [][]int32, N int, bos int32) []tokenStats {
	t.Helper()
	logProbs := func(x *model.Model, win []int32, j int) []float64 {
		if err := x.Forward(win, 1, N, model.ForwardOptions{}); err != nil {
			t.Fatal(err)
		}
		V := x.Config.Vocab
		row := x.Logits()[j*V : (j+1)*V]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, float64(v))
		}
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v) - mx)
		}
		out := make([]float64, V)
		for i, v := range row {
			out[i] = float64(v) - mx - math.Log(s)
		}
		return out
	}
	var out []tokenStats
	for _, doc := range docs {
		for s := 0; s+N <= len(doc); s += N {
			win := slices.Clone(doc[s : s+N])
			if bos >= 0 {
				win[0] = bos
			}
			for j := N / 2; j <= N-2; j++ {
				lp, lq := logProbs(base, win, j), logProbs(m, win, j)
				var kl float64
				for v := range lp {
					kl += math.Exp(lp[v]) * (lp[v] - lq[v])
				}
				y := doc[s+j+1]
				out = append(out, tokenStats{nll: -lq[y], nllBase: -lp[y], kld: kl,
					pDiff: math.Exp(lq[y]) - math.Exp(lp[y]), sameTop: argmax64(lp) == argmax64(lq)})
			}
		}
	}
	return out
}

func TestKLDivergenceMatchesDefinition(t *testing.T) {
	base, m := tinyModel(t, 1), tinyModel(t, 2)
	docs := randomTokens(3, 29, 40, 13, 27)
	const N = 12
	got, err := KLDivergence(base, m, docs, KLDOptions{Ctx: N, BOS: 5, MaxBatchTokens: 24})
	if err != nil {
		t.Fatal(err)
	}
	want := summarizeKLD(bruteKLD(t, base, m, docs, N, 5), windowPlan{ctx: N, wins: make([]window, 6)}, 0)
	if got.Windows != 6 || got.Tokens != 6*(N-1-N/2) {
		t.Fatalf("windows %d tokens %d, want 6 and %d", got.Windows, got.Tokens, 6*(N-1-N/2))
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"kld", got.KLD.Value, want.KLD.Value}, {"kld stderr", got.KLD.Stderr, want.KLD.Stderr},
		{"ppl", got.PPL.Value, want.PPL.Value}, {"ppl base", got.PPLBase.Value, want.PPLBase.Value},
		{"kld max", got.KLDQuantile.Max, want.KLDQuantile.Max}, {"kld median", got.KLDQuantile.Median, want.KLDQuantile.Median},
		{"delta p rms", got.DeltaPRMS.Value, want.DeltaPRMS.Value}, {"same top", got.SameTop.Value, want.SameTop.Value},
		{"log ppl correlation", got.LogPPLCorrelation, want.LogPPLCorrelation},
	} {
		if math.Abs(c.got-c.want) > 1e-5*(1+math.Abs(c.want)) {
			t.Errorf("%s = %.8g, definition gives %.8g", c.name, c.got, c.want)
		}
	}
	if !(got.KLD.Value > 0.01) {
		t.Errorf("two differently seeded models have mean KLD %g; the test needs distinct models", got.KLD.Value)
	}
}

func TestKLDivergenceOfAModelWithItself(t *testing.T) {
	m := tinyModel(t, 4)
	docs := randomTokens(5, 29, 64)
	r, err := KLDivergence(m, m, docs, KLDOptions{Ctx: 16, BOS: -1})
	if err != nil {
		t.Fatal(err)
	}
	if r.KLD.Value != 0 || r.KLDQuantile.Max != 0 || r.SameTop.Value != 1 || r.PPLRatio.Value != 1 || r.DeltaPRMS.Value != 0 {
		t.Fatalf("self-comparison: kld %g (max %g), same top %g, ppl ratio %g, Δp rms %g; want 0, 0, 1, 1, 0",
			r.KLD.Value, r.KLDQuantile.Max, r.SameTop.Value, r.PPLRatio.Value, r.DeltaPRMS.Value)
	}
	if math.Abs(r.LogPPLCorrelation-1) > 1e-9 {
		t.Errorf("correlation of ln PPL with itself %g, want 1", r.LogPPLCorrelation)
	}
}

func TestSummarizeKLDStatistics(t *testing.T) {
	// 101 tokens with kld = i/100 and Δp = (i-50)/100: the quantiles are exact
	// grid values and the means are known.
	ts := make([]tokenStats, 101)
	for i := range ts {
		ts[i] = tokenStats{nll: 1, nllBase: 1, kld: float64(i) / 100, pDiff: float64(i-50) / 100, sameTop: i%4 == 0}
	}
	r := summarizeKLD(ts, windowPlan{ctx: 8, wins: make([]window, 3)}, 0)
	eq := func(name string, got, want float64) {
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("%s = %.15g, want %.15g", name, got, want)
		}
	}
	eq("mean kld", r.KLD.Value, 0.5)
	eq("kld stderr", r.KLD.Stderr, math.Sqrt((3350.0/10000-0.25)/100)) // mean of (i/100)^2 over 0..100 is 0.335
	eq("median", r.KLDQuantile.Median, 0.5)
	eq("p99", r.KLDQuantile.P99, 0.99)
	eq("p99.9", r.KLDQuantile.P99_9, 0.999)
	eq("p10", r.KLDQuantile.P10, 0.10)
	eq("max", r.KLDQuantile.Max, 1)
	eq("min", r.KLDQuantile.Min, 0)
	eq("Δp p25", r.DeltaPQuantile.P25, -0.25)
	eq("Δp p75", r.DeltaPQuantile.P75, 0.25)
	eq("same top", r.SameTop.Value, 26.0/101)
	eq("ppl ratio", r.PPLRatio.Value, 1)
	if r.KLDQuantile.P25 != 0 || r.KLDQuantile.P75 != 0 {
		t.Errorf("KLD percentiles carry quartiles %g, %g; llama.cpp reports them for Δp only", r.KLDQuantile.P25, r.KLDQuantile.P75)
	}
}

func TestTopIndices(t *testing.T) {
	x := []float64{0.5, 3, -1, 3, 2, 7, 0.5, -4}
	for k := 1; k <= len(x); k++ {
		got := topIndices(x, k, make([]int32, 0, k))
		idx := []int32{0, 1, 2, 3, 4, 5, 6, 7}
		slices.SortStableFunc(idx, func(a, b int32) int { // by value, descending; stable keeps lower index first
			switch {
			case x[a] > x[b]:
				return -1
			case x[a] < x[b]:
				return 1
			}
			return 0
		})
		if !slices.Equal(got, idx[:k]) {
			t.Errorf("top %d = %v, want %v", k, got, idx[:k])
		}
	}
}

// saveAndCompare saves base's log-probabilities with topK and compares m
// against the file.
func saveAndCompare(t *testing.T, base, m *model.Model, docs [][]int32, opt KLDOptions, topK int) KLDResult {
	t.Helper()
	path := filepath.Join(t.TempDir(), "base.kldbase")
	var buf bytes.Buffer
	if err := SaveBase(&buf, base, docs, opt, topK, BaseHeader{Model: "base.gguf"}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	bf, err := OpenBase(path)
	if err != nil {
		t.Fatal(err)
	}
	defer bf.Close()
	if bf.Header.Model != "base.gguf" || bf.Header.Ctx != opt.Ctx || bf.Header.BOS != opt.BOS {
		t.Fatalf("header %+v does not keep what was saved", bf.Header)
	}
	r, err := KLDivergenceFromBase(m, bf, KLDOptions{MaxBatchTokens: opt.MaxBatchTokens})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSavedBaseMatchesLiveComparison(t *testing.T) {
	base, m := tinyModel(t, 6), tinyModel(t, 7)
	docs := randomTokens(8, 29, 70, 35)
	opt := KLDOptions{Ctx: 14, BOS: 2, Chunks: 5, MaxBatchTokens: 28}
	live, err := KLDivergence(base, m, docs, opt)
	if err != nil {
		t.Fatal(err)
	}
	if live.Windows != 5 {
		t.Fatalf("Chunks 5 gave %d windows", live.Windows)
	}
	full := saveAndCompare(t, base, m, docs, opt, 29)
	if full.TopK != 0 || full.Windows != live.Windows || full.Tokens != live.Tokens {
		t.Fatalf("full saved base: top_k %d windows %d tokens %d; live %d, %d", full.TopK, full.Windows, full.Tokens, live.Windows, live.Tokens)
	}
	// Saved log-probabilities are float32: agreement to float32 rounding.
	for _, c := range [][2]float64{{full.KLD.Value, live.KLD.Value}, {full.PPLBase.Value, live.PPLBase.Value},
		{full.PPL.Value, live.PPL.Value}, {full.SameTop.Value, live.SameTop.Value}, {full.DeltaPRMS.Value, live.DeltaPRMS.Value}} {
		if math.Abs(c[0]-c[1]) > 1e-5*(1+math.Abs(c[1])) {
			t.Errorf("full saved base gives %.8g, live comparison %.8g", c[0], c[1])
		}
	}
	prev := 0.0
	for _, k := range []int{1, 4, 16} {
		r := saveAndCompare(t, base, m, docs, opt, k)
		if r.TopK != k {
			t.Errorf("top_k %d reported as %d", k, r.TopK)
		}
		// Merging outcomes cannot raise the divergence; keeping more cannot lower it.
		if r.KLD.Value > live.KLD.Value*(1+1e-6) || r.KLD.Value < prev*(1-1e-6) {
			t.Errorf("top %d: kld %.8g, want within [%.8g (top fewer), %.8g (exact)]", k, r.KLD.Value, prev, live.KLD.Value)
		}
		prev = r.KLD.Value
		if math.Abs(r.PPLBase.Value-live.PPLBase.Value) > 1e-5*live.PPLBase.Value {
			t.Errorf("top %d: base ppl %.8g, live %.8g (the target's log-probability is stored exactly)", k, r.PPLBase.Value, live.PPLBase.Value)
		}
	}
}

func TestSavedBaseRejectsDamage(t *testing.T) {
	base := tinyModel(t, 9)
	docs := randomTokens(10, 29, 40)
	var buf bytes.Buffer
	if err := SaveBase(&buf, base, docs, KLDOptions{Ctx: 8, BOS: -1}, 3, BaseHeader{}); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	dir := t.TempDir()
	open := func(b []byte) error {
		p := filepath.Join(dir, "b")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		bf, err := OpenBase(p)
		if err == nil {
			bf.Close()
		}
		return err
	}
	if err := open(good); err != nil {
		t.Fatalf("intact file: %v", err)
	}
	for name, b := range map[string][]byte{
		"truncated":   good[:len(good)-1],
		"extra byte":  append(slices.Clone(good), 0),
		"bad magic":   append([]byte("XXXXXXXX"), good[8:]...),
		"empty":       nil,
		"huge header": append(append(slices.Clone(good[:8]), 0xff, 0xff, 0xff, 0x7f), good[12:]...),
	} {
		if err := open(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A token outside the vocabulary in the windows.
	hlen := int(good[8]) | int(good[9])<<8
	bad := slices.Clone(good)
	bad[12+hlen+3] = 0x7f
	if err := open(bad); err == nil {
		t.Error("token outside the vocabulary: accepted")
	}
}

func FuzzOpenBase(f *testing.F) {
	var buf bytes.Buffer
	base := tinyModelF(f)
	if err := SaveBase(&buf, base, randomTokens(11, 29, 24), KLDOptions{Ctx: 8, BOS: -1}, 2, BaseHeader{}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("LSKLDB\x00\x01\x02\x00\x00\x00{}"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "b")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		bf, err := OpenBase(p)
		if err != nil {
			return
		}
		defer bf.Close()
		if bf.Header.Vocab != 29 {
			return
		}
		KLDivergenceFromBase(base, bf, KLDOptions{}) // errors are fine; panics are not
	})
}

func tinyModelF(f *testing.F) *model.Model {
	m, err := model.NewInit(model.Config{Family: "llama", Vocab: 29, Dim: 16, Layers: 1, Heads: 4, KVHeads: 2,
		Hidden: 24, MaxSeq: 16}, 12)
	if err != nil {
		f.Fatal(err)
	}
	return m
}
