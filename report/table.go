// Package report turns results into things people read: Markdown tables
// and multi-panel gonum/plot figures written as PNG and SVG. It knows
// nothing of the experiments; they hand it rows of text and series of
// numbers.
package report

import (
	"fmt"
	"math"
	"strings"
)

// Align is a column's alignment in a Markdown table.
type Align int

// Column alignments.
const (
	Left Align = iota
	Right
	Center
)

// Table is a Markdown table. Rows shorter than Header are padded with empty
// cells; longer rows are a programmer error.
type Table struct {
	Header []string
	Align  []Align // per column; missing entries are Left
	Rows   [][]string
}

// AddRow appends one row.
func (t *Table) AddRow(cells ...string) { t.Rows = append(t.Rows, cells) }

// Markdown renders the table in GitHub-flavoured Markdown, with columns
// padded to equal width so the source reads as a table too. Pipes inside
// cells are escaped.
func (t Table) Markdown() string {
	cols := len(t.Header)
	width := make([]int, cols)
	cell := func(row []string, i int) string {
		if i < len(row) {
			return strings.ReplaceAll(row[i], "|", `\|`)
		}
		return ""
	}
	for _, row := range append([][]string{t.Header}, t.Rows...) {
		if len(row) > cols {
			panic(fmt.Sprintf("report: row of %d cells in a table of %d columns", len(row), cols))
		}
		for i := range cols {
			width[i] = max(width[i], len([]rune(cell(row, i))), 3)
		}
	}
	var b strings.Builder
	line := func(row []string) {
		b.WriteString("|")
		for i := range cols {
			s := cell(row, i)
			pad := strings.Repeat(" ", width[i]-len([]rune(s)))
			if t.align(i) == Right {
				s = pad + s
			} else {
				s += pad
			}
			b.WriteString(" " + s + " |")
		}
		b.WriteString("\n")
	}
	line(t.Header)
	b.WriteString("|")
	for i := range cols {
		dash := strings.Repeat("-", width[i])
		switch t.align(i) {
		case Right:
			dash = dash[1:] + ":"
		case Center:
			dash = ":" + dash[2:] + ":"
		}
		b.WriteString(" " + dash + " |")
	}
	b.WriteString("\n")
	for _, row := range t.Rows {
		line(row)
	}
	return b.String()
}

func (t Table) align(i int) Align {
	if i < len(t.Align) {
		return t.Align[i]
	}
	return Left
}

// Num formats a number for a table: 3 significant digits, switching to
// exponent form outside [1e-3, 1e5), so values that span many orders of
// magnitude stay comparable at a glance.
func Num(x float64) string {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return fmt.Sprint(x)
	case x == 0:
		return "0"
	case math.Abs(x) >= 1e-3 && math.Abs(x) < 1e5:
		return fmt.Sprintf("%.3g", x)
	}
	return fmt.Sprintf("%.2e", x)
}

// Spread formats a mean with the range of the values it summarises, as
// "mean [min, max]"; a single value is formatted alone.
func Spread(values []float64) string {
	if len(values) == 0 {
		return "–"
	}
	lo, hi, mean := Summary(values)
	if len(values) == 1 {
		return Num(mean)
	}
	return fmt.Sprintf("%s [%s, %s]", Num(mean), Num(lo), Num(hi))
}

// Summary returns the minimum, maximum and arithmetic mean of non-empty values.
func Summary(values []float64) (lo, hi, mean float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range values {
		lo, hi = min(lo, v), max(hi, v)
		mean += v
	}
	return lo, hi, mean / float64(len(values))
}
