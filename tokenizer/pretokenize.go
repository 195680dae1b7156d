package tokenizer

import "unicode"

// cpClass is the part of llama.cpp's codepoint flags the GPT-2 split uses.
type cpClass uint8

const (
	clsNone   cpClass = iota // outside the fragment
	clsLetter                // \p{L}
	clsNumber                // \p{N}
	clsSpace                 // \s (Unicode White_Space)
	clsOther                 // anything else, unassigned codepoints included
)

func classOf(r rune) cpClass {
	switch {
	case unicode.IsLetter(r):
		return clsLetter
	case unicode.IsNumber(r):
		return clsNumber
	case unicode.IsSpace(r):
		return clsSpace
	}
	return clsOther
}

// splitGPT2 implements the GPT-2 pre-tokenizer regex
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// by hand, line for line after llama.cpp's unicode_regex_split_custom_gpt2
// (Go's regexp has no lookahead). It appends to ends the codepoint index at
// which each piece ends.
func splitGPT2(cpts []rune, ends []int) []int {
	n := len(cpts)
	cls := func(pos int) cpClass {
		if pos < 0 || pos >= n {
			return clsNone
		}
		return classOf(cpts[pos])
	}
	prevEnd := 0
	add := func(end int) int {
		l := end - prevEnd
		if l > 0 {
			ends = append(ends, end)
		}
		prevEnd = end
		return l
	}
	for pos := 0; pos < n; {
		c := cpts[pos]
		if c == '\'' && pos+1 < n { // 's|'t|'re|'ve|'m|'ll|'d
			next := cpts[pos+1]
			if next == 's' || next == 't' || next == 'm' || next == 'd' {
				pos += add(pos + 2)
				continue
			}
			if pos+2 < n {
				nn := cpts[pos+2]
				if (next == 'r' && nn == 'e') || (next == 'v' && nn == 'e') || (next == 'l' && nn == 'l') {
					pos += add(pos + 3)
					continue
				}
			}
		}
		c2 := cls(pos)
		if c == ' ' {
			c2 = cls(pos + 1)
		}
		if c2 == clsLetter || c2 == clsNumber || c2 == clsOther { //  ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+
			if c == ' ' {
				pos++
			}
			for cls(pos) == c2 {
				pos++
			}
			add(pos)
			continue
		}
		spaces := 0
		for cls(pos+spaces) == clsSpace {
			spaces++
		}
		if spaces > 1 && pos+spaces < n { // \s+(?!\S): leave the last space to the next piece
			pos += spaces - 1
			add(pos)
			continue
		}
		if spaces > 0 { // \s+
			pos += spaces
			add(pos)
			continue
		}
		pos++ // no match: a piece of one codepoint
		add(pos)
	}
	return ends
}
