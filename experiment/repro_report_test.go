package experiment

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/eval"
	"github.com/lsalign/lsalign/synth"
)

// TestReproWriteOutputs writes the files of a made-up study and checks
// report.md's verdict lines, results.json's schema and the figures.
func TestReproWriteOutputs(t *testing.T) {
	o := TinyReproOptions()
	res := fakeResult(o, func(v ReproVariant, seed int) float64 { return 3 + 0.1*float64(seed) - v.Alpha/10 },
		func(s float64, i int) float64 { return s + 0.01*math.Sin(float64(i)) },
		func(s float64, i int) float64 { return 1 + 0.01*math.Cos(float64(i)) })
	for i := range res.Runs {
		run := &res.Runs[i]
		for k, nll := range run.NLL {
			run.PPL[k], run.Passkey[k] = math.Exp(nll), 0.5
		}
	}
	for seed := 1; seed <= o.Seeds; seed++ {
		for _, s := range o.Scalings {
			res.Base = append(res.Base, ReproRun{ID: s + "-base", ReproVariant: ReproVariant{Scaling: s}, Seed: seed,
				NLL: [3]float64{3, 3.5, 4}, PPL: [3]float64{20, 33, 55}})
		}
	}
	res.Synth = synthHandResult([]string{"mean", "length"}, []string{"nope"}, []string{synth.Identity}, 1,
		func(c SynthCombo, l int) float64 { return 1e-4 * float64(l) })

	dir := t.TempDir()
	files, err := res.WriteOutputs(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.md", "results.json", "ppl_vs_length.png", "ppl_vs_length.svg", "correlation.png",
		"correlation.svg", "synth/summary.md", "synth/results.json"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty (%v)", f, err)
		}
	}
	if !slices.Contains(files, ReproSynthDir+"/") || !slices.Contains(files, "correlation.svg") {
		t.Errorf("files %v", files)
	}
	checkPNGs(t, dir, "ppl_vs_length.png", "correlation.png")

	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Claims       []ReproClaim      `json:"claims"`
		Correlations []map[string]any  `json:"correlations"`
		Runs         []map[string]any  `json:"runs"`
		SynthClaims  []map[string]any  `json:"synth_claims"`
		Options      map[string]any    `json:"options"`
		Definitions  map[string]string `json:"definitions"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Runs) != len(res.Runs) || len(got.Correlations) != 2 || len(got.SynthClaims) != 3 ||
		got.Options["l"] == nil || got.Definitions["score"] == "" {
		t.Errorf("results.json: %d runs, %d correlations, %d synth claims, options %v, definitions %v",
			len(got.Runs), len(got.Correlations), len(got.SynthClaims), got.Options, got.Definitions)
	}
	report, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Claims) != 4 {
		t.Fatalf("%d claims in results.json", len(got.Claims))
	}
	for _, c := range got.Claims {
		if !strings.Contains(string(report), c.Statement+": "+c.Verdict) {
			t.Errorf("report.md has no verdict line for %q", c.Statement)
		}
	}
	for _, want := range []string{"## (i) Synthetic study", "## (iii) Correlations", "## Definitions"} {
		if !strings.Contains(string(report), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}

func TestCorrelationCell(t *testing.T) {
	c := eval.Correlation{R: 0.5, CI95: [2]eval.Float{0.25, 0.75}}
	if got, want := CorrelationCell(c), "0.5 [0.25, 0.75]"; got != want {
		t.Errorf("CorrelationCell = %q, want %q", got, want)
	}
	if got := CorrelationCell(eval.Correlation{R: eval.Float(math.NaN())}); got != "n/a" {
		t.Errorf("undefined r: %q, want n/a", got)
	}
}
