package data

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadText(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, text string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("b.txt", "second")
	write("a/a.txt", "first")
	write("empty.txt", "")
	write(".hidden/x.txt", "hidden")
	write(".notes", "hidden")
	docs, err := ReadText(dir)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, d := range docs {
		texts = append(texts, d.Text)
	}
	if !slices.Equal(texts, []string{"first", "second"}) {
		t.Fatalf("read %q, want first and second in path order, no hidden or empty files", texts)
	}
	one, err := ReadText(filepath.Join(dir, "b.txt"))
	if err != nil || len(one) != 1 || one[0].Text != "second" {
		t.Fatalf("single file: %v, %v", one, err)
	}
	for _, bad := range []string{filepath.Join(dir, "absent"), filepath.Join(dir, "empty.txt")} {
		if _, err := ReadText(bad); err == nil || !strings.Contains(err.Error(), filepath.Base(bad)) {
			t.Errorf("%s: error %v should name the path", bad, err)
		}
	}
}

func TestSplitHeldOut(t *testing.T) {
	seq := func(n, base int32) []int32 {
		s := make([]int32, n)
		for i := range s {
			s[i] = base + int32(i)
		}
		return s
	}
	docs := [][]int32{seq(100, 0), seq(10, 1000), seq(40, 2000)}
	train, held, err := SplitHeldOut(docs, 0.1, 16)
	if err != nil {
		t.Fatal(err)
	}
	// Doc 0 gives its last 16 tokens (10% is below the minimum), doc 1 is too
	// short to give any, doc 2 (40 >= 2*16) gives 16.
	if len(held) != 2 || !slices.Equal(held[0], seq(100, 0)[84:]) || !slices.Equal(held[1], seq(40, 2000)[24:]) {
		t.Fatalf("held out %v", held)
	}
	if len(train)+32 != 150 || train[0] != 0 || train[84] != 1000 {
		t.Fatalf("training stream of %d tokens: %v", len(train), train[:90])
	}
	if _, _, err := SplitHeldOut(docs, 0.1, 200); err == nil || !strings.Contains(err.Error(), "longest 100") {
		t.Fatalf("no document long enough: %v", err)
	}
	if _, _, err := SplitHeldOut(docs, 1.5, 1); err == nil {
		t.Fatal("fraction 1.5 accepted")
	}
}
