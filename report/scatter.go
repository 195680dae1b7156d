package report

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ScatterPoint is one labelled point.
type ScatterPoint struct {
	X, Y  float64
	Label string // drawn beside the point; "" for none
}

// Scatter is a Panel of labelled points with an optional least-squares
// line, for "predictor against score" plots such as misalignment against
// long-context perplexity. Points with a NaN coordinate are left out.
type Scatter struct {
	Title          string
	XLabel, YLabel string
	Points         []ScatterPoint
	Fit            bool // draw the least-squares line y = a + b x
	LogY           bool // logarithmic y axis (perplexities); needs y > 0
}

// Plot builds the scatter plot.
func (s Scatter) Plot() (*plot.Plot, error) {
	var xys plotter.XYLabels
	for _, pt := range s.Points {
		if math.IsNaN(pt.X) || math.IsNaN(pt.Y) {
			continue
		}
		if s.LogY && !(pt.Y > 0) {
			return nil, fmt.Errorf("scatter %q: logarithmic y axis with y = %g", s.Title, pt.Y)
		}
		xys.XYs = append(xys.XYs, plotter.XY{X: pt.X, Y: pt.Y})
		xys.Labels = append(xys.Labels, pt.Label)
	}
	if len(xys.XYs) == 0 {
		return nil, fmt.Errorf("scatter %q has no points", s.Title)
	}
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = s.Title, s.XLabel, s.YLabel
	if s.LogY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	p.Add(plotter.NewGrid())
	pts, err := plotter.NewScatter(xys.XYs)
	if err != nil {
		return nil, err
	}
	pts.GlyphStyle = draw.GlyphStyle{Color: color.RGBA{R: 31, G: 119, B: 180, A: 255}, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
	p.Add(pts)
	if s.Fit {
		if line, ok, err := fitLine(xys.XYs, s.LogY); err != nil {
			return nil, err
		} else if ok {
			p.Add(line)
		}
	}
	labels, err := plotter.NewLabels(xys)
	if err != nil {
		return nil, err
	}
	for i := range labels.TextStyle {
		labels.TextStyle[i] = text.Style{Color: color.Gray{Y: 60}, Font: font.From(plot.DefaultFont, 8),
			XAlign: draw.XLeft, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}
	}
	labels.Offset = vg.Point{X: vg.Points(5)}
	p.Add(labels)
	return p, nil
}

// fitLine is the least-squares line sampled along x, so that it is drawn
// right on a logarithmic axis too (where it is a curve); samples with
// y <= 0 are dropped there.
func fitLine(xy plotter.XYs, logY bool) (*plotter.Line, bool, error) {
	a, b, ok := leastSquares(xy)
	if !ok {
		return nil, false, nil
	}
	lo, hi := xRange(xy)
	const steps = 64
	var pts plotter.XYs
	for i := range steps + 1 {
		x := lo + (hi-lo)*float64(i)/steps
		if y := a + b*x; !logY || y > 0 {
			pts = append(pts, plotter.XY{X: x, Y: y})
		}
	}
	if len(pts) < 2 {
		return nil, false, nil
	}
	line, err := plotter.NewLine(pts)
	if err != nil {
		return nil, false, err
	}
	line.Color = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	return line, true, nil
}

// leastSquares fits y = a + b x; ok is false when x is constant.
func leastSquares(xy plotter.XYs) (a, b float64, ok bool) {
	n := float64(len(xy))
	var mx, my float64
	for _, p := range xy {
		mx += p.X
		my += p.Y
	}
	mx, my = mx/n, my/n
	var sxy, sxx float64
	for _, p := range xy {
		sxy += (p.X - mx) * (p.Y - my)
		sxx += (p.X - mx) * (p.X - mx)
	}
	if sxx == 0 {
		return 0, 0, false
	}
	b = sxy / sxx
	return my - b*mx, b, true
}

func xRange(xy plotter.XYs) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, p := range xy {
		lo, hi = math.Min(lo, p.X), math.Max(hi, p.X)
	}
	return lo, hi
}
