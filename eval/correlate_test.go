package eval

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/align"
	"github.com/lsalign/lsalign/internal/rng"
)

func TestPearsonSpearmanByHand(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5}
	y := []float64{2, 4, 5, 4, 5}
	// Deviations (-2,-1,0,1,2) and (-2,0,1,0,1): r = 6/sqrt(10*6).
	if got, want := Pearson(x, y), 6/math.Sqrt(60); math.Abs(got-want) > 1e-15 {
		t.Fatalf("Pearson = %.16g, want %.16g", got, want)
	}
	// Ranks of y with ties averaged: (1, 2.5, 4.5, 2.5, 4.5); rho = 7/sqrt(10*9)
	// (scipy.stats.spearmanr gives 0.7378647873726218).
	if got := Ranks(y); !slices.Equal(got, []float64{1, 2.5, 4.5, 2.5, 4.5}) {
		t.Fatalf("Ranks = %v", got)
	}
	if got, want := Spearman(x, y), 7/math.Sqrt(90); math.Abs(got-want) > 1e-15 {
		t.Fatalf("Spearman = %.16g, want %.16g", got, want)
	}
	// A monotone but non-linear relation: Spearman 1, Pearson below 1; reversed: -1.
	sq := []float64{1, 4, 9, 16, 100}
	if Spearman(x, sq) != 1 || Pearson(x, sq) >= 0.99 || Spearman(x, []float64{5, 4, 3, 2, 1}) != -1 {
		t.Fatal("monotone relations")
	}
	if !math.IsNaN(Pearson(x, []float64{3, 3, 3, 3, 3})) || !math.IsNaN(Pearson(x[:1], y[:1])) {
		t.Fatal("undefined correlations must be NaN")
	}
}

// TestBootstrapMatchesAlignMeanCI: for the mean, Bootstrap draws the same
// indices as align.BootstrapMeanCI (one generator, n draws per resample),
// so the two independent implementations give the same interval.
func TestBootstrapMatchesAlignMeanCI(t *testing.T) {
	r := rng.New(7)
	x := make([]float64, 25)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	got := Bootstrap(len(x), 500, 11, func(idx []int) float64 {
		var s float64
		for _, j := range idx {
			s += x[j]
		}
		return s / float64(len(idx))
	})
	want := align.BootstrapMeanCI(x, 0.95, 500, 11)
	if math.Abs(got[0]-want[0]) > 1e-12 || math.Abs(got[1]-want[1]) > 1e-12 || !(got[0] < got[1]) {
		t.Fatalf("Bootstrap = %v, align.BootstrapMeanCI = %v", got, want)
	}
	constant := func([]int) float64 { return 2 }
	if ci := Bootstrap(3, 10, 1, constant); ci != [2]float64{2, 2} {
		t.Fatalf("a constant statistic: %v", ci)
	}
	// Undefined: too few items, no resamples, more than half the resamples NaN.
	calls := 0
	halfNaN := func([]int) float64 {
		if calls++; calls%3 != 0 {
			return math.NaN()
		}
		return 1
	}
	for name, ci := range map[string][2]float64{"n 2": Bootstrap(2, 10, 1, constant), "0 resamples": Bootstrap(5, 0, 1, constant),
		"2 of 3 NaN": Bootstrap(5, 30, 1, halfNaN)} {
		if !math.IsNaN(ci[0]) || !math.IsNaN(ci[1]) {
			t.Errorf("%s: interval %v, want NaN", name, ci)
		}
	}
}

func TestCorrelateBootstrap(t *testing.T) {
	r := rng.New(3)
	n := 200
	x, y := make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = r.NormFloat64()
		y[i] = 0.6*x[i] + 0.8*r.NormFloat64() // population correlation 0.6
	}
	c := Correlate(x, y, Pearson, 1000, 1)
	lo, hi := float64(c.CI95[0]), float64(c.CI95[1])
	// Fisher's z interval for n = 200 is about r ± 0.09.
	if !(lo < float64(c.R) && float64(c.R) < hi) || hi-lo < 0.1 || hi-lo > 0.3 || !(lo < 0.6 && 0.6 < hi) {
		t.Fatalf("r %g, interval [%g, %g]", c.R, lo, hi)
	}
	if d := Correlate(x, y, Pearson, 1000, 1); d != c {
		t.Fatal("the bootstrap is not deterministic by seed")
	}
	perfect := Correlate([]float64{1, 2, 3, 4}, []float64{2, 4, 6, 8}, Spearman, 200, 2)
	if perfect.R != 1 || perfect.CI95 != [2]Float{1, 1} {
		t.Fatalf("perfect correlation %+v", perfect)
	}
	flat := Correlate([]float64{1, 2, 3}, []float64{5, 5, 5}, Pearson, 100, 2)
	b, err := json.Marshal(flat)
	if err != nil || string(b) != `{"r":null,"ci95":[null,null],"n":3}` {
		t.Fatalf("undefined correlation as JSON: %s %v", b, err)
	}
}

func TestParseVariantsAndCorrelate(t *testing.T) {
	set := `{"variants": [
	  {"name": "a", "misalignment": 1.0, "train_loss": 2.0, "scores": {"ppl_4x": 10, "passkey": 0.9}},
	  {"name": "b", "misalignment": 2.0, "train_loss": 2.1, "scores": {"ppl_4x": 20, "passkey": 0.5}},
	  {"name": "c", "misalignment": 3.0, "train_loss": 1.9, "scores": {"ppl_4x": 30}},
	  {"name": "d", "misalignment": 4.0, "scores": {"ppl_4x": 45, "passkey": 0.1}}]}`
	vs, err := ParseVariants([]byte(set), "set.json")
	if err != nil || len(vs) != 4 {
		t.Fatalf("%d variants, %v", len(vs), err)
	}
	for _, form := range []string{`[{"name": "x", "scores": {}}]`, `{"name": "x", "misalignment": 1}`} {
		if v, err := ParseVariants([]byte(form), "f.json"); err != nil || len(v) != 1 || v[0].Name != "x" {
			t.Fatalf("%s: %v %v", form, v, err)
		}
	}
	for _, bad := range []string{`{"misalignment": 1}`, `{"variants": []}`, `[1, 2]`, `not json`} {
		if _, err := ParseVariants([]byte(bad), "bad.json"); err == nil || !strings.Contains(err.Error(), "bad.json") {
			t.Errorf("%s: got %v, want an error naming bad.json", bad, err)
		}
	}
	rows := CorrelateVariants(vs, 200, 1)
	got := map[string]CorrelationRow{}
	for _, r := range rows {
		got[r.Score+"/"+r.Predictor] = r
	}
	if len(rows) != 4 { // two scores × (misalignment, train_loss); nobody has val_loss
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	mp := got["passkey/misalignment"]
	if mp.Pearson.N != 3 || !slices.Equal(mp.Variants, []string{"a", "b", "d"}) || mp.Spearman.R != -1 {
		t.Fatalf("passkey/misalignment %+v", mp)
	}
	if want := Pearson([]float64{1, 2, 3, 4}, []float64{10, 20, 30, 45}); float64(got["ppl_4x/misalignment"].Pearson.R) != want {
		t.Fatalf("ppl_4x/misalignment r %v, want %v", got["ppl_4x/misalignment"].Pearson.R, want)
	}
	if got["ppl_4x/train_loss"].Pearson.N != 3 {
		t.Fatalf("train_loss pairs %+v", got["ppl_4x/train_loss"])
	}
}

// TestVariantPredictor: a missing, NaN or unknown predictor has no value,
// so a variant without it stays out of that predictor's correlations.
func TestVariantPredictor(t *testing.T) {
	mis, nan := 1.5, math.NaN()
	v := Variant{Name: "v", Misalignment: &mis, ValLoss: &nan}
	if x, ok := v.Predictor(PredMisalignment); !ok || x != 1.5 {
		t.Errorf("misalignment: %v, %v", x, ok)
	}
	for _, name := range []string{PredTrainLoss, PredValLoss, "grad_norm"} {
		if x, ok := v.Predictor(name); ok {
			t.Errorf("%s: %v reported as present", name, x)
		}
	}
}
