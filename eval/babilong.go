package eval

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/tokenizer"
)

// DefaultBabilongTemplate wraps the haystack the way BABILong's prompts do
// (<context> tags, then the question), without its instructions and
// in-context examples, and ends with "Answer:" so that a base model
// continues with the answer.
const DefaultBabilongTemplate = "<context>\n{context}\n</context>\n\nQuestion: {question}\nAnswer:"

// BabilongOptions configures BABILong-style cases: the facts of one bAbI
// question hidden in background sentences.
type BabilongOptions struct {
	Tasks      []BabiTask // trial t uses task t mod len(Tasks)
	Background []string   // background sentences (see Sentences), used in order from a random start
	// Spread is the fraction of the background the facts are spread over,
	// evenly and in order: 0 (default) keeps them together at the depth, 1
	// spreads them through the whole text as BABILong does. The facts fill
	// [depth×(1-Spread), depth×(1-Spread)+Spread] of the background.
	Spread   float64
	Template string // with {context} and {question}; "" means DefaultBabilongTemplate
	MaxNew   int    // tokens generated; 0 means 16
}

// Builder returns the BABILong case builder. For each trial it draws a
// question of the trial's task whose facts and question fit the length,
// a starting sentence in the background, and then uses the most
// background sentences that keep the prompt within length tokens.
func (o BabilongOptions) Builder() (Builder, error) {
	tpl := o.Template
	if tpl == "" {
		tpl = DefaultBabilongTemplate
	}
	switch {
	case len(o.Tasks) == 0:
		return nil, fmt.Errorf("babilong: no bAbI tasks")
	case len(o.Background) == 0:
		return nil, fmt.Errorf("babilong: no background sentences")
	case !strings.Contains(tpl, "{context}") || !strings.Contains(tpl, "{question}"):
		return nil, fmt.Errorf("babilong: template %q needs {context} and {question}", tpl)
	case !(o.Spread >= 0 && o.Spread <= 1):
		return nil, fmt.Errorf("babilong: spread %v must be in [0, 1]", o.Spread)
	}
	for _, t := range o.Tasks {
		if len(t.Samples) == 0 {
			return nil, fmt.Errorf("babilong: task %s has no questions", t.Name)
		}
	}
	maxNew := o.MaxNew
	if maxNew == 0 {
		maxNew = 16
	}
	return func(tok *tokenizer.Tokenizer, length int, depth float64, trial int, r *rng.RNG) (Case, error) {
		task := o.Tasks[trial%len(o.Tasks)]
		start := r.Intn(len(o.Background))
		prompt := func(s BabiSample, n int) string {
			ctx := o.haystack(s.Facts, start, n, depth)
			return strings.NewReplacer("{context}", ctx, "{question}", s.Question).Replace(tpl)
		}
		// Draw questions until one fits without background (long qa3 stories may not).
		const tries = 64
		shortest := math.MaxInt
		for range tries {
			s := task.Samples[r.Intn(len(task.Samples))]
			_, ids, err := fitUnits(tok, length, func(n int) string { return prompt(s, n) })
			var tl *tooLongError
			if errors.As(err, &tl) {
				shortest = min(shortest, tl.tokens)
				continue
			}
			if err != nil {
				return Case{}, fmt.Errorf("babilong: %w", err)
			}
			return Case{
				Task: task.Name, Prompt: ids, Answer: s.Answer, MaxNew: maxNew,
				Score: func(out string) bool { return ScoreBabilong(out, s.Answer, s.Question, task.Labels) },
				// Only the first sentence is scored, so a '.' ends decoding.
				Done: func(out string) bool { return strings.Contains(out, ".") },
			}, nil
		}
		// No question fits: the cell is too short, and the grid skips it.
		return Case{}, fmt.Errorf("babilong: no question of %s fits (%d tries): %w", task.Name, tries, &tooLongError{shortest, length})
	}, nil
}

// haystack is n background sentences from start (wrapping around) with
// the facts inserted, in order, around depth.
func (o BabilongOptions) haystack(facts []string, start, n int, depth float64) string {
	lo := depth * (1 - o.Spread) * float64(n)
	width := o.Spread * float64(n)
	// gap[k] is the number of background sentences before fact k (with
	// Spread 0 the width is 0, so every fact sits at round(lo)).
	gap := make([]int, len(facts))
	for k := range facts {
		gap[k] = int(math.Round(lo + width*(float64(k)+0.5)/float64(len(facts))))
	}
	parts := make([]string, 0, n+len(facts))
	k := 0
	for i := 0; i <= n; i++ {
		for k < len(facts) && gap[k] <= i {
			parts = append(parts, facts[k])
			k++
		}
		if i < n {
			parts = append(parts, o.Background[(start+i)%len(o.Background)])
		}
	}
	return strings.Join(parts, " ")
}

// ScoreBabilong is BABILong's answer-label matching (babilong/metrics.py,
// compare_answers): only the text before the first '.' counts (and before
// "<context>" or "<example>", where a model starts a new example); labels
// the question mentions are never answers; the answer is correct when the
// target is the only remaining label mentioned (for comma-separated
// targets, when exactly those labels are). Matching is case-insensitive
// substring matching. (The original also cuts at "Question" after
// lowercasing the output, which never matches; so neither does this.)
func ScoreBabilong(output, target, question string, labels []string) bool {
	out := strings.ToLower(output)
	for _, sep := range []string{".", "<context>", "<example>"} {
		out, _, _ = strings.Cut(out, sep)
	}
	target, question = strings.ToLower(target), strings.ToLower(question)
	inOutput := map[string]bool{}
	for _, l := range labels {
		l = strings.ToLower(l)
		if strings.Contains(out, l) && !strings.Contains(question, l) {
			inOutput[l] = true
		}
	}
	if strings.Contains(target, ",") && len(target) > 3 {
		subs := strings.Split(target, ",")
		for _, s := range subs {
			if !inOutput[s] {
				return false
			}
		}
		return len(inOutput) == len(subs)
	}
	return inOutput[target] && len(inOutput) == 1
}
