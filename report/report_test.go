package report

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTableMarkdown(t *testing.T) {
	tb := Table{Header: []string{"pe", "MSE"}, Align: []Align{Left, Right}}
	tb.AddRow("nope", "1.5")
	tb.AddRow("a|b", "10")
	tb.AddRow("rope") // short rows are padded
	want := "" +
		"| pe   | MSE |\n" +
		"| ---- | --: |\n" +
		"| nope | 1.5 |\n" +
		`| a\|b |  10 |` + "\n" +
		"| rope |     |\n"
	if got := tb.Markdown(); got != want {
		t.Errorf("Markdown:\n%s\nwant:\n%s", got, want)
	}
	c := Table{Header: []string{"x"}, Align: []Align{Center}}
	if got := c.Markdown(); got != "| x   |\n| :-: |\n" {
		t.Errorf("centered: %q", got)
	}
}

func TestTableRejectsLongRows(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a row longer than the header did not panic")
		}
	}()
	tb := Table{Header: []string{"a"}}
	tb.AddRow("1", "2")
	tb.Markdown()
}

func TestNumAndSpread(t *testing.T) {
	for x, want := range map[float64]string{0: "0", 1.5: "1.5", 659.4: "659", 1234.5: "1.23e+03", 0.00123: "0.00123",
		2.12e-6: "2.12e-06", 1.8e5: "1.80e+05", -3: "-3"} {
		if got := Num(x); got != want {
			t.Errorf("Num(%v) = %q, want %q", x, got, want)
		}
	}
	if got := Spread([]float64{1, 2, 6}); got != "3 [1, 6]" {
		t.Errorf("Spread = %q", got)
	}
	if got := Spread([]float64{4}); got != "4" {
		t.Errorf("Spread of one value = %q", got)
	}
	if got := Spread(nil); got != "–" {
		t.Errorf("Spread of nothing = %q", got)
	}
}

func TestDecadeTicksStayInRange(t *testing.T) {
	lo, hi := math.Log10(3e-7), math.Log10(2.5e4) // the axis holds log10 values
	var labels []string
	for _, tk := range (decadeTicks{}).Ticks(lo, hi) {
		if tk.Value < lo || tk.Value > hi {
			t.Errorf("tick %g outside the range", tk.Value)
		}
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	// 1e-6 .. 1e4 is 11 decades: every second one labelled.
	if got := strings.Join(labels, " "); got != "1e-6 1e-4 1e-2 1e0 1e2 1e4" {
		t.Errorf("labels %q", got)
	}
	// Less than two decades inside: 2 and 5 × 10^k get labels too.
	var narrow []string
	var minor int
	for _, tk := range (decadeTicks{}).Ticks(math.Log10(1.5e-6), math.Log10(8e-6)) {
		if tk.Label != "" {
			narrow = append(narrow, tk.Label)
		} else {
			minor++
		}
	}
	if got := strings.Join(narrow, " "); got != "2e-06 5e-06" || minor != 5 {
		t.Errorf("narrow-range labels %q and %d minor ticks (want 3, 4, 6, 7, 8)", got, minor)
	}
	if len(decadeTicks{}.Ticks(1, 1)) != 0 {
		t.Error("an empty range should give no ticks")
	}
}

func TestFigureWritesPNGAndSVG(t *testing.T) {
	dir := t.TempDir()
	series := func(label string, scale float64) Series {
		s := Series{Label: label}
		for x := 1; x <= 20; x++ {
			s.X = append(s.X, float64(x))
			// three replicates; one exact zero must not break the log scale
			s.Y = append(s.Y, []float64{scale * float64(x*x), scale * float64(x*x) * 2, 0})
		}
		return s
	}
	fig := Figure{Title: "test figure", Cols: 2, Panels: []Panel{
		LinePanel{Title: "log", XLabel: "length", YLabel: "MSE", LogY: true, XTicks: []float64{1, 10, 20},
			Shades: []Shade{{From: 1, To: 10, Label: "training"}}, Series: []Series{series("a", 1), series("b", 1e-3)}},
		LinePanel{Title: "linear", Legend: LegendBottomRight, Series: []Series{series("c", 1)}},
		LinePanel{Title: "no legend", Legend: LegendNone, Series: []Series{series("d", 1)}},
	}}
	pngPath, svgPath := filepath.Join(dir, "f.png"), filepath.Join(dir, "f.svg")
	if err := fig.Save(pngPath, svgPath); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	// 2 columns × 4 in and 2 rows × 3 in plus the title band, at 96 dpi.
	if b := img.Bounds(); b.Dx() != 768 || b.Dy() < 576 {
		t.Errorf("PNG is %v", b)
	}
	svg, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "test figure", "training", ">1e1<"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(matches) > 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}

func TestFigureErrors(t *testing.T) {
	dir := t.TempDir()
	bad := Figure{Panels: []Panel{LinePanel{Series: []Series{{Label: "x", X: []float64{1, 2}, Y: [][]float64{{1}}}}}}}
	if err := bad.Save(filepath.Join(dir, "bad.png")); err == nil || !strings.Contains(err.Error(), `series "x"`) {
		t.Errorf("mismatched series: %v", err)
	}
	empty := Figure{Panels: []Panel{LinePanel{Series: []Series{{Label: "e", X: []float64{1}, Y: [][]float64{{}}}}}}}
	if err := empty.Save(filepath.Join(dir, "empty.png")); err == nil {
		t.Error("a point without values was accepted")
	}
	nan := Figure{Panels: []Panel{LinePanel{LogY: true, Series: []Series{{Label: "n", X: []float64{1}, Y: [][]float64{{math.NaN()}}}}}}}
	if err := nan.Save(filepath.Join(dir, "nan.png")); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("a NaN value: %v", err)
	}
	if err := (Figure{}).Save(filepath.Join(dir, "none.png")); err == nil {
		t.Error("a figure without panels was accepted")
	}
	ok := Figure{Panels: []Panel{LinePanel{Series: []Series{{X: []float64{1}, Y: [][]float64{{1}}}}}}}
	if err := ok.Save(filepath.Join(dir, "f.unknown")); err == nil {
		t.Error("an unknown format was accepted")
	}
}
