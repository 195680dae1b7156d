package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKLDCommand(t *testing.T) {
	dir := tinyModelDir(t, 32)
	text := textFile(t, "a.txt", 600)
	type stats struct {
		Windows, Tokens int
		TopK            int `json:"top_k"`
		KLD             struct{ Value, Stderr float64 }
		SameTop         struct{ Value float64 } `json:"same_top_p"`
		Base, Model     string
	}
	// A model against itself: zero divergence, the same top token everywhere.
	code, out, errs := runCLI(t, "kld", "--base", dir, "--model", dir, "--text", text, "--ctx", "32", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var self stats
	lastJSON(t, out, &self)
	// 601 tokens: 18 windows of 32, 15 scored predictions each.
	if self.Windows != 18 || self.Tokens != 18*15 || self.KLD.Value != 0 || self.SameTop.Value != 1 || self.Base != dir {
		t.Fatalf("self-comparison %+v", self)
	}
	// A RoPE-scaled variant diverges; a saved base with every log-probability
	// gives the same numbers as the live comparison, and fewer give a lower bound.
	args := []string{"--model", dir, "--rope-scaling", "linear", "--rope-factor", "4", "--json"}
	code, out, errs = runCLI(t, append([]string{"kld", "--base", dir, "--text", text, "--ctx", "32", "--chunks", "10"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var live stats
	lastJSON(t, out, &live)
	if live.Windows != 10 || !(live.KLD.Value > 0) || live.TopK != 0 {
		t.Fatalf("scaled variant %+v", live)
	}
	saved := filepath.Join(t.TempDir(), "base.kldbase")
	for _, k := range []string{"258", "8"} {
		code, _, errs = runCLI(t, "kld", "--base", dir, "--text", text, "--ctx", "32", "--chunks", "10", "--save-base", saved, "--top-k", k)
		if code != 0 || !strings.Contains(errs, "saved the base's top-"+k) {
			t.Fatalf("--save-base --top-k %s: exit %d: %s", k, code, errs)
		}
		code, out, errs = runCLI(t, append([]string{"kld", "--base-file", saved}, args...)...)
		if code != 0 {
			t.Fatalf("--base-file: exit %d: %s", code, errs)
		}
		var fromFile stats
		lastJSON(t, out, &fromFile)
		if k == "258" && (fromFile.TopK != 0 || math.Abs(fromFile.KLD.Value-live.KLD.Value) > 1e-5*live.KLD.Value) {
			t.Errorf("full saved base: %+v, live %+v", fromFile, live)
		}
		if k == "8" && (fromFile.TopK != 8 || fromFile.KLD.Value > live.KLD.Value) {
			t.Errorf("top-8 saved base: %+v should be a lower bound of %g", fromFile, live.KLD.Value)
		}
	}
	code, out, _ = runCLI(t, "kld", "--base-file", saved, "--model", dir)
	for _, want := range []string{"====== KL divergence statistics ======", "Mean    KLD:", "99.9%   KLD:", "RMS Δp", "Same top p:", "lower bound"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("text report lacks %q (exit %d):\n%s", want, code, out)
		}
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--model", dir, "--text", text}, 2, "exactly one of --base and --base-file"},
		{[]string{"--base", dir, "--base-file", saved, "--model", dir}, 2, "exactly one of"},
		{[]string{"--base", dir, "--model", dir}, 2, "needs --text"},
		{[]string{"--base", dir, "--text", text}, 2, "needs --model"},
		{[]string{"--base-file", saved, "--model", dir, "--text", text}, 2, "brings its own windows"},
		{[]string{"--base", dir, "--model", dir, "--text", text, "--ctx", "4000"}, 1, "text too short"},
		{[]string{"--base-file", text, "--model", dir}, 1, "not a saved KL-divergence base"},
	} {
		code, _, errs := runCLI(t, append([]string{"kld"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d, %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}

// TestKLDResume damages a finished run's journal as a kill would and
// checks that --resume gives byte-identical results, live and from a
// saved base.
func TestKLDResume(t *testing.T) {
	dir := tinyModelDir(t, 32)
	text := textFile(t, "a.txt", 1500)
	out := filepath.Join(t.TempDir(), "run")
	saved := filepath.Join(t.TempDir(), "b.kldbase")
	for _, args := range [][]string{
		{"kld", "--base", dir, "--text", text, "--save-base", saved},
		{"kld", "--base-file", saved},
	} {
		args = append(args, "--model", dir, "--rope-scaling", "linear", "--rope-factor", "2", "--ctx", "16",
			"--batch-tokens", "64", "--out", out, "--json")
		code, whole, errs := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		jpath := filepath.Join(out, "kld.journal.jsonl")
		j, _ := os.ReadFile(jpath)
		lines := strings.SplitAfter(string(j), "\n")
		if len(lines) < 5 {
			t.Fatalf("journal of %d lines; the test needs several batches", len(lines))
		}
		os.WriteFile(jpath, []byte(lines[0]+lines[1]+lines[2]+lines[3][:10]), 0o644)
		code, resumed, errs := runCLI(t, append(args, "--resume")...)
		if code != 0 || resumed != whole || !strings.Contains(errs, "resuming after 2 finished units") {
			t.Fatalf("%v --resume: exit %d (%s)\n%s\nuninterrupted:\n%s", args, code, errs, resumed, whole)
		}
	}
}
