package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// gridJSON is the part of passkey's and babilong's --json the tests read.
type gridJSON struct {
	Task     string
	Accuracy float64
	Lengths  []int
	Depths   []float64
	PNG      string
	ByTask   map[string]float64 `json:"by_task"`
	Cells    []struct {
		Length, Trials int
		Depth          float64
	}
	Trials []struct {
		Length               int
		PromptTokens         int `json:"prompt_tokens"`
		Answer, Output, Task string
		Correct              bool
	}
}

func TestPasskeyCommand(t *testing.T) {
	dir := tinyModelDir(t, 128)
	png := filepath.Join(t.TempDir(), "pk.png")
	args := []string{"passkey", "--model", dir, "--lengths", "300,2x", "--depths", "0,1", "--trials", "2", "--seed", "4",
		"--png", png, "--json"}
	code, out, errs := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var g gridJSON
	lastJSON(t, out, &g)
	if g.Task != "passkey" || len(g.Cells) != 4 || len(g.Trials) != 8 || g.Lengths[1] != 256 || g.PNG != png {
		t.Fatalf("grid %+v", g)
	}
	for _, tr := range g.Trials {
		key, err := strconv.Atoi(tr.Answer)
		if tr.PromptTokens > tr.Length || tr.PromptTokens < tr.Length-91 || err != nil || key < 1 || key > 50000 {
			t.Fatalf("trial %+v", tr)
		}
	}
	if st, err := os.Stat(png); err != nil || st.Size() == 0 {
		t.Fatalf("heat map: %v", err)
	}
	_, again, _ := runCLI(t, args...)
	if again != out {
		t.Fatal("the same seed gave different results")
	}
	code, out, _ = runCLI(t, "passkey", "--model", dir, "--lengths", "300", "--depths", "0.5", "--trials", "1", "--png", "")
	if code != 0 || !strings.Contains(out, "| length \\ depth |") || !strings.Contains(out, "overall") {
		t.Fatalf("exit %d: %s", code, out)
	}
	// The answers are shown beside the accuracy table.
	for _, want := range []string{"| answer | output", "| passkey |"} {
		if !strings.Contains(out, want) {
			t.Fatalf("no answers table (%q) in:\n%s", want, out)
		}
	}
	// A length too short for the prompt skips its cells and says why,
	// while the lengths that fit still run.
	code, out, errs = runCLI(t, "passkey", "--model", dir, "--lengths", "100,300", "--depths", "0", "--trials", "1", "--png", "", "--json")
	var skipped struct {
		Accuracy float64
		Cells    []struct {
			Length   int
			Accuracy *float64
			Skipped  string
		}
	}
	lastJSON(t, out, &skipped)
	if code != 0 || len(skipped.Cells) != 2 || skipped.Cells[0].Accuracy != nil || !strings.Contains(skipped.Cells[0].Skipped, "more than the length 100") ||
		skipped.Cells[1].Accuracy == nil || skipped.Cells[1].Skipped != "" {
		t.Fatalf("exit %d, %s: %+v", code, errs, skipped)
	}
	code, out, _ = runCLI(t, "passkey", "--model", dir, "--lengths", "100", "--trials", "1", "--png", "")
	if code != 0 || !strings.Contains(out, "skipped length 100, depth 0.5: the prompt without filler already has") ||
		!strings.Contains(out, "no cell could run") {
		t.Fatalf("all cells too short: exit %d:\n%s", code, out)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--depths", "1.5"}, 2, "depth"},
		{[]string{"--trials", "0"}, 2, "--trials"},
		{[]string{"--template", filepath.Join(t.TempDir(), "none.json")}, 1, "none.json"},
	} {
		code, _, errs := runCLI(t, append([]string{"passkey", "--model", dir, "--png", ""}, tc.args...)...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d, %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}

// TestGridResume damages finished grid runs' journals as a kill would and
// checks that --resume gives byte-identical results.
func TestGridResume(t *testing.T) {
	dir := tinyModelDir(t, 128)
	for _, tc := range []struct {
		args    []string
		journal string
	}{
		{[]string{"passkey", "--lengths", "100,300", "--depths", "0,1", "--trials", "2"}, "passkey"},
		{[]string{"ruler", "--tasks", "niah_single,cwe", "--lengths", "300,1000", "--depths", "0,1", "--trials", "1", "--max-new", "3"}, "ruler-niah_single"},
	} {
		out := filepath.Join(t.TempDir(), "run")
		args := append(tc.args, "--model", dir, "--seed", "5", "--out", out, "--json")
		code, whole, errs := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		jpath := filepath.Join(out, tc.journal+".journal.jsonl")
		j, _ := os.ReadFile(jpath)
		lines := strings.SplitAfter(string(j), "\n")
		if len(lines) < 5 {
			t.Fatalf("%s: journal of %d lines", tc.journal, len(lines))
		}
		os.WriteFile(jpath, []byte(strings.Join(lines[:4], "")+lines[4][:5]), 0o644)
		code, resumed, errs := runCLI(t, append(args, "--resume")...)
		if code != 0 || resumed != whole || !strings.Contains(errs, "resuming after 3 finished units") {
			t.Fatalf("%v --resume: exit %d (%s)\n%s\nuninterrupted:\n%s", args, code, errs, resumed, whole)
		}
		if _, err := os.Stat(filepath.Join(out, "results.json")); err != nil {
			t.Fatal(err)
		}
	}
}
