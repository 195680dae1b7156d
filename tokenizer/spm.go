package tokenizer

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// encodeSPM is llama.cpp's llm_tokenizer_spm_session on one fragment: an
// optional space prefix, spaces escaped to "▁", symbols per UTF-8
// character, then repeatedly the adjacent pair whose concatenation is the
// best-scoring token is merged (ties to the left). Symbols that are not
// tokens fall back to byte tokens.
func (t *Tokenizer) encodeSPM(text string, start, end int, afterSpecial bool, out []int32) ([]int32, error) {
	prefix := t.v.AddSpacePrefix && afterSpecial
	s := escapeSpaces(text[start:end])
	if prefix {
		s = spaceMark + s
	}

	var m merger[float32]
	var err error
	seg := 0
	if t.spmSplit && utf8.ValidString(s) {
		// No token spans the start of a run of "▁" here (see spmSplittable),
		// so merging each word on its own gives the same symbols as merging
		// the whole text, with a far smaller heap.
		for p := 1; p < len(s); p++ {
			if s[p] == spaceMark[0] && strings.HasPrefix(s[p:], spaceMark) && !strings.HasSuffix(s[:p], spaceMark) {
				if out, err = t.spmSegment(&m, s, seg, p, out); err != nil {
					break
				}
				seg = p
			}
		}
	}
	if err == nil {
		out, err = t.spmSegment(&m, s, seg, len(s), out)
	}
	var ue *unencodable
	if errors.As(err, &ue) {
		off := start + unescapedOffset(text[start:end], ue.at, prefix)
		r, _ := utf8.DecodeRuneInString(text[off:])
		return nil, fmt.Errorf("tokenizer: character %q at byte offset %d has no token and the vocabulary has neither byte fallback nor UNK", r, off)
	}
	return out, err
}

const spaceMark = "▁" // SentencePiece's escaped space, U+2581

// unencodable reports the escaped-text offset of a symbol with no token.
type unencodable struct{ at int }

func (e *unencodable) Error() string { return "unencodable symbol" }

// spmSegment merges s[lo:hi] and appends its tokens.
func (t *Tokenizer) spmSegment(m *merger[float32], s string, lo, hi int, out []int32) ([]int32, error) {
	w := s[lo:hi]
	m.reset(w)
	m.run(func(a, _, c int32) (float32, bool) {
		id, ok := t.ids[w[a:c]]
		if !ok {
			return 0, false
		}
		return -t.score(id), true // higher score merges first
	})
	var err error
	m.each(func(a, c int32) {
		if err != nil {
			return
		}
		if id, ok := t.ids[w[a:c]]; ok {
			out = append(out, id)
			return
		}
		var ok bool
		if out, ok = t.appendBytes(out, w[a:c]); ok {
			return
		}
		if t.v.UNK >= 0 {
			out = append(out, int32(t.v.UNK))
			return
		}
		err = &unencodable{at: lo + int(a)}
	})
	return out, err
}

// spmSplittable reports whether no token holds a "▁" that follows
// something other than "▁", so that no merge can cross the start of a run
// of spaces.
func spmSplittable(tokens []string) bool {
	for _, s := range tokens {
		for k := 1; k < len(s); k++ {
			if strings.HasPrefix(s[k:], spaceMark) && !strings.HasSuffix(s[:k], spaceMark) {
				return false
			}
		}
	}
	return true
}

// appendBytes spells sym with byte tokens if every byte has one.
func (t *Tokenizer) appendBytes(out []int32, sym string) ([]int32, bool) {
	for i := 0; i < len(sym); i++ {
		if t.byteTok[sym[i]] < 0 {
			return out, false
		}
	}
	for i := 0; i < len(sym); i++ {
		out = append(out, t.byteTok[sym[i]])
	}
	return out, true
}

func (t *Tokenizer) score(id int32) float32 {
	if t.v.Scores == nil {
		return 0
	}
	return t.v.Scores[id]
}

// unescapedOffset maps an offset in the escaped fragment back to the
// original fragment (each space became the 3-byte spaceMark).
func unescapedOffset(frag string, escaped int, prefixed bool) int {
	if prefixed {
		escaped -= len(spaceMark)
	}
	i := 0
	for pos := 0; i < len(frag) && pos < escaped; i++ {
		if frag[i] == ' ' {
			pos += len(spaceMark)
		} else {
			pos++
		}
	}
	return i
}
