package report

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHeatMapSaves(t *testing.T) {
	h := HeatMap{Title: "passkey accuracy", XLabel: "depth", YLabel: "length",
		XTicks: []string{"0", "0.5", "1"}, YTicks: []string{"512", "1024"},
		Values: [][]float64{{1, 0.5, math.NaN()}, {0, 0.25, 1}}, Min: 0, Max: 1}
	path := filepath.Join(t.TempDir(), "heat.png")
	if err := (Figure{Panels: []Panel{h}}).Save(path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 100 || b.Dy() < 100 {
		t.Fatalf("image of %v", b)
	}
	if p, err := h.Plot(); err != nil || p.X.Min != -0.5 || p.Y.Max != 1.5 {
		t.Fatalf("axes %v", err)
	}
}

func TestHeatMapRejectsBadShapes(t *testing.T) {
	for _, h := range []HeatMap{
		{},
		{XTicks: []string{"a"}, YTicks: []string{"x", "y"}, Values: [][]float64{{1}, {1, 2}}},
		{XTicks: []string{"a", "b"}, YTicks: []string{"x"}, Values: [][]float64{{1}}},
	} {
		if _, err := h.Plot(); err == nil || !strings.Contains(err.Error(), "heat map") {
			t.Errorf("%+v: got %v", h, err)
		}
	}
}

func TestFiniteRange(t *testing.T) {
	lo, hi := finiteRange([][]float64{{math.NaN(), 3}, {-1, math.Inf(1)}})
	if lo != -1 || hi != 3 {
		t.Fatalf("finiteRange = %g, %g; want -1, 3", lo, hi)
	}
	if lo, hi := finiteRange([][]float64{{math.NaN()}}); lo != 0 || hi != 0 {
		t.Fatalf("no finite values: %g, %g", lo, hi)
	}
}
