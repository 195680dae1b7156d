package eval

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestParseBabiMemoryLinear parses one story of many facts followed by as
// many questions: copying the facts for each question allocates
// facts × questions string headers (256 MB here), sharing them allocates
// a small multiple of the file.
func TestParseBabiMemoryLinear(t *testing.T) {
	const facts, questions = 4000, 4000
	var b strings.Builder
	for i := 1; i <= facts; i++ {
		fmt.Fprintf(&b, "%d Mary moved to the bathroom.\n", i)
	}
	for i := 1; i <= questions; i++ {
		fmt.Fprintf(&b, "%d Where is Mary?\tbathroom\t%d\n", facts+i, facts)
	}
	text := b.String()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	task, err := ParseBabi(strings.NewReader(text), "big.txt")
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if len(task.Samples) != questions || len(task.Samples[questions-1].Facts) != facts || task.Samples[0].Supporting[0] != facts-1 {
		t.Fatalf("parsed %d samples, the last with %d facts", len(task.Samples), len(task.Samples[questions-1].Facts))
	}
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(32*len(text)); got > limit {
		t.Fatalf("parsing a %d-byte file allocated %d bytes, want at most %d (linear in the file)", len(text), got, limit)
	}
}

// TestParseBabiSharedFactsStayPerQuestion checks that sharing the facts'
// backing array does not let a later fact show through in an earlier
// question, within a story and across the story boundary.
func TestParseBabiSharedFactsStayPerQuestion(t *testing.T) {
	task, err := ParseBabi(strings.NewReader("1 a.\n2 q1?\tx\t1\n3 b.\n4 q2?\ty\t3\n1 c.\n2 q3?\tz\t1\n"), "s.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"a."}, {"a.", "b."}, {"c."}}
	for i, s := range task.Samples {
		if strings.Join(s.Facts, "|") != strings.Join(want[i], "|") {
			t.Errorf("question %d: facts %q, want %q", i, s.Facts, want[i])
		}
		if cap(s.Facts) != len(s.Facts) {
			t.Errorf("question %d: facts capacity %d exceeds length %d, so an append would overwrite a later fact", i, cap(s.Facts), len(s.Facts))
		}
	}
}

// TestParseBabiUnknownSupportingID: a supporting ID that is no earlier fact
// of the story (a typo, a question's ID, a fact of the previous story) is
// an error naming the line, not a silently shorter list.
func TestParseBabiUnknownSupportingID(t *testing.T) {
	for _, bad := range []string{
		"1 Mary moved.\n2 Where is Mary?\tkitchen\t9\n",
		"1 Mary moved.\n2 Where is Mary?\tkitchen\t1\n3 Where is Mary?\tkitchen\t2\n",
		"1 Mary moved.\n2 John left.\n1 Where is Mary?\tkitchen\t2\n",
	} {
		_, err := ParseBabi(strings.NewReader(bad), "bad.txt")
		if err == nil || !strings.Contains(err.Error(), "bad.txt:") || !strings.Contains(err.Error(), "supporting fact ID") {
			t.Errorf("%q: got %v, want an error naming bad.txt, the line and the supporting fact ID", bad, err)
		}
	}
}
