package eval

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
	"github.com/lsalign/lsalign/tokenizer"
)

// byteTokenizer has one token per byte plus BOS, so prompt lengths are
// 1 + the text's byte count and can be predicted by hand.
func byteTokenizer(t *testing.T) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.New(tokenizer.ByteVocab())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestPasskeyCases(t *testing.T) {
	tok := byteTokenizer(t)
	tpl := LlamaCppPasskey()
	build, err := PasskeyOptions{}.Builder()
	if err != nil {
		t.Fatal(err)
	}
	const length = 1000
	for _, depth := range []float64{0, 0.5, 1} {
		a, err := build(tok, length, depth, 0, rng.New(42))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := build(tok, length, depth, 0, rng.New(42))
		c, _ := build(tok, length, depth, 0, rng.New(43))
		if a.Answer != b.Answer || tok.Decode(a.Prompt) != tok.Decode(b.Prompt) {
			t.Fatal("the same seed built different cases")
		}
		if a.Answer == c.Answer {
			t.Fatalf("seeds 42 and 43 drew the same passkey %s", a.Answer)
		}
		key, err := strconv.Atoi(a.Answer)
		if err != nil || key < 1 || key > 50000 {
			t.Fatalf("passkey %q outside [1, 50000]", a.Answer)
		}
		text := tok.Decode(a.Prompt[1:])
		needle := " The pass key is " + a.Answer + ". Remember it. " + a.Answer + " is the pass key."
		// By hand: 1 BOS + prefix + needle + suffix + n junk units <= length, with n maximal.
		fixed := 1 + len(tpl.Prefix) + len(needle) + len(tpl.Suffix)
		n := (length - fixed) / len(tpl.JunkUnit)
		if len(a.Prompt) != fixed+n*len(tpl.JunkUnit) || a.Prompt[0] != tok.BOS() {
			t.Fatalf("depth %g: prompt of %d tokens, want %d (%d junk units)", depth, len(a.Prompt), fixed+n*len(tpl.JunkUnit), n)
		}
		if !strings.HasPrefix(text, tpl.Prefix) || !strings.HasSuffix(text, tpl.Suffix) || strings.Count(text, needle) != 1 {
			t.Fatalf("depth %g: prompt does not hold prefix, one needle and suffix: %q", depth, text)
		}
		before := strings.Count(text[:strings.Index(text, needle)], tpl.JunkUnit)
		if want := int(float64(n)*depth + 0.5); before != want {
			t.Fatalf("depth %g: %d junk units before the needle, want %d of %d", depth, before, want, n)
		}
		if !a.Score(" "+a.Answer+". Remember") || a.Score(" 1"+a.Answer) || a.Score(" no idea") {
			t.Fatal("the case scores its own answer wrongly")
		}
	}
	if _, err := build(tok, 100, 0.5, 0, rng.New(1)); err == nil {
		t.Fatal("a length below the template's own size was accepted")
	}
}

func TestScorePasskey(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want bool
	}{
		{" 12345.", true}, {"12345", true}, {"The key: 12345 is it", true}, {" 1234", false},
		{" 123456", false}, {" 12 345", false}, {"", false}, {" 54321 12345", false},
	} {
		if got := ScorePasskey(tc.out, "12345"); got != tc.want {
			t.Errorf("ScorePasskey(%q) = %v, want %v", tc.out, got, tc.want)
		}
	}
}

func TestPasskeyTemplateFile(t *testing.T) {
	dir := testutil.SharedDir(t, "corpora")
	data, err := os.ReadFile(dir + "/passkey_needle_templates.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePasskeyTemplate(data, "passkey_needle_templates.json")
	if err != nil {
		t.Fatal(err)
	}
	if got != LlamaCppPasskey() {
		t.Fatalf("the built-in template differs from the shared file:\n%+v\n%+v", LlamaCppPasskey(), got)
	}
	if _, err := ParsePasskeyTemplate([]byte(`{"prefix":"a","junk_unit":" b","needle":" no key","suffix":" c"}`), "x.json"); err == nil ||
		!strings.Contains(err.Error(), "x.json") || !strings.Contains(err.Error(), "{K}") {
		t.Fatalf("a needle without {K}: %v", err)
	}
	if _, err := ParsePasskeyTemplate([]byte(`{"prefix":"a"}`), "y.json"); err == nil || !strings.Contains(err.Error(), "junk_unit") {
		t.Fatalf("a missing field: %v", err)
	}
}
