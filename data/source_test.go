package data

import (
	"slices"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
)

func TestSplitShift(t *testing.T) {
	// Two sequences of 4 tokens: inputs are the first 3, targets the last 3.
	inp, tgt := SplitShift([]int32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 3)
	if !slices.Equal(inp, []int32{1, 2, 3, 5, 6, 7}) || !slices.Equal(tgt, []int32{2, 3, 4, 6, 7, 8}) {
		t.Fatalf("inputs %v, targets %v", inp, tgt)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("7 tokens for 2 sequences of 4 did not panic")
		}
	}()
	SplitShift(make([]int32, 7), 2, 3)
}

// TestRandomWindows: window b is corpus[o:o+length] for the b-th offset
// o = r.Intn(len(corpus)-length+1), the draws the resumable data stream
// and the speed reference depend on; a corpus shorter than a window is a
// programmer error.
func TestRandomWindows(t *testing.T) {
	corpus := Markov(16, 200, 1)
	got := RandomWindows(corpus, 5, 30, rng.New(4))
	r := rng.New(4)
	for b := range 5 {
		o := r.Intn(len(corpus) - 30 + 1)
		if w := got[b*30 : (b+1)*30]; !slices.Equal(w, corpus[o:o+30]) {
			t.Fatalf("window %d is %v, want corpus[%d:%d] = %v", b, w, o, o+30, corpus[o:o+30])
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a 201-token window of a 200-token corpus did not panic")
		}
	}()
	RandomWindows(corpus, 1, 201, rng.New(4))
}
