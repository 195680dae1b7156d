package report

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// HeatMap is a Panel of values on a grid, each cell coloured (Kindlmann's
// perceptually uniform map, dark = low) and annotated with its value;
// NaN cells stay grey and read "-". Rows are drawn bottom to top.
type HeatMap struct {
	Title          string
	XLabel, YLabel string
	XTicks, YTicks []string    // labels of the columns and rows
	Values         [][]float64 // [row][column]
	// Min and Max fix the colour range (accuracies: 0 and 1); both zero
	// means the range of the finite values.
	Min, Max float64
	Format   string // annotation format; "" means "%.2f"
}

// heatGrid adapts Values to plotter.GridXYZ with cell centres at integers.
type heatGrid [][]float64

func (g heatGrid) Dims() (c, r int)   { return len(g[0]), len(g) }
func (g heatGrid) Z(c, r int) float64 { return g[r][c] }
func (g heatGrid) X(c int) float64    { return float64(c) }
func (g heatGrid) Y(r int) float64    { return float64(r) }

// Plot builds the heat map.
func (h HeatMap) Plot() (*plot.Plot, error) {
	rows := len(h.Values)
	if rows == 0 || len(h.Values[0]) == 0 {
		return nil, fmt.Errorf("heat map %q has no values", h.Title)
	}
	cols := len(h.Values[0])
	for i, r := range h.Values {
		if len(r) != cols {
			return nil, fmt.Errorf("heat map %q: row %d has %d values, row 0 has %d", h.Title, i, len(r), cols)
		}
	}
	if len(h.XTicks) != cols || len(h.YTicks) != rows {
		return nil, fmt.Errorf("heat map %q: %d×%d values with %d column and %d row labels", h.Title, rows, cols, len(h.XTicks), len(h.YTicks))
	}
	lo, hi := h.Min, h.Max
	if lo == 0 && hi == 0 {
		lo, hi = finiteRange(h.Values)
	}
	if !(hi > lo) { // one value, or none finite: any non-empty range colours it
		hi = lo + 1
	}
	cmap := moreland.Kindlmann()
	cmap.SetMin(lo)
	// Headroom keeps the top of the range a light colour rather than the map's white.
	cmap.SetMax(hi + 0.3*(hi-lo))
	hm := plotter.NewHeatMap(heatGrid(h.Values), cmap.Palette(255))
	hm.Min, hm.Max = cmap.Min(), cmap.Max() // the palette spans the headroom too
	hm.NaN = color.Gray{Y: 200}

	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = h.Title, h.XLabel, h.YLabel
	p.Add(hm)
	labels, err := h.annotations(cmap)
	if err != nil {
		return nil, err
	}
	p.Add(labels)
	p.X.Tick.Marker = nominalTicks(h.XTicks)
	p.Y.Tick.Marker = nominalTicks(h.YTicks)
	p.X.Min, p.X.Max = -0.5, float64(cols)-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(rows)-0.5
	return p, nil
}

// annotations writes each value at its cell centre, white on dark cells.
func (h HeatMap) annotations(cmap palette.ColorMap) (*plotter.Labels, error) {
	format := h.Format
	if format == "" {
		format = "%.2f"
	}
	var xy plotter.XYLabels
	var styles []text.Style
	for r, row := range h.Values {
		for c, v := range row {
			label, ink := "-", color.Color(color.Black)
			if !math.IsNaN(v) {
				label = fmt.Sprintf(format, v)
				if dark(cmap, v) {
					ink = color.White
				}
			}
			xy.XYs = append(xy.XYs, plotter.XY{X: float64(c), Y: float64(r)})
			xy.Labels = append(xy.Labels, label)
			styles = append(styles, text.Style{Color: ink, Font: font.From(plot.DefaultFont, 9),
				XAlign: draw.XCenter, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler})
		}
	}
	l, err := plotter.NewLabels(xy)
	if err != nil {
		return nil, err
	}
	l.TextStyle = styles
	l.Offset = vg.Point{}
	return l, nil
}

// dark reports whether v's cell colour has a relative luminance below
// one half (Rec. 709 weights on the gamma-encoded channels, close enough
// to choose the ink).
func dark(cmap palette.ColorMap, v float64) bool {
	c, err := cmap.At(math.Min(math.Max(v, cmap.Min()), cmap.Max()))
	if err != nil {
		return false
	}
	r, g, b, _ := c.RGBA()
	return (0.2126*float64(r)+0.7152*float64(g)+0.0722*float64(b))/0xffff < 0.5
}

// nominalTicks labels the integer positions 0..len(names)-1.
func nominalTicks(names []string) plot.ConstantTicks {
	ticks := make(plot.ConstantTicks, len(names))
	for i, n := range names {
		ticks[i] = plot.Tick{Value: float64(i), Label: n}
	}
	return ticks
}

func finiteRange(values [][]float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, row := range values {
		for _, v := range row {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if lo > hi {
		return 0, 0
	}
	return lo, hi
}
