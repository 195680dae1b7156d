package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/internal/testutil"
)

func TestPPLCommand(t *testing.T) {
	dir := tinyModelDir(t, 32)
	text := textFile(t, "a.txt", 300)
	// Several lengths: {results: [...]}, "2x" is twice the training context.
	code, out, errs := runCLI(t, "ppl", "--model", dir, "--text", text, "--ctx", "16,2x", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var many struct {
		Results []struct {
			Ctx, Tokens, Windows int
			NLL, PPL, Stderr     float64
			Convention           string
		}
	}
	lastJSON(t, out, &many)
	// 301 tokens (BOS + 300 bytes): 18 windows of 16 and 4 of 64.
	if len(many.Results) != 2 || many.Results[0].Ctx != 16 || many.Results[1].Ctx != 64 ||
		many.Results[0].Windows != 18 || many.Results[0].Tokens != 18*15 || many.Results[1].Tokens != 4*63 {
		t.Fatalf("results %+v", many.Results)
	}
	for _, r := range many.Results {
		if r.Convention != "full" || math.Abs(r.PPL-math.Exp(r.NLL)) > 1e-9*r.PPL || !(r.Stderr > 0) {
			t.Fatalf("result %+v", r)
		}
	}
	if !strings.Contains(errs, "length 64 is beyond the model's usable context 32") {
		t.Fatalf("no extrapolation note: %q", errs)
	}
	// One length: one object with ctx at the top.
	code, out, _ = runCLI(t, "ppl", "--model", dir, "--text", text, "--ctx", "16", "--convention", "stride", "--stride", "4", "--json")
	var one struct {
		Ctx, Stride, Tokens int
		Model               string
	}
	lastJSON(t, out, &one)
	if code != 0 || one.Ctx != 16 || one.Stride != 4 || one.Tokens != 72*4 || one.Model != dir {
		t.Fatalf("exit %d: %+v", code, one)
	}
	code, out, _ = runCLI(t, "ppl", "--model", dir, "--text", text, "--ctx", "16", "--convention", "half")
	if code != 0 || !strings.Contains(out, "| ctx | convention |") || !strings.Contains(out, "| half ") {
		t.Fatalf("exit %d: %s", code, out)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--ctx", "400"}, 1, "text too short"},
		{[]string{"--ctx", "16", "--convention", "thirds"}, 2, "--convention"},
		{[]string{"--ctx", "abc"}, 2, "--ctx"},
		{[]string{}, 2, "needs at least one length"},
	} {
		code, _, errs := runCLI(t, append([]string{"ppl", "--model", dir, "--text", text}, tc.args...)...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d, %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}

func TestPPLLimitsAndPerPosition(t *testing.T) {
	dir := tinyModelDir(t, 32)
	text := textFile(t, "a.txt", 300)
	out := filepath.Join(t.TempDir(), "run")
	code, stdout, errs := runCLI(t, "ppl", "--model", dir, "--text", text, "--ctx", "16,32", "--chunks", "3", "--max-tokens", "200",
		"--per-position", "--out", out, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var many struct {
		Results []struct{ Ctx, Windows, Tokens int }
	}
	lastJSON(t, stdout, &many)
	// 200 tokens: 12 windows of 16 and 6 of 32, cut to 3 by --chunks.
	if len(many.Results) != 2 || many.Results[0].Windows != 3 || many.Results[1].Windows != 3 || many.Results[1].Tokens != 3*31 {
		t.Fatalf("results %+v", many.Results)
	}
	data, err := os.ReadFile(filepath.Join(out, "nll_by_position.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if lines[0] != "ctx,pos,context_tokens,windows,nll,stderr" || len(lines) != 1+15+31 || !strings.HasPrefix(lines[1], "16,0,1,3,") {
		t.Fatalf("per-position CSV: %d lines, first %q, %q", len(lines), lines[0], lines[1])
	}
	for _, f := range []string{"nll_by_position.png", "results.json", "ppl-16.journal.jsonl", "ppl-32.journal.jsonl"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", f, err)
		}
	}
	results, _ := os.ReadFile(filepath.Join(out, "results.json"))
	var saved struct {
		Results []struct{ Ctx, Windows, Tokens int }
	}
	if err := json.Unmarshal(results, &saved); err != nil || fmt.Sprint(saved) != fmt.Sprint(many) {
		t.Fatalf("results.json %s does not hold what --json printed", results)
	}
	for _, args := range [][]string{{"--chunks", "-1"}, {"--max-tokens", "-5"}} {
		if code, _, errs := runCLI(t, append([]string{"ppl", "--model", dir, "--text", text, "--ctx", "16"}, args...)...); code != 2 {
			t.Errorf("%v: exit %d (%s), want 2", args, code, errs)
		}
	}
}

// TestPPLResume interrupts a run by damaging its journal the way a kill
// does (the last batches lost, a line torn) and checks that --resume gives
// byte-identical results, and that a journal made with other settings is
// refused.
func TestPPLResume(t *testing.T) {
	dir := tinyModelDir(t, 32)
	text := textFile(t, "a.txt", 2000)
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"ppl", "--model", dir, "--text", text, "--ctx", "16", "--per-position", "--batch-tokens", "256", "--out", out, "--json"}
	code, whole, errs := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	jpath := filepath.Join(out, "ppl-16.journal.jsonl")
	j, _ := os.ReadFile(jpath)
	lines := strings.SplitAfter(string(j), "\n")
	if len(lines) < 4 {
		t.Fatalf("journal of %d lines; the test needs several batches", len(lines))
	}
	// Keep the header and the first batch, and half of the second line.
	torn := lines[0] + lines[1] + lines[2][:len(lines[2])/2]
	if err := os.WriteFile(jpath, []byte(torn), 0o644); err != nil {
		t.Fatal(err)
	}
	code, resumed, errs := runCLI(t, append(args, "--resume")...)
	if code != 0 || resumed != whole {
		t.Fatalf("resumed run: exit %d (%s)\n%s\nuninterrupted:\n%s", code, errs, resumed, whole)
	}
	if !strings.Contains(errs, "resuming after 1 finished units") || !strings.Contains(errs, "incomplete") {
		t.Fatalf("resume did not say what it found: %q", errs)
	}
	code, _, errs = runCLI(t, "ppl", "--model", dir, "--text", text, "--ctx", "16", "--per-position", "--batch-tokens", "256",
		"--chunks", "2", "--out", out, "--resume")
	if code != 1 || !strings.Contains(errs, "other settings: [chunks (was 0, now 2)") {
		t.Fatalf("resume with other settings: exit %d, %q", code, errs)
	}
}

// TestPPLStories260KHalf is the check: llama.cpp's perplexity on
// the first 20000 bytes of Emma is 44.38.
func TestPPLStories260KHalf(t *testing.T) {
	dir := testutil.SharedDir(t, "models/stories260K")
	book := testutil.SharedDir(t, "corpora/gutenberg/austen-emma.txt")
	data, err := os.ReadFile(book)
	if err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(t.TempDir(), "emma-20000.txt")
	if err := os.WriteFile(text, data[:20000], 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "ppl", "--model", filepath.Join(dir, "stories260K.gguf"), "--text", text,
		"--ctx", "512", "--convention", "half", "--json")
	var res struct{ PPL float64 }
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lastJSON(t, out, &res)
	if math.Abs(res.PPL-44.38)/44.38 > 0.005 {
		t.Fatalf("ppl %g, llama.cpp 44.38", res.PPL)
	}
}
