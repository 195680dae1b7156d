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

// TestHeatMapColours checks the palette the issue asked for: an all-zero
// grid is light (readable), high values dark, and the colour bar exists.
func TestHeatMapColours(t *testing.T) {
	h := HeatMap{Title: "zeros", XTicks: []string{"0", "1"}, YTicks: []string{"8"}, Values: [][]float64{{0, 0}}, Min: 0, Max: 1}
	cm := h.colorMap()
	lum := func(v float64) float64 {
		c, err := cm.At(v)
		if err != nil {
			t.Fatal(err)
		}
		r, g, b, _ := c.RGBA()
		return (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)) / 0xffff
	}
	if lum(0) < 0.9 || lum(1) > 0.2 || !(lum(0.25) > lum(0.5) && lum(0.5) > lum(0.75)) {
		t.Fatalf("luminance at 0, 0.25, 0.5, 0.75, 1: %.2f %.2f %.2f %.2f %.2f; want light to dark", lum(0), lum(0.25), lum(0.5), lum(0.75), lum(1))
	}
	if _, err := cm.At(1.5); err == nil {
		t.Error("a value beyond Max was coloured")
	}
	bar, err := h.ColorBar()
	if err != nil || bar == nil {
		t.Fatalf("colour bar: %v", err)
	}
	if _, err := (HeatMap{}).ColorBar(); err == nil {
		t.Error("an empty heat map's colour bar was built")
	}
	path := filepath.Join(t.TempDir(), "zeros.png")
	if err := (Figure{Panels: []Panel{h}}).Save(path); err != nil {
		t.Fatal(err)
	}
}
