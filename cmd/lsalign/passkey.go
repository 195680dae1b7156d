package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/lsalign/lsalign/eval"
	"github.com/lsalign/lsalign/infer"
	"github.com/lsalign/lsalign/internal/memlimit"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/load"
	"github.com/lsalign/lsalign/report"
)

// gridFlags are the flags passkey and babilong share.
type gridFlags struct {
	model, tokenizer string
	lengths          []string
	depths           []float64
	seed             uint64
	maxNew           int
	png              string
	json             bool
	rope             ropeFlags
}

func addGridFlags(cmd *cobra.Command, g *gridFlags, png string) {
	f := cmd.Flags()
	f.StringVar(&g.model, "model", "", "model file or directory")
	f.StringVar(&g.tokenizer, "tokenizer", "", "tokenizer file, if the model brings none (or to replace it)")
	f.StringSliceVar(&g.lengths, "lengths", []string{"1x", "2x", "4x"},
		"prompt lengths in tokens, or multiples of the training context")
	f.Float64SliceVar(&g.depths, "depths", []float64{0, 0.25, 0.5, 0.75, 1}, "depths in [0, 1]: 0 = start of the text, 1 = end")
	f.Uint64Var(&g.seed, "seed", 0, "seed of the generated cases")
	f.IntVar(&g.maxNew, "max-new", 0, "tokens to generate (default: see above)")
	f.StringVar(&g.png, "png", png, "heat map of accuracy by length and depth (\"\" for none)")
	f.BoolVar(&g.json, "json", false, "print the grid, every trial and the settings as one JSON object")
	addRopeFlags(cmd, &g.rope)
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

// finish writes the heat map and prints the accuracy table or JSON.
func (g gridFlags) finish(stdout io.Writer, task string, l *load.Loaded, res eval.GridResult) error {
	out := gridOutput{Task: task, Model: g.model, RopeScaling: l.Model.Config.RopeScaling, GridResult: res, ByTask: byTask(res)}
	values := make([][]float64, len(res.Lengths))
	yticks := make([]string, len(res.Lengths))
	xticks := make([]string, len(res.Depths))
	for j, d := range res.Depths {
		xticks[j] = strconv.FormatFloat(d, 'g', -1, 64)
	}
	t := report.Table{Header: append([]string{"length \\ depth"}, append(xticks, "mean")...)}
	for i, n := range res.Lengths {
		yticks[i] = strconv.Itoa(n)
		row := []string{strconv.Itoa(n)}
		var sum float64
		for j := range res.Depths {
			a := res.Cell(i, j).Accuracy
			values[i] = append(values[i], a)
			row = append(row, fmt.Sprintf("%.2f", a))
			sum += a
		}
		t.AddRow(append(row, fmt.Sprintf("%.2f", sum/float64(len(res.Depths))))...)
	}
	for range t.Header {
		t.Align = append(t.Align, report.Right)
	}
	if g.png != "" {
		h := report.HeatMap{Title: fmt.Sprintf("%s accuracy (%s)", task, filepath.Base(g.model)), XLabel: "depth", YLabel: "prompt length (tokens)",
			XTicks: xticks, YTicks: yticks, Values: values, Min: 0, Max: 1}
		if err := (report.Figure{Panels: []report.Panel{h}}).Save(g.png); err != nil {
			return err
		}
		out.PNG = g.png
	}
	if g.json {
		return printJSON(stdout, out)
	}
	fmt.Fprintf(stdout, "%s accuracy, model %s, rope scaling %s, %d trials per cell, seed %d\n\n%s\noverall %.3f\n",
		task, g.model, ropeName(out.RopeScaling), res.Cells[0].Trials, g.seed, t.Markdown(), res.Accuracy)
	if len(out.ByTask) > 1 {
		names := make([]string, 0, len(out.ByTask))
		for k := range out.ByTask {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(stdout, "%s %.3f\n", k, out.ByTask[k])
		}
	}
	if out.PNG != "" {
		fmt.Fprintf(stdout, "heat map: %s\n", out.PNG)
	}
	return nil
}

// byTask is the accuracy of each task over the whole grid.
func byTask(res eval.GridResult) map[string]float64 {
	right, all := map[string]int{}, map[string]int{}
	for _, t := range res.Trials {
		all[t.Task]++
		if t.Correct {
			right[t.Task]++
		}
	}
	out := map[string]float64{}
	for k, n := range all {
		out[k] = float64(right[k]) / float64(n)
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
	addGridFlags(cmd, &o.grid, "passkey.png")
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
	grid.Progress = newProgress(stderr, "passkey")
	res, err := eval.RunGrid(l.Model, l.Tokenizer, grid, build)
	if err != nil {
		return err
	}
	return o.grid.finish(stdout, "passkey", l, res)
}
