package experiment

import (
	"path/filepath"

	"github.com/lsalign/lsalign/report"
)

// NamedFigure is a figure with the stem of its file names.
type NamedFigure struct {
	report.Figure
	Name string
}

// saveFigures writes each figure as Name.png and Name.svg into dir and
// returns the file names.
func saveFigures(dir string, figs []NamedFigure) ([]string, error) {
	var files []string
	for _, fig := range figs {
		png, svg := fig.Name+".png", fig.Name+".svg"
		if err := fig.Save(filepath.Join(dir, png), filepath.Join(dir, svg)); err != nil {
			return nil, err
		}
		files = append(files, png, svg)
	}
	return files, nil
}
