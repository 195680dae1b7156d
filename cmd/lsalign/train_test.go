package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/internal/testutil"
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
