package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRulerCommand(t *testing.T) {
	dir := tinyModelDir(t, 128)
	png := filepath.Join(t.TempDir(), "ruler.png")
	args := []string{"ruler", "--model", dir, "--tasks", "niah_single,vt,cwe", "--lengths", "300,1000", "--depths", "0,1",
		"--trials", "1", "--max-new", "3", "--seed", "2", "--png", png, "--json"}
	code, out, errs := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r struct {
		Threshold       float64
		EffectiveLength int `json:"effective_length"`
		Lengths         []int
		Summary         []struct {
			Length int
			Scores map[string]*float64
			Mean   *float64
		}
		Tasks map[string]struct {
			Depths []float64
			Cells  []struct {
				Trials  int
				Skipped string
			}
			Trials []struct{ Task, Answer string }
		}
		PNG string
	}
	lastJSON(t, out, &r)
	if r.Threshold != 0.856 || len(r.Summary) != 2 || len(r.Tasks) != 3 || r.PNG != png {
		t.Fatalf("result %+v", r)
	}
	// Needle tasks run each depth; vt and cwe one depth with trials × depths.
	if n := r.Tasks["niah_single"]; len(n.Depths) != 2 || len(n.Cells) != 4 {
		t.Fatalf("niah_single grid %+v", n)
	}
	if v := r.Tasks["vt"]; len(v.Depths) != 1 || len(v.Cells) != 2 || v.Cells[1].Trials != 2 {
		t.Fatalf("vt grid %+v", v)
	}
	// 300 tokens cannot hold the common-words list: skipped, and the mean
	// over tasks at that length with it. An untrained model scores 0
	// elsewhere, so the effective length is 0.
	if c := r.Tasks["cwe"].Cells[0]; !strings.Contains(c.Skipped, "more than the length 300") ||
		r.Summary[0].Scores["cwe"] != nil || r.Summary[0].Mean != nil || r.Summary[1].Mean == nil || r.EffectiveLength != 0 {
		t.Fatalf("summary %+v, cwe %+v", r.Summary, r.Tasks["cwe"].Cells)
	}
	if st, err := os.Stat(png); err != nil || st.Size() == 0 {
		t.Fatalf("heat map: %v", err)
	}
	_, again, _ := runCLI(t, args...)
	if again != out {
		t.Fatal("the same seed gave different results")
	}
	code, out, _ = runCLI(t, "ruler", "--model", dir, "--tasks", "niah_multikey", "--lengths", "1000", "--depths", "0.5", "--trials", "1", "--max-new", "2")
	for _, want := range []string{"| length | niah_multikey |", "effective length: below the threshold 0.856 already at 1000 tokens"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("exit %d: no %q in\n%s", code, want, out)
		}
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--tasks", "niah_huge"}, 2, "unknown task"},
		{[]string{"--threshold", "2"}, 2, "--threshold"},
		{[]string{"--background", filepath.Join(t.TempDir(), "none.txt")}, 1, "none.txt"},
	} {
		code, _, errs := runCLI(t, append([]string{"ruler", "--model", dir}, tc.args...)...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d, %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}
