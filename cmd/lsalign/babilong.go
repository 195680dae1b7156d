package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/lsalign/lsalign/eval"
)

type babilongOpts struct {
	grid       gridFlags
	trials     int
	babi       []string
	background string
	spread     float64
	template   string
}

func newBabilongCmd() *cobra.Command {
	var o babilongOpts
	cmd := &cobra.Command{
		Use:   "babilong",
		Short: "BABILong-style accuracy: bAbI facts hidden in long background text (greedy decoding)",
		Long: `babilong asks bAbI questions (tasks qa1-qa5, from files you give, such as
../shared/corpora/babi) whose supporting facts are hidden in long background text, as
BABILong (Kuratov et al., 2024) does. For each trial it draws a question of a task (trial
t uses task t mod the number of tasks; --trials counts trials per task), takes every fact
of its story before the question, and hides them, in order, between sentences of the
--background text (a book; a random starting sentence, wrapping around) at the chosen
depth: --spread 0 keeps the facts together there, --spread 1 scatters them through the
whole text as BABILong does. It uses the most background sentences that keep the prompt
within the length (tokens, BOS included). The prompt is

  <context>
  {context}
  </context>

  Question: {question}
  Answer:

(--template changes it). The model decodes greedily (--max-new, default 16 tokens) and is
scored with BABILong's answer-label matching: only the first sentence of the output
counts; the answer is right when the target is the one task label it mentions (labels
named in the question excluded). A task's labels are every answer in its file.

Prints an accuracy table (lengths × depths, all tasks pooled), the accuracy per task,
and writes a heat map (--png). Small models score near 0; that is the honest result.`,
		Example: `  lsalign babilong --model stories260K.gguf --babi ../shared/corpora/babi \
      --background ../shared/corpora/gutenberg/chesterton-thursday.txt --lengths 512,1024 --trials 2
  lsalign babilong --model m.gguf --babi qa1.txt,qa2.txt --background book.txt --spread 1 --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBabilong(cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	addGridFlags(cmd, &o.grid, "babilong")
	f := cmd.Flags()
	f.IntVar(&o.trials, "trials", 3, "trials per task, length and depth")
	f.StringSliceVar(&o.babi, "babi", nil, "bAbI task files, or directories of qa*.txt files")
	f.StringVar(&o.background, "background", "", "background text: a file, or a directory of .txt files")
	f.Float64Var(&o.spread, "spread", 0, "fraction of the background the facts spread over (0 = together at the depth, 1 = everywhere)")
	f.StringVar(&o.template, "template", eval.DefaultBabilongTemplate, "prompt template with {context} and {question}")
	return cmd
}

func runBabilong(stdout, stderr io.Writer, o babilongOpts) error {
	if len(o.babi) == 0 || o.background == "" {
		return usagef("babilong needs --model, --babi and --background")
	}
	if err := checkCount("--trials", o.trials, 1); err != nil {
		return err
	}
	if !(o.spread >= 0 && o.spread <= 1) {
		return usagef("--spread must be in [0, 1], got %v", o.spread)
	}
	tasks, err := eval.ReadBabiTasks(o.babi)
	if err != nil {
		return err
	}
	docs, err := eval.ReadDocuments(o.background)
	if err != nil {
		return err
	}
	var sentences []string
	for _, d := range docs {
		sentences = append(sentences, eval.Sentences(d.Text)...)
	}
	build, err := eval.BabilongOptions{Tasks: tasks, Background: sentences, Spread: o.spread,
		Template: o.template, MaxNew: o.grid.maxNew}.Builder()
	if err != nil {
		return err
	}
	l, grid, err := o.grid.setup(stderr, "babilong", o.trials*len(tasks))
	if err != nil {
		return err
	}
	defer o.grid.out.close()
	babi := make([]fileStamp, len(o.babi))
	for i, b := range o.babi {
		babi[i] = stampOf(b)
	}
	if err := o.grid.journal(stderr, "babilong", l, &grid, struct {
		Babi       []fileStamp `json:"babi"`
		Background fileStamp   `json:"background"`
		Spread     float64     `json:"spread"`
		Template   string      `json:"template"`
	}{babi, stampOf(o.background), o.spread, o.template}); err != nil {
		return err
	}
	grid.Progress = newProgress(stderr, "babilong")
	res, err := eval.RunGrid(l.Model, l.Tokenizer, grid, build)
	if err != nil {
		return err
	}
	trials := fmt.Sprintf("%s per task and cell (%d tasks: %d per cell)", plural(o.trials, "trial"), len(tasks), o.trials*len(tasks))
	return o.grid.finish(stdout, "babilong", trials, l, res)
}
