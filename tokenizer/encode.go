package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Encode tokenizes text. With addSpecial, BOS and EOS are added as the
// vocabulary's AddBOS and AddEOS flags say. Text that matches a
// user-defined token is always emitted as that token; control tokens in
// the text are not parsed (llama.cpp's parse_special = false).
//
// Byte-level and byte-fallback vocabularies encode any byte string; an spm
// vocabulary without byte fallback rejects invalid UTF-8 and characters it
// cannot spell (unless it has an UNK token), naming the byte offset.
func (t *Tokenizer) Encode(text string, addSpecial bool) ([]int32, error) {
	if len(text) > maxText {
		return nil, fmt.Errorf("tokenizer: text of %d bytes exceeds the %d-byte limit", len(text), maxText)
	}
	out := make([]int32, 0, len(text)/3+2)
	if addSpecial && t.v.AddBOS {
		out = append(out, int32(t.v.BOS))
	}
	var err error
	switch t.v.Kind {
	case KindByte:
		for i := 0; i < len(text); i++ {
			out = append(out, int32(text[i]))
		}
	case KindSPM:
		if !t.byteFallback {
			if off := invalidUTF8At(text); off >= 0 {
				return nil, fmt.Errorf("tokenizer: invalid UTF-8 at byte offset %d (the vocabulary has no byte fallback)", off)
			}
		}
		out, err = t.encodeFragments(text, out, t.encodeSPM)
	case KindGPT2:
		out, err = t.encodeFragments(text, out, t.encodeGPT2)
	}
	if err != nil {
		return nil, err
	}
	if addSpecial && t.v.AddEOS {
		out = append(out, int32(t.v.EOS))
	}
	return out, nil
}

// maxText keeps every offset, even after spm's 3-byte space escaping,
// inside the int32 positions the merger uses.
const maxText = 1 << 29

// fragment is a span of the input: raw text (token < 0) or a matched
// user-defined token.
type fragment struct {
	start, end int
	token      int32
}

// encodeFn appends the tokens of text[start:end]; afterSpecial says whether
// the fragment starts the text or follows a token fragment.
type encodeFn func(text string, start, end int, afterSpecial bool, out []int32) ([]int32, error)

func (t *Tokenizer) encodeFragments(text string, out []int32, enc encodeFn) ([]int32, error) {
	afterSpecial := true
	var err error
	for _, f := range t.partition(text) {
		if f.token >= 0 {
			out = append(out, f.token)
			afterSpecial = true
			continue
		}
		if out, err = enc(text, f.start, f.end, afterSpecial, out); err != nil {
			return nil, err
		}
		afterSpecial = false
	}
	return out, nil
}

// partition splits text around every occurrence of a user-defined token,
// trying longer tokens first, as llama.cpp's tokenizer_st_partition does.
func (t *Tokenizer) partition(text string) []fragment {
	if text == "" {
		return nil
	}
	frags := []fragment{{0, len(text), -1}}
	for _, id := range t.userDefined {
		tok := t.v.Tokens[id]
		if !strings.Contains(text, tok) {
			continue
		}
		next := make([]fragment, 0, len(frags)+2)
		for _, f := range frags {
			if f.token >= 0 {
				next = append(next, f)
				continue
			}
			for f.start < f.end {
				i := strings.Index(text[f.start:f.end], tok)
				if i < 0 {
					break
				}
				if i > 0 {
					next = append(next, fragment{f.start, f.start + i, -1})
				}
				next = append(next, fragment{f.start + i, f.start + i + len(tok), id})
				f.start += i + len(tok)
			}
			if f.start < f.end {
				next = append(next, f)
			}
		}
		frags = next
	}
	return frags
}

// invalidUTF8At returns the offset of the first invalid UTF-8 byte, or -1.
func invalidUTF8At(s string) int {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}
