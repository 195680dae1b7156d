package experiment

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/train"
)

// fakeResult builds a study whose fine-tuned runs have the score nll(v,
// seed) and misalignment and training loss from mis and loss.
func fakeResult(o ReproOptions, nll func(v ReproVariant, seed int) float64, mis, loss func(score float64, i int) float64) *ReproResult {
	res := &ReproResult{Options: o}
	i := 0
	for seed := 1; seed <= o.Seeds; seed++ {
		for _, v := range o.Variants() {
			s := nll(v, seed)
			res.Runs = append(res.Runs, ReproRun{ID: v.ID(seed), FineTuned: true, ReproVariant: v, Seed: seed,
				NLL: [3]float64{s - 0.2, s - 0.1, s}, Misalign: mis(s, i), TrainLoss: loss(s, i)})
			i++
		}
	}
	return res
}

func claimByID(t *testing.T, cs []ReproClaim, id string) ReproClaim {
	t.Helper()
	for _, c := range cs {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no claim %q", id)
	return ReproClaim{}
}

// TestReproClaimVerdicts feeds known effects through the claim rules.
func TestReproClaimVerdicts(t *testing.T) {
	o := DefaultReproOptions()
	o.Seeds = 3
	// alpha 0.1 lowers the score by 0.05, alpha 1 raises it by 0.2, the
	// full range is 0.03 worse; seeds add noise that pairs cancel out.
	nll := func(v ReproVariant, seed int) float64 {
		s := 3 + 0.1*float64(seed)
		switch v.Alpha {
		case 0.1:
			s -= 0.05
		case 1:
			s += 0.2
		}
		if v.Range == RangeFull && v.Alpha > 0 {
			s += 0.03
		}
		return s
	}
	wobble := func(i int) float64 { return 0.01 * math.Sin(float64(i)*1.7) }
	res := fakeResult(o, nll,
		func(s float64, i int) float64 { return 2*s + wobble(i) },   // tracks the score
		func(s float64, i int) float64 { return 1 + 3*wobble(i+5) }, // unrelated
	)
	cs := res.Claims()
	if c := claimByID(t, cs, "alpha-0.1"); c.Verdict != ClaimHolds || math.Abs(float64(c.Estimate)+0.05) > 1e-9 || c.N != 6 {
		t.Errorf("alpha 0.1: %+v", c)
	}
	if c := claimByID(t, cs, "alpha-1.0"); c.Verdict != ClaimHolds || math.Abs(float64(c.Estimate)-0.2) > 1e-9 {
		t.Errorf("alpha 1.0: %+v", c)
	}
	if c := claimByID(t, cs, "range"); c.Verdict != ClaimHolds || math.Abs(float64(c.Estimate)+0.03) > 1e-9 || c.N != 2*3*3 { // scalings × positive alphas × seeds
		t.Errorf("range: %+v", c)
	}
	if c := claimByID(t, cs, "correlation"); c.Verdict != ClaimHolds || c.Estimate < 0.5 {
		t.Errorf("correlation: %+v", c)
	}

	// The opposite effects: every claim fails.
	flipped := fakeResult(o, func(v ReproVariant, seed int) float64 { return 6 - nll(v, seed) },
		func(s float64, i int) float64 { return 1 + 3*wobble(i+5) },
		func(s float64, i int) float64 { return 2*s + wobble(i) })
	for _, c := range flipped.Claims() {
		if c.Verdict != ClaimDoesNotHold {
			t.Errorf("flipped %s: %s (%+v)", c.ID, c.Verdict, c)
		}
	}

	// No effect but noise: inconclusive.
	noisy := fakeResult(o, func(v ReproVariant, seed int) float64 {
		return 3 + 0.05*math.Sin(float64(seed)*3.1+v.Alpha*7+float64(len(v.Scaling)))
	}, func(s float64, i int) float64 { return s }, func(s float64, i int) float64 { return s })
	if c := claimByID(t, noisy.Claims(), "alpha-0.1"); c.Verdict != ReproInconclusive {
		t.Errorf("noise only: %+v", c)
	}
	if c := claimByID(t, noisy.Claims(), "correlation"); c.Verdict != ReproInconclusive || c.Estimate != 0 {
		t.Errorf("identical predictors: %+v", c)
	}
}

func TestTInterval(t *testing.T) {
	// x = 1, 2, 3, 4: mean 2.5, sd sqrt(5/3), se sqrt(5/12), t(3) = 3.182.
	m, ci := tInterval([]float64{1, 2, 3, 4})
	half := 3.182 * math.Sqrt(5.0/12)
	if m != 2.5 || math.Abs(ci[0]-(2.5-half)) > 1e-12 || math.Abs(ci[1]-(2.5+half)) > 1e-12 {
		t.Fatalf("tInterval = %v %v", m, ci)
	}
	if q := tQuantile975(1000); math.Abs(q-1.962) > 1e-3 {
		t.Fatalf("t(1000) = %v, want 1.962", q)
	}
	if q := tQuantile975(40); math.Abs(q-2.021) > 2e-3 {
		t.Fatalf("t(40) = %v, want 2.021", q)
	}
	if _, ci := tInterval([]float64{1}); !math.IsNaN(ci[0]) {
		t.Fatal("one value gave an interval")
	}
}

func TestReproPresets(t *testing.T) {
	for name, o := range map[string]ReproOptions{"default": DefaultReproOptions(), "quick": QuickReproOptions(), "tiny": TinyReproOptions()} {
		if err := o.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if o.Seeds < 2 || len(o.Scalings) < 2 || o.Synth == nil {
			t.Errorf("%s: %d seeds, scalings %v", name, o.Seeds, o.Scalings)
		}
		for _, a := range []float64{0, 0.1, 1} {
			found := false
			for _, x := range o.Alphas {
				found = found || x == a
			}
			if !found {
				t.Errorf("%s: alpha %g missing: a claim would not be evaluated", name, a)
			}
		}
	}
	d := DefaultReproOptions()
	if len(d.Alphas) != 4 || len(d.Ranges) != 2 || len(d.Variants()) != 16 {
		t.Errorf("the full grid: alphas %v, ranges %v", d.Alphas, d.Ranges)
	}
	bad := d
	bad.Seeds, bad.Alphas, bad.Ranges = 1, []float64{0.1}, []string{"third"}
	err := bad.Validate()
	for _, want := range []string{"seeds", "alphas", "ranges"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("invalid options: %v lacks %q", err, want)
		}
	}
	// Fine-tuning configs: equal data across alphas, the range in l_extra.
	a := d.finetuneConfig(ReproVariant{"yarn", 0, RangeFull}, 2, "base")
	b := d.finetuneConfig(ReproVariant{"yarn", 0.3, RangeFull}, 2, "base")
	if a.Seed != b.Seed || a.ExtraMax != 127 || a.Ctx != 128 || !a.PairData || b.Objective != train.ObjectiveMisalign {
		t.Errorf("fine-tuning configs %+v / %+v", a, b)
	}
}

// TestLengthEvaluator runs the training-time evaluation on a small model.
func TestLengthEvaluator(t *testing.T) {
	m, err := model.NewInit(model.Config{Family: "llama", Vocab: 258, Dim: 16, Layers: 1, Heads: 2, Hidden: 32, MaxSeq: 16}, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := rng.New(1)
	docs := make([][]int32, 3)
	for i := range docs {
		docs[i] = make([]int32, 100)
		for j := range docs[i] {
			docs[i][j] = int32(r.Intn(256))
		}
	}
	ev := LengthEvaluator(LengthEvalOptions{MisalignSamples: 20, Multiples: []int{1, 2, 4, 8}})
	out, err := ev(train.EvalInput{Model: m, HeldOut: docs, Ctx: 16})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"val_loss", "ppl_1x", "ppl_2x", "ppl_4x", "val_misalign", "val_misalign_stderr"} {
		if v, ok := out[k]; !ok || !(v > 0) {
			t.Errorf("%s = %v, %v", k, v, ok)
		}
	}
	if _, ok := out["ppl_8x"]; ok {
		t.Error("ppl_8x reported though no document holds 128 tokens")
	}
	if math.Abs(math.Exp(out["val_loss"])-out["ppl_1x"]) > 1e-9*out["ppl_1x"] {
		t.Errorf("val_loss %v is not log ppl_1x %v", out["val_loss"], out["ppl_1x"])
	}
	// A random model predicts about uniformly over 258 tokens.
	if math.Abs(out["val_loss"]-math.Log(258)) > 0.1 {
		t.Errorf("val_loss %v far from ln 258", out["val_loss"])
	}
}

// TestBuiltinPasskeyProbe: the prompt fills the requested length exactly
// (byte tokens plus BOS) and the scorer accepts the answer only.
func TestBuiltinPasskeyProbe(t *testing.T) {
	tok := train.ByteTokenizer()
	for _, n := range []int{64, 128} {
		c, err := builtinPasskey(tok, n, 0.5, 0, rng.New(uint64(n)))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Prompt) != n || c.Prompt[0] != tok.BOS() || len(c.Answer) != 5 {
			t.Fatalf("length %d: prompt of %d tokens, answer %q", n, len(c.Prompt), c.Answer)
		}
		if !c.Score(c.Answer+". ") || c.Score("00000") && c.Answer != "00000" {
			t.Fatalf("scoring of %q is wrong", c.Answer)
		}
		if !strings.HasSuffix(tok.Decode(c.Prompt[1:]), "so the pass key is #") {
			t.Fatalf("prompt ends %q", tok.Decode(c.Prompt[len(c.Prompt)-20:]))
		}
	}
	if _, err := builtinPasskey(tok, 30, 0.5, 0, rng.New(1)); err == nil {
		t.Fatal("a 30-token probe was built")
	}
}

func TestMisalignDirection(t *testing.T) {
	if s := misalignDirection(0.4); !strings.Contains(s, "as the paper predicts") {
		t.Errorf("r > 0: %q", s)
	}
	if s := misalignDirection(-0.4); !strings.Contains(s, "opposite") {
		t.Errorf("r < 0: %q", s)
	}
}

// TestPassiveCorrelation: only the alpha = 0 runs enter; the regularized
// runs here would flip the sign if they did.
func TestPassiveCorrelation(t *testing.T) {
	var r ReproResult
	add := func(alpha, mis, loss, nll float64) {
		run := ReproRun{FineTuned: true, Misalign: mis, TrainLoss: loss}
		run.Alpha = alpha
		run.NLL[scoreIndex] = nll
		r.Runs = append(r.Runs, run)
	}
	add(0, 1, 3, 1)
	add(0, 2, 2, 2)
	add(0, 3, 1, 3)
	add(0.1, 9, 1, 0)
	add(0.1, 8, 1, 0.5)
	got := r.passiveCorrelation()
	want := "over the 3 alpha = 0 runs only (misalignment measured, never trained on; no verdict at this n): Pearson r 1.000 for misalignment, -1.000 for training loss"
	if got != want {
		t.Fatalf("passiveCorrelation:\n got %q\nwant %q", got, want)
	}
}

// TestLengthEvaluatorLearnedPositions: a model with learned positions is
// evaluated at the multiples its table holds; the others are left out of
// the metrics and said once in the log, and training does not stop.
func TestLengthEvaluatorLearnedPositions(t *testing.T) {
	cfg := train.DefaultConfig()
	cfg.Model = model.Config{Family: "gpt2", Vocab: 258, Dim: 16, Layers: 1, Heads: 2, KVHeads: 2, Hidden: 64}
	cfg.Ctx, cfg.Batch, cfg.Steps, cfg.EvalEvery, cfg.Seed = 16, 2, 3, 1, 1
	cfg.Facts.DocBytes = 256
	var logged []string
	hooks := train.Hooks{
		Evaluate: LengthEvaluator(LengthEvalOptions{MisalignSamples: 8}),
		Log:      func(msg string) { logged = append(logged, msg) },
	}
	res, err := train.Run(context.Background(), cfg, train.Options{Hooks: hooks})
	if err != nil {
		t.Fatal(err)
	}
	if res.Model.Config.Pos != model.PosLearned {
		t.Fatalf("the gpt2 family gave %q positions", res.Model.Config.Pos)
	}
	for _, met := range res.Metrics {
		for _, k := range []string{"val_loss", "ppl_1x", "val_misalign"} {
			if v, ok := met.Eval[k]; !ok || !(v > 0) {
				t.Errorf("step %d: %s = %v (%v)", met.Step, k, v, ok)
			}
		}
		for _, k := range []string{"ppl_2x", "ppl_4x"} {
			if v, ok := met.Eval[k]; ok {
				t.Errorf("step %d: %s = %v beyond the 16 learned positions", met.Step, k, v)
			}
		}
	}
	var told []string
	for _, msg := range logged {
		if strings.Contains(msg, "ppl_2x") {
			told = append(told, msg)
		}
	}
	if len(told) != 1 || !strings.Contains(told[0], "ppl_4x") || !strings.Contains(told[0], "16 learned positions") {
		t.Fatalf("log %q: want one line leaving out ppl_2x and ppl_4x", logged)
	}
}
