package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/experiment"
)

// TestReproEndToEnd runs the whole study with the test preset and checks
// the files, the results.json schema and a verdict for every claim. (The
// real --quick preset's settings are checked in the experiment package;
// ../shared/checks/contract.sh runs it.)
func TestReproEndToEnd(t *testing.T) {
	dir := t.TempDir()
	out := runOK(t, "repro", "--tiny", "--out", dir, "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var sum studySummary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatalf("--json line %q: %v", lines[len(lines)-1], err)
	}
	for _, f := range []string{"report.md", "results.json", "ppl_vs_length.png", "ppl_vs_length.svg", "correlation.png",
		"correlation.svg", "synth/summary.md", "synth/results.json", "runs/pretrain-seed1/metrics.jsonl",
		"runs/pretrain-seed2/model/config.json", "runs/yarn-alpha0.1-half-seed2.jsonl"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty (%v)", f, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Claims []struct {
			ID, Statement, Verdict string
			CI95                   []*float64 `json:"ci95"`
			Evidence               []string
		} `json:"claims"`
		Correlations []map[string]any `json:"correlations"`
		Runs         []map[string]any `json:"runs"`
		Base         []map[string]any `json:"base"`
		SynthClaims  []map[string]any `json:"synth_claims"`
		Options      map[string]any   `json:"options"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	o := experiment.TinyReproOptions()
	if len(res.Runs) != o.Seeds*len(o.Variants()) || len(res.Base) != o.Seeds*(1+len(o.Scalings)) {
		t.Fatalf("%d runs and %d base rows", len(res.Runs), len(res.Base))
	}
	for _, k := range []string{"id", "scaling", "alpha", "range", "seed", "nll", "ppl", "passkey", "misalign", "train_loss"} {
		if _, ok := res.Runs[0][k]; !ok {
			t.Errorf("runs[0] lacks %q: %v", k, res.Runs[0])
		}
	}
	report, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	verdicts := []string{experiment.ClaimHolds, experiment.ClaimDoesNotHold, experiment.ReproInconclusive, experiment.ClaimNotEvaluated}
	ids := map[string]bool{}
	for _, c := range res.Claims {
		ids[c.ID] = true
		ok := false
		for _, v := range verdicts {
			ok = ok || c.Verdict == v
		}
		if !ok || len(c.CI95) != 2 || len(c.Evidence) == 0 {
			t.Errorf("claim %s: verdict %q, ci %v", c.ID, c.Verdict, c.CI95)
		}
		if !strings.Contains(string(report), c.Statement+": "+c.Verdict) {
			t.Errorf("report.md has no verdict line for %q", c.Statement)
		}
		if sum.Claims[c.ID] != c.Verdict {
			t.Errorf("--json claims %v disagree with results.json on %s", sum.Claims, c.ID)
		}
	}
	for _, id := range []string{"alpha-0.1", "alpha-1.0", "range", "correlation"} {
		if !ids[id] {
			t.Errorf("no claim %s", id)
		}
	}
	if len(res.Correlations) != 2 || len(res.SynthClaims) != 3 || res.Options["l"] == nil {
		t.Errorf("correlations %d, synth claims %d, options %v", len(res.Correlations), len(res.SynthClaims), res.Options)
	}
	// A second run into the same directory reuses the pretrained models.
	out = runOK(t, "repro", "--tiny", "--out", dir)
	if !strings.Contains(out, "alpha 0.1 improves") {
		t.Fatalf("second run: %s", out)
	}
}

func TestReproUsage(t *testing.T) {
	for _, args := range [][]string{{"repro", "--out", ""}, {"repro", "--out", t.TempDir(), "--seeds", "1"}, {"repro", "extra"}} {
		if st := run(args, &strings.Builder{}, &strings.Builder{}); st != 2 {
			t.Errorf("lsalign %v: status %d, want 2", args, st)
		}
	}
}
