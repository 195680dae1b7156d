package safetensors

import (
	"encoding/json"
	"fmt"
)

// classify tells SentencePiece-style BPE from GPT-2 byte-level BPE and
// whether a space is prepended to the input.
func (t *HFTokenizer) classify(j *tokenizerJSON, name string) error {
	if err := checkNormalizer(j.Normalizer, name, "normalizer"); err != nil {
		return err
	}
	var byteLevel, metaspace *component
	find := func(c *component) {
		switch c.Type {
		case "ByteLevel":
			byteLevel = c
		case "Metaspace":
			metaspace = c
		}
	}
	j.PreTokenizer.walk(find)
	byteLevelPre := byteLevel
	j.Decoder.walk(find)
	spm := metaspace != nil || j.Model.ByteFallback
	prependsSpace := false
	j.Normalizer.walk(func(c *component) {
		spm = spm || c.isReplace(" ", "▁")
		if c.Type == "Prepend" && c.Prepend == "▁" {
			spm, prependsSpace = true, true
		}
	})
	j.Decoder.walk(func(c *component) { spm = spm || c.isReplace("▁", " ") })
	switch {
	case byteLevel != nil && spm:
		return &FormatError{name, "pre_tokenizer", "mixes byte-level (GPT-2) and SentencePiece (▁, byte fallback) components"}
	case byteLevel != nil:
		t.Kind = KindGPT2
		t.AddSpacePrefix = byteLevelPre != nil && byteLevelPre.AddPrefixSpace != nil && *byteLevelPre.AddPrefixSpace
	case spm:
		t.Kind = KindSPM
		t.AddSpacePrefix = prependsSpace
		if metaspace != nil {
			switch metaspace.PrependScheme {
			case "first", "always":
				t.AddSpacePrefix = true
			case "never":
			default: // older files: add_prefix_space, true by default
				t.AddSpacePrefix = t.AddSpacePrefix || metaspace.AddPrefixSpace == nil || *metaspace.AddPrefixSpace
			}
		}
	default:
		return &FormatError{name, "pre_tokenizer", "neither byte-level (GPT-2) nor SentencePiece (Metaspace, ▁ replacement, byte fallback) BPE"}
	}
	return nil
}

// checkNormalizer accepts only the normalizers the tokenizer reproduces:
// a Sequence of them, Prepend "▁" (AddSpacePrefix) and Replace " " with
// "▁" (SentencePiece's spaces). Any other (NFC, NFKC, Lowercase, Strip,
// ...) would change the input in a way the encoder does not, and the
// token ids would silently differ from the model's training.
func checkNormalizer(c *component, name, field string) error {
	if c == nil {
		return nil
	}
	switch {
	case c.Type == "Sequence":
		for i := range c.Normalizers {
			if err := checkNormalizer(&c.Normalizers[i], name, fmt.Sprintf("%s.normalizers[%d]", field, i)); err != nil {
				return err
			}
		}
		return nil
	case c.Type == "Prepend" && c.Prepend == "▁", c.isReplace(" ", "▁"):
		return nil
	case c.Type == "Prepend", c.Type == "Replace":
		return &FormatError{name, field, fmt.Sprintf("%s normalizer is supported only as Prepend \"▁\" or Replace \" \" with \"▁\"", c.Type)}
	}
	return &FormatError{name, field, fmt.Sprintf("normalizer type %q is not supported (only Sequence, Prepend \"▁\" and Replace \" \" with \"▁\")", c.Type)}
}

// findBOS returns the first special token of a TemplateProcessing "single"
// template, else a token with a conventional BOS name, else -1.
func findBOS(post *component, ids map[string]int) int {
	bos := -1
	post.walk(func(c *component) {
		if c.Type != "TemplateProcessing" || bos >= 0 {
			return
		}
		var single []struct {
			SpecialToken *struct {
				ID string `json:"id"`
			} `json:"SpecialToken"`
		}
		if json.Unmarshal(c.Single, &single) == nil && len(single) > 0 && single[0].SpecialToken != nil {
			if id, ok := ids[single[0].SpecialToken.ID]; ok {
				bos = id
			}
		}
	})
	if bos >= 0 {
		return bos
	}
	return findByName(ids, bosNames()...)
}

// Conventional BOS and EOS names, in order of preference.
func bosNames() []string { return []string{"<s>", "<|begin_of_text|>", "<bos>", "<|endoftext|>"} }
func eosNames() []string { return []string{"</s>", "<|end_of_text|>", "<eos>", "<|endoftext|>"} }

func findByName(ids map[string]int, names ...string) int {
	for _, n := range names {
		if id, ok := ids[n]; ok {
			return id
		}
	}
	return -1
}
