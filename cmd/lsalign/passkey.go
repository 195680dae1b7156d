package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lsalign/lsalign/eval"
	"github.com/lsalign/lsalign/infer"
	"github.com/lsalign/lsalign/internal/memlimit"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/load"
	"github.com/lsalign/lsalign/report"
)

// gridFlags are the flags passkey, babilong and ruler share.
type gridFlags struct {
	model, tokenizer string
	lengths          []string
	depths           floatList
	seed             uint64
	maxNew           int
	png              string
	json             bool
	rope             ropeFlags
	out              evalOut
}

// gridSettings decide a grid's numbers: a journal made with others cannot
// be resumed. Task holds what the command adds (template, files, ...).
type gridSettings struct {
	Model       fileStamp           `json:"model"`
	Tokenizer   fileStamp           `json:"tokenizer"`
	RopeScaling kernels.RopeScaling `json:"rope_scaling"`
	Lengths     []int               `json:"lengths"`
	Depths      []float64           `json:"depths"`
	Trials      int                 `json:"trials"`
	Seed        uint64              `json:"seed"`
	MaxNew      int                 `json:"max_new"`
	Task        any                 `json:"task"`
}

// journal opens the grid's journal NAME in --out and sets opt.Units.
func (g *gridFlags) journal(stderr io.Writer, name string, l *load.Loaded, opt *eval.GridOptions, task any) error {
	u, err := g.out.units(stderr, name, gridSettings{Model: stampOf(g.model), Tokenizer: stampOf(g.tokenizer),
		RopeScaling: l.Model.Config.RopeScaling, Lengths: opt.Lengths, Depths: opt.Depths, Trials: opt.Trials,
		Seed: opt.Seed, MaxNew: g.maxNew, Task: task})
	opt.Units = u
	return err
}

// pngPath is --png, or NAME.png in --out.
func (g gridFlags) pngPath(name string) string {
	if g.png != "" {
		return g.png
	}
	return g.out.path(name + ".png")
}

func addGridFlags(cmd *cobra.Command, g *gridFlags, name string) {
	g.depths = floatList{0, 0.25, 0.5, 0.75, 1}
	f := cmd.Flags()
	f.StringVar(&g.model, "model", "", "model file or directory")
	f.StringVar(&g.tokenizer, "tokenizer", "", "tokenizer file, if the model brings none (or to replace it)")
	f.StringSliceVar(&g.lengths, "lengths", []string{"1x", "2x", "4x"},
		"prompt lengths in tokens, or multiples of the training context")
	f.Var(&g.depths, "depths", "depths in [0, 1]: 0 = start of the text, 1 = end")
	f.Uint64Var(&g.seed, "seed", 0, "seed of the generated cases")
	f.IntVar(&g.maxNew, "max-new", 0, "tokens to generate (default: see above)")
	f.StringVar(&g.png, "png", "", "heat map file (default: "+name+".png in --out)")
	f.BoolVar(&g.json, "json", false, "print the grid, every trial and the settings as one JSON object")
	addRopeFlags(cmd, &g.rope)
	addEvalOutFlags(cmd, &g.out, name)
}

// defaultGridMaxNew bounds the tokens passkey and babilong decode when
// --max-new is not given (the answer's token count + 2, or 16), for the
// memory estimate.
const defaultGridMaxNew = 16

// gridOutput is what passkey and babilong print with --json.
type gridOutput struct {
	Task        string              `json:"task"`
	Model       string              `json:"model"`
	RopeScaling kernels.RopeScaling `json:"rope_scaling"`
	ByTask      map[string]float64  `json:"by_task,omitempty"`
	PNG         string              `json:"png,omitempty"`
	eval.GridResult
}

// setup loads the model and resolves the grid, noting on stderr the
// lengths the model can only reach by extrapolating.
func (g gridFlags) setup(stderr io.Writer, cmd string, trials int) (*load.Loaded, eval.GridOptions, error) {
	if g.model == "" {
		return nil, eval.GridOptions{}, usagef("%s needs --model", cmd)
	}
	if err := checkCount("--trials", trials, 1); err != nil {
		return nil, eval.GridOptions{}, err
	}
	if err := checkCount("--max-new", g.maxNew, 0); err != nil {
		return nil, eval.GridOptions{}, err
	}
	if err := g.out.prepare(); err != nil {
		return nil, eval.GridOptions{}, err
	}
	l, err := loadEvalModel(g.model, g.tokenizer, g.rope)
	if err != nil {
		return nil, eval.GridOptions{}, err
	}
	lengths, err := parseLengths("--lengths", g.lengths, l.Model.Config.MaxSeq)
	if err != nil {
		return nil, eval.GridOptions{}, err
	}
	opt := eval.GridOptions{Lengths: lengths, Depths: g.depths, Trials: trials, Seed: g.seed}
	if err := opt.Validate(); err != nil {
		return nil, eval.GridOptions{}, usagef("%v", err)
	}
	// Each trial prefills a prompt of up to the longest length and decodes
	// from one KV cache; the default --max-new is at most a few tokens.
	longest, maxNew := slices.Max(lengths), g.maxNew
	if maxNew == 0 {
		maxNew = defaultGridMaxNew
	}
	need := infer.DecodeMemory(l.Model.Config, longest, maxNew)
	if err := memlimit.Check(need, fmt.Sprintf("a %d-token prompt and %d new tokens", longest, maxNew)); err != nil {
		return nil, eval.GridOptions{}, err
	}
	noteExtrapolation(stderr, l, lengths)
	return l, opt, nil
}

// finish writes the heat map and prints the accuracy table or JSON;
// trials describes how many trials each cell holds.
func (g gridFlags) finish(stdout io.Writer, task, trials string, l *load.Loaded, res eval.GridResult) error {
	out := gridOutput{Task: task, Model: g.model, RopeScaling: l.Model.Config.RopeScaling, GridResult: res, ByTask: byTask(res),
		PNG: g.pngPath(task)}
	if err := gridHeatMap(task, g.model, res).Save(out.PNG); err != nil {
		return err
	}
	if err := g.out.writeResults(out); err != nil {
		return err
	}
	if g.json {
		return printJSON(stdout, out)
	}
	fmt.Fprintf(stdout, "%s accuracy, model %s, rope scaling %s, %s, seed %d\n\n%s",
		task, g.model, ropeName(out.RopeScaling), trials, g.seed, gridTable(res).Markdown())
	for _, c := range res.Cells {
		if c.Skipped != "" {
			fmt.Fprintf(stdout, "skipped length %d, depth %g: %s\n", c.Length, c.Depth, c.Skipped)
		}
	}
	if math.IsNaN(float64(res.Accuracy)) {
		fmt.Fprintf(stdout, "\nno cell could run: every prompt is longer than its length\n")
	} else {
		fmt.Fprintf(stdout, "\noverall %.3f\n", res.Accuracy)
	}
	if len(out.ByTask) > 1 {
		names := slices.Sorted(maps.Keys(out.ByTask))
		for _, k := range names {
			fmt.Fprintf(stdout, "%s %.3f\n", k, out.ByTask[k])
		}
	}
	fmt.Fprintf(stdout, "\n%s", answersTable(res.Trials, maxShownTrials).Markdown())
	if n := len(res.Trials) - maxShownTrials; n > 0 {
		fmt.Fprintf(stdout, "(%d more trials in --json)\n", n)
	}
	fmt.Fprintf(stdout, "heat map: %s\n", out.PNG)
	return nil
}

// maxShownTrials bounds the answers printed after the accuracy table.
const maxShownTrials = 20

// gridTable is the accuracy by length (rows) and depth (columns), skipped
// cells marked, with each row's mean over the cells that ran.
func gridTable(res eval.GridResult) report.Table {
	xticks := make([]string, len(res.Depths))
	for j, d := range res.Depths {
		xticks[j] = strconv.FormatFloat(d, 'g', -1, 64)
	}
	t := report.Table{Header: append([]string{"length \\ depth"}, append(xticks, "mean")...)}
	for range t.Header {
		t.Align = append(t.Align, report.Right)
	}
	for i, n := range res.Lengths {
		row := []string{strconv.Itoa(n)}
		var sum float64
		ran := 0
		for j := range res.Depths {
			c := res.Cell(i, j)
			if c.Skipped != "" {
				row = append(row, "skipped")
				continue
			}
			row = append(row, fmt.Sprintf("%.2f", c.Accuracy))
			sum += float64(c.Accuracy)
			ran++
		}
		mean := "skipped"
		if ran > 0 {
			mean = fmt.Sprintf("%.2f", sum/float64(ran))
		}
		t.AddRow(append(row, mean)...)
	}
	return t
}

// answersTable shows what the model answered in the first n trials.
func answersTable(trials []eval.Trial, n int) report.Table {
	t := report.Table{Header: []string{"length", "depth", "trial", "task", "answer", "output", "score"},
		Align: []report.Align{report.Right, report.Right, report.Right, report.Left, report.Left, report.Left, report.Right}}
	for _, tr := range trials[:min(n, len(trials))] {
		out := strings.Join(strings.Fields(tr.Output), " ")
		if r := []rune(out); len(r) > 48 {
			out = string(r[:47]) + "…"
		}
		t.AddRow(strconv.Itoa(tr.Length), strconv.FormatFloat(tr.Depth, 'g', -1, 64), strconv.Itoa(tr.Trial), tr.Task,
			tr.Answer, fmt.Sprintf("%q", out), fmt.Sprintf("%.2f", tr.Score))
	}
	return t
}

// gridHeatMap is the accuracy by length and depth, skipped cells grey.
func gridHeatMap(task, modelPath string, res eval.GridResult) report.Figure {
	values := make([][]float64, len(res.Lengths))
	yticks := make([]string, len(res.Lengths))
	xticks := make([]string, len(res.Depths))
	for j, d := range res.Depths {
		xticks[j] = strconv.FormatFloat(d, 'g', -1, 64)
	}
	for i, n := range res.Lengths {
		yticks[i] = strconv.Itoa(n)
		for j := range res.Depths {
			values[i] = append(values[i], float64(res.Cell(i, j).Accuracy)) // NaN when skipped
		}
	}
	h := report.HeatMap{Title: fmt.Sprintf("%s accuracy (%s)", task, filepath.Base(modelPath)), XLabel: "depth", YLabel: "prompt length (tokens)",
		XTicks: xticks, YTicks: yticks, Values: values, Min: 0, Max: 1}
	return report.Figure{Panels: []report.Panel{h}}
}

// byTask is the mean score of each task over every trial that ran.
func byTask(res eval.GridResult) map[string]float64 {
	sum, all := map[string]float64{}, map[string]int{}
	for _, t := range res.Trials {
		all[t.Task]++
		sum[t.Task] += t.Score
	}
	out := map[string]float64{}
	for k, n := range all {
		out[k] = sum[k] / float64(n)
	}
	return out
}

type passkeyOpts struct {
	grid     gridFlags
	trials   int
	template string
	maxKey   int
}

func newPasskeyCmd() *cobra.Command {
	var o passkeyOpts
	cmd := &cobra.Command{
		Use:   "passkey",
		Short: "Passkey retrieval accuracy by prompt length and needle depth (greedy decoding)",
		Long: `passkey hides a random number in filler text and asks for it back: the classic test of
Mohtashami & Jaggi as llama.cpp's examples/passkey builds it:

  There is an important info hidden inside a lot of irrelevant text. Find it and memorize
  them. I will quiz you about the important information there. The grass is green. The sky
  is blue. The sun is yellow. Here we go. There and back again. ... The pass key is 12345.
  Remember it. 12345 is the pass key. ... What is the pass key? The pass key is

The passkey is uniform in [1, --max-key]. For each prompt length (tokens, BOS included)
it uses the most filler units that fit, with the needle before unit round(depth × units).
The model decodes greedily (--max-new tokens, default the answer's token count + 2), and
a trial is correct when the first number in the output is the passkey, digit for digit.
--template reads another template (prefix, junk_unit, needle with {K}, suffix), for
example ../shared/corpora/passkey_needle_templates.json. Cases depend only on the seed,
the length, the depth and the trial number.

Prints an accuracy table (lengths × depths) and writes a heat map (--png).`,
		Example: `  lsalign passkey --model stories260K.gguf --lengths 256,512,1024 --trials 5
  lsalign passkey --model m.gguf --lengths 1x,2x,4x --depths 0,0.5,1 --rope-scaling yarn --rope-factor 4 --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPasskey(cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	addGridFlags(cmd, &o.grid, "passkey")
	f := cmd.Flags()
	f.IntVar(&o.trials, "trials", 5, "trials per length and depth")
	f.StringVar(&o.template, "template", "", "JSON template file (default: llama.cpp's, built in)")
	f.IntVar(&o.maxKey, "max-key", 50000, "passkeys are uniform in [1, max-key]")
	return cmd
}

func runPasskey(stdout, stderr io.Writer, o passkeyOpts) error {
	if o.maxKey < 1 {
		return usagef("--max-key must be positive, got %d", o.maxKey)
	}
	popt := eval.PasskeyOptions{MaxKey: o.maxKey, MaxNew: o.grid.maxNew}
	if o.template != "" {
		data, err := os.ReadFile(o.template)
		if err != nil {
			return err
		}
		if popt.Template, err = eval.ParsePasskeyTemplate(data, o.template); err != nil {
			return err
		}
	}
	build, err := popt.Builder()
	if err != nil {
		return err
	}
	l, grid, err := o.grid.setup(stderr, "passkey", o.trials)
	if err != nil {
		return err
	}
	defer o.grid.out.close()
	if err := o.grid.journal(stderr, "passkey", l, &grid, struct {
		Template eval.PasskeyTemplate `json:"template"`
		MaxKey   int                  `json:"max_key"`
	}{popt.Template, o.maxKey}); err != nil {
		return err
	}
	grid.Progress = newProgress(stderr, "passkey")
	res, err := eval.RunGrid(l.Model, l.Tokenizer, grid, build)
	if err != nil {
		return err
	}
	return o.grid.finish(stdout, "passkey", plural(o.trials, "trial")+" per cell", l, res)
}
