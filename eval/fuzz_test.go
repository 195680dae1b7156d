package eval

import (
	"strings"
	"testing"
)

// The parsers read user files: no input may panic, and what they accept
// must be consistent.

func FuzzParseBabi(f *testing.F) {
	f.Add(babiSnippet)
	f.Add("1 a.\n2 q?\tx\t1 9\n")
	f.Add("1 q?\t\t\n")
	f.Add("0 x\n")
	f.Fuzz(func(t *testing.T, text string) {
		task, err := ParseBabi(strings.NewReader(text), "fuzz.txt")
		if err != nil {
			return
		}
		for _, s := range task.Samples {
			if s.Answer == "" {
				t.Fatalf("accepted an empty answer: %+v", s)
			}
			for _, i := range s.Supporting {
				if i < 0 || i >= len(s.Facts) {
					t.Fatalf("supporting index %d outside %d facts", i, len(s.Facts))
				}
			}
		}
		if len(task.Labels) == 0 {
			t.Fatal("questions without labels")
		}
	})
}

func FuzzParseVariants(f *testing.F) {
	f.Add(`{"variants": [{"name": "a", "misalignment": 1, "scores": {"x": 2}}]}`)
	f.Add(`[{"name": "b", "val_loss": 1e308}]`)
	f.Add(`{"name": "c"}`)
	f.Add(`{"variants": null}`)
	f.Fuzz(func(t *testing.T, data string) {
		vs, err := ParseVariants([]byte(data), "fuzz.json")
		if err != nil {
			return
		}
		for _, v := range vs {
			if v.Name == "" {
				t.Fatal("accepted a variant without a name")
			}
		}
		CorrelateVariants(vs, 5, 1)
	})
}

func FuzzParsePasskeyTemplate(f *testing.F) {
	f.Add(`{"prefix": "p", "junk_unit": " j", "needle": " k {K}.", "suffix": " s"}`)
	f.Add(`{"llamacpp_passkey": {"prefix": "p"}}`)
	f.Fuzz(func(t *testing.T, data string) {
		tpl, err := ParsePasskeyTemplate([]byte(data), "fuzz.json")
		if err != nil {
			return
		}
		if !strings.Contains(tpl.Text(2, 1, 7), "7") {
			t.Fatal("an accepted template does not place the key")
		}
	})
}

func FuzzSentences(f *testing.F) {
	f.Add("It was. \"Who?\" she asked! Done")
	f.Add("...  ?! \n\n")
	f.Fuzz(func(t *testing.T, text string) {
		for _, s := range Sentences(text) {
			if s == "" || strings.TrimSpace(s) != s {
				t.Fatalf("sentence %q is empty or untrimmed", s)
			}
		}
	})
}
