package synth

import (
	"fmt"

	"github.com/lsalign/lsalign/internal/rng"
)

// Lengths is an inclusive range of sequence lengths.
type Lengths struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

// Validate reports a range that is empty or starts below 1.
func (l Lengths) Validate() error {
	if l.Min < 1 || l.Max < l.Min {
		return fmt.Errorf("length range [%d, %d]: want 1 <= min <= max", l.Min, l.Max)
	}
	return nil
}

// String formats the range as "[min, max]".
func (l Lengths) String() string { return fmt.Sprintf("[%d, %d]", l.Min, l.Max) }

// Batch holds B sequences right-padded with token 0 to the longest one, T.
// The padding never influences a causal model's output at position
// Lens[b]-1, which is where the target of sequence b is read.
type Batch struct {
	B, T    int
	Tokens  []int32   // [B, T]
	Lens    []int     // [B], each in [1, T]
	Targets []float64 // [B], the task's target of each unpadded sequence
}

// Sample fills b with n fresh sequences whose lengths are uniform on lens,
// reusing b's buffers. The draws from r are, in order: the n lengths, then
// the tokens of each sequence, so a batch is a pure function of r's state.
func (t Task) Sample(b *Batch, n int, lens Lengths, r *rng.RNG) {
	if n < 1 || lens.Validate() != nil {
		panic(fmt.Sprintf("synth: Sample of %d sequences with lengths %v", n, lens))
	}
	b.B = n
	b.Lens = resize(b.Lens, n)
	b.T = 0
	for i := range n {
		b.Lens[i] = r.IntRange(lens.Min, lens.Max)
		b.T = max(b.T, b.Lens[i])
	}
	b.Tokens = resize(b.Tokens, n*b.T)
	clear(b.Tokens)
	b.Targets = resize(b.Targets, n)
	for i, l := range b.Lens {
		seq := b.Tokens[i*b.T : i*b.T+l]
		t.Fill(seq, r)
		b.Targets[i] = t.Target(seq)
	}
}

// PrefixTargets sets dst[l-1] to the target of seq[:l] for every l in
// [1, len(seq)]; len(dst) must be len(seq).
func (t Task) PrefixTargets(dst []float64, seq []int32) {
	if len(dst) != len(seq) {
		panic(fmt.Sprintf("synth: PrefixTargets with %d slots for %d tokens", len(dst), len(seq)))
	}
	for l := 1; l <= len(seq); l++ {
		dst[l-1] = t.Target(seq[:l])
	}
}

func resize[E any](s []E, n int) []E {
	if cap(s) < n {
		return make([]E, n)
	}
	return s[:n]
}
