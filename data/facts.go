package data

import (
	"fmt"
	"math"
	"strings"

	"github.com/lsalign/lsalign/internal/rng"
)

// FactsOptions configures the built-in "facts" corpus: procedurally
// generated English-like documents whose loss depends on how far back a
// model can see. A document is a run of short sentences:
//
//   - filler from a small grammar, "the shy fox hid.", whose words come
//     mostly (CastProb) from the document's own cast of CastSize
//     adjectives, nouns and verbs, drawn per document from larger lists:
//     the more of the document a model sees, the better it knows the cast
//     (a smooth long-range dependency that a small model learns quickly by
//     averaging over its context);
//   - a fact, a one-letter key and four random digits, "K7351.", and later
//     recalls of it repeated word for word: a recall's digits are
//     predictable only when the key's latest statement is inside the
//     context (exact retrieval, which small models learn slowly);
//   - in some documents a passkey episode: PasskeyStatement with five
//     digits early on, PasskeyQuestion with the same digits later (the
//     format NewPasskey builds for evaluation).
//
// The distance from a fact or passkey to its recall is drawn log-uniformly
// in sentences from [2, MaxGap], so a model trained at a short context sees
// near recalls while far ones reward longer contexts.
//
// The zero value of each field means the default in its comment.
type FactsOptions struct {
	DocBytes    int     // minimum document length in bytes (1024)
	MaxGap      int     // longest fact-to-recall distance in sentences (48)
	FactProb    float64 // share of sentences that state a fact (0.15)
	RecallProb  float64 // share of sentences that recall a fact (0.15)
	PasskeyProb float64 // chance that a document holds a passkey episode (0.5); negative: never
	CastSize    int     // words of each kind in a document's cast (4)
	CastProb    float64 // chance that a filler word comes from the cast (0.85); negative: never
}

// Defaults of FactsOptions.
const (
	DefaultFactsDocBytes = 1024
	DefaultFactsMaxGap   = 48
	defaultFactProb      = 0.15
	defaultRecallProb    = 0.15
	defaultPasskeyProb   = 0.5
	defaultCastSize      = 4
	defaultCastProb      = 0.85
)

// WithDefaults fills zero fields.
func (o FactsOptions) WithDefaults() FactsOptions {
	if o.DocBytes == 0 {
		o.DocBytes = DefaultFactsDocBytes
	}
	if o.MaxGap == 0 {
		o.MaxGap = DefaultFactsMaxGap
	}
	if o.FactProb == 0 {
		o.FactProb = defaultFactProb
	}
	if o.RecallProb == 0 {
		o.RecallProb = defaultRecallProb
	}
	if o.PasskeyProb == 0 {
		o.PasskeyProb = defaultPasskeyProb
	}
	if o.CastSize == 0 {
		o.CastSize = defaultCastSize
	}
	if o.CastProb == 0 {
		o.CastProb = defaultCastProb
	}
	return o
}

// Validate reports impossible settings (after WithDefaults).
func (o FactsOptions) Validate() error {
	switch {
	case o.DocBytes < 1 || o.DocBytes > 1<<24:
		return fmt.Errorf("facts corpus: doc_bytes %d outside [1, %d]", o.DocBytes, 1<<24)
	case o.MaxGap < 1:
		return fmt.Errorf("facts corpus: max_gap must be positive, got %d", o.MaxGap)
	case !(o.FactProb > 0 && o.RecallProb >= 0 && o.FactProb+o.RecallProb <= 1):
		return fmt.Errorf("facts corpus: fact_prob %g and recall_prob %g must be > 0 and >= 0 with a sum <= 1",
			o.FactProb, o.RecallProb)
	case o.PasskeyProb > 1 || math.IsNaN(o.PasskeyProb):
		return fmt.Errorf("facts corpus: passkey_prob %g must be <= 1", o.PasskeyProb)
	case o.CastSize < 1 || o.CastSize > len(fillerAdjs):
		return fmt.Errorf("facts corpus: cast_size %d outside [1, %d]", o.CastSize, len(fillerAdjs))
	case o.CastProb > 1 || math.IsNaN(o.CastProb):
		return fmt.Errorf("facts corpus: cast_prob %g must be <= 1", o.CastProb)
	}
	return nil
}

// The filler grammar: "<det> <adj> <noun> <verb>."
var (
	fillerDets = [...]string{"a", "the"}
	fillerAdjs = [...]string{"red", "old", "big", "shy", "wet", "odd", "tall", "calm",
		"cold", "dark", "glad", "kind", "pale", "slow", "warm", "wild"}
	fillerNouns = [...]string{"fox", "cat", "ship", "tree", "bird", "king", "frog", "lamp",
		"owl", "bear", "cook", "duke", "goat", "hill", "lake", "mole",
		"nun", "pig", "queen", "rose", "seal", "toad", "wolf", "yak",
		"ant", "bee", "crow", "deer", "elk", "fish", "gull", "hen"}
	fillerVerbs = [...]string{"ran", "sat", "hid", "sang", "fell", "slept", "waited", "smiled",
		"ate", "cried", "danced", "froze", "grew", "hummed", "left", "swam"}
)

// cast is a document's own words: filler draws from it with CastProb.
type cast struct {
	adjs, nouns, verbs []string
	prob               float64
}

func newCast(r *rng.RNG, o FactsOptions) cast {
	pick := func(words []string) []string {
		out := make([]string, o.CastSize)
		for i, j := range r.Perm(len(words))[:o.CastSize] {
			out[i] = words[j]
		}
		return out
	}
	return cast{adjs: pick(fillerAdjs[:]), nouns: pick(fillerNouns[:]), verbs: pick(fillerVerbs[:]), prob: o.CastProb}
}

// word draws from the cast with probability c.prob, else from all words.
func (c cast) word(r *rng.RNG, own []string, all []string) string {
	if r.Float64() < c.prob {
		return own[r.Intn(len(own))]
	}
	return all[r.Intn(len(all))]
}

// sentence is one filler sentence.
func (c cast) sentence(r *rng.RNG) string {
	return fillerDets[r.Intn(len(fillerDets))] + " " + c.word(r, c.adjs, fillerAdjs[:]) + " " +
		c.word(r, c.nouns, fillerNouns[:]) + " " + c.word(r, c.verbs, fillerVerbs[:]) + ". "
}

// fact is the latest statement about a key.
type fact struct {
	sentence int
	text     string
}

// factsDoc writes one document from r. Passkey digits are drawn before the
// document so that changing DocBytes only extends it (a longer document has
// the shorter one as a prefix).
func factsDoc(r *rng.RNG, o FactsOptions) string {
	var b strings.Builder
	var latest [len(factKeys)]fact // by key; sentence -1 = never stated
	for i := range latest {
		latest[i].sentence = -1
	}
	stated := 0
	passkey, keyAt, askAt := "", -1, -1
	if r.Float64() < o.PasskeyProb {
		passkey = digits(r, passkeyDigits)
		keyAt = r.Intn(8)
		askAt = keyAt + 1 + logUniform(r, o.MaxGap-1)
	}
	words := newCast(r, o)
	for s := 0; b.Len() < o.DocBytes; s++ {
		switch u := r.Float64(); {
		case s == keyAt:
			b.WriteString(PasskeyStatement + passkey + ". ")
		case s == askAt:
			b.WriteString(PasskeyQuestion + passkey + ". ")
		case u < o.FactProb:
			k := r.Intn(len(factKeys))
			latest[k] = fact{s, factKeys[k:k+1] + digits(r, 4) + ". "}
			stated++
			b.WriteString(latest[k].text)
		case u < o.FactProb+o.RecallProb && stated > 0:
			b.WriteString(recallFact(latest[:], s-1-logUniform(r, o.MaxGap-1)))
		default:
			b.WriteString(words.sentence(r))
		}
	}
	return b.String()
}

// factKeys name the facts: one byte each, so that a recall is a one-token
// lookup even for a byte-level model.
const factKeys = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// recallFact returns the fact whose latest statement is the most recent at
// or before sentence target, or the earliest stated one when all are later.
func recallFact(latest []fact, target int) string {
	best, earliest := -1, -1
	for k, f := range latest {
		if f.sentence < 0 {
			continue
		}
		if f.sentence <= target && (best < 0 || f.sentence > latest[best].sentence) {
			best = k
		}
		if earliest < 0 || f.sentence < latest[earliest].sentence {
			earliest = k
		}
	}
	if best < 0 {
		best = earliest
	}
	return latest[best].text
}

// logUniform draws an integer in [1, hi] with log-uniform density (0 when hi < 1).
func logUniform(r *rng.RNG, hi int) int {
	if hi < 1 {
		return 0
	}
	return min(hi, int(math.Exp(r.Float64()*math.Log(float64(hi)+1))))
}

func digits(r *rng.RNG, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.Intn(10))
	}
	return string(b)
}

// The passkey episode: PasskeyStatement and the five digits early in a
// document, PasskeyQuestion and the same digits later.
const (
	PasskeyStatement = "the pass key is #"
	PasskeyQuestion  = "so the pass key is #"
)

// Facts generates documents of the built-in corpus. Document i depends only
// on (Seed, i), so any document can be regenerated on demand.
type Facts struct {
	Seed uint64
	Opt  FactsOptions
}

// NewFacts validates the options (filling defaults).
func NewFacts(seed uint64, o FactsOptions) (Facts, error) {
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return Facts{}, err
	}
	return Facts{Seed: seed, Opt: o}, nil
}

// Doc returns document i with at least minBytes bytes (and at least
// Opt.DocBytes); a longer request extends the same document.
func (f Facts) Doc(i uint64, minBytes int) string {
	o := f.Opt
	o.DocBytes = max(o.DocBytes, minBytes)
	return factsDoc(rng.New(mixSeed(f.Seed, i)), o)
}

// mixSeed combines a corpus seed and a document index into one generator
// seed (splitmix64 finalizer of their combination).
func mixSeed(seed, i uint64) uint64 {
	z := seed*0x9e3779b97f4a7c15 + i + 0x632be59bd9b4e019
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
