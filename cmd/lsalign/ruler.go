package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lsalign/lsalign/eval"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/report"
)

type rulerOpts struct {
	grid       gridFlags
	tasks      []string
	trials     int
	threshold  float64
	background string
}

// rulerOutput is `ruler --json`.
type rulerOutput struct {
	Model           string                     `json:"model"`
	RopeScaling     kernels.RopeScaling        `json:"rope_scaling"`
	Seed            uint64                     `json:"seed"`
	Threshold       float64                    `json:"threshold"`
	EffectiveLength int                        `json:"effective_length"` // 0: below the threshold at the shortest length
	Lengths         []int                      `json:"lengths"`
	Summary         []rulerRow                 `json:"summary"` // one row per length
	Tasks           map[string]eval.GridResult `json:"tasks"`
	PNG             string                     `json:"png,omitempty"`
}

// rulerRow is the mean score of each task at one length, and their mean.
type rulerRow struct {
	Length int                 `json:"length"`
	Scores map[string]*float64 `json:"scores"` // null where every cell was skipped
	Mean   *float64            `json:"mean"`
}

func newRulerCmd() *cobra.Command {
	var o rulerOpts
	cmd := &cobra.Command{
		Use:   "ruler",
		Short: "RULER-style synthetic tasks (needles, variable tracking, common words) and the effective context length",
		Long: `ruler runs synthetic long-context tasks after RULER (Hsieh et al., 2024), with its
templates and scoring, generated offline from --seed:

  niah_single      one "special magic number" for an adjective-noun key hidden in the
                   haystack; the question asks for it
  niah_multikey    four needles with different keys, one of them asked (the others distract)
  niah_multivalue  four numbers under one key, all asked
  niah_multiquery  four keys, all asked
  vt               variable tracking: VAR A = 12345, VAR B = VAR A, ... (four hops) spread
                   through the text; every variable holding the value is asked
  cwe              common-words extraction: the 10 most frequent words of a numbered list
                   (RULER's frequencies: each common word 30 times and the others 3 from
                   4096 tokens on; 6 and 1 below)

The haystack is RULER's noise sentence ("The grass is green. The sky is blue. ...")
repeated, or the sentences of --background for the needle tasks. Each prompt uses the
most filler that keeps it within the length (tokens, BOS included); a cell whose prompt
cannot fit at all is skipped and says so. The needle tasks place their needles at each
--depth; vt and cwe have no depth and run --trials × (number of depths) trials per
length, so every task has the same number of trials per length. The model decodes
greedily (--max-new, default RULER's tokens_to_generate: 128, 30 for vt, 120 for cwe)
and a trial scores the fraction of the expected answers found in its output, ignoring
case (RULER's string_match_all).

The summary gives each task's mean score per length and their mean; the effective length
is the longest length up to which that mean stays at or above --threshold (RULER's
default 0.856 is Llama-2-7B's score at 4K). Small models score 0: that is the honest
result.`,
		Example: `  lsalign ruler --model m.gguf --lengths 1x,2x,4x --trials 5
  lsalign ruler --model m.gguf --tasks niah_single,vt --lengths 1024,2048,4096 --depths 0,0.5,1 --json
  lsalign ruler --model m.gguf --background book.txt --rope-scaling yarn --rope-factor 4 --lengths 4x --png ruler.png`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRuler(cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	addGridFlags(cmd, &o.grid, "ruler")
	f := cmd.Flags()
	f.StringSliceVar(&o.tasks, "tasks", eval.RulerTasks, "tasks to run")
	f.IntVar(&o.trials, "trials", 5, "trials per task, length and depth")
	f.Float64Var(&o.threshold, "threshold", 0.856, "score the effective length must keep (RULER: Llama-2-7B at 4K)")
	f.StringVar(&o.background, "background", "", "haystack text for the needle tasks (a file or a directory of .txt files; default RULER's noise)")
	return cmd
}

func runRuler(stdout, stderr io.Writer, o rulerOpts) error {
	if len(o.tasks) == 0 {
		return usagef("--tasks needs at least one of %s", strings.Join(eval.RulerTasks, ", "))
	}
	if !(o.threshold >= 0 && o.threshold <= 1) {
		return usagef("--threshold must be in [0, 1], got %v", o.threshold)
	}
	ropt := eval.RulerOptions{MaxNew: o.grid.maxNew}
	if o.background != "" {
		docs, err := eval.ReadDocuments(o.background)
		if err != nil {
			return err
		}
		for _, d := range docs {
			ropt.Background = append(ropt.Background, eval.Sentences(d.Text)...)
		}
		if len(ropt.Background) == 0 {
			return fmt.Errorf("%s: no sentences in the background text", o.background)
		}
	}
	builders := map[string]eval.Builder{}
	for _, t := range o.tasks {
		b, err := ropt.Builder(t)
		if err != nil {
			return usagef("--tasks: %v", err)
		}
		builders[t] = b
	}
	l, grid, err := o.grid.setup(stderr, "ruler", o.trials)
	if err != nil {
		return err
	}
	defer o.grid.out.close()
	out := rulerOutput{Model: o.grid.model, RopeScaling: l.Model.Config.RopeScaling, Seed: o.grid.seed,
		Threshold: o.threshold, Lengths: grid.Lengths, Tasks: map[string]eval.GridResult{}}
	for _, t := range o.tasks {
		g := grid
		if !eval.RulerTaskUsesDepth(t) {
			g.Depths, g.Trials = []float64{0}, o.trials*len(grid.Depths)
		}
		g.Progress = newProgress(stderr, "ruler "+t)
		if err := o.grid.journal(stderr, "ruler-"+t, l, &g, struct {
			Background fileStamp `json:"background"`
		}{stampOf(o.background)}); err != nil {
			return err
		}
		res, err := eval.RunGrid(l.Model, l.Tokenizer, g, builders[t])
		if err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
		out.Tasks[t] = res
	}
	means := out.summarize(o.tasks)
	out.EffectiveLength = eval.EffectiveLength(grid.Lengths, means, o.threshold)
	out.PNG = o.grid.pngPath("ruler")
	if err := out.heatMap(o.tasks, out.PNG); err != nil {
		return err
	}
	if err := o.grid.out.writeResults(out); err != nil {
		return err
	}
	if o.grid.json {
		return printJSON(stdout, out)
	}
	return out.print(stdout, o)
}

// lengthScore is the mean accuracy of a task's cells at length index i,
// skipped cells left out (NaN when all were skipped).
func lengthScore(res eval.GridResult, i int) float64 {
	sum, n := 0.0, 0
	for j := range res.Depths {
		if c := res.Cell(i, j); c.Skipped == "" {
			sum += float64(c.Accuracy)
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// summarize fills Summary and returns the mean over tasks per length (NaN
// where a task could not run at that length).
func (out *rulerOutput) summarize(tasks []string) []float64 {
	means := make([]float64, len(out.Lengths))
	for i, n := range out.Lengths {
		row := rulerRow{Length: n, Scores: map[string]*float64{}}
		sum := 0.0
		for _, t := range tasks {
			s := lengthScore(out.Tasks[t], i)
			sum += s
			if !math.IsNaN(s) {
				row.Scores[t] = &s
			} else {
				row.Scores[t] = nil
			}
		}
		means[i] = sum / float64(len(tasks))
		if !math.IsNaN(means[i]) {
			m := means[i]
			row.Mean = &m
		}
		out.Summary = append(out.Summary, row)
	}
	return means
}

func (out rulerOutput) heatMap(tasks []string, path string) error {
	values := make([][]float64, len(out.Summary))
	yticks := make([]string, len(out.Summary))
	for i, row := range out.Summary {
		yticks[i] = strconv.Itoa(row.Length)
		for _, t := range tasks {
			v := math.NaN()
			if p := row.Scores[t]; p != nil {
				v = *p
			}
			values[i] = append(values[i], v)
		}
	}
	h := report.HeatMap{Title: fmt.Sprintf("RULER-style scores (%s)", filepath.Base(out.Model)), XLabel: "task",
		YLabel: "prompt length (tokens)", XTicks: tasks, YTicks: yticks, Values: values, Min: 0, Max: 1}
	return report.Figure{Panels: []report.Panel{h}}.Save(path)
}

func (out rulerOutput) print(w io.Writer, o rulerOpts) error {
	tasks := o.tasks
	t := report.Table{Header: append(append([]string{"length"}, tasks...), "mean")}
	for range t.Header {
		t.Align = append(t.Align, report.Right)
	}
	cell := func(p *float64) string {
		if p == nil {
			return "skipped"
		}
		return fmt.Sprintf("%.2f", *p)
	}
	for _, row := range out.Summary {
		r := []string{strconv.Itoa(row.Length)}
		for _, task := range tasks {
			r = append(r, cell(row.Scores[task]))
		}
		t.AddRow(append(r, cell(row.Mean))...)
	}
	depths := len(o.grid.depths)
	fmt.Fprintf(w, "RULER-style tasks, model %s, rope scaling %s, seed %d: %d trials per length and task (%d per depth for the needle tasks)\n\n%s",
		out.Model, ropeName(out.RopeScaling), out.Seed, o.trials*depths, o.trials, t.Markdown())
	for _, task := range tasks {
		for _, c := range out.Tasks[task].Cells {
			if c.Skipped != "" {
				fmt.Fprintf(w, "skipped %s at length %d, depth %g: %s\n", task, c.Length, c.Depth, c.Skipped)
			}
		}
	}
	if out.EffectiveLength > 0 {
		fmt.Fprintf(w, "\neffective length (mean score >= %.3f up to it): %d tokens\n", out.Threshold, out.EffectiveLength)
	} else {
		fmt.Fprintf(w, "\neffective length: below the threshold %.3f already at %d tokens\n", out.Threshold, slices.Min(out.Lengths))
	}
	fmt.Fprintf(w, "heat map: %s\n", out.PNG)
	return nil
}
