package tokenizer

import "strings"

// tinySPM is a hand-built llama-style vocabulary: <unk> <s> </s>, the 256
// byte tokens, a few pieces with scores, and one user-defined token.
func tinySPM() Vocab {
	v := Vocab{Kind: KindSPM, BOS: 1, EOS: 2, UNK: 0, PAD: -1, AddBOS: true, AddSpacePrefix: true}
	add := func(s string, score float32, typ int32) {
		v.Tokens = append(v.Tokens, s)
		v.Scores = append(v.Scores, score)
		v.Types = append(v.Types, typ)
	}
	add("<unk>", 0, TypeUnknown)
	add("<s>", 0, TypeControl)
	add("</s>", 0, TypeControl)
	for b := range 256 {
		add(byteTokenText(byte(b)), 0, TypeByte)
	}
	for _, p := range []struct {
		s     string
		score float32
	}{
		{"▁", -1}, {"a", -2}, {"b", -3}, {"c", -4}, {"▁a", -5}, {"ab", -6}, {"bc", -7},
		{"▁ab", -8}, {"abc", -9}, {"é", -10}, {"▁▁", -11}, {"▁c", -12},
	} {
		add(p.s, p.score, TypeNormal)
	}
	add("<|u|>", 0, TypeUserDefined)
	return v
}

// tinyGPT2 is a byte-level vocabulary: the 256 byte runes in byte order,
// the results of a few merges, and <|endoftext|>.
func tinyGPT2() Vocab {
	v := Vocab{Kind: KindGPT2, Pre: "gpt-2", BOS: -1, EOS: -1, UNK: -1, PAD: -1}
	for _, r := range bytesToUnicode() {
		v.Tokens = append(v.Tokens, string(r))
	}
	v.Merges = []string{"Ġ t", "h e", "Ġt he", "i n", "Ġ c", "a t", "Ġc at", "' s"}
	for _, m := range v.Merges { // each merge's result is a token
		i := strings.IndexByte(m, ' ')
		v.Tokens = append(v.Tokens, m[:i]+m[i+1:])
	}
	v.Tokens = append(v.Tokens, "<|endoftext|>")
	v.Types = make([]int32, len(v.Tokens))
	for i := range v.Types {
		v.Types[i] = TypeNormal
	}
	v.Types[len(v.Types)-1] = TypeControl
	v.BOS, v.EOS = len(v.Tokens)-1, len(v.Tokens)-1
	return v
}
