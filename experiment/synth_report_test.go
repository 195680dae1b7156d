package experiment

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestSynthLengthTicks(t *testing.T) {
	got := synthLengthTicks(1, 50, 10)
	if want := []float64{1, 10, 20, 30, 40, 50}; !slices.Equal(got, want) {
		t.Errorf("ticks %v, want %v", got, want)
	}
	if got := synthLengthTicks(1, 200, 20); !slices.Contains(got, 20) || len(got) > 9 {
		t.Errorf("ticks for 1-200: %v", got)
	}
}

// TestSynthWriteOutputs writes the files of a hand-made result and checks
// the summary's verdicts and tables and that the figures decode.
func TestSynthWriteOutputs(t *testing.T) {
	r := synthHandResult([]string{"mean", "length"}, []string{"nope", "rope"}, []string{"identity", "sqrt"}, 1,
		func(c SynthCombo, l int) float64 { return 1e-4 * float64(l) })
	dir := t.TempDir()
	files, err := r.WriteOutputs(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"results.json", "results.csv", "training.json", "config.json", "summary.md",
		"loss_vs_length.png", "loss_vs_length.svg", "reparam_vs_length.png", "reparam_vs_length.svg"} {
		if !slices.Contains(files, want) {
			t.Errorf("files %v lack %s", files, want)
		}
		if st, err := os.Stat(filepath.Join(dir, want)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", want, err)
		}
	}
	summary, err := os.ReadFile(filepath.Join(dir, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	claims := r.Claims()
	if len(claims) != 3 {
		t.Fatalf("%d claims, want 3", len(claims))
	}
	for _, c := range claims {
		line := "**(" + c.ID + ") " + c.Statement + ": " + c.Verdict + ".**"
		if c.Verdict == ClaimNotEvaluated || !bytes.Contains(summary, []byte(line)) {
			t.Errorf("summary.md lacks the verdict line %q", line)
		}
	}
	for _, want := range []string{"| mean   | identity | nope |", "mse_fspace", "Settings", "[min, max]",
		"reparam_vs_length.png"} {
		if !bytes.Contains(summary, []byte(want)) {
			t.Errorf("summary.md lacks %q", want)
		}
	}
	checkPNGs(t, dir, "loss_vs_length.png", "reparam_vs_length.png")
}

// checkPNGs fails the test unless every named file in dir decodes as a PNG.
func checkPNGs(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, name := range names {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		_, err = png.Decode(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
