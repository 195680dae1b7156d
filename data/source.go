package data

import (
	"fmt"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/tokenizer"
)

// Source draws training windows. A window's content depends only on the
// generator's draws, so saving the generator's state (rng.Snapshot) is
// enough to resume a data stream exactly.
type Source interface {
	// Window fills dst with len(dst) consecutive tokens drawn with r.
	Window(dst []int32, r *rng.RNG) error
}

// Windows fills B windows of n tokens from src into one [B, n] slice.
func Windows(src Source, B, n int, r *rng.RNG) ([]int32, error) {
	out := make([]int32, B*n)
	for b := range B {
		if err := src.Window(out[b*n:(b+1)*n], r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SplitShift turns B sequences of T+1 tokens ([B, T+1], as Windows draws
// them) into inputs and next-token targets, each [B, T]. It panics when
// len(seqs) is not B*(T+1).
func SplitShift(seqs []int32, B, T int) (inp, tgt []int32) {
	if B < 0 || T < 0 || len(seqs) != B*(T+1) {
		panic(fmt.Sprintf("data: SplitShift got %d tokens for %d sequences of %d", len(seqs), B, T+1))
	}
	inp, tgt = make([]int32, B*T), make([]int32, B*T)
	for b := range B {
		s := seqs[b*(T+1) : (b+1)*(T+1)]
		copy(inp[b*T:], s[:T])
		copy(tgt[b*T:], s[1:])
	}
	return inp, tgt
}

// Stream is a Source over one token sequence (documents joined, each
// starting with BOS): a window starts at a uniformly drawn offset.
type Stream []int32

// Window implements Source.
func (s Stream) Window(dst []int32, r *rng.RNG) error {
	if len(s) < len(dst) {
		return fmt.Errorf("data: a window of %d tokens does not fit the %d-token corpus", len(dst), len(s))
	}
	o := r.Intn(len(s) - len(dst) + 1)
	copy(dst, s[o:o+len(dst)])
	return nil
}

// Generated is a Source over an unbounded family of generated documents:
// each window draws a document index, then an offset inside it.
type Generated struct {
	// Doc returns the tokens of document i, at least minTokens of them.
	Doc func(i uint64, minTokens int) ([]int32, error)
}

// Window implements Source.
func (g Generated) Window(dst []int32, r *rng.RNG) error {
	doc, err := g.Doc(r.Uint64(), len(dst))
	if err != nil {
		return err
	}
	if len(doc) < len(dst) {
		return fmt.Errorf("data: generated document has %d tokens, want at least %d", len(doc), len(dst))
	}
	o := r.Intn(len(doc) - len(dst) + 1)
	copy(dst, doc[o:o+len(dst)])
	return nil
}

// Tokens returns document i tokenized with tok (BOS added as the vocabulary
// says), generating more text until there are at least minTokens tokens.
func (f Facts) Tokens(tok *tokenizer.Tokenizer, i uint64, minTokens int) ([]int32, error) {
	bytes := max(minTokens, 1)
	for {
		ids, err := tok.Encode(f.Doc(i, bytes), true)
		if err != nil {
			return nil, fmt.Errorf("facts corpus: %w", err)
		}
		if len(ids) >= minTokens {
			return ids, nil
		}
		bytes *= 2
	}
}

// Source returns the corpus as a training Source tokenized with tok.
func (f Facts) Source(tok *tokenizer.Tokenizer) Generated {
	return Generated{Doc: func(i uint64, minTokens int) ([]int32, error) { return f.Tokens(tok, i, minTokens) }}
}

// HeldOut returns n documents of at least minTokens tokens each from a seed
// stream disjoint from the training one (for validation and evaluation).
func (f Facts) HeldOut(tok *tokenizer.Tokenizer, n, minTokens int) ([][]int32, error) {
	val := Facts{Seed: f.Seed ^ heldOutSeedMix, Opt: f.Opt}
	docs := make([][]int32, n)
	for i := range docs {
		d, err := val.Tokens(tok, uint64(i), minTokens)
		if err != nil {
			return nil, err
		}
		docs[i] = d
	}
	return docs, nil
}

// heldOutSeedMix separates held-out documents from training documents.
const heldOutSeedMix = 0x7a1d0c5e11aa5eed
