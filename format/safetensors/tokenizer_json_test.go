package safetensors

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// llamaTokenizerJSON follows the layout of Llama 2's tokenizer.json, with a
// tiny vocabulary.
const llamaTokenizerJSON = `{
  "version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [
    {"id": 0, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 1, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 2, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
  ],
  "normalizer": {"type": "Sequence", "normalizers": [
    {"type": "Prepend", "prepend": "▁"},
    {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
  "pre_tokenizer": null,
  "post_processor": {"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
    "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
             {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
    "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
  "decoder": {"type": "Sequence", "decoders": [
    {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
    {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
  "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null,
    "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": true,
    "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "▁": 4, "a": 5, "b": 6, "▁a": 7, "ab": 8, "▁ab": 9},
    "merges": ["▁ a", "a b", "▁a b"]}
}`

var llamaTokenizer = HFTokenizer{
	Kind:   KindSPM,
	Tokens: []string{"<unk>", "<s>", "</s>", "<0x0A>", "▁", "a", "b", "▁a", "ab", "▁ab"},
	Merges: []string{"▁ a", "a b", "▁a b"}, ByteFallback: true, AddSpacePrefix: true,
	Special: map[string]int{"<unk>": 0, "<s>": 1, "</s>": 2}, BOS: 1, EOS: 2, UNK: 0,
}

// gpt2TokenizerJSON follows GPT-2's layout, with merges in the newer pair
// form.
const gpt2TokenizerJSON = `{
  "version": "1.0",
  "added_tokens": [{"id": 6, "content": "<|endoftext|>", "special": true}],
  "normalizer": null,
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
  "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
  "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
  "model": {"type": "BPE", "dropout": null, "unk_token": null, "byte_fallback": false,
    "vocab": {"!": 0, "Ġ": 1, "h": 2, "i": 3, "hi": 4, "Ġhi": 5, "<|endoftext|>": 6},
    "merges": [["h", "i"], ["Ġ", "hi"]]}
}`

var gpt2Tokenizer = HFTokenizer{
	Kind: KindGPT2, Tokens: []string{"!", "Ġ", "h", "i", "hi", "Ġhi", "<|endoftext|>"},
	Merges: []string{"h i", "Ġ hi"}, Special: map[string]int{"<|endoftext|>": 6}, BOS: 6, EOS: 6, UNK: -1,
}

// llama3TokenizerJSON is byte-level with a split pre-tokenizer, a BOS
// template inside a processor sequence, and special tokens added past the
// model vocabulary.
const llama3TokenizerJSON = `{
  "added_tokens": [{"id": 4, "content": "<|begin_of_text|>", "special": true},
                   {"id": 5, "content": "<|end_of_text|>", "special": true},
                   {"id": 6, "content": "<|note|>", "special": false}],
  "normalizer": null,
  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": "\\p{L}+"}, "behavior": "Isolated", "invert": false},
    {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]},
  "post_processor": {"type": "Sequence", "processors": [
    {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
    {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]}]},
  "decoder": {"type": "ByteLevel"},
  "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3}, "merges": ["a b"]}
}`

var llama3Tokenizer = HFTokenizer{
	Kind: KindGPT2, Tokens: []string{"a", "b", "ab", "Ġ", "<|begin_of_text|>", "<|end_of_text|>", "<|note|>"},
	Merges: []string{"a b"}, Special: map[string]int{"<|begin_of_text|>": 4, "<|end_of_text|>": 5}, BOS: 4, EOS: 5, UNK: -1,
}

func TestParseTokenizerJSON(t *testing.T) {
	metaspace := strings.Replace(llamaTokenizerJSON, `"pre_tokenizer": null`,
		`"pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}`, 1)
	metaspace = strings.Replace(metaspace, `{"type": "Prepend", "prepend": "▁"},`, ``, 1)
	never := strings.Replace(metaspace, `"first"`, `"never"`, 1)
	noPrefix := llamaTokenizer
	noPrefix.AddSpacePrefix = false
	for _, tc := range []struct {
		name, json string
		want       HFTokenizer
	}{
		{"llama", llamaTokenizerJSON, llamaTokenizer},
		{"metaspace first", metaspace, llamaTokenizer},
		{"metaspace never", never, noPrefix},
		{"gpt2", gpt2TokenizerJSON, gpt2Tokenizer},
		{"llama3", llama3TokenizerJSON, llama3Tokenizer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTokenizerJSON([]byte(tc.json), "tokenizer.json")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
			// Write and read back.
			path := filepath.Join(t.TempDir(), "tokenizer.json")
			if err := WriteTokenizerJSON(path, got); err != nil {
				t.Fatal(err)
			}
			back, err := ReadTokenizerJSON(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, got) {
				t.Fatalf("read back %+v\nwant      %+v", back, got)
			}
		})
	}
}

func TestTokenizerJSONErrors(t *testing.T) {
	edit := func(src, old, new string) string {
		if !strings.Contains(src, old) {
			panic("test edit does not apply: " + old)
		}
		return strings.Replace(src, old, new, 1)
	}
	L, G := llamaTokenizerJSON, gpt2TokenizerJSON
	cases := []struct {
		name, json, field string
	}{
		{"not JSON", `{"model": `, ""},
		{"no model", `{}`, "model"},
		{"unigram", edit(L, `"type": "BPE"`, `"type": "Unigram"`), "model.type"},
		{"vocab wrong type", edit(L, `"vocab": {`, `"vocab": [], "x": {`), "model.vocab"},
		{"merge of unknown token", edit(L, `"▁a b"]`, `"▁a c"]`), "model.merges[2]"},
		{"merged token missing", edit(L, `"a b",`, `"b a",`), "model.merges[1]"},
		{"merge of three", edit(L, `"a b",`, `"a b c",`), "model.merges[1]"},
		{"merge not a string", edit(L, `"a b",`, `7,`), "model.merges[1]"},
		{"pair with space", edit(G, `["h", "i"]`, `["h ", "i"]`), "model.merges[0]"},
		{"id gap", edit(L, `"▁ab": 9`, `"▁ab": 10`), "model.vocab"},
		{"negative id", edit(L, `"▁ab": 9`, `"▁ab": -1`), "model.vocab"},
		{"shared id", edit(L, `"▁ab": 9`, `"▁ab": 8`), "model.vocab"},
		{"added token id clash", edit(L, `"id": 2, "content": "</s>"`, `"id": 3, "content": "</s>"`), "added_tokens[2]"},
		{"unk not in vocab", edit(L, `"unk_token": "<unk>"`, `"unk_token": "<?>"`), "model.unk_token"},
		{"empty vocab", `{"model": {"type": "BPE", "vocab": {}, "merges": []}}`, "model.vocab"},
		{"unknown kind", `{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}`, "pre_tokenizer"},
		{"mixed kinds", edit(G, `"byte_fallback": false`, `"byte_fallback": true`), "pre_tokenizer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTokenizerJSON([]byte(tc.json), "tokenizer.json")
			if err == nil {
				t.Fatal("no error")
			}
			wantFormatError(t, err, tc.field)
		})
	}
}

// TestTokenizerJSONUnsupportedNormalizers: a normalizer the encoder does
// not reproduce is an error naming it and where it sits, not ignored.
func TestTokenizerJSONUnsupportedNormalizers(t *testing.T) {
	L, G := llamaTokenizerJSON, gpt2TokenizerJSON
	const seq = `"normalizer": {"type": "Sequence", "normalizers": [`
	for _, tc := range []struct {
		name, json, field, want string
	}{
		{"NFKC in a sequence", strings.Replace(L, seq, seq+`{"type": "NFKC"}, `, 1), "normalizer.normalizers[0]", `"NFKC"`},
		{"Lowercase last", strings.Replace(L, `"content": "▁"}]},`, `"content": "▁"}, {"type": "Lowercase"}]},`, 1),
			"normalizer.normalizers[2]", `"Lowercase"`},
		{"NFC alone", strings.Replace(G, `"normalizer": null`, `"normalizer": {"type": "NFC"}`, 1), "normalizer", `"NFC"`},
		{"nested sequence", strings.Replace(G, `"normalizer": null`, `"normalizer": {"type": "Sequence", "normalizers": [{"type": "Sequence", "normalizers": [{"type": "StripAccents"}]}]}`, 1),
			"normalizer.normalizers[0].normalizers[0]", `"StripAccents"`},
		{"other Replace", strings.Replace(L, `"pattern": {"String": " "}, "content": "▁"}]},`, `"pattern": {"String": "  "}, "content": " "}]},`, 1),
			"normalizer.normalizers[1]", "Replace"},
		{"other Prepend", strings.Replace(L, `{"type": "Prepend", "prepend": "▁"}`, `{"type": "Prepend", "prepend": "x"}`, 1),
			"normalizer.normalizers[0]", "Prepend"},
	} {
		if tc.json == L || tc.json == G {
			t.Fatalf("%s: test edit does not apply", tc.name)
		}
		_, err := ParseTokenizerJSON([]byte(tc.json), "tokenizer.json")
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if fe := wantFormatError(t, err, tc.field); !strings.Contains(fe.Error(), tc.want) {
			t.Errorf("%s: %v does not name %s", tc.name, fe, tc.want)
		}
	}
	// The handled ones stay accepted: Llama's Prepend + Replace, and none.
	for _, ok := range []string{L, G} {
		if _, err := ParseTokenizerJSON([]byte(ok), "tokenizer.json"); err != nil {
			t.Error(err)
		}
	}
}

func TestTokenizerJSONTruncations(t *testing.T) {
	for _, src := range []string{llamaTokenizerJSON, gpt2TokenizerJSON} {
		src = strings.TrimSpace(src)
		for n := range len(src) {
			_, err := ParseTokenizerJSON([]byte(src[:n]), "tokenizer.json")
			if err == nil {
				t.Fatalf("truncated to %d bytes: no error", n)
			}
			wantFormatError(t, err, "")
		}
	}
}

func TestWriteTokenizerJSONRejects(t *testing.T) {
	bad := func(edit func(*HFTokenizer)) HFTokenizer {
		t := llamaTokenizer
		t.Tokens = append([]string(nil), t.Tokens...)
		t.Special = map[string]int{"<s>": 1}
		edit(&t)
		return t
	}
	for name, tok := range map[string]HFTokenizer{
		"kind":            bad(func(t *HFTokenizer) { t.Kind = "wordpiece" }),
		"duplicate token": bad(func(t *HFTokenizer) { t.Tokens[6] = "a" }),
		"bad merge":       bad(func(t *HFTokenizer) { t.Merges = []string{"a x"} }),
		"special id":      bad(func(t *HFTokenizer) { t.Special["<s>"] = 2 }),
		"bos range":       bad(func(t *HFTokenizer) { t.BOS = 10 }),
		"invalid utf8":    bad(func(t *HFTokenizer) { t.Tokens[3] = "\xff" }),
	} {
		if _, err := encodeTokenizerJSON(tok); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
}

func TestMergesFromScores(t *testing.T) {
	// By hand: ab (-1) splits a|b; bc (-2) b|c; abc (-3) a|bc and ab|c,
	// ordered by the left token's id (a=0 before ab=3). Ranked by score.
	tokens := []string{"a", "b", "c", "ab", "bc", "abc", "x"}
	scores := []float32{0, 0, 0, -1, -2, -3, -0.5}
	got, err := MergesFromScores(tokens, scores)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a b", "b c", "a bc", "ab c"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("merges %q, want %q", got, want)
	}
	// Ties keep id order; splits are at character, not byte, boundaries.
	got, err = MergesFromScores([]string{"é", "▁", "▁é", "éé"}, []float32{0, 0, -1, -1})
	if err != nil || !reflect.DeepEqual(got, []string{"▁ é", "é é"}) {
		t.Fatalf("merges %q, %v", got, err)
	}
	if _, err := MergesFromScores([]string{"a", " ", " a"}, []float32{0, 0, -1}); err == nil {
		t.Fatal("a merge holding a space was accepted")
	}
	if _, err := MergesFromScores([]string{"a"}, nil); err == nil {
		t.Fatal("mismatched lengths accepted")
	}
}

func FuzzReadTokenizerJSON(f *testing.F) {
	for _, src := range []string{llamaTokenizerJSON, gpt2TokenizerJSON, llama3TokenizerJSON} {
		f.Add([]byte(src))
		f.Add([]byte(src[:len(src)/2]))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := ParseTokenizerJSON(data, "tokenizer.json")
		if err != nil {
			wantFormatError(t, err, "")
			return
		}
		out, err := encodeTokenizerJSON(tok)
		if err != nil {
			t.Fatalf("a tokenizer that parsed does not encode: %v", err)
		}
		back, err := ParseTokenizerJSON(out, "rewritten")
		if err != nil {
			t.Fatalf("rewritten tokenizer does not parse: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(back, tok) {
			t.Fatalf("rewritten tokenizer reads as %+v, was %+v", back, tok)
		}
	})
}
