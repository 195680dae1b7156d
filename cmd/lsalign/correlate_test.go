package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCorrelateFiles(t *testing.T) {
	// Misalignment 1..4 against ppl 2, 4, 5, 4 plus a fifth point: Pearson by hand below.
	set := writeFile(t, "set.json", `{"variants": [
	  {"name": "a", "misalignment": 1, "val_loss": 3.0, "scores": {"ppl_4x": 2}},
	  {"name": "b", "misalignment": 2, "val_loss": 2.0, "scores": {"ppl_4x": 4}},
	  {"name": "c", "misalignment": 3, "val_loss": 2.5, "scores": {"ppl_4x": 5}}]}`)
	more := writeFile(t, "d.json", `[{"name": "d", "misalignment": 4, "val_loss": 2.2, "scores": {"ppl_4x": 4}}]`)
	one := writeFile(t, "e.json", `{"name": "e", "misalignment": 5, "val_loss": 2.1, "scores": {"ppl_4x": 5}}`)
	png := filepath.Join(t.TempDir(), "c.png")
	md := filepath.Join(t.TempDir(), "c.md")
	code, out, errs := runCLI(t, "correlate", set, more, one, "--png", png, "--markdown", md, "--json", "--resamples", "300")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res struct {
		Variants     []struct{ Name string }
		Correlations []struct {
			Score, Predictor string
			Pearson          struct {
				R    float64
				CI95 [2]float64
				N    int
			}
			Spearman struct{ R float64 }
		}
	}
	lastJSON(t, out, &res)
	if len(res.Variants) != 5 || len(res.Correlations) != 2 {
		t.Fatalf("%s", out)
	}
	c := res.Correlations[0]
	// x = 1..5, y = (2,4,5,4,5): deviations (-2,-1,0,1,2), (-2,0,1,0,1): r = 6/sqrt(60).
	if c.Predictor != "misalignment" || c.Pearson.N != 5 || math.Abs(c.Pearson.R-6/math.Sqrt(60)) > 1e-12 ||
		math.Abs(c.Spearman.R-7/math.Sqrt(90)) > 1e-12 || !(c.Pearson.CI95[0] < c.Pearson.CI95[1]) {
		t.Fatalf("correlation %+v", c)
	}
	for _, p := range []string{png, md} {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", p, err)
		}
	}
	code, out, _ = runCLI(t, "correlate", set, more, "--png", "")
	if code != 0 || !strings.Contains(out, "| variant |") || !strings.Contains(out, "misalignment Pearson r") {
		t.Fatalf("exit %d: %s", code, out)
	}
	bad := writeFile(t, "bad.json", `{"variants": [{"misalignment": 1}]}`)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{more, one}, 1, "at least 3 variants, got 2"},
		{[]string{bad}, 1, "bad.json: variant 0 has no \"name\""},
		{nil, 2, "needs result files"},
		{[]string{"--variants", "depth"}, 2, "unknown set"},
		{[]string{"--variants", "rope-scaling"}, 2, "needs --model and --text"},
		{[]string{"--variants", "rope-scaling", set}, 2, "takes no files"},
	} {
		code, _, errs := runCLI(t, append([]string{"correlate", "--png", ""}, tc.args...)...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d, %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}

// TestCorrelateRopeScalingVariants builds the variant set from a tiny
// model, writes it, and correlates the written file again.
func TestCorrelateRopeScalingVariants(t *testing.T) {
	dir := tinyModelDir(t, 128)
	text := textFile(t, "a.txt", 1200)
	variants := filepath.Join(t.TempDir(), "variants.json")
	code, out, errs := runCLI(t, "correlate", "--variants", "rope-scaling", "--model", dir, "--text", text,
		"--samples", "8", "--passkey-trials", "1", "--write-variants", variants, "--png", "", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	data, err := os.ReadFile(variants)
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Variants []struct {
			Name         string
			Misalignment *float64
			ValLoss      *float64 `json:"val_loss"`
			Scores       map[string]float64
		}
	}
	if err := json.Unmarshal(data, &set); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range set.Variants {
		names = append(names, v.Name)
		if v.Misalignment == nil || v.ValLoss == nil || len(v.Scores) != 4 || v.Scores["ppl_4x"] <= 1 {
			t.Fatalf("variant %+v", v)
		}
	}
	if got := strings.Join(names, " "); got != "none linear-x2 linear-x4 ntk-x2 ntk-x4 yarn-x2 yarn-x4" {
		t.Fatalf("variants %s", got)
	}
	code, again, _ := runCLI(t, "correlate", variants, "--png", "", "--json")
	if code != 0 || !strings.Contains(again, `"predictor":"misalignment"`) || !strings.Contains(out, `"ppl_2x"`) {
		t.Fatalf("exit %d: %s", code, again)
	}
	// Interrupted after three variants (and half of the fourth line), the
	// run resumes with the same results.
	run := filepath.Join(t.TempDir(), "run")
	args := []string{"correlate", "--variants", "rope-scaling", "--model", dir, "--text", text,
		"--samples", "8", "--passkey-trials", "1", "--out", run, "--json"}
	code, whole, errs := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	jpath := filepath.Join(run, "correlate-variants.journal.jsonl")
	j, _ := os.ReadFile(jpath)
	lines := strings.SplitAfter(string(j), "\n")
	os.WriteFile(jpath, []byte(strings.Join(lines[:4], "")+lines[4][:20]), 0o644)
	code, resumed, errs := runCLI(t, append(args, "--resume")...)
	if code != 0 || resumed != whole || !strings.Contains(errs, "resuming after 3 finished units") {
		t.Fatalf("--resume: exit %d (%s)\n%s\nuninterrupted:\n%s", code, errs, resumed, whole)
	}
	for _, f := range []string{"variants.json", "correlation.md", "correlation.png", "results.json"} {
		if _, err := os.Stat(filepath.Join(run, f)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPredictorTitle: the known predictors read as words in tables and
// plots; an unknown one keeps its name instead of an empty header.
func TestPredictorTitle(t *testing.T) {
	for pred, want := range map[string]string{"misalignment": "misalignment", "train_loss": "train loss", "val_loss": "val loss", "grad_norm": "grad_norm"} {
		if got := predictorTitle(pred); got != want {
			t.Errorf("predictorTitle(%q) = %q, want %q", pred, got, want)
		}
	}
}
