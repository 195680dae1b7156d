package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

// pieces renders the split of splitGPT2 as strings.
func pieces(text string) []string {
	cpts, offs := codepoints(text)
	var out []string
	prev := 0
	for _, e := range splitGPT2(cpts, nil) {
		out = append(out, text[offs[prev]:offs[e]])
		prev = e
	}
	return out
}

// TestSplitGPT2 checks the hand-written pre-tokenizer against what the
// regex 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// matches, worked out by hand.
func TestSplitGPT2(t *testing.T) {
	cases := []struct {
		text string
		want []string
	}{
		{"Hello world", []string{"Hello", " world"}},
		{"I'm  fine!!", []string{"I", "'m", " ", " fine", "!!"}},
		{"a   b", []string{"a", "  ", " b"}},
		{"x\n\n y", []string{"x", "\n\n", " y"}},
		{"a \t", []string{"a", " \t"}},
		{"  ", []string{"  "}},
		{"3.14", []string{"3", ".", "14"}},
		{"don't they'll we've you're", []string{"don", "'t", " they", "'ll", " we", "'ve", " you", "'re"}},
		{"'S", []string{"'", "S"}}, // contractions are case-sensitive here
		{"ab12cd", []string{"ab", "12", "cd"}},
		{" 42", []string{" 42"}},
		{" ...x", []string{" ...", "x"}},
		{"Ünïcödé Ⅻ١٢", []string{"Ünïcödé", " Ⅻ١٢"}},
		{"\xff\xfeab", []string{"\xff\xfe", "ab"}}, // invalid bytes count as U+FFFD, a symbol
		{"", nil},
	}
	for _, c := range cases {
		if got := pieces(c.text); !slices.Equal(got, c.want) {
			t.Errorf("split(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

func TestGPT2Encode(t *testing.T) {
	tok := mustNew(t, tinyGPT2())
	cases := []struct {
		text string
		want []string
	}{
		{"the", []string{"t", "he"}}, // "Ġt he" needs the space
		{" the", []string{"Ġthe"}},   // Ġ t -> Ġt, h e -> he, Ġt he -> Ġthe
		{" cat's", []string{"Ġcat", "'s"}},
		{"hehe", []string{"he", "he"}},
		{"in\n", []string{"in", "Ċ"}},
		{"é", []string{"Ã", "©"}}, // bytes C3 A9 in GPT-2's printable runes
	}
	for _, c := range cases {
		got := encode(t, tok, c.text, false)
		if want := ids(t, tok, c.want...); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, want %v", c.text, got, c.want)
		}
		if s := tok.Decode(got); s != c.text {
			t.Errorf("Decode(Encode(%q)) = %q", c.text, s)
		}
	}
}

func TestGPT2RankOrder(t *testing.T) {
	v := tinyGPT2()
	v.Tokens = append(v.Tokens, "ab", "bc")
	v.Types = append(v.Types, TypeNormal, TypeNormal)
	v.Merges = append(v.Merges, "a b", "b c")
	tok := mustNew(t, v)
	if got, want := encode(t, tok, "abc", false), ids(t, tok, "ab", "c"); !slices.Equal(got, want) {
		t.Errorf("a b ranked first: %v, want [ab c]", got)
	}
	n := len(v.Merges)
	v.Merges[n-2], v.Merges[n-1] = "b c", "a b"
	tok = mustNew(t, v)
	if got, want := encode(t, tok, "abc", false), ids(t, tok, "a", "bc"); !slices.Equal(got, want) {
		t.Errorf("b c ranked first: %v, want [a bc]", got)
	}
}

func TestGPT2InvalidUTF8RoundTrips(t *testing.T) {
	tok := mustNew(t, tinyGPT2())
	for _, s := range []string{"\xff", "a\xc3(b", "\xe2\x82", "ok \x80\x80 ok"} {
		got := encode(t, tok, s, false)
		if d := tok.Decode(got); d != s {
			t.Errorf("Decode(Encode(%q)) = %q", s, d)
		}
	}
}

func TestGPT2Rejects(t *testing.T) {
	v := tinyGPT2()
	v.Pre = "llama-bpe"
	if _, err := New(v); err == nil || !strings.Contains(err.Error(), "llama-bpe") {
		t.Errorf("New with pre llama-bpe: %v", err)
	}
}
