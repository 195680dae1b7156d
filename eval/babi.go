package eval

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// BabiSample is one bAbI question with the facts of its story that come
// before it, in order.
type BabiSample struct {
	Facts      []string `json:"facts"`
	Question   string   `json:"question"`
	Answer     string   `json:"answer"`
	Supporting []int    `json:"supporting"` // indices into Facts
}

// BabiTask is one bAbI file: its samples and its answer labels (every
// answer that occurs in it, as BABILong's TASK_LABELS were derived).
type BabiTask struct {
	Name    string
	Samples []BabiSample
	Labels  []string
}

// maxBabiLine bounds one line of a bAbI file.
const maxBabiLine = 1 << 16

// ParseBabi reads the bAbI format: "ID text" fact lines and
// "ID question<TAB>answer<TAB>supporting IDs" question lines; a story
// starts again where the ID goes back to 1. Errors name the file and line.
func ParseBabi(r io.Reader, name string) (BabiTask, error) {
	task := BabiTask{Name: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxBabiLine)
	var facts []string
	factOfID := map[int]int{}
	labels := map[string]bool{}
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		idText, rest, ok := strings.Cut(text, " ")
		id, err := strconv.Atoi(idText)
		if !ok || err != nil || id < 1 {
			return BabiTask{}, fmt.Errorf("%s:%d: want \"ID text\" with a positive integer ID, got %q", name, line, text)
		}
		if id == 1 {
			facts, factOfID = nil, map[int]int{}
		}
		if !strings.Contains(rest, "\t") {
			factOfID[id] = len(facts)
			facts = append(facts, strings.TrimSpace(rest))
			continue
		}
		parts := strings.Split(rest, "\t")
		if len(parts) < 2 || strings.TrimSpace(parts[1]) == "" {
			return BabiTask{}, fmt.Errorf("%s:%d: a question line needs \"question<TAB>answer<TAB>supporting IDs\", got %q", name, line, text)
		}
		// The questions of a story share one backing array of its facts:
		// the full slice expression caps each view, so later appends never
		// show through, and memory stays linear in the file (a copy per
		// question grows with facts × questions).
		s := BabiSample{Facts: facts[:len(facts):len(facts)], Question: strings.TrimSpace(parts[0]), Answer: strings.TrimSpace(parts[1])}
		if len(parts) > 2 {
			for _, f := range strings.Fields(parts[2]) {
				sid, err := strconv.Atoi(f)
				if err != nil {
					return BabiTask{}, fmt.Errorf("%s:%d: supporting fact ID %q is not an integer", name, line, f)
				}
				i, ok := factOfID[sid]
				if !ok {
					return BabiTask{}, fmt.Errorf("%s:%d: supporting fact ID %d is not a fact line of this story before the question", name, line, sid)
				}
				s.Supporting = append(s.Supporting, i)
			}
		}
		for _, a := range strings.Split(s.Answer, ",") {
			labels[strings.TrimSpace(a)] = true
		}
		task.Samples = append(task.Samples, s)
	}
	if err := sc.Err(); err != nil {
		return BabiTask{}, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	if len(task.Samples) == 0 {
		return BabiTask{}, fmt.Errorf("%s: no bAbI questions", name)
	}
	for l := range labels {
		task.Labels = append(task.Labels, l)
	}
	sort.Strings(task.Labels)
	return task, nil
}

// ReadBabiTasks reads bAbI files; a directory contributes its qa*.txt
// files in name order (so the licence and readme beside them are skipped).
func ReadBabiTasks(paths []string) ([]BabiTask, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		found, err := filepath.Glob(filepath.Join(p, "qa*.txt"))
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: directory has no qa*.txt bAbI files", p)
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	tasks := make([]BabiTask, 0, len(files))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		t, err := ParseBabi(fh, f)
		fh.Close()
		if err != nil {
			return nil, err
		}
		t.Name = taskName(f)
		tasks = append(tasks, t)
	}
	return tasks, nil
}

// taskName is "qa1" for ".../qa1_single-supporting-fact_test.txt", else
// the file name without extension.
func taskName(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	if head, _, ok := strings.Cut(base, "_"); ok && strings.HasPrefix(head, "qa") {
		return head
	}
	return base
}

// sentenceEnd matches the end of a sentence: . ! or ? with any closing
// quotes or brackets, then white space.
var sentenceEnd = regexp.MustCompile(`[.!?]["'”’)\]]*\s+`)

// Sentences splits background text into sentences with white space
// collapsed (line breaks of a book become single spaces). A sentence ends
// at . ! or ? (with any closing quotes) before white space, unless a
// lower-case letter follows ("Who?" she asked).
func Sentences(text string) []string {
	var out []string
	prev := 0
	add := func(s string) {
		if s = strings.Join(strings.Fields(s), " "); s != "" {
			out = append(out, s)
		}
	}
	for _, loc := range sentenceEnd.FindAllStringIndex(text, -1) {
		if r, _ := utf8.DecodeRuneInString(text[loc[1]:]); unicode.IsLower(r) {
			continue
		}
		add(text[prev:loc[1]])
		prev = loc[1]
	}
	add(text[prev:])
	return out
}
