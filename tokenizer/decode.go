package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// decodeToken is the text a token stands for, as llama.cpp's
// token_to_piece with special = false, except that the unknown token keeps
// its text: normal spm pieces turn "▁" into spaces, byte tokens become
// their byte, gpt2 pieces map GPT-2's printable runes back to bytes,
// user-defined tokens are literal, control and unused tokens are empty.
func (t *Tokenizer) decodeToken(id int32) []byte {
	text := t.v.Tokens[id]
	switch t.tokenType(id) {
	case TypeControl, TypeUnused:
		return nil
	case TypeUnknown, TypeUserDefined:
		return []byte(text)
	case TypeByte:
		b, _ := parseByteToken(text) // checked by validate
		return []byte{b}
	}
	switch t.v.Kind {
	case KindGPT2:
		return t.gpt2.unmap(text)
	case KindSPM:
		return []byte(strings.ReplaceAll(text, spaceMark, " "))
	}
	return []byte(text)
}

// unmap reverses the byte-level encoding; runes outside it pass through.
func (bt *bpeTables) unmap(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if b, ok := bt.runeByte[r]; ok {
			out = append(out, b)
		} else {
			out = utf8.AppendRune(out, r)
		}
	}
	return out
}

// Piece returns the bytes of token id for streaming output, given the
// token before it (prev < 0: start of text). With a space prefix the first
// text token after the start, BOS or any control or user-defined token
// loses its leading space, as llama2.c does after BOS, because Encode put
// it there. Ids out of range give nil. The slice is the caller's.
func (t *Tokenizer) Piece(prev, id int32) []byte {
	return append([]byte(nil), t.piece(prev, id)...)
}

func (t *Tokenizer) piece(prev, id int32) []byte {
	if id < 0 || int(id) >= len(t.pieces) {
		return nil
	}
	p := t.pieces[id]
	if t.v.AddSpacePrefix && len(p) > 0 && p[0] == ' ' && t.tokenType(id) == TypeNormal && t.startsText(prev) {
		return p[1:]
	}
	return p
}

// startsText reports whether a token after prev begins a fragment that
// Encode prefixed with a space.
func (t *Tokenizer) startsText(prev int32) bool {
	if prev < 0 || int(prev) >= len(t.pieces) || prev == int32(t.v.BOS) {
		return true
	}
	ty := t.tokenType(prev)
	return ty == TypeControl || ty == TypeUserDefined
}

// Decode turns ids back into text: the concatenation of their pieces.
// Decode(Encode(s)) == s for valid UTF-8 s with byte-level and
// byte-fallback vocabularies (spm text must not itself contain "▁").
func (t *Tokenizer) Decode(ids []int32) string {
	var b strings.Builder
	prev := int32(-1)
	for _, id := range ids {
		b.Write(t.piece(prev, id))
		prev = id
	}
	return b.String()
}
