package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestSynthQuickEndToEnd runs the real --quick study (about 15-30 s on 2
// cores) and checks every file it promises.
func TestSynthQuickEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out") // created by the command
	var stdout, stderr bytes.Buffer
	if rc := run([]string{"synth", "--quick", "--out", dir, "--json"}, &stdout, &stderr); rc != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", rc, stdout.String(), stderr.String())
	}

	var rows []map[string]any
	readJSON(t, filepath.Join(dir, "results.json"), &rows)
	const combos, lengths = 10, 50 // mean + length×4 reparams, 2 encodings, 1 seed
	if len(rows) != combos*lengths {
		t.Fatalf("results.json has %d rows, want %d", len(rows), combos*lengths)
	}
	wantKeys := []string{"length", "mse", "mse_fspace", "pe", "reparam", "seed", "task"}
	for i, row := range rows {
		var keys []string
		for k := range row {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, wantKeys) {
			t.Fatalf("row %d has keys %v, want %v", i, keys, wantKeys)
		}
		if mse, _ := row["mse"].(float64); !(mse >= 0) {
			t.Fatalf("row %d: mse %v", i, row["mse"])
		}
		if row["reparam"] == "identity" && row["mse"] != row["mse_fspace"] {
			t.Fatalf("row %d: identity rows must have mse == mse_fspace: %v", i, row)
		}
	}

	csv, err := os.ReadFile(filepath.Join(dir, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if lines[0] != "task,pe,reparam,seed,length,mse,mse_fspace" || len(lines) != 1+combos*lengths {
		t.Errorf("results.csv: header %q, %d lines", lines[0], len(lines))
	}

	var cfg map[string]any
	readJSON(t, filepath.Join(dir, "config.json"), &cfg)
	opts, _ := cfg["options"].(map[string]any)
	if opts["steps"] != float64(600) || opts["eval_samples"] != float64(1000) || cfg["model"] == nil {
		t.Errorf("config.json lacks the settings: %v", cfg)
	}

	// The summary's tables and the figures' contents are checked in
	// experiment (TestSynthWriteOutputs); here, that the quick preset decides
	// every claim and that every file is there.
	summary, err := os.ReadFile(filepath.Join(dir, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		re := regexp.MustCompile(`(?m)^.*\(` + id + `\).*(holds|does not hold).*$`)
		if !re.Match(summary) {
			t.Errorf("summary.md has no verdict line for (%s)", id)
		}
	}
	for _, name := range []string{"loss_vs_length.png", "reparam_vs_length.png", "loss_vs_length.svg",
		"reparam_vs_length.svg", "training.json"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", name, err)
		}
	}

	// stdout: the settings first, the verdicts, and the --json line last.
	out := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if !strings.HasPrefix(out[0], "# lsalign synth: 10 combinations") {
		t.Errorf("stdout starts %q", out[0])
	}
	var summaryJSON struct {
		Claims map[string]string `json:"claims"`
		Files  []string          `json:"files"`
	}
	if err := json.Unmarshal([]byte(out[len(out)-1]), &summaryJSON); err != nil {
		t.Fatalf("last stdout line is not JSON: %v", err)
	}
	if len(summaryJSON.Claims) != 3 || !slices.Contains(summaryJSON.Files, "loss_vs_length.svg") {
		t.Errorf("--json summary: %+v", summaryJSON)
	}
	// stderr is not a terminal here: one progress line per combination.
	if n := strings.Count(stderr.String(), "\n"); n != combos {
		t.Errorf("%d progress lines on stderr, want %d:\n%s", n, combos, stderr.String())
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestSynthUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"synth"}, // no --out
		{"synth", "--out", dir, "--pe", "xpos"},
		{"synth", "--out", dir, "--tasks", "mean,median"},
		{"synth", "--out", dir, "--reparam", "cube"},
		{"synth", "--out", dir, "--train-len", "10"},
		{"synth", "--out", dir, "--test-len", "5-2"},
		{"synth", "--out", dir, "--seeds", "0"},
		{"synth", "--out", dir, "--steps", "x"},
		{"synth", "--out", dir, "extra"},
	} {
		var stdout, stderr bytes.Buffer
		if rc := run(args, &stdout, &stderr); rc != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", args, rc, stderr.String())
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a rejected command wrote %d files", len(entries))
	}
}

func TestSynthHelpTeaches(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if rc := run([]string{"synth", "--help"}, &stdout, &stderr); rc != 0 {
		t.Fatalf("exit %d", rc)
	}
	for _, want := range []string{"results.json", "summary.md", "loss_vs_length.png", "mse_fspace", "--quick",
		"inv-sqrt", "sinusoidal", "lsalign synth --out"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}
