package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzEncodeDecode encodes arbitrary bytes with the in-test spm and gpt2
// vocabularies: no panic, no error (both can spell any byte), ids in range,
// and Decode restoring the text exactly: any bytes for byte-level BPE,
// valid UTF-8 without "▁" for spm (a literal "▁" decodes to a space).
// Streaming with Piece must agree with Decode.
func FuzzEncodeDecode(f *testing.F) {
	for _, s := range []string{"", "hello world", "  a  b  ", "abc é €", "a<|u|>b", "\xff\xfe", "don't  stop\n\n", "▁x", "\t \u00a0 ⅻ 🦙"} {
		f.Add(s)
	}
	spm := mustNew(f, tinySPM())
	gpt2 := mustNew(f, tinyGPT2())
	f.Fuzz(func(t *testing.T, text string) {
		for _, tok := range []*Tokenizer{spm, gpt2} {
			ids, err := tok.Encode(text, true)
			if err != nil {
				t.Fatalf("%s: Encode(%q): %v", tok.Kind(), text, err)
			}
			var stream strings.Builder
			prev := int32(-1)
			for _, id := range ids {
				if id < 0 || int(id) >= tok.Size() {
					t.Fatalf("%s: id %d out of range", tok.Kind(), id)
				}
				stream.Write(tok.Piece(prev, id))
				prev = id
			}
			got := tok.Decode(ids)
			if stream.String() != got {
				t.Fatalf("%s: Piece stream %q != Decode %q", tok.Kind(), stream.String(), got)
			}
			exact := tok.Kind() == KindGPT2 || (utf8.ValidString(text) && !strings.Contains(text, "▁"))
			if exact && got != text {
				t.Fatalf("%s: Decode(Encode(%q)) = %q (ids %v)", tok.Kind(), text, got, ids)
			}
		}
	})
}

// FuzzVocabFromGGUF feeds metadata of arbitrary types and contents to
// VocabFromGGUF, New and Encode: errors are fine, panics are not.
func FuzzVocabFromGGUF(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, "hi there")
	f.Add([]byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 200, 3, 7}, "\xff abc")
	f.Add([]byte{}, "")
	keys := []string{keyModel, keyPre, keyTokens, keyScores, keyTokenType, keyMerges, keyBOS, keyEOS,
		keyUNK, keyPAD, keyAddBOS, keyAddEOS, keyAddSpacePrefix}
	f.Fuzz(func(t *testing.T, data []byte, text string) {
		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return b
		}
		meta := map[string]any{}
		for _, k := range keys {
			if v := fuzzValue(next); v != nil {
				meta[k] = v
			}
		}
		v, err := VocabFromGGUF(func(k string) (any, bool) { x, ok := meta[k]; return x, ok })
		if err != nil {
			return
		}
		tok, err := New(v)
		if err != nil {
			return
		}
		ids, err := tok.Encode(text, true)
		if err != nil {
			return
		}
		_ = tok.Decode(ids)
	})
}

// fuzzValue draws a metadata value of a type chosen by the input, often
// of the right shape for the tokenizer keys, sometimes not; nil = absent.
func fuzzValue(next func() byte) any {
	strs := func() []string {
		pool := []string{"llama", "gpt2", "byte", "<unk>", "<s>", "</s>", "a", "b", "ab", "▁", "▁a", "a b", "<0x61>", "", "Ġ", "<|u|>", "<0x0A>"}
		n := int(next() % 24)
		out := make([]string, n)
		for i := range out {
			out[i] = pool[int(next())%len(pool)]
		}
		return out
	}
	switch next() % 14 {
	case 0:
		return nil
	case 1:
		return []string{"llama", "gpt2", "byte", "bert", "", "gpt-2", "default"}[next()%7]
	case 2:
		return strs()
	case 3:
		n := int(next() % 24)
		out := make([]float32, n)
		for i := range out {
			out[i] = float32(int8(next()))
		}
		return out
	case 4:
		n := int(next() % 24)
		out := make([]int32, n)
		for i := range out {
			out[i] = int32(int8(next()))
		}
		return out
	case 5:
		return uint32(next())
	case 6:
		return int32(int8(next()))
	case 7:
		return next()%2 == 1
	case 8:
		return uint64(next()) << 56
	case 9:
		return float32(next())
	case 10:
		return []any{strs()}
	case 11:
		return uint32(0xFFFFFFFF)
	case 12:
		return []uint32{uint32(next())}
	}
	return int8(next())
}
