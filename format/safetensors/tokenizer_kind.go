package safetensors

import "encoding/json"

// classify tells SentencePiece-style BPE from GPT-2 byte-level BPE and
// whether a space is prepended to the input.
func (t *HFTokenizer) classify(j *tokenizerJSON, name string) error {
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
