package eval

import (
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/model"
)

func TestStringMatchAll(t *testing.T) {
	refs := []string{"1234567", "Blue-Owl"}
	for _, tc := range []struct {
		out  string
		want float64
	}{
		{" 1234567 and blue-owl.", 1}, {" 1234567", 0.5}, {" BLUE-OWL", 0.5}, {" 123456", 0}, {"", 0},
	} {
		if got := StringMatchAll(tc.out, refs); got != tc.want {
			t.Errorf("StringMatchAll(%q) = %g, want %g", tc.out, got, tc.want)
		}
	}
	if StringMatchAll("x", nil) != 0 {
		t.Error("no references must score 0")
	}
}

// buildRuler builds one case of task and returns it with its decoded prompt.
func buildRuler(t *testing.T, task string, length int, depth float64, seed uint64) (Case, string) {
	t.Helper()
	tok := byteTokenizer(t)
	build, err := RulerOptions{}.Builder(task)
	if err != nil {
		t.Fatal(err)
	}
	c, err := build(tok, length, depth, 0, rng.New(seed))
	if err != nil {
		t.Fatalf("%s at %d: %v", task, length, err)
	}
	if len(c.Prompt) > length {
		t.Fatalf("%s: prompt of %d tokens exceeds the length %d", task, len(c.Prompt), length)
	}
	if len(c.Prompt) < length*9/10 {
		t.Fatalf("%s: prompt of %d tokens leaves more than 10%% of the length %d unused", task, len(c.Prompt), length)
	}
	return c, tok.Decode(c.Prompt[1:])
}

func TestRulerNeedleTasks(t *testing.T) {
	number := regexp.MustCompile(`One of the special magic numbers for ([a-z]+-[a-z]+) is: (\d{7})\.`)
	for _, tc := range []struct {
		task                   string
		needles, keys, answers int
	}{
		{RulerNIAHSingle, 1, 1, 1}, {RulerNIAHMultiKey, 4, 4, 1}, {RulerNIAHMultiValue, 4, 1, 4}, {RulerNIAHMultiQuery, 4, 4, 4},
	} {
		c, text := buildRuler(t, tc.task, 3000, 0.5, 7)
		found := number.FindAllStringSubmatch(text, -1)
		keys := map[string]bool{}
		values := map[string]string{}
		for _, f := range found {
			keys[f[1]] = true
			values[f[2]] = f[1]
		}
		answers := strings.Fields(c.Answer)
		if len(found) != tc.needles || len(keys) != tc.keys || len(answers) != tc.answers {
			t.Fatalf("%s: %d needles, %d keys, %d answers; want %d, %d, %d", tc.task, len(found), len(keys), len(answers), tc.needles, tc.keys, tc.answers)
		}
		for _, a := range answers {
			key, ok := values[a]
			if !ok || !strings.Contains(text[strings.LastIndex(text, "What "):], key) {
				t.Fatalf("%s: answer %s is not a needle value whose key is asked", tc.task, a)
			}
		}
		singular := tc.answers == 1
		if strings.Contains(text, "What is the special magic number for") != singular ||
			!strings.HasSuffix(text, map[bool]string{true: "mentioned in the provided text is", false: "mentioned in the provided text are"}[singular]) {
			t.Fatalf("%s: the template's number does not match %d answers: %q", tc.task, tc.answers, text[strings.LastIndex(text, "\n"):])
		}
		if c.Partial(" "+c.Answer) != 1 || c.Partial(" none") != 0 || c.Score != nil {
			t.Fatalf("%s: scoring the answer itself gives %g", tc.task, c.Partial(c.Answer))
		}
	}
}

func TestRulerNeedleDepth(t *testing.T) {
	for _, depth := range []float64{0, 0.5, 1} {
		_, text := buildRuler(t, RulerNIAHSingle, 2000, depth, 11)
		body := text[strings.Index(text, "\n")+1 : strings.LastIndex(text, "\n")]
		at := float64(strings.Index(body, "One of the special")) / float64(len(body))
		if math.Abs(at-depth) > 0.1 {
			t.Errorf("depth %g: the needle starts at %.2f of the haystack", depth, at)
		}
	}
}

func TestRulerVariableTracking(t *testing.T) {
	c, text := buildRuler(t, RulerVT, 2500, 0.5, 3)
	names := strings.Fields(c.Answer)
	m := regexp.MustCompile(`VAR ([A-Z]{5}) = (\d{5})\.`).FindStringSubmatch(text)
	if len(names) != 5 || m == nil || m[1] != names[0] || !strings.Contains(text, "assigned the value "+m[2]+", they are: ") {
		t.Fatalf("chain %v, first statement %v", names, m)
	}
	for j := 1; j < 5; j++ {
		if !strings.Contains(text, "VAR "+names[j]+" = VAR "+names[j-1]+".") {
			t.Fatalf("hop %d of %v missing", j, names)
		}
	}
	// The statements are spread through the text, in chain order.
	first, last := strings.Index(text, "VAR "+names[0]), strings.Index(text, "VAR "+names[4]+" =")
	if !(first < len(text)/4 && last > len(text)/2) {
		t.Errorf("chain spans bytes %d..%d of %d", first, last, len(text))
	}
}

func TestRulerCommonWords(t *testing.T) {
	c, text := buildRuler(t, RulerCWE, 3000, 0, 5)
	common := strings.Fields(c.Answer)
	if len(common) != 10 {
		t.Fatalf("%d common words", len(common))
	}
	counts := map[string]int{}
	for _, f := range regexp.MustCompile(`\d+\. ([a-z]+)`).FindAllStringSubmatch(text, -1) {
		counts[f[1]]++
	}
	for w, n := range counts {
		isCommon := strings.Contains(" "+c.Answer+" ", " "+w+" ")
		if (isCommon && n != 6) || (!isCommon && n != 1) { // RULER's frequencies below 4096 tokens
			t.Fatalf("word %q appears %d times (common: %v)", w, n, isCommon)
		}
	}
	// A longer prompt extends the list with more uncommon words.
	c2, _ := buildRuler(t, RulerCWE, 3500, 0, 5)
	if c2.Answer != c.Answer || len(c2.Prompt) <= len(c.Prompt) {
		t.Fatalf("longer length: answer %q (was %q), %d tokens (was %d)", c2.Answer, c.Answer, len(c2.Prompt), len(c.Prompt))
	}
}

func TestRulerDeterministicAndTooShort(t *testing.T) {
	tok := byteTokenizer(t)
	for _, task := range RulerTasks {
		build, err := RulerOptions{}.Builder(task)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := build(tok, 2500, 0.25, 0, rng.New(9))
		b, _ := build(tok, 2500, 0.25, 0, rng.New(9))
		if a.Answer != b.Answer || tok.Decode(a.Prompt) != tok.Decode(b.Prompt) {
			t.Errorf("%s: the same seed built different cases", task)
		}
		_, err = build(tok, 40, 0, 0, rng.New(9))
		var tl *tooLongError
		if !errors.As(err, &tl) {
			t.Errorf("%s at 40 tokens: %v, want a too-long error", task, err)
		}
	}
	if _, err := (RulerOptions{}).Builder("niah_huge"); err == nil {
		t.Error("unknown task accepted")
	}
}

func TestRulerGridSkipsCellsThatCannotFit(t *testing.T) {
	m, err := model.NewInit(model.Config{Family: "llama", Vocab: 258, Dim: 16, Layers: 1, Heads: 2, Hidden: 24, MaxSeq: 64}, 3)
	if err != nil {
		t.Fatal(err)
	}
	build, err := RulerOptions{MaxNew: 2}.Builder(RulerNIAHMultiValue)
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunGrid(m, byteTokenizer(t), GridOptions{Lengths: []int{20, 800}, Depths: []float64{0, 1}, Trials: 2}, build)
	if err != nil {
		t.Fatal(err)
	}
	for j := range 2 {
		short, long := res.Cell(0, j), res.Cell(1, j)
		if !strings.Contains(short.Skipped, "more than the length 20") || !math.IsNaN(float64(short.Accuracy)) || short.Trials != 0 {
			t.Errorf("20-token cell %+v should be skipped with the reason", short)
		}
		if long.Skipped != "" || long.Trials != 2 || math.IsNaN(float64(long.Accuracy)) {
			t.Errorf("800-token cell %+v should run", long)
		}
	}
	if len(res.Trials) != 4 || math.IsNaN(float64(res.Accuracy)) {
		t.Fatalf("%d trials, accuracy %g", len(res.Trials), res.Accuracy)
	}
	js, err := json.Marshal(res.Cell(0, 0))
	if err != nil || !strings.Contains(string(js), `"accuracy":null`) || !strings.Contains(string(js), `"skipped":"`) {
		t.Fatalf("skipped cell as JSON: %s, %v", js, err)
	}
}

func TestEffectiveLength(t *testing.T) {
	lengths := []int{512, 1024, 2048, 4096}
	for _, tc := range []struct {
		scores []float64
		want   int
	}{
		{[]float64{0.9, 0.9, 0.86, 0.2}, 2048},
		{[]float64{0.9, 0.5, 0.9, 0.9}, 512}, // stays above: a later recovery does not count
		{[]float64{0.5, 0.9, 0.9, 0.9}, 0},
		{[]float64{0.9, 0.9, 0.9, 0.9}, 4096},
		{[]float64{0.9, math.NaN(), 0.9, 0.9}, 512},
	} {
		if got := EffectiveLength(lengths, tc.scores, 0.856); got != tc.want {
			t.Errorf("scores %v: effective length %d, want %d", tc.scores, got, tc.want)
		}
	}
}
