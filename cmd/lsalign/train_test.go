package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/lsalign/lsalign/internal/testutil"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/load"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/train"
)

// tinyTrainArgs is the contract's command with a model small enough for tests.
func tinyTrainArgs(out string, extra ...string) []string {
	args := []string{"train", "--data", "builtin", "--steps", "6", "--save-every", "2", "--seed", "3", "--ctx", "16",
		"--batch", "2", "--layers", "1", "--dim", "16", "--heads", "2", "--kv-heads", "2", "--hidden", "32",
		"--eval-every", "-1", "--out", out}
	return append(args, extra...)
}

func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut strings.Builder
	if st := run(args, &out, &errOut); st != 0 {
		t.Fatalf("lsalign %v: status %d\nstderr: %s", args, st, errOut.String())
	}
	return out.String()
}

func metricsSteps(t *testing.T, dir string) []int {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, train.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m struct {
			Step *int     `json:"step"`
			Loss *float64 `json:"loss"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil || m.Step == nil || m.Loss == nil {
			t.Fatalf("metrics line %q lacks step or loss (%v)", sc.Text(), err)
		}
		steps = append(steps, *m.Step)
	}
	return steps
}

// TestTrainContract: train writes one metrics line per step, --resume
// continues to more steps, and --json ends stdout with a summary.
func TestTrainContract(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	runOK(t, tinyTrainArgs(dir, "--quiet")...)
	if steps := metricsSteps(t, dir); len(steps) != 6 || steps[5] != 6 {
		t.Fatalf("metrics steps %v", steps)
	}
	out := runOK(t, tinyTrainArgs(dir, "--steps", "8", "--resume", "--quiet", "--json")...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var sum trainSummary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil || sum.Steps != 8 {
		t.Fatalf("--json line %q: %+v, %v", lines[len(lines)-1], sum, err)
	}
	if steps := metricsSteps(t, dir); len(steps) != 8 || steps[7] != 8 {
		t.Fatalf("metrics steps after resume %v", steps)
	}
	var cfg train.Config
	b, err := os.ReadFile(filepath.Join(dir, train.ConfigFile))
	if err != nil || json.Unmarshal(b, &cfg) != nil || cfg.Steps != 8 || cfg.Model.Dim != 16 || cfg.Ctx != 16 {
		t.Fatalf("config.json %s (%v)", b, err)
	}
}

// TestTrainConfigFile: a JSON config sets the run; flags override it;
// unknown keys are usage errors.
func TestTrainConfigFile(t *testing.T) {
	tmp := t.TempDir()
	conf := filepath.Join(tmp, "c.json")
	os.WriteFile(conf, []byte(`{"objective": "ce+misalign", "alpha": 0.3, "steps": 9, "ctx": 16, "batch": 2,
		"model": {"family": "llama", "vocab_size": 258, "dim": 16, "n_layers": 1, "n_heads": 2, "n_kv_heads": 2, "hidden_dim": 32},
		"rope_scaling": {"type": "linear", "factor": 2}}`), 0o644)
	dir := filepath.Join(tmp, "run")
	runOK(t, "train", "--config", conf, "--steps", "3", "--eval-every", "-1", "--quiet", "--out", dir)
	var cfg train.Config
	b, _ := os.ReadFile(filepath.Join(dir, train.ConfigFile))
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Steps != 3 || cfg.Alpha != 0.3 || cfg.Objective != train.ObjectiveMisalign || cfg.Model.Dim != 16 ||
		cfg.RopeScaling.Type != "linear" || cfg.RopeScaling.OrigCtx != 16 || cfg.ExtraMax != 8 {
		t.Fatalf("resolved config %+v", cfg)
	}
	os.WriteFile(conf, []byte(`{"alpah": 0.3}`), 0o644)
	var errOut strings.Builder
	if st := run([]string{"train", "--config", conf, "--out", filepath.Join(tmp, "x")}, &strings.Builder{}, &errOut); st != 2 ||
		!strings.Contains(errOut.String(), "alpah") {
		t.Fatalf("unknown key: status %d, %q", st, errOut.String())
	}
}

// TestTrainExitStatus: contradictory settings are usage errors (2) before
// any work; bad input and unwritable outputs are errors (1).
func TestTrainExitStatus(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	for _, c := range []struct {
		args []string
		want int
		msg  string
	}{
		{[]string{"train"}, 2, "--out"},
		{tinyTrainArgs(filepath.Join(tmp, "a"), "--objective", "ce+misalign", "--extra-max", "20"), 2, "extra_max"},
		{tinyTrainArgs(filepath.Join(tmp, "b"), "--objective", "ce+misalign", "--alpha", "-1"), 2, "alpha"},
		{tinyTrainArgs(filepath.Join(tmp, "c"), "--rope-scaling", "yarn"), 2, "--rope-factor"},
		{tinyTrainArgs(filepath.Join(tmp, "d"), "--export", "onnx"), 2, "export"},
		{tinyTrainArgs(filepath.Join(tmp, "e"), "--data", filepath.Join(tmp, "absent")), 1, "absent"},
		{tinyTrainArgs(filepath.Join(file, "sub")), 1, "output directory"},
		{tinyTrainArgs(filepath.Join(tmp, "f"), "--init", file), 1, file},
	} {
		var errOut strings.Builder
		if st := run(c.args, &strings.Builder{}, &errOut); st != c.want || !strings.Contains(errOut.String(), c.msg) {
			t.Errorf("lsalign %v: status %d, stderr %q; want %d and %q", c.args, st, errOut.String(), c.want, c.msg)
		}
	}
	for _, d := range []string{"a", "b", "c", "d"} {
		if _, err := os.Stat(filepath.Join(tmp, d)); err == nil {
			t.Errorf("a usage error created the output directory %s", d)
		}
	}
}

// TestTrainFineTunesStories260K fine-tunes a real model at twice a
// context with YaRN, once on documents it samples itself and once on a
// book, and exports it to GGUF.
func TestTrainFineTunesStories260K(t *testing.T) {
	m := testutil.SharedDir(t, "models/stories260K")
	book := testutil.SharedDir(t, "corpora/gutenberg/austen-emma.txt")
	tmp := t.TempDir()
	common := []string{"--init", filepath.Join(m, "stories260K.bin"), "--ctx", "64", "--batch", "2", "--steps", "3",
		"--objective", "ce+misalign", "--rope-scaling", "yarn", "--rope-factor", "2", "--eval-samples", "8", "--quiet"}
	self := filepath.Join(tmp, "self")
	runOK(t, append([]string{"train", "--data", "selfgen", "--self-docs", "2", "--export", "gguf", "--out", self}, common...)...)
	docs, err := os.ReadDir(filepath.Join(self, "selfgen"))
	if err != nil || len(docs) != 2 {
		t.Fatalf("selfgen documents: %v, %v", docs, err)
	}
	text, _ := os.ReadFile(filepath.Join(self, "selfgen", docs[0].Name()))
	if !strings.Contains(string(text), " the ") {
		t.Fatalf("sampled document is not English-like: %.200q", text)
	}
	if _, err := os.Stat(filepath.Join(self, "model.gguf")); err != nil {
		t.Fatal(err)
	}
	onBook := filepath.Join(tmp, "book")
	out := runOK(t, append([]string{"train", "--data", book, "--out", onBook, "--json"}, common...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var sum trainSummary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatal(err)
	}
	// stories260K was trained at 512 tokens: the held-out book text at 64..256 is in range.
	for _, k := range []string{"val_loss", "ppl_1x", "ppl_2x", "ppl_4x", "val_misalign"} {
		if v, ok := sum.Eval[k]; !ok || !(v > 0) {
			t.Errorf("%s = %v (%v)", k, v, ok)
		}
	}
}

// TestTrainWithoutCtx: from scratch, neither the flags nor a --config file
// need ctx; the run trains at the documented 64 tokens.
func TestTrainWithoutCtx(t *testing.T) {
	tmp := t.TempDir()
	small := []string{"--batch", "2", "--layers", "1", "--dim", "16", "--heads", "2", "--kv-heads", "2", "--hidden", "32",
		"--steps", "1", "--eval-every", "-1", "--quiet"}
	viaFlags := filepath.Join(tmp, "flags")
	runOK(t, append([]string{"train", "--out", viaFlags}, small...)...)
	conf := filepath.Join(tmp, "c.json")
	os.WriteFile(conf, []byte(`{"steps": 1, "batch": 2, "eval_every": -1,
		"model": {"family": "llama", "vocab_size": 258, "dim": 16, "n_layers": 1, "n_heads": 2, "n_kv_heads": 2, "hidden_dim": 32}}`), 0o644)
	viaConfig := filepath.Join(tmp, "config")
	runOK(t, "train", "--config", conf, "--quiet", "--out", viaConfig)
	for _, dir := range []string{viaFlags, viaConfig} {
		var cfg train.Config
		b, err := os.ReadFile(filepath.Join(dir, train.ConfigFile))
		if err != nil || json.Unmarshal(b, &cfg) != nil || cfg.Ctx != train.DefaultScratchCtx {
			t.Fatalf("%s: config.json %s (%v), want ctx %d", dir, b, err, train.DefaultScratchCtx)
		}
	}
}

// TestTrainLearnedPositions: a gpt2-family model trains and evaluates at
// its context; perplexity beyond its learned positions is left out, once
// said on stderr, instead of failing the run.
func TestTrainLearnedPositions(t *testing.T) {
	tmp := t.TempDir()
	conf := filepath.Join(tmp, "gpt2.json")
	os.WriteFile(conf, []byte(`{"ctx": 16, "steps": 2, "batch": 2, "eval_every": 1,
		"model": {"family": "gpt2", "vocab_size": 258, "dim": 16, "n_layers": 1, "n_heads": 2, "n_kv_heads": 2, "hidden_dim": 64}}`), 0o644)
	dir := filepath.Join(tmp, "run")
	var out, errOut strings.Builder
	if st := run([]string{"train", "--config", conf, "--eval-samples", "4", "--out", dir, "--json"}, &out, &errOut); st != 0 {
		t.Fatalf("status %d: %s", st, errOut.String())
	}
	if n := strings.Count(errOut.String(), "ppl_2x"); n != 1 || !strings.Contains(errOut.String(), "16 learned positions") {
		t.Errorf("stderr names the left-out lengths %d times, want once:\n%s", n, errOut.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, train.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d metrics lines, want 2", len(lines))
	}
	for _, l := range lines {
		if !strings.Contains(l, `"ppl_1x"`) || strings.Contains(l, "ppl_2x") || strings.Contains(l, "ppl_4x") {
			t.Errorf("metrics line %s: want ppl_1x only", l)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, train.ModelDir)); err != nil {
		t.Errorf("no final model: %v", err)
	}
}

// TestTrainRecoversFromNaN: a diverged run stops with status 1 and the way
// on; resuming with a lower --lr is accepted and finishes; changing the
// model on resume is a usage error.
func TestTrainRecoversFromNaN(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nan")
	var errOut strings.Builder
	if st := run(tinyTrainArgs(dir, "--lr", "1e30", "--warmup", "0", "--quiet"), &strings.Builder{}, &errOut); st != 1 ||
		!strings.Contains(errOut.String(), "holds the weights from step") || !strings.Contains(errOut.String(), "lower --lr") {
		t.Fatalf("lr 1e30: status %d, stderr %q", st, errOut.String())
	}
	runOK(t, tinyTrainArgs(dir, "--lr", "1e-3", "--resume", "--quiet")...)
	if steps := metricsSteps(t, dir); len(steps) != 6 || steps[5] != 6 {
		t.Fatalf("metrics steps after the recovery %v", steps)
	}
	errOut.Reset()
	if st := run(tinyTrainArgs(dir, "--steps", "8", "--dim", "32", "--resume", "--quiet"), &strings.Builder{}, &errOut); st != 2 ||
		!strings.Contains(errOut.String(), "different settings") {
		t.Fatalf("resume with another width: status %d, stderr %q", st, errOut.String())
	}
}

// TestTrainResumeKeepsLR: resuming without --lr keeps the run's learning
// rate (resume accepts a changed --lr, so leaving it out must not change it).
func TestTrainResumeKeepsLR(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lr")
	runOK(t, tinyTrainArgs(dir, "--lr", "3e-3", "--clip", "0.5", "--quiet")...)
	runOK(t, tinyTrainArgs(dir, "--steps", "8", "--resume", "--quiet")...)
	var cfg train.Config
	b, err := os.ReadFile(filepath.Join(dir, train.ConfigFile))
	if err != nil || json.Unmarshal(b, &cfg) != nil || cfg.LR != 3e-3 || cfg.Clip != 0.5 || cfg.Steps != 8 {
		t.Fatalf("config.json after resuming without --lr: %s (%v)", b, err)
	}
}

// TestTrainRopeFlagsAsOtherCommands: train reads the --rope-* flags as
// ropeFlags.apply does for the commands that run a model (same scaling,
// same message), though it has no model yet to apply them to.
func TestTrainRopeFlagsAsOtherCommands(t *testing.T) {
	parse := func(args []string) ropeFlags {
		var f ropeFlags
		cmd := &cobra.Command{Use: "x"}
		addRopeFlags(cmd, &f)
		if err := cmd.ParseFlags(args); err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, args := range [][]string{
		{"--rope-factor", "2"},
		{"--rope-scaling", "yarn"},
		{"--rope-scaling", "abf"},
		{"--rope-scaling", "bogus", "--rope-factor", "2"},
		{"--rope-scaling", "none"},
		{"--rope-scaling", "linear", "--rope-factor", "2"},
		{"--rope-scaling", "yarn", "--rope-factor", "4", "--rope-orig-ctx", "8"},
		{"--rope-base", "50000"},
		{"--rope-scaling", "abf", "--rope-base", "1e6"},
		{"--rope-scaling", "abf", "--rope-base", "1e6", "--rope-orig-ctx", "8"}, // ABF has no original context
		{"--rope-scaling", "yarn", "--rope-factor", "2", "--rope-base", "50000"},
		{"--rope-scaling", "none", "--rope-base", "50000"},
	} {
		got, terr := trainRopeScaling(parse(args), kernels.RopeScaling{})
		m, err := model.New(model.Config{Family: "llama", Vocab: 258, Dim: 16, Layers: 1, Heads: 2, MaxSeq: 16})
		if err != nil {
			t.Fatal(err)
		}
		aerr := parse(args).apply(m, load.Meta{ContextLength: 16})
		want := m.Config.RopeScaling
		if want.OrigCtx == 16 && got.OrigCtx == 0 { // train leaves the model's context to the run
			got.OrigCtx = 16
		}
		if want.Type == "none" && got.Type == "" {
			got.Type = "none"
		}
		var ue usageError
		switch {
		case (terr == nil) != (aerr == nil):
			t.Errorf("%v: train says %v, the other commands %v", args, terr, aerr)
		case terr != nil && (terr.Error() != aerr.Error() || !errors.As(terr, &ue)):
			t.Errorf("%v: train says %q, the other commands %q", args, terr, aerr)
		case terr == nil && got != want:
			t.Errorf("%v: train gives %+v, the other commands %+v", args, got, want)
		}
	}
}

// TestTrainConfigErrorAfterLoading: --extra-max not below the context of
// the --init model, known only once it is loaded, is a usage error too.
func TestTrainConfigErrorAfterLoading(t *testing.T) {
	tmp := t.TempDir()
	base := filepath.Join(tmp, "base")
	runOK(t, tinyTrainArgs(base, "--steps", "1", "--quiet")...)
	args := []string{"train", "--init", filepath.Join(base, train.ModelDir), "--objective", "ce+misalign", "--extra-max", "16",
		"--steps", "1", "--batch", "2", "--eval-every", "-1", "--quiet", "--out", filepath.Join(tmp, "ft")}
	var errOut strings.Builder
	if st := run(args, &strings.Builder{}, &errOut); st != 2 || !strings.Contains(errOut.String(), "extra_max") {
		t.Fatalf("status %d, stderr %q; want 2 and extra_max", st, errOut.String())
	}
}
