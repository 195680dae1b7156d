package eval

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/tokenizer"
)

// RULER-style synthetic tasks (Hsieh et al., "RULER: What's the Real
// Context Size of Your Long-Context Language Models?", 2024; templates and
// scoring from NVIDIA/RULER scripts/data/synthetic/constants.py and
// scripts/eval/synthetic/constants.py, Apache-2.0). Every case is generated
// offline from the seed: keys are adjective-noun pairs from built-in word
// lists (RULER draws them from the wonderwords lists), values 7-digit
// numbers, and the haystack RULER's "noise" sentence repeated, or
// sentences of a background text.
//
// Scoring is RULER's string_match_all: the fraction of expected answers
// that occur in the output (case-insensitive), so a trial scores 1 only
// when every answer is there.

// RULER task names.
const (
	RulerNIAHSingle     = "niah_single"     // one needle, one query
	RulerNIAHMultiKey   = "niah_multikey"   // four needles with distinct keys, one queried
	RulerNIAHMultiValue = "niah_multivalue" // four values under one key, all asked
	RulerNIAHMultiQuery = "niah_multiquery" // four keys, all asked
	RulerVT             = "vt"              // variable tracking: one chain of four hops
	RulerCWE            = "cwe"             // common-words extraction: the 10 most frequent words
)

// RulerTasks lists the tasks in report order.
var RulerTasks = []string{RulerNIAHSingle, RulerNIAHMultiKey, RulerNIAHMultiValue, RulerNIAHMultiQuery, RulerVT, RulerCWE}

// RulerNoise is RULER's "noise" haystack sentence.
const RulerNoise = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."

// RulerTaskUsesDepth reports whether a task places its evidence at a depth:
// the needle tasks do; variable tracking spreads its chain through the
// text and common-words extraction has no haystack, as in RULER.
func RulerTaskUsesDepth(task string) bool { return strings.HasPrefix(task, "niah_") }

// RulerOptions configures the RULER-style builders.
type RulerOptions struct {
	// Background, when non-empty, replaces the noise sentence as the
	// haystack of the needle tasks: sentences used in order from a random
	// start (see Sentences). Variable tracking always uses the noise, as
	// RULER does.
	Background []string
	MaxNew     int // tokens generated; 0 means the task's default (RulerMaxNew)
}

// RulerMaxNew is the number of tokens each task generates by default:
// RULER's tokens_to_generate (128 for the needle tasks, 30 for variable
// tracking; 120 for common words).
func RulerMaxNew(task string) int {
	switch task {
	case RulerVT:
		return 30
	case RulerCWE:
		return 120
	}
	return 128
}

// Builder returns the case builder of one task.
func (o RulerOptions) Builder(task string) (Builder, error) {
	maxNew := o.MaxNew
	if maxNew == 0 {
		maxNew = RulerMaxNew(task)
	}
	if maxNew < 1 {
		return nil, fmt.Errorf("ruler: max new tokens %d must be positive", maxNew)
	}
	var gen func(r *rng.RNG, length int) rulerCase
	switch task {
	case RulerNIAHSingle:
		gen = func(r *rng.RNG, _ int) rulerCase { return o.niah(r, 1, 1, 1) }
	case RulerNIAHMultiKey:
		gen = func(r *rng.RNG, _ int) rulerCase { return o.niah(r, 4, 1, 1) }
	case RulerNIAHMultiValue:
		gen = func(r *rng.RNG, _ int) rulerCase { return o.niah(r, 1, 4, 1) }
	case RulerNIAHMultiQuery:
		gen = func(r *rng.RNG, _ int) rulerCase { return o.niah(r, 4, 1, 4) }
	case RulerVT:
		gen = func(r *rng.RNG, _ int) rulerCase { return variableTracking(r, 4) }
	case RulerCWE:
		// RULER's frequencies: 30 and 3 from 4096 tokens on, 6 and 1 below.
		gen = func(r *rng.RNG, length int) rulerCase {
			if length < 4096 {
				return commonWords(r, 10, 6, 1)
			}
			return commonWords(r, 10, 30, 3)
		}
	default:
		return nil, fmt.Errorf("ruler: unknown task %q (want one of %s)", task, strings.Join(RulerTasks, ", "))
	}
	return func(tok *tokenizer.Tokenizer, length int, depth float64, trial int, r *rng.RNG) (Case, error) {
		c := gen(r, length)
		_, ids, err := fitUnits(tok, length, func(n int) string { return c.text(n, depth) })
		if err != nil {
			return Case{}, fmt.Errorf("%s: %w", task, err)
		}
		answers := c.answers
		return Case{
			Task: task, Prompt: ids, Answer: strings.Join(answers, " "), MaxNew: maxNew,
			Partial: func(out string) float64 { return StringMatchAll(out, answers) },
			Done: func(out string) bool {
				return StringMatchAll(out, answers) == 1 || strings.Contains(out, "\n\n")
			},
		}, nil
	}, nil
}

// StringMatchAll is RULER's string_match_all for one prediction: the
// fraction of the references that occur in it, ignoring case.
func StringMatchAll(output string, refs []string) float64 {
	if len(refs) == 0 {
		return 0
	}
	out := strings.ToLower(output)
	n := 0
	for _, r := range refs {
		if strings.Contains(out, strings.ToLower(r)) {
			n++
		}
	}
	return float64(n) / float64(len(refs))
}

// rulerCase is one generated case: its prompt with n filler units and the
// answers.
type rulerCase struct {
	text    func(n int, depth float64) string
	answers []string
}

// niah is RULER's needle-in-a-haystack: numK needles with distinct keys,
// numV values under each, numQ of the keys asked (numK is raised to numQ).
func (o RulerOptions) niah(r *rng.RNG, numK, numV, numQ int) rulerCase {
	numK = max(numK, numQ)
	keys := distinct(numK, func() string { return rulerKey(r) })
	var needles []string
	values := make([][]string, numK)
	for k, key := range keys {
		values[k] = distinct(numV, func() string { return strconv.Itoa(r.IntRange(1000000, 9999999)) })
		for _, v := range values[k] {
			needles = append(needles, "One of the special magic numbers for "+key+" is: "+v+".")
		}
	}
	shuffle(r, needles)
	asked := r.Perm(numK)[:numQ]
	var queries, answers []string
	for _, k := range asked {
		queries = append(queries, keys[k])
		answers = append(answers, values[k]...)
	}
	query := queries[0]
	if len(queries) > 1 {
		query = strings.Join(queries[:len(queries)-1], ", ") + ", and " + queries[len(queries)-1]
	}
	head := "Some special magic numbers are hidden within the following text. Make sure to memorize it. I will quiz you about the numbers afterwards.\n"
	tail := "\nWhat are all the special magic numbers for " + query + " mentioned in the provided text? The special magic numbers for " + query + " mentioned in the provided text are"
	if numQ*numV == 1 { // RULER's singular rewrite of the template
		head = "A special magic number is hidden within the following text. Make sure to memorize it. I will quiz you about the number afterwards.\n"
		tail = "\nWhat is the special magic number for " + query + " mentioned in the provided text? The special magic number for " + query + " mentioned in the provided text is"
	}
	start := 0
	if len(o.Background) > 0 {
		start = r.Intn(len(o.Background))
	}
	return rulerCase{answers: answers, text: func(n int, depth float64) string {
		hay := make([]string, n)
		for i := range hay {
			hay[i] = RulerNoise
			if len(o.Background) > 0 {
				hay[i] = o.Background[(start+i)%len(o.Background)]
			}
		}
		at := int(math.Round(depth * float64(n)))
		parts := slices.Concat(hay[:at], needles, hay[at:])
		return head + strings.Join(parts, " ") + tail
	}}
}

// variableTracking is RULER's vt: a chain "VAR A = 12345", "VAR B = VAR A",
// ... of hops+1 variables spread evenly through the noise; every variable
// of the chain is an answer.
func variableTracking(r *rng.RNG, hops int) rulerCase {
	names := distinct(hops+1, func() string {
		b := make([]byte, 5)
		for i := range b {
			b[i] = byte('A' + r.Intn(26))
		}
		return string(b)
	})
	value := strconv.Itoa(r.IntRange(10000, 99999))
	chain := []string{"VAR " + names[0] + " = " + value + "."}
	for j := 1; j <= hops; j++ {
		chain = append(chain, "VAR "+names[j]+" = VAR "+names[j-1]+".")
	}
	head := "Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n"
	tail := "\nQuestion: Find all variables that are assigned the value " + value + " in the text above. Answer: According to the chain(s) of variable assignment in the text above, " +
		strconv.Itoa(hops+1) + " variables are assigned the value " + value + ", they are: "
	return rulerCase{answers: names, text: func(n int, _ float64) string {
		parts := make([]string, 0, n+len(chain))
		for i := 0; i <= n; i++ {
			// Statement j goes before noise sentence round(j*n/len(chain)).
			for j := range chain {
				if int(math.Round(float64(j*n)/float64(len(chain)))) == i {
					parts = append(parts, chain[j])
				}
			}
			if i < n {
				parts = append(parts, RulerNoise)
			}
		}
		return head + strings.Join(parts, "\n") + tail
	}}
}

// commonWords is RULER's cwe: numCW words freqCW times each among words
// that appear freqUCW times, shuffled into a numbered list; the filler
// units are the uncommon words (freqUCW occurrences each). The list is
// shuffled once for the largest size and cut, so a longer prompt extends
// a shorter one.
func commonWords(r *rng.RNG, numCW, freqCW, freqUCW int) rulerCase {
	pool := slices.Clone(rulerWords)
	shuffle(r, pool)
	common, uncommon := pool[:numCW], pool[numCW:]
	seed := r.Uint64()
	head := "Below is a numbered list of words. In these words, some appear more often than others. Memorize the ones that appear most often.\n"
	tail := "\nQuestion: What are the " + strconv.Itoa(numCW) + " most common words in the above list? Answer: The top " +
		strconv.Itoa(numCW) + " words that appear most often in the list are:"
	return rulerCase{answers: common, text: func(n int, _ float64) string {
		n = min(n, len(uncommon))
		words := make([]string, 0, numCW*freqCW+n*freqUCW)
		for _, w := range common {
			for range freqCW {
				words = append(words, w)
			}
		}
		for _, w := range uncommon[:n] {
			for range freqUCW {
				words = append(words, w)
			}
		}
		shuffle(rng.New(seed^uint64(n)), words)
		var b strings.Builder
		for i, w := range words {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.Itoa(i+1) + ". " + w)
		}
		return head + b.String() + tail
	}}
}

// rulerKey is an adjective-noun key like RULER's wonderwords keys.
func rulerKey(r *rng.RNG) string {
	return rulerAdjectives[r.Intn(len(rulerAdjectives))] + "-" + rulerNouns[r.Intn(len(rulerNouns))]
}

// distinct draws n different strings.
func distinct(n int, draw func() string) []string {
	out := make([]string, 0, n)
	for len(out) < n {
		if s := draw(); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func shuffle[T any](r *rng.RNG, x []T) {
	for i := len(x) - 1; i > 0; i-- {
		j := r.Intn(i + 1)
		x[i], x[j] = x[j], x[i]
	}
}

var rulerAdjectives = strings.Fields(`able acid angry aware bad bent big bitter black blue bold bright broken brown busy calm cheap
clean clear cold cool cruel curly dark dear deep dirty dry dull early easy elder empty equal even fair false fancy fast fat
fine firm flat fresh full funny giant glad gold good grand gray great green grim happy hard heavy high hollow hot huge humble
icy ideal jolly keen kind large late lazy light little live lone long loud low lucky mad major mild minor modern narrow neat
new nice noble odd old open pale plain polite poor proud pure quick quiet rapid rare raw real red rich right rough round
royal rude sad safe salty sharp shiny short shy silent silly simple slim slow small smart smooth soft solid sour spare
steep sticky stiff still strange strict strong sweet swift tall tame thick thin tidy tight tiny tough true ugly vast warm
weak wet white whole wide wild wise young`)

var rulerNouns = strings.Fields(`acorn actor airport alarm album anchor angle animal apple arch arm army arrow artist
attic aunt author baby badge bag bakery ball band bank barn basket bath beach bean bear bed bell belt bench bicycle bird
blade blanket boat bone book boot bottle box branch bread brick bridge brother brush bucket button cabin cable cake camera
camp candle canoe canvas captain car card carpet castle cat cave chain chair chalk cheese cherry chest child church circle
city clock cloud coast coat coffee coin comet cook copper corn cottage cousin cow crane crayon cup curtain dance desert desk
diamond dinner doctor dog doll door dragon dream dress drum duck eagle earth egg engine eye fabric face farm feather fence
field finger fire fish flag flower flute forest fork fountain fox frog garden gate ghost gift glass glove goat grape guitar
hammer harbor hat hill horse house island jacket jar jewel kettle key king kitchen kite ladder lake lamp leaf lemon letter
lion lizard lock map market mirror monkey moon mountain mouse nail needle nest ocean onion orange owl painter palace paper
parrot pearl pencil piano pillow pirate planet plate pocket pond potato queen rabbit radio rain ring river road robot rock
roof rope rose sail salt sand school sea shell ship shoe silver singer sister sky snake song spoon star stone storm sugar
sun table teacher tent tiger tower town toy train tree truck tulip turtle umbrella valley vase village violin wagon wall
whale wheel window wolf wood worm yard zebra`)

// rulerWords is the common-words vocabulary: the nouns and adjectives.
var rulerWords = slices.Concat(rulerNouns, rulerAdjectives)

// EffectiveLength is RULER's summary: the longest of the sorted lengths up
// to which every score reaches the threshold (RULER uses Llama-2-7B's
// score at 4K, 0.856). It returns 0 when the shortest length already
// falls below it; a NaN score (no trial could run) ends the run of passing
// lengths too.
func EffectiveLength(lengths []int, scores []float64, threshold float64) int {
	eff := 0
	for i, n := range lengths {
		if !(scores[i] >= threshold) {
			break
		}
		eff = n
	}
	return eff
}
