package report

import (
	"fmt"
	"image/color"
	"io"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/lsalign/lsalign/internal/atomicfile"
)

// Panel is one plot area of a Figure. LinePanel is one kind; other kinds
// (heat maps, scatter plots) implement the same method.
type Panel interface {
	// Plot builds the panel's gonum plot.
	Plot() (*plot.Plot, error)
}

// colorBarPanel is a Panel with a colour bar drawn beside it.
type colorBarPanel interface {
	Panel
	ColorBar() (*plot.Plot, error)
}

// Figure lays panels out on a grid, row by row, under an optional title.
type Figure struct {
	Title  string
	Panels []Panel
	Cols   int       // panels per row; 0 means up to 3
	Width  vg.Length // of one panel; 0 means 4 inches
	Height vg.Length // of one panel; 0 means 3 inches
}

// Save writes the figure to each path, in the format its extension names
// (.png, .svg, .pdf, ...). Each file is written to a temporary name first
// and renamed, so a reader never sees half a file.
func (f Figure) Save(paths ...string) error {
	for _, p := range paths {
		if err := f.save(p); err != nil {
			return fmt.Errorf("report: %s: %w", p, err)
		}
	}
	return nil
}

func (f Figure) save(path string) error {
	if len(f.Panels) == 0 {
		return fmt.Errorf("figure has no panels")
	}
	cols := f.Cols
	if cols <= 0 {
		cols = min(3, len(f.Panels))
	}
	rows := (len(f.Panels) + cols - 1) / cols
	w, h := orDefault(f.Width, 4*vg.Inch), orDefault(f.Height, 3*vg.Inch)
	titleH := vg.Length(0)
	if f.Title != "" {
		titleH = 0.4 * vg.Inch
	}
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	canvas, err := draw.NewFormattedCanvas(w*vg.Length(cols), h*vg.Length(rows)+titleH, format)
	if err != nil {
		return err
	}
	dc := draw.New(canvas)
	grid := make([][]*plot.Plot, rows)
	for r := range grid {
		grid[r] = make([]*plot.Plot, cols)
	}
	for i, panel := range f.Panels {
		p, err := panel.Plot()
		if err != nil {
			return fmt.Errorf("panel %d: %w", i+1, err)
		}
		grid[i/cols][i%cols] = p
	}
	if f.Title != "" {
		sty := text.Style{Color: color.Black, Font: font.From(plot.DefaultFont, 14), XAlign: draw.XCenter,
			YAlign: draw.YTop, Handler: plot.DefaultTextHandler}
		if w, avail := sty.Width(f.Title), dc.Max.X-dc.Min.X-vg.Points(8); w > avail { // shrink to fit
			sty.Font.Size = sty.Font.Size * avail / w
		}
		dc.FillText(sty, vg.Point{X: (dc.Min.X + dc.Max.X) / 2, Y: dc.Max.Y - vg.Points(8)}, f.Title)
	}
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(6), PadY: vg.Points(6),
		PadTop: vg.Points(4) + titleH, PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
	canvases := plot.Align(grid, tiles, dc)
	for i, panel := range f.Panels {
		cv := canvases[i/cols][i%cols]
		if cb, ok := panel.(colorBarPanel); ok {
			bar, err := cb.ColorBar()
			if err != nil {
				return fmt.Errorf("panel %d: %w", i+1, err)
			}
			// The bar takes the right 0.7 inch of the tile, level with the
			// panel's plotting area.
			const barW = 0.7 * vg.Inch
			main := draw.Crop(cv, 0, -barW, 0, 0)
			data := grid[i/cols][i%cols].DataCanvas(main)
			bc := cv
			bc.Min.X, bc.Min.Y, bc.Max.Y = main.Max.X+vg.Points(6), data.Min.Y, data.Max.Y
			bar.Draw(bc)
			cv = main
		}
		grid[i/cols][i%cols].Draw(cv)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := canvas.WriteTo(w)
		return err
	})
}

func orDefault(v, def vg.Length) vg.Length {
	if v > 0 {
		return v
	}
	return def
}
