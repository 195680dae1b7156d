package safetensors

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/lsalign/lsalign/internal/atomicfile"
)

// WriteTokenizerJSON writes t as a minimal tokenizer.json that Hugging Face
// tokenizers loads and ParseTokenizerJSON reads back to t: a BPE model with
// the vocabulary in id order and "a b" merges, the special tokens as added
// tokens, and for KindSPM the Llama pipeline (optional Prepend "▁", Replace
// " " with "▁", a BOS template, the ▁/byte-fallback decoder), for KindGPT2
// the ByteLevel pre-tokenizer, post-processor and decoder.
//
// Hugging Face stores merges, not SentencePiece scores; use MergesFromScores
// to derive them from a scored vocabulary.
func WriteTokenizerJSON(path string, t HFTokenizer) error {
	data, err := encodeTokenizerJSON(t)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, data)
}

// encodeTokenizerJSON validates t and renders its tokenizer.json.
func encodeTokenizerJSON(t HFTokenizer) ([]byte, error) {
	if err := t.check(); err != nil {
		return nil, fmt.Errorf("safetensors: write tokenizer: %w", err)
	}
	type obj = orderedObject
	unk := any(nil)
	if t.UNK >= 0 {
		unk = t.Tokens[t.UNK]
	}
	model := orderedObject{
		{"type", "BPE"}, {"dropout", nil}, {"unk_token", unk}, {"continuing_subword_prefix", nil},
		{"end_of_word_suffix", nil}, {"fuse_unk", t.Kind == KindSPM}, {"byte_fallback", t.ByteFallback},
		{"ignore_merges", false}, {"vocab", vocabObject(t.Tokens)}, {"merges", nonNil(t.Merges)},
	}
	var normalizer, preTokenizer, postProcessor, decoder any
	switch t.Kind {
	case KindSPM:
		replace := func(from, to string) obj {
			return obj{{"type", "Replace"}, {"pattern", obj{{"String", from}}}, {"content", to}}
		}
		norms := []any{replace(" ", "▁")}
		decs := []any{replace("▁", " "), obj{{"type", "ByteFallback"}}, obj{{"type", "Fuse"}}}
		if t.AddSpacePrefix {
			norms = append([]any{obj{{"type", "Prepend"}, {"prepend", "▁"}}}, norms...)
			decs = append(decs, obj{{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}})
		}
		normalizer = obj{{"type", "Sequence"}, {"normalizers", norms}}
		decoder = obj{{"type", "Sequence"}, {"decoders", decs}}
		if t.BOS >= 0 {
			postProcessor = bosTemplate(t.Tokens[t.BOS], t.BOS)
		}
	case KindGPT2:
		byteLevel := obj{{"type", "ByteLevel"}, {"add_prefix_space", t.AddSpacePrefix}, {"trim_offsets", true}, {"use_regex", true}}
		preTokenizer, postProcessor, decoder = byteLevel, byteLevel, byteLevel
		// GPT-2 does not prepend its BOS; record a BOS only when the
		// reader would not find it by name (as Llama 3 does).
		if t.BOS >= 0 && findByName(tokenIDs(t.Tokens), bosNames()...) != t.BOS {
			postProcessor = obj{{"type", "Sequence"}, {"processors", []any{byteLevel, bosTemplate(t.Tokens[t.BOS], t.BOS)}}}
		}
	}
	doc := orderedObject{
		{"version", "1.0"}, {"truncation", nil}, {"padding", nil}, {"added_tokens", addedTokens(t)},
		{"normalizer", normalizer}, {"pre_tokenizer", preTokenizer}, {"post_processor", postProcessor},
		{"decoder", decoder}, {"model", model},
	}
	return marshalIndent(doc)
}

// check validates t for writing.
func (t HFTokenizer) check() error {
	if t.Kind != KindSPM && t.Kind != KindGPT2 {
		return fmt.Errorf("kind %q is not %q or %q", t.Kind, KindSPM, KindGPT2)
	}
	if len(t.Tokens) == 0 {
		return fmt.Errorf("no tokens")
	}
	ids := make(map[string]int, len(t.Tokens))
	for id, tok := range t.Tokens {
		if !utf8.ValidString(tok) {
			return fmt.Errorf("token %d (%q) is not valid UTF-8", id, tok)
		}
		if other, dup := ids[tok]; dup {
			return fmt.Errorf("tokens %d and %d are both %q", other, id, tok)
		}
		ids[tok] = id
	}
	for i, m := range t.Merges {
		parts := strings.Split(m, " ")
		if len(parts) != 2 {
			return fmt.Errorf("merge %d (%q) is not two tokens separated by one space", i, m)
		}
		for _, tok := range []string{parts[0], parts[1], parts[0] + parts[1]} {
			if _, ok := ids[tok]; !ok {
				return fmt.Errorf("merge %d (%q): %q is not a token", i, m, tok)
			}
		}
	}
	for content, id := range t.Special {
		if id < 0 || id >= len(t.Tokens) || t.Tokens[id] != content {
			return fmt.Errorf("special token %q has id %d, which is not that token", content, id)
		}
	}
	for _, f := range []struct {
		name string
		id   int
	}{{"BOS", t.BOS}, {"EOS", t.EOS}, {"UNK", t.UNK}} {
		if f.id < -1 || f.id >= len(t.Tokens) {
			return fmt.Errorf("%s id %d is outside [-1, %d)", f.name, f.id, len(t.Tokens))
		}
	}
	return nil
}

func addedTokens(t HFTokenizer) []any {
	ids := make([]int, 0, len(t.Special))
	for _, id := range t.Special {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = orderedObject{
			{"id", id}, {"content", t.Tokens[id]}, {"single_word", false}, {"lstrip", false},
			{"rstrip", false}, {"normalized", false}, {"special", true},
		}
	}
	return out
}

func tokenIDs(tokens []string) map[string]int {
	ids := make(map[string]int, len(tokens))
	for id, tok := range tokens {
		ids[tok] = id
	}
	return ids
}

// bosTemplate is the Llama post-processor that prepends BOS.
func bosTemplate(bos string, id int) orderedObject {
	special := func(typeID int) any {
		return orderedObject{{"SpecialToken", orderedObject{{"id", bos}, {"type_id", typeID}}}}
	}
	seq := func(name string, typeID int) any {
		return orderedObject{{"Sequence", orderedObject{{"id", name}, {"type_id", typeID}}}}
	}
	return orderedObject{
		{"type", "TemplateProcessing"},
		{"single", []any{special(0), seq("A", 0)}},
		{"pair", []any{special(0), seq("A", 0), special(1), seq("B", 1)}},
		{"special_tokens", orderedObject{{bos, orderedObject{{"id", bos}, {"ids", []int{id}}, {"tokens", []string{bos}}}}}},
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// orderedObject is a JSON object that keeps its keys in the given order.
type orderedObject []struct {
	key   string
	value any
}

func (o orderedObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quote(kv.key))
		b.WriteByte(':')
		v, err := marshalCompact(kv.value)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// vocabObject renders tokens as a {"token": id} object in id order, as
// Hugging Face writes it.
type vocabObject []string

func (v vocabObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for id, tok := range v {
		if id > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s:%d", quote(tok), id)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// MergesFromScores derives Hugging Face merges from a SentencePiece-style
// scored vocabulary, the way transformers' SentencePieceExtractor does: for
// each token, every split into two tokens at a character boundary (in order
// of the left then right token's id) is a merge, and merges are ranked by
// the merged token's score, descending, ties keeping id order. Tokens must
// use "▁", not " ", for spaces (a merge part holding a space is an error).
func MergesFromScores(tokens []string, scores []float32) ([]string, error) {
	if len(tokens) != len(scores) {
		return nil, fmt.Errorf("safetensors: merges from scores: %d tokens but %d scores", len(tokens), len(scores))
	}
	ids := make(map[string]int, len(tokens))
	for id, tok := range tokens {
		if _, dup := ids[tok]; !dup {
			ids[tok] = id
		}
	}
	type merge struct {
		left, right int
		score       float32
	}
	var merges []merge
	for id, tok := range tokens {
		if ids[tok] != id {
			continue // a duplicate token adds no merges of its own
		}
		var local []merge
		for i := range tok {
			if i == 0 {
				continue
			}
			l, lok := ids[tok[:i]]
			r, rok := ids[tok[i:]]
			if lok && rok {
				local = append(local, merge{l, r, scores[id]})
			}
		}
		sort.Slice(local, func(a, b int) bool {
			return local[a].left < local[b].left || (local[a].left == local[b].left && local[a].right < local[b].right)
		})
		merges = append(merges, local...)
	}
	sort.SliceStable(merges, func(a, b int) bool { return merges[a].score > merges[b].score })
	out := make([]string, len(merges))
	for i, m := range merges {
		l, r := tokens[m.left], tokens[m.right]
		if strings.Contains(l+r, " ") {
			return nil, fmt.Errorf("safetensors: merges from scores: %q + %q holds a space; use ▁", l, r)
		}
		out[i] = l + " " + r
	}
	return out, nil
}
