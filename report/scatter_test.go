package report

import (
	"math"
	"path/filepath"
	"testing"

	"gonum.org/v1/plot/plotter"
)

func TestLeastSquares(t *testing.T) {
	// Points on y = 1 + 2x, and a symmetric pair around it.
	a, b, ok := leastSquares(plotter.XYs{{X: 0, Y: 1}, {X: 1, Y: 3}, {X: 2, Y: 5}})
	if !ok || math.Abs(a-1) > 1e-12 || math.Abs(b-2) > 1e-12 {
		t.Fatalf("fit a=%g b=%g", a, b)
	}
	a, b, _ = leastSquares(plotter.XYs{{X: 0, Y: 0}, {X: 0, Y: 2}, {X: 2, Y: 2}, {X: 2, Y: 4}})
	if a != 1 || b != 1 {
		t.Fatalf("fit a=%g b=%g, want 1, 1", a, b)
	}
	if _, _, ok := leastSquares(plotter.XYs{{X: 1, Y: 0}, {X: 1, Y: 2}}); ok {
		t.Fatal("a constant x has no fit")
	}
}

func TestScatterSaves(t *testing.T) {
	s := Scatter{Title: "misalignment vs ppl@4x", XLabel: "misalignment", YLabel: "ppl", Fit: true, LogY: true,
		Points: []ScatterPoint{{1, 10, "none"}, {2, 40, "linear-x2"}, {3, 90, "yarn-x4"}, {math.NaN(), 5, "skipped"}}}
	if err := (Figure{Panels: []Panel{s, s}}).Save(filepath.Join(t.TempDir(), "s.png")); err != nil {
		t.Fatal(err)
	}
	if _, err := (Scatter{Points: []ScatterPoint{{1, -1, ""}}, LogY: true}).Plot(); err == nil {
		t.Fatal("a non-positive y on a log axis was accepted")
	}
	if _, err := (Scatter{}).Plot(); err == nil {
		t.Fatal("a scatter without points was accepted")
	}
}
