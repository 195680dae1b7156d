package eval

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
)

const babiSnippet = `1 Mary moved to the bathroom.
2 John went to the hallway.
3 Where is Mary? 	bathroom	1
4 Daniel went back to the hallway.
5 Where is Daniel? 	hallway	4
1 Sandra travelled to the office.
2 Sandra went to the garden.
3 Where is Sandra? 	garden	2
`

func TestParseBabi(t *testing.T) {
	task, err := ParseBabi(strings.NewReader(babiSnippet), "snippet.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := []BabiSample{
		{Facts: []string{"Mary moved to the bathroom.", "John went to the hallway."}, Question: "Where is Mary?", Answer: "bathroom", Supporting: []int{0}},
		{Facts: []string{"Mary moved to the bathroom.", "John went to the hallway.", "Daniel went back to the hallway."},
			Question: "Where is Daniel?", Answer: "hallway", Supporting: []int{2}},
		{Facts: []string{"Sandra travelled to the office.", "Sandra went to the garden."}, Question: "Where is Sandra?", Answer: "garden", Supporting: []int{1}},
	}
	if !reflect.DeepEqual(task.Samples, want) {
		t.Fatalf("samples\n%+v\nwant\n%+v", task.Samples, want)
	}
	if !reflect.DeepEqual(task.Labels, []string{"bathroom", "garden", "hallway"}) {
		t.Fatalf("labels %v", task.Labels)
	}
	for _, bad := range []string{"x Mary moved.\n", "1 Where is Mary?\t\t1\n", "1 Mary moved.\n2 Where? \tkitchen\tone\n"} {
		if _, err := ParseBabi(strings.NewReader(bad), "bad.txt"); err == nil || !strings.Contains(err.Error(), "bad.txt:") {
			t.Errorf("%q: got %v, want an error naming bad.txt and the line", bad, err)
		}
	}
}

func TestSharedBabiLabels(t *testing.T) {
	dir := testutil.SharedDir(t, "corpora/babi")
	tasks, err := ReadBabiTasks([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tk := range tasks {
		names = append(names, tk.Name)
	}
	if !slices.Equal(names, []string{"qa1", "qa2", "qa3", "qa4", "qa5"}) {
		t.Fatalf("tasks %v", names)
	}
	// BABILong's TASK_LABELS (babilong/metrics.py) for these tasks.
	rooms := []string{"bathroom", "bedroom", "garden", "hallway", "kitchen", "office"}
	for i, want := range [][]string{rooms, rooms, rooms, rooms, {"Bill", "Fred", "Jeff", "Mary", "apple", "football", "milk"}} {
		if !slices.Equal(tasks[i].Labels, want) {
			t.Errorf("%s labels %v, want %v", tasks[i].Name, tasks[i].Labels, want)
		}
	}
	if n := len(tasks[0].Samples); n != 1000 {
		t.Errorf("qa1 has %d questions, want the 1000 of the test set", n)
	}
}

func TestScoreBabilong(t *testing.T) {
	rooms := []string{"bathroom", "bedroom", "garden", "hallway", "kitchen", "office"}
	for _, tc := range []struct {
		out, target, question string
		want                  bool
	}{
		{" kitchen", "kitchen", "Where is Mary?", true},
		{" The Kitchen.", "kitchen", "Where is Mary?", true},
		{" kitchen or garden", "kitchen", "Where is Mary?", false},
		{" kitchen. Then the garden", "kitchen", "Where is Mary?", true},
		{" garden", "kitchen", "Where is Mary?", false},
		// A label named in the question is never an answer.
		{" the bedroom, west of the office", "bedroom", "What is the office east of?", true},
		{" the hallway <context> kitchen", "hallway", "Where is John?", true},
		{"", "kitchen", "Where is Mary?", false},
	} {
		if got := ScoreBabilong(tc.out, tc.target, tc.question, rooms); got != tc.want {
			t.Errorf("ScoreBabilong(%q, %q, %q) = %v, want %v", tc.out, tc.target, tc.question, got, tc.want)
		}
	}
	if !ScoreBabilong("apple and milk", "milk,apple", "What is he carrying?", []string{"apple", "milk", "football"}) ||
		ScoreBabilong("apple", "milk,apple", "What is he carrying?", []string{"apple", "milk", "football"}) {
		t.Error("comma-separated targets need exactly their labels")
	}
}

func TestBabilongCases(t *testing.T) {
	tok := byteTokenizer(t)
	task, err := ParseBabi(strings.NewReader(babiSnippet), "qa1_snippet.txt")
	if err != nil {
		t.Fatal(err)
	}
	var bg []string
	for i := range 60 {
		bg = append(bg, "Background sentence number "+string(rune('A'+i%26))+".")
	}
	for _, spread := range []float64{0, 1} {
		opts := BabilongOptions{Tasks: []BabiTask{task}, Background: bg, Spread: spread}
		build, err := opts.Builder()
		if err != nil {
			t.Fatal(err)
		}
		for _, depth := range []float64{0, 0.5, 1} {
			c, err := build(tok, 600, depth, 0, rng.New(9))
			if err != nil {
				t.Fatal(err)
			}
			again, _ := build(tok, 600, depth, 0, rng.New(9))
			if tok.Decode(c.Prompt) != tok.Decode(again.Prompt) || c.Answer != again.Answer {
				t.Fatal("the same seed built different cases")
			}
			if len(c.Prompt) > 600 || len(c.Prompt) < 600-40 { // a background sentence is under 40 bytes
				t.Fatalf("prompt has %d tokens, want the most that fit in 600", len(c.Prompt))
			}
			text := tok.Decode(c.Prompt[1:])
			var s *BabiSample
			for i := range task.Samples {
				if task.Samples[i].Answer == c.Answer && strings.Contains(text, "Question: "+task.Samples[i].Question+"\nAnswer:") {
					s = &task.Samples[i]
				}
			}
			if s == nil || !strings.HasSuffix(text, "Question: "+s.Question+"\nAnswer:") {
				t.Fatalf("the prompt does not end with a question whose answer is %q: %q", c.Answer, text)
			}
			ctx := text[len("<context>\n"):strings.Index(text, "\n</context>")]
			pos := -1
			for _, f := range s.Facts {
				p := strings.Index(ctx, f)
				if p <= pos {
					t.Fatalf("fact %q missing or out of order in %q", f, ctx)
				}
				pos = p
			}
			first := strings.Index(ctx, s.Facts[0]) + len(s.Facts[0])/2
			if spread == 0 {
				if rel := float64(first) / float64(len(ctx)); rel < depth-0.1 || rel > depth+0.1 {
					t.Fatalf("depth %g: facts start at %.2f of the context", depth, rel)
				}
			}
			if !c.Score(" " + c.Answer + ".") {
				t.Fatal("the case does not accept its own answer")
			}
		}
	}
	if _, err := (BabilongOptions{Tasks: []BabiTask{task}, Background: bg, Template: "{context}"}).Builder(); err == nil {
		t.Fatal("a template without {question} was accepted")
	}
	build, _ := BabilongOptions{Tasks: []BabiTask{task}, Background: bg}.Builder()
	if _, err := build(tok, 40, 0.5, 0, rng.New(1)); err == nil || !strings.Contains(err.Error(), "fits") {
		t.Fatalf("a length too short for any question: %v", err)
	}
}

func TestSentences(t *testing.T) {
	got := Sentences("It was a dark night.  The rain\nfell! \"Who?\" she asked. Done")
	want := []string{"It was a dark night.", "The rain fell!", "\"Who?\" she asked.", "Done"}
	if !slices.Equal(got, want) {
		t.Fatalf("Sentences = %q, want %q", got, want)
	}
}
