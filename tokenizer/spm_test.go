package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

func mustNew(t testing.TB, v Vocab) *Tokenizer {
	t.Helper()
	tok, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// ids looks up token texts, so expectations read as pieces.
func ids(t testing.TB, tok *Tokenizer, pieces ...string) []int32 {
	t.Helper()
	var out []int32
	for _, p := range pieces {
		id, ok := tok.ids[p]
		if !ok {
			t.Fatalf("no token %q", p)
		}
		out = append(out, id)
	}
	return out
}

func encode(t testing.TB, tok *Tokenizer, text string, special bool) []int32 {
	t.Helper()
	got, err := tok.Encode(text, special)
	if err != nil {
		t.Fatalf("Encode(%q): %v", text, err)
	}
	return got
}

func TestSPMMergeOrder(t *testing.T) {
	tok := mustNew(t, tinySPM())
	cases := []struct {
		text string
		want []string
	}{
		// "▁a" (-5) beats "ab" (-6); then "▁ab" (-8) forms.
		{"ab", []string{"▁ab"}},
		// After ▁a, the candidates are "▁ab" (-8) and "bc" (-7): bc wins,
		// and "▁abc" is no token.
		{"abc", []string{"▁a", "bc"}},
		{"c", []string{"▁c"}},
		// Two spaces escape to ▁▁ plus the prefix ▁: "▁▁" (-11) and "▁a"
		// (-5): ▁a wins at the right, then ▁ ▁ merge at the left.
		{"  a", []string{"▁▁", "▁a"}},
		{"é", []string{"▁", "é"}},
		// d is not a piece: byte fallback.
		{"d", []string{"▁", "<0x64>"}},
		// A character of 3 bytes without a piece: three byte tokens.
		{"€", []string{"▁", "<0xE2>", "<0x82>", "<0xAC>"}},
		{"", nil},
	}
	for _, c := range cases {
		got := encode(t, tok, c.text, false)
		if want := ids(t, tok, c.want...); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, want %v", c.text, got, c.want)
		}
	}
	if got := encode(t, tok, "", true); !slices.Equal(got, []int32{1}) {
		t.Errorf("Encode(\"\", special) = %v, want [BOS]", got)
	}
	v := tinySPM()
	v.AddEOS = true
	tok2 := mustNew(t, v)
	if got, want := encode(t, tok2, "ab", true), append(append([]int32{1}, ids(t, tok, "▁ab")...), 2); !slices.Equal(got, want) {
		t.Errorf("Encode(ab, special) = %v, want %v", got, want)
	}
}

func TestSPMTiesGoLeft(t *testing.T) {
	v := tinySPM()
	for i, s := range v.Tokens { // "ab" and "bc" tie; "abc" is out of the way
		switch s {
		case "bc", "ab":
			v.Scores[i] = -1
		case "abc":
			v.Tokens[i] = "xyz"
		}
	}
	v.AddSpacePrefix = false
	tok := mustNew(t, v)
	if got, want := encode(t, tok, "abc", false), ids(t, tok, "ab", "c"); !slices.Equal(got, want) {
		t.Errorf("Encode(abc) = %v, want [ab c] (leftmost of equal scores)", got)
	}
}

func TestUserDefinedTokens(t *testing.T) {
	tok := mustNew(t, tinySPM())
	// The user-defined token is cut out first; the text after it gets a
	// space prefix again, as in llama.cpp.
	got := encode(t, tok, "a<|u|>c", false)
	if want := ids(t, tok, "▁a", "<|u|>", "▁c"); !slices.Equal(got, want) {
		t.Errorf("Encode(a<|u|>c) = %v, want %v", got, want)
	}
	if s := tok.Decode(got); s != "a<|u|>c" {
		t.Errorf("Decode = %q", s)
	}
	// Control tokens are not parsed from text.
	got = encode(t, tok, "<s>", false)
	if slices.Contains(got, 1) {
		t.Errorf("Encode(<s>) = %v contains BOS", got)
	}
}

func TestSPMWithoutByteFallback(t *testing.T) {
	v := tinySPM()
	keep := func(keepUNK bool) *Tokenizer {
		w := Vocab{Kind: KindSPM, BOS: -1, EOS: -1, UNK: -1, PAD: -1, AddSpacePrefix: true}
		for i, s := range v.Tokens {
			if v.Types[i] == TypeByte || (i == 0 && !keepUNK) {
				continue
			}
			if i == 0 {
				w.UNK = len(w.Tokens)
			}
			w.Tokens = append(w.Tokens, s)
			w.Scores = append(w.Scores, v.Scores[i])
			w.Types = append(w.Types, v.Types[i])
		}
		return mustNew(t, w)
	}
	noUNK := keep(false)
	if _, err := noUNK.Encode("ab\xffc", false); err == nil || !strings.Contains(err.Error(), "byte offset 2") {
		t.Errorf("invalid UTF-8: error %v, want one naming byte offset 2", err)
	}
	if _, err := noUNK.Encode("a b d", false); err == nil || !strings.Contains(err.Error(), "byte offset 4") {
		t.Errorf("unknown character: error %v, want one naming byte offset 4", err)
	}
	withUNK := keep(true)
	got := encode(t, withUNK, "a d", false)
	if want := ids(t, withUNK, "▁a", "▁", "<unk>"); !slices.Equal(got, want) {
		t.Errorf("Encode(a d) = %v, want %v", got, want)
	}
	if _, err := withUNK.Encode("\xc3", false); err == nil {
		t.Error("invalid UTF-8 accepted without byte fallback")
	}
}

// TestSPMWordSplit checks that merging word by word (spmSplit) gives what
// merging the whole text gives, on texts dense in spaces.
func TestSPMWordSplit(t *testing.T) {
	v := tinySPM()
	whole := mustNew(t, v)
	whole.spmSplit = false
	split := mustNew(t, v)
	if !split.spmSplit {
		t.Fatal("tiny vocabulary should allow splitting")
	}
	alphabet := []string{"a", "b", "c", " ", " ", "é", "d", "▁"}
	state := uint64(1)
	for range 3000 {
		var b strings.Builder
		for range int(state>>60) + 1 {
			state = state*6364136223846793005 + 1442695040888963407
			b.WriteString(alphabet[state>>61])
		}
		text := b.String()
		if got, want := encode(t, split, text, false), encode(t, whole, text, false); !slices.Equal(got, want) {
			t.Fatalf("Encode(%q): split %v, whole %v", text, got, want)
		}
	}
	// A token with "▁" inside a word forbids splitting.
	v.Tokens = append(v.Tokens, "a▁b")
	v.Scores = append(v.Scores, 0)
	v.Types = append(v.Types, TypeNormal)
	if mustNew(t, v).spmSplit {
		t.Error("splitting allowed although a▁b is a token")
	}
}
