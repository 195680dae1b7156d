package report

import (
	"cmp"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// HeatMap is a Panel of values on a grid, each cell coloured (ColorBrewer's
// sequential YlGnBu: pale yellow = low, dark blue = high, so an all-zero
// grid reads as empty rather than black) and annotated with its value,
// with a colour bar beside it; NaN cells are light grey with a hatch-free
// "-". Rows are drawn bottom to top.
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
	cmap := h.colorMap()
	hm := plotter.NewHeatMap(heatGrid(h.Values), cmap.Palette(255))
	hm.Min, hm.Max = cmap.Min(), cmap.Max()
	hm.NaN = color.Gray{Y: 225}

	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = h.Title, h.XLabel, h.YLabel
	p.Add(hm)
	labels, err := h.annotations(cmap)
	if err != nil {
		return nil, err
	}
	p.Add(labels)
	p.X.Tick.Marker = nominalTicks(h.XTicks)
	if longestLabel(h.XTicks) > 4 && cols > 3 { // slanted, so long names do not overlap
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	}
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

// colorMap is the palette over [Min, Max], or the finite values' range.
func (h HeatMap) colorMap() palette.ColorMap {
	lo, hi := h.Min, h.Max
	if lo == 0 && hi == 0 {
		lo, hi = finiteRange(h.Values)
	}
	if !(hi > lo) { // one value, or none finite: any non-empty range colours it
		hi = lo + 1
	}
	return &sequential{stops: ylGnBu, min: lo, max: hi}
}

// ColorBar is the panel's legend: the palette over its value range.
func (h HeatMap) ColorBar() (*plot.Plot, error) {
	if _, err := h.Plot(); err != nil {
		return nil, err
	}
	p := plot.New()
	p.Add(&plotter.ColorBar{ColorMap: h.colorMap(), Vertical: true})
	p.HideX()
	p.X.Padding, p.Y.Padding = 0, 0
	return p, nil
}

func longestLabel(labels []string) int {
	n := 0
	for _, l := range labels {
		n = max(n, len([]rune(l)))
	}
	return n
}

// ylGnBu is ColorBrewer's 9-class YlGnBu (Cynthia Brewer, Apache-2.0).
var ylGnBu = []color.RGBA{
	{0xff, 0xff, 0xd9, 0xff}, {0xed, 0xf8, 0xb1, 0xff}, {0xc7, 0xe9, 0xb4, 0xff}, {0x7f, 0xcd, 0xbb, 0xff},
	{0x41, 0xb6, 0xc4, 0xff}, {0x1d, 0x91, 0xc0, 0xff}, {0x22, 0x5e, 0xa8, 0xff}, {0x25, 0x34, 0x94, 0xff},
	{0x08, 0x1d, 0x58, 0xff},
}

// sequential is a palette.ColorMap interpolating linearly in sRGB between
// evenly spaced stops from min to max.
type sequential struct {
	stops    []color.RGBA
	min, max float64
	alpha    float64 // 0 means opaque
}

func (s *sequential) At(v float64) (color.Color, error) {
	if math.IsNaN(v) || v < s.min || v > s.max {
		return nil, fmt.Errorf("report: value %g outside the colour range [%g, %g]", v, s.min, s.max)
	}
	x := (v - s.min) / (s.max - s.min) * float64(len(s.stops)-1)
	i := min(int(x), len(s.stops)-2)
	f := x - float64(i)
	a, b := s.stops[i], s.stops[i+1]
	mix := func(p, q uint8) uint8 { return uint8(math.Round(float64(p) + f*(float64(q)-float64(p)))) }
	c := color.NRGBA{R: mix(a.R, b.R), G: mix(a.G, b.G), B: mix(a.B, b.B), A: 0xff}
	if s.alpha > 0 {
		c.A = uint8(math.Round(255 * s.alpha))
	}
	return c, nil
}

func (s *sequential) Max() float64       { return s.max }
func (s *sequential) SetMax(v float64)   { s.max = v }
func (s *sequential) Min() float64       { return s.min }
func (s *sequential) SetMin(v float64)   { s.min = v }
func (s *sequential) Alpha() float64     { return cmp.Or(s.alpha, 1) }
func (s *sequential) SetAlpha(a float64) { s.alpha = a }

func (s *sequential) Palette(n int) palette.Palette {
	cols := make([]color.Color, n)
	for i := range cols {
		v := s.min
		if n > 1 {
			v += (s.max - s.min) * float64(i) / float64(n-1)
		}
		cols[i], _ = s.At(v)
	}
	return colorList(cols)
}

type colorList []color.Color

func (c colorList) Colors() []color.Color { return c }

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
