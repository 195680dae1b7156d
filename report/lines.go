package report

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one curve of a LinePanel. At each X it holds the values of one
// or more replicates (seeds, runs): the line joins their means and a
// translucent band spans their minimum to maximum.
type Series struct {
	Label string
	X     []float64
	Y     [][]float64 // Y[i] are the replicate values at X[i]; at least one each
}

// Shade marks an x range (for example the training lengths) with a light
// background across the panel's full height.
type Shade struct {
	From, To float64
	Label    string // legend entry; empty for none
}

// LegendPos places a panel's legend.
type LegendPos int

// Legend positions; the zero value is top left.
const (
	LegendTopLeft LegendPos = iota
	LegendTopRight
	LegendBottomLeft
	LegendBottomRight
	LegendNone
)

// LinePanel plots series against a shared x axis, optionally with a
// logarithmic y axis and shaded x ranges.
type LinePanel struct {
	Title, XLabel, YLabel string
	Series                []Series
	Shades                []Shade
	// References are drawn as thin grey dashed lines (each point's mean)
	// under the series: a baseline or theory curve to compare against.
	References []Series
	// LogY draws y on a log10 scale. Values <= 0 cannot be shown there and
	// are raised to LogFloor (when 0: a tenth of the smallest positive value
	// in the panel), so an exact zero shows at the floor rather than vanishing.
	LogY     bool
	LogFloor float64
	// XTicks, when set, are the only labelled x ticks (e.g. 1, 10, 20, ...).
	XTicks []float64
	Legend LegendPos
	// Headroom is the fraction of the y span added above the data (below
	// it for a bottom legend) to keep the legend off the curves; 0 means 0.3.
	Headroom float64
}

// Palette is the Okabe–Ito colour-blind-safe palette that LinePanel cycles
// through, in order, so series i has the same colour in every panel.
func Palette() []color.Color {
	hex := []uint32{0x0072B2, 0xD55E00, 0x009E73, 0xCC79A7, 0xE69F00, 0x56B4E9, 0x000000, 0xF0E442}
	cs := make([]color.Color, len(hex))
	for i, h := range hex {
		cs[i] = color.RGBA{R: uint8(h >> 16), G: uint8(h >> 8), B: uint8(h), A: 255}
	}
	return cs
}

// Plot implements Panel.
func (lp LinePanel) Plot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = lp.Title
	p.X.Label.Text, p.Y.Label.Text = lp.XLabel, lp.YLabel
	p.Add(plotter.NewGrid())
	floor := lp.LogFloor
	if floor <= 0 {
		floor = lp.smallestPositive() / 10
	}
	// Log y is drawn as log10(y) on a linear axis with decade labels:
	// gonum's LogScale places a long y label's glyph box at the arithmetic
	// midpoint of the range, which on a log axis reserves a band of empty
	// space above the data.
	toAxis := func(y float64) float64 {
		if lp.LogY {
			return math.Log10(max(y, floor))
		}
		return y
	}
	for _, s := range lp.Shades {
		sh := &shade{from: s.From, to: s.To, color: color.RGBA{R: 235, G: 235, B: 235, A: 255}}
		p.Add(sh)
		if s.Label != "" {
			p.Legend.Add(s.Label, sh)
		}
	}
	for _, s := range slices.Concat(lp.Series, lp.References) {
		if err := s.check(); err != nil {
			return nil, err
		}
	}
	for _, ref := range lp.References {
		line, err := plotter.NewLine(meanXYs(ref, toAxis))
		if err != nil {
			return nil, fmt.Errorf("reference %q: %w", ref.Label, err)
		}
		line.Color = color.Gray{Y: 110}
		line.Width = vg.Points(1)
		line.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		p.Add(line)
		if ref.Label != "" {
			p.Legend.Add(ref.Label, line)
		}
	}
	palette := Palette()
	for i, s := range lp.Series {
		mean := meanXYs(s, toAxis)
		band := make(plotter.XYs, 2*len(s.X)) // lows left to right, then highs right to left
		for j, x := range s.X {
			lo, hi, _ := Summary(s.Y[j])
			band[j] = plotter.XY{X: x, Y: toAxis(lo)}
			band[len(band)-1-j] = plotter.XY{X: x, Y: toAxis(hi)}
		}
		col := palette[i%len(palette)]
		if bandVisible(s) {
			poly, err := plotter.NewPolygon(band)
			if err != nil {
				return nil, fmt.Errorf("series %q: %w", s.Label, err)
			}
			poly.Color = withAlpha(col, 60)
			poly.LineStyle.Width = 0
			p.Add(poly)
		}
		line, err := plotter.NewLine(mean)
		if err != nil {
			return nil, fmt.Errorf("series %q: %w", s.Label, err)
		}
		line.Color = col
		line.Width = vg.Points(1.5)
		line.Dashes = dashes(i / len(palette))
		p.Add(line)
		if s.Label != "" {
			p.Legend.Add(s.Label, line)
		}
	}
	if lp.LogY {
		p.Y.Tick.Marker = decadeTicks{}
	}
	if len(lp.XTicks) > 0 {
		p.X.Tick.Marker = fixedTicks(lp.XTicks)
	}
	lp.placeLegend(p)
	return p, nil
}

// check reports a series that cannot be drawn: mismatched or empty
// lengths, a point without values, or a value that is not finite.
func (s Series) check() error {
	if len(s.X) != len(s.Y) || len(s.X) == 0 {
		return fmt.Errorf("series %q: %d x values for %d y lists", s.Label, len(s.X), len(s.Y))
	}
	for j, ys := range s.Y {
		if len(ys) == 0 {
			return fmt.Errorf("series %q: no values at x = %g", s.Label, s.X[j])
		}
		for _, y := range append([]float64{s.X[j]}, ys...) {
			if math.IsNaN(y) || math.IsInf(y, 0) {
				return fmt.Errorf("series %q: value %v at x = %g", s.Label, y, s.X[j])
			}
		}
	}
	return nil
}

// meanXYs is the series' mean at each x (the series passed check).
func meanXYs(s Series, mapY func(float64) float64) plotter.XYs {
	xys := make(plotter.XYs, len(s.X))
	for j, x := range s.X {
		_, _, m := Summary(s.Y[j])
		xys[j] = plotter.XY{X: x, Y: mapY(m)}
	}
	return xys
}

// smallestPositive is the smallest value > 0 in the panel (1 if none).
func (lp LinePanel) smallestPositive() float64 {
	least := math.Inf(1)
	for _, s := range slices.Concat(lp.Series, lp.References) {
		for _, ys := range s.Y {
			for _, y := range ys {
				if y > 0 {
					least = min(least, y)
				}
			}
		}
	}
	if math.IsInf(least, 1) {
		return 1
	}
	return least
}

// bandVisible reports whether any x has replicates that differ.
func bandVisible(s Series) bool {
	for _, ys := range s.Y {
		lo, hi, _ := Summary(ys)
		if hi > lo {
			return true
		}
	}
	return false
}

func (lp LinePanel) placeLegend(p *plot.Plot) {
	if lp.Legend == LegendNone {
		p.Legend = plot.NewLegend()
		return
	}
	p.Legend.Top = lp.Legend == LegendTopLeft || lp.Legend == LegendTopRight
	p.Legend.Left = lp.Legend == LegendTopLeft || lp.Legend == LegendBottomLeft
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(4), -vg.Points(4)
	if !p.Legend.Left {
		p.Legend.XOffs = -vg.Points(4)
	}
	if !p.Legend.Top {
		p.Legend.YOffs = vg.Points(4)
	}
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	p.Legend.ThumbnailWidth = vg.Points(18)
	room := lp.Headroom
	if room == 0 {
		room = 0.3
	}
	if !(p.Y.Max > p.Y.Min) {
		return
	}
	span := p.Y.Max - p.Y.Min
	if lp.LogY {
		span = max(span, 1) // at least a decade's worth
	}
	if p.Legend.Top {
		p.Y.Max += room * span
	} else {
		p.Y.Min -= room * span
	}
}

func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	// premultiplied, as color.RGBA requires
	return color.RGBA{R: uint8(uint32(r>>8) * uint32(a) / 255), G: uint8(uint32(g>>8) * uint32(a) / 255),
		B: uint8(uint32(b>>8) * uint32(a) / 255), A: a}
}

// dashes distinguishes series that share a colour once the palette wraps.
func dashes(cycle int) []vg.Length {
	switch cycle % 3 {
	case 1:
		return []vg.Length{vg.Points(5), vg.Points(3)}
	case 2:
		return []vg.Length{vg.Points(1.5), vg.Points(2)}
	}
	return nil
}

// shade is a plotter that fills an x range over the whole data area.
type shade struct {
	from, to float64
	color    color.Color
}

func (s *shade) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x0 := max(trX(max(s.from, p.X.Min)), c.Min.X)
	x1 := min(trX(min(s.to, p.X.Max)), c.Max.X)
	if x1 <= x0 {
		return
	}
	c.FillPolygon(s.color, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
}

// Thumbnail draws the legend swatch.
func (s *shade) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(s.color, []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}})
}

// DataRange makes the shaded range part of the x axis.
func (s *shade) DataRange() (xmin, xmax, ymin, ymax float64) {
	return s.from, s.to, math.Inf(1), math.Inf(-1)
}

// decadeTicks marks an axis holding log10 values: each power of ten in
// range is a major tick labelled "1e-5" (every other one, or sparser, when
// there are many), with minor ticks at 2..9 × 10^k. When the range holds
// fewer than two powers of ten, 2 × 10^k and 5 × 10^k get labels too.
type decadeTicks struct{}

func (decadeTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return nil
	}
	k0, k1 := int(math.Floor(lo)), int(math.Ceil(hi))
	first := int(math.Ceil(lo)) // the first power of ten in range
	decades := max(0, int(math.Floor(hi))-first+1)
	every := max(1, (decades+5)/6) // at most ~6 labels
	var ticks []plot.Tick
	for k := k0; k <= k1; k++ {
		for m := 1; m < 10; m++ {
			v := float64(k) + math.Log10(float64(m))
			if v < lo || v > hi || (m > 1 && every > 1) {
				continue
			}
			t := plot.Tick{Value: v}
			switch {
			case m == 1 && (k-first)%every == 0:
				t.Label = "1e" + strconv.Itoa(k)
			case decades < 2 && (m == 2 || m == 5):
				t.Label = strconv.FormatFloat(float64(m)*math.Pow(10, float64(k)), 'g', 3, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// fixedTicks labels exactly the given values that fall inside the range.
type fixedTicks []float64

func (ft fixedTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for _, v := range ft {
		if v >= lo && v <= hi {
			ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)})
		}
	}
	return ticks
}
