package tokenizer

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Tokenizer encodes and decodes text with one vocabulary. It is immutable
// after New and safe for concurrent use.
type Tokenizer struct {
	v   Vocab
	ids map[string]int32 // token text -> id (empty texts are never matched)

	// spm: the token for each byte when no piece matches (<0xXX>, else the
	// one-byte piece), -1 if none; byteFallback when all 256 exist.
	byteTok      [256]int32
	byteFallback bool
	spmSplit     bool // spmSplittable(Tokens)

	// userDefined are matched verbatim before tokenization, longest first
	// (llama.cpp's tokenizer_st_partition with parse_special = false).
	userDefined []int32

	gpt2 *bpeTables // gpt2 only

	pieces [][]byte // decoded bytes of each token, leading space kept
}

// New validates a vocabulary and builds its lookup tables.
func New(v Vocab) (*Tokenizer, error) {
	v = v.clone() // the caller may reuse its slices
	if err := validate(&v); err != nil {
		return nil, err
	}
	t := &Tokenizer{v: v, ids: make(map[string]int32, len(v.Tokens))}
	for i, s := range v.Tokens {
		if s == "" {
			continue
		}
		if j, dup := t.ids[s]; dup {
			return nil, fmt.Errorf("tokenizer: vocab: token %q has ids %d and %d", s, j, i)
		}
		t.ids[s] = int32(i)
		if t.tokenType(int32(i)) == TypeUserDefined {
			t.userDefined = append(t.userDefined, int32(i))
		}
	}
	sort.SliceStable(t.userDefined, func(a, b int) bool {
		return len(v.Tokens[t.userDefined[a]]) > len(v.Tokens[t.userDefined[b]])
	})
	t.byteFallback = true
	for b := range 256 {
		id, ok := t.ids[byteTokenText(byte(b))]
		if !ok {
			id, ok = t.ids[string([]byte{byte(b)})]
		}
		if !ok && b == ' ' && v.Kind == KindSPM {
			// SentencePiece escapes every space to "▁" before lookup, so a
			// space never needs a byte token of its own (see byteVocabAsSPM).
			id, ok = t.ids[spaceMark]
		}
		if !ok {
			id, t.byteFallback = -1, false
		}
		t.byteTok[b] = id
	}
	switch v.Kind {
	case KindGPT2:
		t.gpt2 = newBPETables(v.Merges, t.ids)
	case KindSPM:
		t.spmSplit = spmSplittable(v.Tokens)
	}
	t.pieces = make([][]byte, len(v.Tokens))
	for i := range t.pieces {
		t.pieces[i] = t.decodeToken(int32(i))
	}
	return t, nil
}

func validate(v *Vocab) error {
	n := len(v.Tokens)
	switch {
	case n == 0:
		return fmt.Errorf("tokenizer: vocab: no tokens")
	case n > math.MaxInt32:
		return fmt.Errorf("tokenizer: vocab: %d tokens exceed int32 ids", n)
	case v.Scores != nil && len(v.Scores) != n:
		return fmt.Errorf("tokenizer: vocab: %d scores for %d tokens", len(v.Scores), n)
	case v.Types != nil && len(v.Types) != n:
		return fmt.Errorf("tokenizer: vocab: %d token types for %d tokens", len(v.Types), n)
	}
	for i, s := range v.Scores {
		if math.IsNaN(float64(s)) {
			return fmt.Errorf("tokenizer: vocab: score of token %d is NaN", i)
		}
	}
	for i, ty := range v.Types {
		if ty < 0 || ty > TypeByte {
			return fmt.Errorf("tokenizer: vocab: token %d has unknown type %d", i, ty)
		}
		if _, ok := parseByteToken(v.Tokens[i]); ty == TypeByte && !ok {
			return fmt.Errorf("tokenizer: vocab: byte token %d is %q, want <0xXX>", i, v.Tokens[i])
		}
	}
	for _, s := range []struct {
		name string
		id   int
	}{{"BOS", v.BOS}, {"EOS", v.EOS}, {"UNK", v.UNK}, {"PAD", v.PAD}} {
		if s.id < -1 || s.id >= n {
			return fmt.Errorf("tokenizer: vocab: %s id %d outside [0, %d) and not -1", s.name, s.id, n)
		}
	}
	if v.AddBOS && v.BOS < 0 {
		return fmt.Errorf("tokenizer: vocab: AddBOS is set but there is no BOS token")
	}
	if v.AddEOS && v.EOS < 0 {
		return fmt.Errorf("tokenizer: vocab: AddEOS is set but there is no EOS token")
	}
	switch v.Kind {
	case KindSPM:
	case KindGPT2:
		if !gpt2PreTokenizer(v.Pre) {
			return fmt.Errorf("tokenizer: vocab: gpt2 pre-tokenizer %q is not supported (only GPT-2's split)", v.Pre)
		}
	case KindByte:
		if n < 256 {
			return fmt.Errorf("tokenizer: vocab: byte vocabulary has %d tokens, want at least 256", n)
		}
		for b := range 256 {
			if got, ok := parseByteToken(v.Tokens[b]); !ok || got != byte(b) {
				return fmt.Errorf("tokenizer: vocab: byte vocabulary token %d is %q, want %s", b, v.Tokens[b], byteTokenText(byte(b)))
			}
		}
	default:
		return fmt.Errorf("tokenizer: vocab: unknown kind %q (want spm, gpt2 or byte)", v.Kind)
	}
	return nil
}

// gpt2PreTokenizer reports whether llama.cpp maps this tokenizer.ggml.pre
// name to the GPT-2 split regex.
func gpt2PreTokenizer(pre string) bool {
	switch pre {
	case "", "gpt-2", "gpt2", "phi-2", "mpt", "olmo", "jais", "trillion", "granite-docling",
		"jina-es", "jina-de", "jina-v2-es", "jina-v2-de", "jina-v1-en", "jina-v2-code",
		"roberta-bpe", "gigachat", "a.x-4.0", "mellum", "modern-bert", "exaone4":
		return true
	}
	return false
}

func (t *Tokenizer) tokenType(id int32) int32 {
	if t.v.Types == nil {
		return TypeNormal
	}
	return t.v.Types[id]
}

// Size is the number of tokens.
func (t *Tokenizer) Size() int { return len(t.v.Tokens) }

// BOS is the beginning-of-sequence id, -1 if none.
func (t *Tokenizer) BOS() int32 { return int32(t.v.BOS) }

// EOS is the end-of-sequence id, -1 if none.
func (t *Tokenizer) EOS() int32 { return int32(t.v.EOS) }

// Kind is the tokenization algorithm.
func (t *Tokenizer) Kind() Kind { return t.v.Kind }

// Vocab returns a copy of the vocabulary, for writers.
func (t *Tokenizer) Vocab() Vocab { return t.v.clone() }

// clone copies the slices (nil stays nil).
func (v Vocab) clone() Vocab {
	v.Tokens = slices.Clone(v.Tokens)
	v.Scores = slices.Clone(v.Scores)
	v.Types = slices.Clone(v.Types)
	v.Merges = slices.Clone(v.Merges)
	return v
}

// escapeSpaces is llama.cpp's llama_escape_whitespace.
func escapeSpaces(s string) string { return strings.ReplaceAll(s, " ", spaceMark) }
