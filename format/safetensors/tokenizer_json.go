package safetensors

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// tokenizerLimit bounds the size of a tokenizer.json read into memory (the
// largest common ones, Gemma's, are about 35 MB).
const tokenizerLimit = 512 << 20

// Tokenizer kinds.
const (
	KindSPM  = "spm"  // Llama-style SentencePiece BPE: "▁" for spaces, byte fallback
	KindGPT2 = "gpt2" // GPT-2 byte-level BPE
)

// HFTokenizer is the neutral content of a Hugging Face BPE tokenizer.json.
//
// Tokens holds every token by id: the model vocabulary and the added
// tokens. Merges are "left right" strings in rank order. Special maps the
// content of each special added token to its id. BOS, EOS and UNK are -1
// when absent. tokenizer.json does not record BOS and EOS themselves: BOS
// is the leading special token of a TemplateProcessing post-processor, and
// otherwise, like EOS, found by its conventional name (<s> </s>,
// <|begin_of_text|> <|end_of_text|>, <bos> <eos>, <|endoftext|>).
type HFTokenizer struct {
	Kind           string
	Tokens         []string
	Merges         []string
	ByteFallback   bool
	AddSpacePrefix bool
	Special        map[string]int
	BOS, EOS, UNK  int
}

// tokenizerJSON is the part of tokenizer.json read here.
type tokenizerJSON struct {
	AddedTokens   []addedToken `json:"added_tokens"`
	Normalizer    *component   `json:"normalizer"`
	PreTokenizer  *component   `json:"pre_tokenizer"`
	PostProcessor *component   `json:"post_processor"`
	Decoder       *component   `json:"decoder"`
	Model         *struct {
		Type         string            `json:"type"`
		Vocab        map[string]int    `json:"vocab"`
		Merges       []json.RawMessage `json:"merges"`
		ByteFallback bool              `json:"byte_fallback"`
		UnkToken     *string           `json:"unk_token"`
	} `json:"model"`
}

type addedToken struct {
	ID      int    `json:"id"`
	Content string `json:"content"`
	Special bool   `json:"special"`
}

// component is any normalizer, pre-tokenizer, post-processor or decoder;
// only the fields used to classify the tokenizer are decoded.
type component struct {
	Type           string      `json:"type"`
	Normalizers    []component `json:"normalizers"`
	PreTokenizers  []component `json:"pretokenizers"`
	Processors     []component `json:"processors"`
	Decoders       []component `json:"decoders"`
	Prepend        string      `json:"prepend"`
	AddPrefixSpace *bool       `json:"add_prefix_space"`
	PrependScheme  string      `json:"prepend_scheme"`
	Pattern        struct {
		String *string `json:"String"`
	} `json:"pattern"`
	Content json.RawMessage `json:"content"`
	Single  json.RawMessage `json:"single"`
}

// walk calls fn on c and every component nested in it.
func (c *component) walk(fn func(*component)) {
	if c == nil {
		return
	}
	fn(c)
	for _, list := range [][]component{c.Normalizers, c.PreTokenizers, c.Processors, c.Decoders} {
		for i := range list {
			list[i].walk(fn)
		}
	}
}

// isReplace reports whether c replaces the literal from by to.
func (c *component) isReplace(from, to string) bool {
	var content string
	return c.Type == "Replace" && c.Pattern.String != nil && *c.Pattern.String == from &&
		json.Unmarshal(c.Content, &content) == nil && content == to
}

// ReadTokenizerJSON reads a Hugging Face tokenizer.json; see
// ParseTokenizerJSON.
func ReadTokenizerJSON(path string) (HFTokenizer, error) {
	data, err := readJSONFile(path, tokenizerLimit)
	if err != nil {
		return HFTokenizer{}, err
	}
	return ParseTokenizerJSON(data, path)
}

// ParseTokenizerJSON decodes a tokenizer.json held in data; name labels
// errors. Only BPE models are supported. Token ids must be dense: every id
// below the largest one names exactly one token.
func ParseTokenizerJSON(data []byte, name string) (HFTokenizer, error) {
	var j tokenizerJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return HFTokenizer{}, jsonError(err, name, "")
	}
	if j.Model == nil {
		return HFTokenizer{}, &FormatError{name, "model", "missing"}
	}
	if j.Model.Type != "BPE" {
		return HFTokenizer{}, &FormatError{name, "model.type", fmt.Sprintf("%q is not supported (only BPE)", j.Model.Type)}
	}
	t := HFTokenizer{ByteFallback: j.Model.ByteFallback, Special: map[string]int{}, BOS: -1, EOS: -1, UNK: -1}
	ids, err := t.collectTokens(&j, name)
	if err != nil {
		return HFTokenizer{}, err
	}
	if err := t.collectMerges(&j, name); err != nil {
		return HFTokenizer{}, err
	}
	if err := t.classify(&j, name); err != nil {
		return HFTokenizer{}, err
	}
	if u := j.Model.UnkToken; u != nil {
		id, ok := j.Model.Vocab[*u]
		if !ok {
			return HFTokenizer{}, &FormatError{name, "model.unk_token", fmt.Sprintf("%q is not in model.vocab", *u)}
		}
		t.UNK = id
	}
	t.BOS, t.EOS = findBOS(j.PostProcessor, ids), findByName(ids, eosNames()...)
	return t, nil
}

// collectTokens merges model.vocab and added_tokens into t.Tokens and
// t.Special, returning the token -> id map.
func (t *HFTokenizer) collectTokens(j *tokenizerJSON, name string) (map[string]int, error) {
	count := len(j.Model.Vocab) + len(j.AddedTokens)
	if count == 0 {
		return nil, &FormatError{name, "model.vocab", "empty vocabulary"}
	}
	// Ids must be dense, so none can reach count: check before allocating.
	tokens := make([]string, count)
	set := make([]bool, count)
	ids := make(map[string]int, count)
	assign := func(tok string, id int, field string) error {
		switch {
		case id < 0 || id >= count:
			return &FormatError{name, field, fmt.Sprintf("id %d of %q is outside [0, %d), leaving gaps", id, tok, count)}
		case set[id] && tokens[id] != tok:
			return &FormatError{name, field, fmt.Sprintf("id %d names both %q and %q", id, tokens[id], tok)}
		}
		if other, ok := ids[tok]; ok && other != id {
			return &FormatError{name, field, fmt.Sprintf("%q has ids %d and %d", tok, other, id)}
		}
		tokens[id], set[id], ids[tok] = tok, true, id
		return nil
	}
	// In id order, so that the error for a bad file does not depend on map
	// iteration order.
	vocab := make([]string, 0, len(j.Model.Vocab))
	for tok := range j.Model.Vocab {
		vocab = append(vocab, tok)
	}
	sort.Slice(vocab, func(a, b int) bool {
		ia, ib := j.Model.Vocab[vocab[a]], j.Model.Vocab[vocab[b]]
		return ia < ib || (ia == ib && vocab[a] < vocab[b])
	})
	for _, tok := range vocab {
		if err := assign(tok, j.Model.Vocab[tok], "model.vocab"); err != nil {
			return nil, err
		}
	}
	for i, a := range j.AddedTokens {
		field := fmt.Sprintf("added_tokens[%d]", i)
		if err := assign(a.Content, a.ID, field); err != nil {
			return nil, err
		}
		if a.Special {
			t.Special[a.Content] = a.ID
		}
	}
	n := len(ids)
	for id := range n {
		if !set[id] {
			return nil, &FormatError{name, "model.vocab", fmt.Sprintf("no token has id %d, below the largest id", id)}
		}
	}
	t.Tokens = tokens[:n]
	return ids, nil
}

// collectMerges normalises model.merges, given as "a b" strings or [a, b]
// pairs, to "a b" strings, checking that a, b and ab are in model.vocab.
func (t *HFTokenizer) collectMerges(j *tokenizerJSON, name string) error {
	t.Merges = make([]string, 0, len(j.Model.Merges))
	for i, raw := range j.Model.Merges {
		field := fmt.Sprintf("model.merges[%d]", i)
		var s string
		var pair []string
		var a, b string
		switch {
		case json.Unmarshal(raw, &s) == nil:
			parts := strings.Split(s, " ")
			if len(parts) != 2 {
				return &FormatError{name, field, fmt.Sprintf("%q is not two tokens separated by one space", s)}
			}
			a, b = parts[0], parts[1]
		case json.Unmarshal(raw, &pair) == nil && len(pair) == 2:
			a, b = pair[0], pair[1]
			if strings.Contains(a+b, " ") {
				return &FormatError{name, field, fmt.Sprintf("[%q, %q] holds a space, which \"a b\" merges cannot represent", a, b)}
			}
		default:
			return &FormatError{name, field, fmt.Sprintf("%s is neither \"a b\" nor [a, b]", raw)}
		}
		for _, tok := range []string{a, b, a + b} {
			if _, ok := j.Model.Vocab[tok]; !ok {
				return &FormatError{name, field, fmt.Sprintf("%q is not in model.vocab", tok)}
			}
		}
		t.Merges = append(t.Merges, a+" "+b)
	}
	return nil
}
