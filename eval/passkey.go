package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/tokenizer"
)

// PasskeyTemplate is the passkey prompt: Prefix, then JunkUnit repeated,
// with Needle inserted before one of the junk units, then Suffix. "{K}" in
// Needle stands for the passkey. The pieces are concatenated as they are,
// so each carries its own leading space.
type PasskeyTemplate struct {
	Prefix   string `json:"prefix"`
	JunkUnit string `json:"junk_unit"`
	Needle   string `json:"needle"`
	Suffix   string `json:"suffix"`
}

// LlamaCppPasskey is the template of llama.cpp's examples/passkey (MIT),
// the classic prompt of Mohtashami & Jaggi's landmark-attention test, as
// recorded in ../shared/corpora/passkey_needle_templates.json.
func LlamaCppPasskey() PasskeyTemplate {
	return PasskeyTemplate{
		Prefix: "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. " +
			"I will quiz you about the important information there.",
		JunkUnit: " The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.",
		Needle:   " The pass key is {K}. Remember it. {K} is the pass key.",
		Suffix:   " What is the pass key? The pass key is",
	}
}

// ParsePasskeyTemplate reads a template from JSON: either an object with
// prefix, junk_unit, needle and suffix, or a file like
// passkey_needle_templates.json that holds one under "llamacpp_passkey".
func ParsePasskeyTemplate(data []byte, name string) (PasskeyTemplate, error) {
	var wrapped struct {
		LlamaCpp *PasskeyTemplate `json:"llamacpp_passkey"`
	}
	if err := json.Unmarshal(data, &wrapped); err != nil {
		return PasskeyTemplate{}, fmt.Errorf("%s: %w", name, err)
	}
	var t PasskeyTemplate
	if wrapped.LlamaCpp != nil {
		t = *wrapped.LlamaCpp
	} else if err := json.Unmarshal(data, &t); err != nil {
		return PasskeyTemplate{}, fmt.Errorf("%s: %w", name, err)
	}
	return t, t.validate(name)
}

func (t PasskeyTemplate) validate(name string) error {
	for _, f := range []struct{ field, v string }{{"prefix", t.Prefix}, {"junk_unit", t.JunkUnit}, {"needle", t.Needle}, {"suffix", t.Suffix}} {
		if strings.TrimSpace(f.v) == "" {
			return fmt.Errorf("%s: passkey template field %q is missing or empty", name, f.field)
		}
	}
	if !strings.Contains(t.Needle, "{K}") {
		return fmt.Errorf("%s: passkey template field \"needle\" has no {K} placeholder", name)
	}
	return nil
}

// Text is the prompt with nJunk junk units and the needle before unit
// insertAt (after the last one when insertAt = nJunk).
func (t PasskeyTemplate) Text(nJunk, insertAt, key int) string {
	needle := strings.ReplaceAll(t.Needle, "{K}", strconv.Itoa(key))
	var b strings.Builder
	b.WriteString(t.Prefix)
	for i := 0; i <= nJunk; i++ {
		if i == insertAt {
			b.WriteString(needle)
		}
		if i < nJunk {
			b.WriteString(t.JunkUnit)
		}
	}
	b.WriteString(t.Suffix)
	return b.String()
}

// PasskeyOptions configures passkey cases.
type PasskeyOptions struct {
	Template PasskeyTemplate // zero value: LlamaCppPasskey
	MaxKey   int             // passkeys are uniform in [1, MaxKey]; 0 means 50000 (llama.cpp, LongLoRA)
	// MaxNew is the number of tokens generated; 0 means the token count of
	// " K" (the answer) plus 2.
	MaxNew int
}

// Builder returns the passkey case builder: a passkey drawn from r, the
// most junk units that keep the prompt within length tokens, and the
// needle before junk unit round(depth × units).
func (o PasskeyOptions) Builder() (Builder, error) {
	tpl := o.Template
	if tpl == (PasskeyTemplate{}) {
		tpl = LlamaCppPasskey()
	}
	if err := tpl.validate("passkey template"); err != nil {
		return nil, err
	}
	maxKey := o.MaxKey
	if maxKey == 0 {
		maxKey = 50000
	}
	if maxKey < 1 {
		return nil, fmt.Errorf("passkey: max key %d must be positive", maxKey)
	}
	return func(tok *tokenizer.Tokenizer, length int, depth float64, trial int, r *rng.RNG) (Case, error) {
		key := r.IntRange(1, maxKey)
		_, ids, err := fitUnits(tok, length, func(n int) string {
			return tpl.Text(n, int(math.Round(depth*float64(n))), key)
		})
		if err != nil {
			return Case{}, fmt.Errorf("passkey: %w", err)
		}
		want := strconv.Itoa(key)
		maxNew := o.MaxNew
		if maxNew == 0 {
			ans, err := tok.Encode(" "+want, false)
			if err != nil {
				return Case{}, err
			}
			maxNew = len(ans) + 2
		}
		return Case{
			Task: "passkey", Prompt: ids, Answer: want, MaxNew: maxNew,
			Score: func(out string) bool { return ScorePasskey(out, want) },
			Done:  func(out string) bool { _, complete := firstNumber(out); return complete },
		}, nil
	}, nil
}

// ScorePasskey is exact-match scoring: the first run of ASCII digits in
// the generated text must be the passkey, digit for digit (so "12345" for
// 1234 is wrong, and so is a text with no number).
func ScorePasskey(output, key string) bool {
	got, _ := firstNumber(output)
	return got == key
}

// firstNumber returns the first run of ASCII digits in s and whether a
// non-digit follows it (so more text cannot extend it).
func firstNumber(s string) (digits string, complete bool) {
	start := strings.IndexFunc(s, isDigit)
	if start < 0 {
		return "", false
	}
	end := strings.IndexFunc(s[start:], func(r rune) bool { return !isDigit(r) })
	if end < 0 {
		return s[start:], false
	}
	return s[start : start+end], true
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }
