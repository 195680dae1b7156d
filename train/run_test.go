package train

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lsalign/lsalign/checkpoint"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/load"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
)

// tinyRun is a from-scratch config small enough for many runs per test.
func tinyRun() Config {
	c := DefaultConfig()
	c.Model = model.Config{Family: "llama", Vocab: 258, Dim: 16, Layers: 1, Heads: 2, KVHeads: 2, Hidden: 32}
	c.Ctx, c.Batch, c.Steps, c.Seed = 16, 2, 12, 7
	c.Facts.DocBytes = 256
	c.EvalEvery = -1
	return c
}

func mustRun(t *testing.T, cfg Config, opt Options) *Result {
	t.Helper()
	res, err := Run(context.Background(), cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// stripTiming drops the fields that depend on the machine from a metrics line.
func stripTiming(t *testing.T, line []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("metrics line %q: %v", line, err)
	}
	for _, k := range TimingKeys() {
		if _, ok := m[k]; !ok {
			t.Fatalf("metrics line %q lacks %s", line, k)
		}
		delete(m, k)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func readMetrics(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, stripTiming(t, sc.Bytes()))
	}
	return lines
}

func sameParams(t *testing.T, what string, a, b *model.Model) {
	t.Helper()
	for i := range a.Params.Data {
		if math.Float32bits(a.Params.Data[i]) != math.Float32bits(b.Params.Data[i]) {
			t.Fatalf("%s: parameter %d differs: %v vs %v", what, i, a.Params.Data[i], b.Params.Data[i])
		}
	}
}

// TestAlphaZeroEqualsPairBaseline: ce+misalign with alpha 0 is, bit for
// bit, plain cross-entropy on the same paired sequences (both windows).
func TestAlphaZeroEqualsPairBaseline(t *testing.T) {
	reg := tinyRun()
	reg.Objective, reg.Alpha = ObjectiveMisalign, 0
	base := tinyRun()
	base.Objective, base.Alpha, base.PairData = ObjectiveCE, 0, true
	a := mustRun(t, reg, Options{})
	b := mustRun(t, base, Options{})
	for i := range a.Metrics {
		ma, mb := a.Metrics[i], b.Metrics[i]
		if ma.Misalign == nil || *ma.Misalign != 0 || mb.Misalign != nil {
			t.Fatalf("step %d: misalign %v and %v, want 0 and absent", i+1, ma.Misalign, mb.Misalign)
		}
		for _, p := range [][2]float64{{ma.Loss, mb.Loss}, {ma.CE, mb.CE}, {ma.GradNorm, mb.GradNorm}, {ma.LR, mb.LR}} {
			if math.Float64bits(p[0]) != math.Float64bits(p[1]) {
				t.Fatalf("step %d: %+v vs %+v", i+1, ma, mb)
			}
		}
		if ma.LExtra != mb.LExtra || ma.Tokens != mb.Tokens || ma.LExtra < 1 || ma.LExtra > reg.Ctx/2 {
			t.Fatalf("step %d: l_extra %d/%d tokens %d/%d", i+1, ma.LExtra, mb.LExtra, ma.Tokens, mb.Tokens)
		}
	}
	sameParams(t, "alpha 0 vs pair baseline", a.Model, b.Model)

	// A positive alpha really changes the run (so the equality above means something).
	reg.Alpha = 0.5
	c := mustRun(t, reg, Options{})
	if c.Metrics[1].CE == a.Metrics[1].CE || *c.Metrics[0].Misalign <= 0 {
		t.Fatalf("alpha 0.5 gave the same run as alpha 0: %+v", c.Metrics[1])
	}
}

// TestResumeIsBitIdentical kills a run (a panic after a step, before its
// next checkpoint), interrupts another with Ctrl-C, resumes both, and
// compares their metrics and final weights with an uninterrupted run.
func TestResumeIsBitIdentical(t *testing.T) {
	cfg := tinyRun()
	cfg.Objective, cfg.Alpha, cfg.SaveEvery = ObjectiveMisalign, 0.2, 4
	ref := t.TempDir()
	full := mustRun(t, cfg, Options{Out: ref})
	want := readMetrics(t, ref)
	if len(want) != cfg.Steps {
		t.Fatalf("%d metrics lines, want %d", len(want), cfg.Steps)
	}

	// Killed after step 6: the checkpoint is from step 4 and the log runs to 6.
	killed := t.TempDir()
	func() {
		defer func() { recover() }()
		Run(context.Background(), cfg, Options{Out: killed, Hooks: Hooks{Progress: func(p Progress) {
			if p.Step == 6 {
				panic("killed")
			}
		}}})
	}()
	if n := len(readMetrics(t, killed)); n != 6 {
		t.Fatalf("killed run logged %d steps, want 6", n)
	}
	// A torn last line, as a kill in the middle of a write leaves.
	f, _ := os.OpenFile(filepath.Join(killed, MetricsFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"step":7,"lo`)
	f.Close()

	// Interrupted (Ctrl-C) after step 5: a checkpoint of step 5, status ok.
	interrupted := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	res, err := Run(ctx, cfg, Options{Out: interrupted, Hooks: Hooks{Progress: func(p Progress) {
		if p.Step == 5 {
			cancel()
		}
	}}})
	if err != nil || !res.Interrupted || res.Steps != 5 {
		t.Fatalf("interrupted run: %+v, %v", res, err)
	}
	if _, _, st, err := checkpoint.Load(filepath.Join(interrupted, CheckpointDir)); err != nil || st.Step != 5 {
		t.Fatalf("checkpoint after Ctrl-C: step %d, %v", st.Step, err)
	}

	for _, dir := range []string{killed, interrupted} {
		res := mustRun(t, cfg, Options{Out: dir, Resume: true})
		if res.Steps != cfg.Steps {
			t.Fatalf("%s: resumed to step %d", dir, res.Steps)
		}
		got := readMetrics(t, dir)
		if !slices.Equal(got, want) {
			t.Fatalf("resumed metrics differ:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		sameParams(t, "resumed vs uninterrupted", res.Model, full.Model)
	}
}

// TestResumeContinuesToMoreSteps is the contract: a finished run resumed
// with more steps continues from its last step.
func TestResumeContinuesToMoreSteps(t *testing.T) {
	cfg := tinyRun()
	dir := t.TempDir()
	mustRun(t, cfg, Options{Out: dir})
	cfg.Steps = 15
	res := mustRun(t, cfg, Options{Out: dir, Resume: true})
	if res.Resumed != 12 || res.Steps != 15 || len(res.Metrics) != 3 || res.Metrics[0].Step != 13 {
		t.Fatalf("resumed %d, steps %d, %d new lines", res.Resumed, res.Steps, len(res.Metrics))
	}
	if n := len(readMetrics(t, dir)); n != 15 {
		t.Fatalf("%d metrics lines, want 15", n)
	}
	// Anything else must match the checkpoint.
	cfg.Steps, cfg.Alpha, cfg.Objective = 20, 0.3, ObjectiveMisalign
	_, err := Run(context.Background(), cfg, Options{Out: dir, Resume: true})
	if err == nil || !strings.Contains(err.Error(), "objective") || !strings.Contains(err.Error(), "alpha") {
		t.Fatalf("resume with another objective: %v", err)
	}
	// Without --resume an existing run is never overwritten.
	if _, err := Run(context.Background(), cfg, Options{Out: dir}); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("second run into the same directory: %v", err)
	}
}

// TestResumeKeepsScheduleNotGiven: on resume the learning-rate settings
// the caller did not choose keep the checkpoint's values (so an
// interrupted run resumed without repeating them continues bit for bit);
// chosen ones change the run and are recorded.
func TestResumeKeepsScheduleNotGiven(t *testing.T) {
	cfg := tinyRun()
	cfg.LR, cfg.Clip = 3e-3, 0.5
	ref := t.TempDir()
	mustRun(t, cfg, Options{Out: ref})
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := Run(ctx, cfg, Options{Out: dir, Hooks: Hooks{Progress: func(p Progress) {
		if p.Step == 5 {
			cancel()
		}
	}}}); err != nil {
		t.Fatal(err)
	}
	defaults := tinyRun() // what a command line without --lr and --clip asks for
	onlyShape := func(key string) bool { return key != "lr" && key != "min_lr" && key != "warmup" && key != "clip" }
	res := mustRun(t, defaults, Options{Out: dir, Resume: true, Given: onlyShape})
	if res.Config.LR != 3e-3 || res.Config.MinLR != cfg.LR/10 || res.Config.Clip != 0.5 {
		t.Fatalf("resumed config lr %g, min_lr %g, clip %g; want the checkpoint's 3e-3, 3e-4, 0.5",
			res.Config.LR, res.Config.MinLR, res.Config.Clip)
	}
	if got, want := readMetrics(t, dir), readMetrics(t, ref); !slices.Equal(got, want) {
		t.Fatalf("resumed metrics differ:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A chosen lr changes the run, min_lr follows it, and config.json says so.
	defaults.Steps = 14
	res = mustRun(t, defaults, Options{Out: dir, Resume: true, Given: func(key string) bool { return key == "lr" || onlyShape(key) }})
	var saved Config
	b, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err := json.Unmarshal(b, &saved); err != nil || saved.LR != 1e-3 || saved.MinLR != 1e-4 || saved.Clip != 0.5 ||
		res.Metrics[0].LR > 1e-3 {
		t.Fatalf("after resuming with lr 1e-3: config.json %s (%v), first lr %g", b, err, res.Metrics[0].LR)
	}
}

// TestNonFiniteLossStops: an absurd learning rate blows the weights up;
// the run stops with an error naming the step and keeps a loadable,
// finite checkpoint of the last step whose loss was finite, under that
// step's number. The cases stop on a NaN loss (step 2), on a NaN gradient
// norm at a finite loss (a few steps in), and on an update that makes the
// weights infinite (step 1). Resuming with the same settings is not
// checked: it continues on unseen batches and may or may not diverge
// again. Resuming with a lower lr must train on with finite losses; its
// first step's loss is the saved weights' loss on the next batch.
func TestNonFiniteLossStops(t *testing.T) {
	for _, tc := range []struct {
		lr       float64
		stopStep int // the failing step comes stopStep steps after the checkpoint's
		minGood  int // the checkpoint's step is at least this
		want     string
	}{
		{1e30, 2, 0, "loss is NaN"},
		{1e3, 2, 2, "gradient norm is NaN"},
		{1e39, 1, 0, "parameter is"},
	} {
		cfg := tinyRun()
		// A constant learning rate (min_lr = lr) makes the schedule independent of steps, so a run to the
		// checkpoint's step must give its weights bit for bit.
		cfg.LR, cfg.MinLR, cfg.Warmup, cfg.Steps = tc.lr, tc.lr, 0, 30
		dir := t.TempDir()
		_, err := Run(context.Background(), cfg, Options{Out: dir})
		var nf *NonFiniteError
		if err == nil || !strings.Contains(err.Error(), "training stopped") || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("lr %g: got %v, want a stop on %q", tc.lr, err, tc.want)
		}
		if errors.As(err, &nf) {
			t.Fatalf("the error should explain, not wrap the step's error: %v", err)
		}
		m, adam, st, lerr := checkpoint.Load(filepath.Join(dir, CheckpointDir))
		if lerr != nil {
			t.Fatalf("no last good checkpoint: %v", lerr)
		}
		failed := st.Step + tc.stopStep
		if st.Step < tc.minGood {
			t.Fatalf("lr %g: checkpoint of step %d, want a run of at least %d good steps", tc.lr, st.Step, tc.minGood)
		}
		if !strings.Contains(err.Error(), "step "+strconv.Itoa(failed)+":") ||
			!strings.Contains(err.Error(), "holds the weights from step "+strconv.Itoa(st.Step)) ||
			!strings.Contains(err.Error(), "--resume and a lower --lr or a longer --warmup") {
			t.Fatalf("lr %g: error %q does not name step %d, the checkpoint's step %d and the way on", tc.lr, err, failed, st.Step)
		}
		if cerr := m.Params.CheckFinite(); cerr != nil {
			t.Fatalf("checkpoint of step %d: %v", st.Step, cerr)
		}
		if n := len(readMetrics(t, dir)); n != st.Step {
			t.Fatalf("%d metrics lines for %d good steps", n, st.Step)
		}
		if adam.Step != st.Step {
			t.Fatalf("lr %g: the checkpoint of step %d holds an optimizer at step %d", tc.lr, st.Step, adam.Step)
		}
		sameParams(t, "checkpoint vs a run to its step", m, weightsAtStep(t, cfg, st.Step))

		// Recovery: a lower lr is accepted, recorded, and trains on with finite losses.
		cfg.LR, cfg.MinLR, cfg.Steps = 1e-3, 0, st.Step+4
		res, rerr := Run(context.Background(), cfg, Options{Out: dir, Resume: true})
		if rerr != nil {
			t.Fatalf("lr %g: resuming with lr 1e-3: %v", tc.lr, rerr)
		}
		if res.Resumed != st.Step || len(res.Metrics) != 4 || res.Metrics[0].Step != st.Step+1 {
			t.Fatalf("resumed from %d with %d new steps", res.Resumed, len(res.Metrics))
		}
		for _, met := range res.Metrics {
			if nonFinite(met.Loss) || nonFinite(met.GradNorm) || met.LR > 1e-3 {
				t.Fatalf("lr %g: after resuming, step %d: loss %v, grad norm %v, lr %v", tc.lr, met.Step, met.Loss, met.GradNorm, met.LR)
			}
		}
		var saved Config
		b, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
		if err := json.Unmarshal(b, &saved); err != nil || saved.LR != 1e-3 || saved.MinLR != 1e-4 {
			t.Fatalf("config.json after resuming with a lower lr: %s (%v)", b, err)
		}
	}
}

// weightsAtStep is the model cfg trains in memory after step steps (0: the
// initial weights).
func weightsAtStep(t *testing.T, cfg Config, steps int) *model.Model {
	t.Helper()
	if steps == 0 {
		m, _, _, err := newModel(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	cfg.Steps = steps
	return mustRun(t, cfg, Options{}).Model
}

// TestBadConfigFailsBeforeWork: contradictions are reported before any
// file is written.
func TestBadConfigFailsBeforeWork(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Objective, c.ExtraMax = ObjectiveMisalign, 40 }, "extra_max"},
		{func(c *Config) { c.Objective, c.ExtraMax = ObjectiveMisalign, 16 }, "smaller than l"},
		{func(c *Config) { c.Objective, c.Alpha = ObjectiveMisalign, -0.1 }, "alpha: must be >= 0"},
		{func(c *Config) { c.Objective = "mse" }, "objective"},
		{func(c *Config) { c.Alpha = 0.3 }, "objective ce has no misalignment term"},
		{func(c *Config) { c.Positions = "middle" }, "positions"},
		{func(c *Config) { c.LR = math.NaN() }, "lr"},
		{func(c *Config) { c.Steps = 0 }, "steps"},
		{func(c *Config) { c.Data = DataSelfGen }, "needs init"},
		{func(c *Config) { c.Export = []string{"onnx"} }, "export"},
		{func(c *Config) { c.Model.Heads = 3 }, "model"},
		{func(c *Config) { c.RopeScaling = kernels.RopeScaling{Type: "yarn", Factor: 0.5} }, "rope_scaling"},
		{func(c *Config) { c.Objective, c.ExtraMin, c.ExtraMax = ObjectiveMisalign, 5, 3 }, "extra_min"},
	} {
		c := tinyRun()
		tc.edit(&c)
		out := filepath.Join(t.TempDir(), "run")
		_, err := Run(context.Background(), c, Options{Out: out})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want an error containing %q", c, err, tc.want)
		}
		if _, serr := os.Stat(out); serr == nil {
			t.Errorf("%q: the output directory was created before the error", tc.want)
		}
	}
}

// TestOutputChecks: an output path that cannot be a directory, and a file
// system without room, fail before training.
func TestOutputChecks(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plain-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Run(context.Background(), tinyRun(), Options{Out: filepath.Join(file, "run")})
	if err == nil || !strings.Contains(err.Error(), "output directory") {
		t.Fatalf("output under a file: %v", err)
	}
	dir := t.TempDir()
	if err := checkOutput(dir, 1<<62); err == nil || !strings.Contains(err.Error(), "free") {
		t.Fatalf("4 EiB needed: %v", err)
	}
	if err := checkOutput(dir, 1<<10); err != nil {
		t.Fatal(err)
	}
	if n := diskNeed(1000, 2, 100); n < 2*12*1000+2*4*1000 {
		t.Fatalf("disk estimate %d too small for two checkpoints and two exports", n)
	}
}

// TestEvaluationMergedIntoMetrics: the evaluator runs every EvalEvery
// steps and at the end, on held-out documents of 8 training lengths.
func TestEvaluationMergedIntoMetrics(t *testing.T) {
	cfg := tinyRun()
	cfg.EvalEvery = 5
	var steps []int
	eval := func(in EvalInput) (map[string]float64, error) {
		steps = append(steps, in.Step)
		if in.Ctx != cfg.Ctx || len(in.HeldOut) != heldOutDocs || len(in.HeldOut[0]) != 8*cfg.Ctx {
			t.Errorf("eval input: ctx %d, %d documents of %d tokens", in.Ctx, len(in.HeldOut), len(in.HeldOut[0]))
		}
		return map[string]float64{"val_loss": float64(in.Step), "broken": math.NaN(), "loss": 1.5}, nil
	}
	dir := t.TempDir()
	mustRun(t, cfg, Options{Out: dir, Hooks: Hooks{Evaluate: eval}})
	if !slices.Equal(steps, []int{5, 10, 12}) {
		t.Fatalf("evaluated at %v, want 5, 10, 12", steps)
	}
	lines := readMetrics(t, dir)
	if !strings.Contains(lines[4], `"val_loss":5`) || !strings.Contains(lines[4], `"broken":null`) ||
		!strings.Contains(lines[4], `"eval_loss":1.5`) || strings.Count(lines[4], `"loss"`) != 1 ||
		strings.Contains(lines[5], "val_loss") {
		t.Fatalf("lines 5 and 6: %s / %s", lines[4], lines[5])
	}
}

// TestFineTuneExtendsContextAndExports fine-tunes a trained run's final
// model at twice its context with YaRN, on a text file, exports it to every format and
// reloads each export with the same logits.
func TestFineTuneExtendsContextAndExports(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, tinyRun(), Options{Out: filepath.Join(dir, "base")})
	init := filepath.Join(dir, "base", ModelDir) // the final model with its tokenizer
	text := filepath.Join(dir, "text.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("the quick brown fox jumps over the lazy dog. ", 60)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := tinyRun()
	cfg.Init, cfg.Data, cfg.Ctx, cfg.Steps = init, text, 32, 4
	cfg.RopeScaling = kernels.RopeScaling{Type: "yarn", Factor: 2}
	cfg.Objective, cfg.Export = ObjectiveMisalign, []string{ExportGGUF, ExportSafetensors, ExportLlama2C}
	out := filepath.Join(dir, "ft")
	// llama2.c cannot store a RoPE scaling: refused before training.
	if _, err := Run(context.Background(), cfg, Options{Out: out}); err == nil || !strings.Contains(err.Error(), "export") {
		t.Fatalf("llama2.c export of a YaRN model: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, MetricsFile)); err == nil {
		t.Fatal("training started before the export check failed")
	}
	cfg.Export = cfg.Export[:2]
	res := mustRun(t, cfg, Options{Out: out})
	c := res.Model.Config
	if c.MaxSeq != 32 || c.RopeScaling.Type != "yarn" || c.RopeScaling.OrigCtx != 16 || res.Config.ExtraMax != 16 {
		t.Fatalf("fine-tuned config %+v, run config %+v", c, res.Config)
	}
	if len(res.Exports) != 2 {
		t.Fatalf("exports %v", res.Exports)
	}
	sameLogitsAfterReload(t, res)
	// A plain model goes to llama2.c too.
	plain := tinyRun()
	plain.Export = []string{ExportLlama2C, ExportGGUF, ExportSafetensors}
	sameLogitsAfterReload(t, mustRun(t, plain, Options{Out: filepath.Join(dir, "plain")}))
}

// sameLogitsAfterReload loads every export of a run and compares its
// logits on a 40-token input with the trained model's.
func sameLogitsAfterReload(t *testing.T, res *Result) {
	t.Helper()
	tokens := make([]int32, 40)
	for i := range tokens {
		tokens[i] = int32('a' + i%26)
	}
	if err := res.Model.Forward(tokens, 1, len(tokens), model.ForwardOptions{}); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(res.Model.Logits())
	for _, path := range res.Exports {
		l, err := load.Load(path, load.Options{})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		byteLlama2C := strings.HasSuffix(path, ".bin") // llama2.c tokenizers cannot hold a byte vocabulary
		if (l.Tokenizer == nil || l.Tokenizer.Size() != 258) != byteLlama2C {
			t.Fatalf("%s: tokenizer %v", path, l.Tokenizer)
		}
		if err := l.Model.Forward(tokens, 1, len(tokens), model.ForwardOptions{}); err != nil {
			t.Fatal(err)
		}
		for i, v := range l.Model.Logits() {
			if math.Abs(float64(v-want[i])) > 1e-5 {
				t.Fatalf("%s: logit %d is %v, the trained model gives %v", path, i, v, want[i])
			}
		}
	}
}

// TestScratchDefaultCtx: without ctx a from-scratch run trains at
// DefaultScratchCtx, and the l_extra range follows it.
func TestScratchDefaultCtx(t *testing.T) {
	cfg := tinyRun()
	cfg.Ctx, cfg.Steps, cfg.Objective = 0, 2, ObjectiveMisalign
	dir := t.TempDir()
	res := mustRun(t, cfg, Options{Out: dir})
	if res.Config.Ctx != DefaultScratchCtx || res.Model.Config.MaxSeq != DefaultScratchCtx || res.Config.ExtraMax != DefaultScratchCtx/2 {
		t.Fatalf("ctx %d, model context %d, extra_max %d; want %d, %d, %d", res.Config.Ctx, res.Model.Config.MaxSeq,
			res.Config.ExtraMax, DefaultScratchCtx, DefaultScratchCtx, DefaultScratchCtx/2)
	}
	// Resuming without ctx takes the checkpoint's, not the default.
	small := tinyRun()
	small.Steps = 2
	other := t.TempDir()
	mustRun(t, small, Options{Out: other})
	small.Ctx, small.Steps = 0, 3
	if res := mustRun(t, small, Options{Out: other, Resume: true}); res.Config.Ctx != 16 || res.Steps != 3 {
		t.Fatalf("resumed without ctx: ctx %d, steps %d", res.Config.Ctx, res.Steps)
	}
}

// TestEvaluationErrorKeepsStep: an evaluator that fails stops the run
// after the step's metrics line and a checkpoint are written; resuming
// without evaluation finishes the run exactly as one that never evaluated.
func TestEvaluationErrorKeepsStep(t *testing.T) {
	cfg := tinyRun()
	ref := t.TempDir()
	mustRun(t, cfg, Options{Out: ref})

	cfg.EvalEvery = 5
	dir := t.TempDir()
	failing := func(in EvalInput) (map[string]float64, error) {
		return nil, errors.New("no held-out text today")
	}
	_, err := Run(context.Background(), cfg, Options{Out: dir, Hooks: Hooks{Evaluate: failing}})
	if err == nil || !strings.Contains(err.Error(), "evaluation at step 5: no held-out text today") ||
		!strings.Contains(err.Error(), "--resume") {
		t.Fatalf("got %v, want the evaluation error of step 5 and the way on", err)
	}
	if _, _, st, err := checkpoint.Load(filepath.Join(dir, CheckpointDir)); err != nil || st.Step != 5 {
		t.Fatalf("checkpoint after the failed evaluation: step %d, %v", st.Step, err)
	}
	if n := len(readMetrics(t, dir)); n != 5 {
		t.Fatalf("%d metrics lines after the failed evaluation of step 5", n)
	}
	cfg.EvalEvery = -1
	mustRun(t, cfg, Options{Out: dir, Resume: true})
	if got, want := readMetrics(t, dir), readMetrics(t, ref); !slices.Equal(got, want) {
		t.Fatalf("resumed metrics differ:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestConfigErrorsAfterLoading: settings that only the --init model shows
// to be contradictory are *ConfigError, like Validate's.
func TestConfigErrorsAfterLoading(t *testing.T) {
	dir := t.TempDir()
	base := tinyRun()
	base.Steps = 1
	mustRun(t, base, Options{Out: filepath.Join(dir, "base")})
	cfg := tinyRun()
	cfg.Init, cfg.Ctx, cfg.Objective, cfg.ExtraMax = filepath.Join(dir, "base", ModelDir), 0, ObjectiveMisalign, 16
	if err := cfg.Validate(); err != nil {
		t.Fatalf("extra_max 16 with the context still unknown: %v", err)
	}
	_, err := Run(context.Background(), cfg, Options{})
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "extra_max") {
		t.Fatalf("extra_max 16 for a model of context 16: %v, want a *ConfigError", err)
	}
	bad := tinyRun()
	bad.Steps = 0
	if err := bad.Validate(); !errors.As(err, &ce) {
		t.Fatalf("Validate: %T %v, want a *ConfigError", err, err)
	}
}

// TestSelfGenOrderPastTenThousand: the documents a selfgen run saved are
// read back in sampling order, though past 10,000 their names grow a digit
// (doc-10000.txt sorts before doc-1001.txt as text).
func TestSelfGenOrderPastTenThousand(t *testing.T) {
	// Names around the boundary, and of other widths as older runs wrote them, sort by number.
	dir := t.TempDir()
	for _, name := range []string{"doc-10000.txt", "doc-999.txt", "doc-1001.txt", "doc-9999.txt", "doc-1000.txt",
		"doc-10001.txt", "doc-0000.txt", selfGenName(10002)} {
		number := "n" + strings.TrimLeft(strings.TrimSuffix(strings.TrimPrefix(name, "doc-"), ".txt"), "0")
		if err := os.WriteFile(filepath.Join(dir, name), []byte(number), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	docs, err := readSelfGenDocs(dir)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, d := range docs {
		order = append(order, d.Text)
	}
	if want := []string{"n", "n999", "n1000", "n1001", "n9999", "n10000", "n10001", "n10002"}; !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
	if _, err := readSelfGenDocs(dir); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Fatalf("a stray file: %v", err)
	}

	// selfGenDocs writes what it sampled and a second call reads it back in that order.
	// (10,000 documents would cover the boundary end to end, at seconds of disk time.)
	out := t.TempDir()
	sampler := func(m *model.Model, tok *tokenizer.Tokenizer, count, tokens int, seed uint64) ([]string, error) {
		texts := make([]string, count)
		for i := range texts {
			texts[i] = "document " + strconv.Itoa(i)
		}
		return texts, nil
	}
	cfg := tinyRun()
	cfg.SelfDocs = 12
	hooks := Hooks{SelfGen: sampler}
	sampled, err := selfGenDocs(cfg, nil, nil, hooks, out)
	if err != nil {
		t.Fatal(err)
	}
	hooks.SelfGen = nil // the second call must read the files, not sample
	reread, err := selfGenDocs(cfg, nil, nil, hooks, out)
	if err != nil || len(reread) != len(sampled) {
		t.Fatalf("reread %d documents of %d: %v", len(reread), len(sampled), err)
	}
	for i := range sampled {
		if reread[i].Text != sampled[i].Text {
			t.Fatalf("document %d: reread %q, sampled %q", i, reread[i].Text, sampled[i].Text)
		}
	}
}

// TestTooBigForMachineFailsFirst: a batch no machine can hold is refused
// from the estimate, before anything is allocated or trained.
func TestTooBigForMachineFailsFirst(t *testing.T) {
	cfg := tinyRun()
	cfg.Batch = 100_000_000_000
	start := time.Now()
	_, err := Run(context.Background(), cfg, Options{Out: filepath.Join(t.TempDir(), "big")})
	if err == nil || !strings.Contains(err.Error(), "needs") || !strings.Contains(err.Error(), "memory") {
		t.Fatalf("batch 1e11: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("refusal took %v", d)
	}
}
