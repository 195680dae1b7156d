package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// bpeTables holds what byte-level BPE needs beyond the token map.
type bpeTables struct {
	// ranks of merges whose halves are both tokens, keyed by the two ids;
	// otherRanks holds the rest, keyed by text. The first listing wins.
	ranks      map[uint64]int32
	otherRanks map[[2]string]int32
	byteRune   [256]string // GPT-2 bytes_to_unicode, as UTF-8
	runeByte   map[rune]byte
}

func newBPETables(merges []string, ids map[string]int32) *bpeTables {
	bt := &bpeTables{ranks: make(map[uint64]int32, len(merges)), runeByte: make(map[rune]byte, 256)}
	for i, m := range merges {
		// llama.cpp splits at the first space after the first byte; a
		// merge without one can never match a non-empty symbol.
		sp := strings.IndexByte(m[min(1, len(m)):], ' ')
		if sp < 0 {
			continue
		}
		sp += min(1, len(m))
		a, b := m[:sp], m[sp+1:]
		ia, okA := ids[a]
		ib, okB := ids[b]
		if okA && okB {
			if _, dup := bt.ranks[pairKey(ia, ib)]; !dup {
				bt.ranks[pairKey(ia, ib)] = int32(i)
			}
			continue
		}
		if bt.otherRanks == nil {
			bt.otherRanks = make(map[[2]string]int32)
		}
		if _, dup := bt.otherRanks[[2]string{a, b}]; !dup {
			bt.otherRanks[[2]string{a, b}] = int32(i)
		}
	}
	for b, r := range bytesToUnicode() {
		bt.byteRune[b] = string(r)
		bt.runeByte[r] = byte(b)
	}
	return bt
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// bytesToUnicode is GPT-2's reversible byte -> printable rune map: printable
// Latin-1 bytes map to themselves, the other 68 to U+0100 onwards in order.
func bytesToUnicode() [256]rune {
	var m [256]rune
	n := rune(0)
	for b := range 256 {
		if ('!' <= b && b <= '~') || (0xa1 <= b && b <= 0xac) || (0xae <= b && b <= 0xff) {
			m[b] = rune(b)
		} else {
			m[b] = 256 + n
			n++
		}
	}
	return m
}

// rank is the merge rank of two adjacent symbols, as llama.cpp's
// find_bpe_rank.
func (bt *bpeTables) rank(ids map[string]int32, a, b string) (int32, bool) {
	ia, okA := ids[a]
	ib, okB := ids[b]
	if okA && okB {
		r, ok := bt.ranks[pairKey(ia, ib)]
		return r, ok
	}
	if bt.otherRanks == nil {
		return 0, false
	}
	r, ok := bt.otherRanks[[2]string{a, b}]
	return r, ok
}

// encodeGPT2 is llama.cpp's llm_tokenizer_bpe_session with the GPT-2
// pre-tokenizer: split into words, map each word's bytes to GPT-2's
// printable runes, merge adjacent symbols by lowest merge rank (ties to the
// left), and emit the resulting tokens.
func (t *Tokenizer) encodeGPT2(text string, start, end int, _ bool, out []int32) ([]int32, error) {
	frag := text[start:end]
	cpts, offs := codepoints(frag)
	var (
		m    merger[int32]
		word []byte
		ends []int
	)
	ends = splitGPT2(cpts, ends)
	bt := t.gpt2
	prev := 0
	for _, e := range ends {
		word = word[:0]
		for _, c := range []byte(frag[offs[prev]:offs[e]]) {
			word = append(word, bt.byteRune[c]...)
		}
		prev = e
		s := string(word)
		m.reset(s)
		m.run(func(a, b, c int32) (int32, bool) { return bt.rank(t.ids, s[a:b], s[b:c]) })
		m.each(func(a, c int32) {
			if id, ok := t.ids[s[a:c]]; ok {
				out = append(out, id)
				return
			}
			for i := a; i < c; i++ { // llama.cpp's last resort: single-byte tokens
				if id, ok := t.ids[s[i:i+1]]; ok {
					out = append(out, id)
				}
			}
		})
	}
	return out, nil
}

// codepoints decodes s for the pre-tokenizer. An invalid byte counts as one
// U+FFFD, as in llama.cpp, but keeps its own byte span so that it still
// round-trips through the byte-level encoding. offs[i] is the byte offset
// of codepoint i; offs[len(cpts)] == len(s).
func codepoints(s string) (cpts []rune, offs []int) {
	cpts = make([]rune, 0, len(s))
	offs = make([]int, 0, len(s)+1)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		cpts = append(cpts, r)
		offs = append(offs, i)
		i += n
	}
	return cpts, append(offs, len(s))
}
