package data

import (
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/tokenizer"
)

func mustFacts(t *testing.T, seed uint64, o FactsOptions) Facts {
	t.Helper()
	f, err := NewFacts(seed, o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var (
	factRE     = regexp.MustCompile(`^([A-Z])(\d{4})\.$`)
	fillerRE   = regexp.MustCompile(`^(a|the) [a-z]+ [a-z]+ [a-z]+\.$`)
	passkeyRE  = regexp.MustCompile(`^the pass key is #(\d{5})\.$`)
	questionRE = regexp.MustCompile(`^so the pass key is #(\d{5})\.$`)
)

// sentences splits a document at ". " boundaries, keeping the dots.
func sentences(doc string) []string {
	parts := strings.SplitAfter(doc, ". ")
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// TestFactsGrammar parses documents back: every sentence is filler, a
// fact or a passkey sentence; a key's digits repeat until it is restated;
// a passkey question repeats the stated passkey; filler words come mostly
// from a small per-document cast.
func TestFactsGrammar(t *testing.T) {
	f := mustFacts(t, 1, FactsOptions{DocBytes: 4000})
	var facts, repeats, fillers, castWords, passkeys int
	for i := range uint64(20) {
		doc := f.Doc(i, 0)
		if len(doc) < 4000 {
			t.Fatalf("document %d has %d bytes, want >= 4000", i, len(doc))
		}
		latest := map[string]string{}
		counts := map[string]int{}
		stated := ""
		for _, s := range sentences(doc) {
			switch {
			case factRE.MatchString(s):
				m := factRE.FindStringSubmatch(s)
				facts++
				if latest[m[1]] == m[2] {
					repeats++
				}
				latest[m[1]] = m[2]
			case fillerRE.MatchString(s):
				fillers++
				for _, w := range strings.Fields(strings.TrimSuffix(s, "."))[1:] {
					counts[w]++
				}
			case passkeyRE.MatchString(s):
				stated = passkeyRE.FindStringSubmatch(s)[1]
			case questionRE.MatchString(s):
				if got := questionRE.FindStringSubmatch(s)[1]; got != stated {
					t.Fatalf("document %d asks for passkey %s, stated %q", i, got, stated)
				}
				passkeys++
			default:
				t.Fatalf("document %d: sentence %q fits no kind", i, s)
			}
		}
		// The 4 most frequent words of each kind carry most of the filler (cast 4 of 16-32, p 0.85).
		top := slices.Sorted(func(yield func(int) bool) {
			for _, c := range counts {
				if !yield(c) {
					return
				}
			}
		})
		slices.Reverse(top)
		for _, c := range top[:min(12, len(top))] {
			castWords += c
		}
	}
	if facts == 0 || repeats < facts/4 || fillers == 0 || passkeys == 0 {
		t.Fatalf("facts %d (repeats %d), filler %d, passkey questions %d", facts, repeats, fillers, passkeys)
	}
	if share := float64(castWords) / float64(3*fillers); share < 0.8 {
		t.Fatalf("the 12 most frequent words per document cover %.2f of filler words, want >= 0.8 (cast 0.85 + chance)", share)
	}
}

// TestFactsDeterministic: a document depends only on the seed and its
// index, and a longer request extends it.
func TestFactsDeterministic(t *testing.T) {
	f := mustFacts(t, 5, FactsOptions{})
	a, b := f.Doc(3, 0), f.Doc(3, 0)
	if a != b {
		t.Fatal("the same document differs between calls")
	}
	if long := f.Doc(3, 3000); !strings.HasPrefix(long, a) || len(long) < 3000 {
		t.Fatal("a longer request does not extend the document")
	}
	if f.Doc(4, 0) == a || mustFacts(t, 6, FactsOptions{}).Doc(3, 0) == a {
		t.Fatal("another index or seed gives the same document")
	}
}

// TestFactsRecallDistances: recall distances spread over short and long
// ranges (log-uniform), which is what makes context length matter.
func TestFactsRecallDistances(t *testing.T) {
	f := mustFacts(t, 2, FactsOptions{DocBytes: 8000, PasskeyProb: -1})
	var near, far int
	for i := range uint64(10) {
		doc := f.Doc(i, 0)
		stated := map[string]int{} // fact text -> byte offset of its latest statement
		off := 0
		for _, s := range strings.SplitAfter(doc, ". ") {
			if factRE.MatchString(strings.TrimSpace(s)) {
				if at, ok := stated[s]; ok {
					switch d := off - at; {
					case d <= 64:
						near++
					case d > 256:
						far++
					}
				}
				stated[s] = off
			}
			off += len(s)
		}
	}
	if near < 20 || far < 20 {
		t.Fatalf("recalls within 64 bytes: %d, beyond 256 bytes: %d; want both common", near, far)
	}
}

func TestFactsOptionsValidate(t *testing.T) {
	for _, o := range []FactsOptions{
		{FactProb: 0.7, RecallProb: 0.5},
		{MaxGap: -1},
		{CastSize: 40},
		{PasskeyProb: 2},
		{DocBytes: -5},
	} {
		if _, err := NewFacts(1, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

// TestSources: windows come from the corpus, have the requested length and
// follow the generator (same state, same windows).
func TestSources(t *testing.T) {
	tok, err := tokenizer.New(tokenizer.ByteVocab())
	if err != nil {
		t.Fatal(err)
	}
	f := mustFacts(t, 1, FactsOptions{})
	src := f.Source(tok)
	a, err := Windows(src, 3, 100, rng.New(9))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Windows(src, 3, 100, rng.New(9))
	if !slices.Equal(a, b) || len(a) != 300 {
		t.Fatal("windows are not a function of the generator")
	}
	for _, id := range a {
		if id < 0 || id > 256 {
			t.Fatalf("token %d outside bytes and BOS", id)
		}
	}
	long, err := Windows(src, 1, 5000, rng.New(1)) // longer than a default document
	if err != nil || len(long) != 5000 {
		t.Fatalf("long window: %d tokens, %v", len(long), err)
	}
	s := Stream{1, 2, 3, 4, 5}
	w, err := Windows(s, 4, 3, rng.New(2))
	if err != nil {
		t.Fatal(err)
	}
	for b := range 4 {
		if w[b*3+1] != w[b*3]+1 || w[b*3+2] != w[b*3]+2 {
			t.Fatalf("window %v is not consecutive", w[b*3:b*3+3])
		}
	}
	if _, err := Windows(s, 1, 6, rng.New(2)); err == nil {
		t.Fatal("a window longer than the stream was accepted")
	}
	held, err := f.HeldOut(tok, 3, 700)
	if err != nil || len(held) != 3 || len(held[0]) < 700 {
		t.Fatalf("held out: %d documents, %v", len(held), err)
	}
	train0, _ := f.Tokens(tok, 0, 700)
	if slices.Equal(train0, held[0]) {
		t.Fatal("held-out document 0 equals training document 0")
	}
}

// TestPasskeyProbe: exact length, the key inside at the requested depth,
// the question last, and a bad request refused.
func TestPasskeyProbe(t *testing.T) {
	r := rng.New(3)
	for _, depth := range []float64{0, 0.5, 1} {
		p, err := NewPasskey(r, 200, depth)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Prompt)+len(p.Answer) != 200 || len(p.Answer) != 5 {
			t.Fatalf("prompt %d + answer %d bytes, want 200", len(p.Prompt), len(p.Answer))
		}
		if !strings.HasSuffix(p.Prompt, PasskeyQuestion) || !strings.Contains(p.Prompt, PasskeyStatement+p.Answer+". ") {
			t.Fatalf("probe %q lacks the key or the question", p.Prompt)
		}
		if at := strings.Index(p.Prompt, PasskeyStatement); math.Abs(float64(at)/float64(len(p.Prompt))-depth*0.83) > 0.15 {
			t.Fatalf("depth %g: key at byte %d of %d", depth, at, len(p.Prompt))
		}
	}
	if _, err := NewPasskey(r, 20, 0.5); err == nil {
		t.Fatal("a 20-byte probe was accepted")
	}
	// The shortest probe is the key sentence and the question, no filler:
	// "the pass key is #" 17 + 5 digits + ". " 2 + "so the pass key is #" 20 + 5 digits.
	if PasskeyMinBytes != 17+5+2+20+5 {
		t.Fatalf("PasskeyMinBytes = %d, want 49", PasskeyMinBytes)
	}
	if p, err := NewPasskey(r, PasskeyMinBytes, 0.5); err != nil || p.Prompt != PasskeyStatement+p.Answer+". "+PasskeyQuestion {
		t.Fatalf("a probe of PasskeyMinBytes: %q, %v", p.Prompt, err)
	}
	if _, err := NewPasskey(r, PasskeyMinBytes-1, 0.5); err == nil {
		t.Fatal("a probe one byte below PasskeyMinBytes was accepted")
	}
	if _, err := NewPasskey(r, 200, 1.5); err == nil {
		t.Fatal("depth 1.5 was accepted")
	}
}
