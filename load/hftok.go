package load

import (
	"fmt"
	"strings"

	"github.com/lsalign/lsalign/format/safetensors"
	"github.com/lsalign/lsalign/tokenizer"
)

// vocabFromHF turns a tokenizer.json into a vocabulary.
//
// Hugging Face stores SentencePiece-style vocabularies as BPE merges, not
// scores; the spm tokenizer merges by score, so each token scores minus the
// rank of the first merge that produces it (earlier merges win, as in
// Hugging Face's BPE), and tokens no merge produces score below all of
// them. Special added tokens are control tokens, <0xXX> tokens byte tokens
// when byte fallback is on. A Llama-style tokenizer adds its BOS.
func vocabFromHF(t safetensors.HFTokenizer) tokenizer.Vocab {
	n := len(t.Tokens)
	v := tokenizer.Vocab{Tokens: t.Tokens, Types: make([]int32, n), BOS: t.BOS, EOS: t.EOS, UNK: t.UNK, PAD: -1,
		AddSpacePrefix: t.AddSpacePrefix}
	for i := range v.Types {
		v.Types[i] = tokenizer.TypeNormal
	}
	for _, id := range t.Special {
		v.Types[id] = tokenizer.TypeControl
	}
	if t.UNK >= 0 {
		v.Types[t.UNK] = tokenizer.TypeUnknown
	}
	switch t.Kind {
	case safetensors.KindGPT2:
		v.Kind, v.Merges, v.Pre = tokenizer.KindGPT2, t.Merges, "gpt-2"
	default:
		v.Kind, v.AddBOS = tokenizer.KindSPM, t.BOS >= 0
		ids := make(map[string]int, n)
		for id, tok := range t.Tokens {
			ids[tok] = id
		}
		unreached := float32(-(len(t.Merges) + 1))
		v.Scores = make([]float32, n)
		for i := range v.Scores {
			v.Scores[i] = unreached
		}
		for rank := len(t.Merges) - 1; rank >= 0; rank-- { // the first rank wins
			if id, ok := ids[strings.Replace(t.Merges[rank], " ", "", 1)]; ok {
				v.Scores[id] = float32(-rank)
			}
		}
		if t.ByteFallback {
			for id, tok := range t.Tokens {
				if v.Types[id] == tokenizer.TypeNormal && isByteToken(tok) {
					v.Types[id] = tokenizer.TypeByte
				}
			}
		}
	}
	return v
}

func isByteToken(s string) bool {
	const hex = "0123456789ABCDEFabcdef"
	return len(s) == 6 && s[:3] == "<0x" && s[5] == '>' && strings.IndexByte(hex, s[3]) >= 0 && strings.IndexByte(hex, s[4]) >= 0
}

// hfFromVocab is the inverse of vocabFromHF: merges are derived from the
// scores (safetensors.MergesFromScores), keeping only merges into normal
// tokens. Byte vocabularies have no tokenizer.json form.
func hfFromVocab(v tokenizer.Vocab) (safetensors.HFTokenizer, error) {
	t := safetensors.HFTokenizer{Tokens: v.Tokens, Special: map[string]int{}, BOS: v.BOS, EOS: v.EOS, UNK: v.UNK,
		AddSpacePrefix: v.AddSpacePrefix}
	typeOf := func(id int) int32 {
		if v.Types == nil {
			return tokenizer.TypeNormal
		}
		return v.Types[id]
	}
	for id, tok := range v.Tokens {
		if ty := typeOf(id); (ty == tokenizer.TypeControl || ty == tokenizer.TypeUnknown) && tok != "" {
			t.Special[tok] = id
		}
	}
	switch v.Kind {
	case tokenizer.KindGPT2:
		t.Kind, t.Merges = safetensors.KindGPT2, v.Merges
	case tokenizer.KindSPM:
		t.Kind = safetensors.KindSPM
		scores := v.Scores
		if scores == nil {
			scores = make([]float32, len(v.Tokens))
		}
		merges, err := safetensors.MergesFromScores(v.Tokens, scores)
		if err != nil {
			return t, err
		}
		ids := make(map[string]int, len(v.Tokens))
		for id, tok := range v.Tokens {
			if _, dup := ids[tok]; !dup {
				ids[tok] = id
			}
		}
		for _, m := range merges {
			ty := typeOf(ids[strings.Replace(m, " ", "", 1)])
			if ty == tokenizer.TypeNormal || ty == tokenizer.TypeUserDefined {
				t.Merges = append(t.Merges, m)
			}
		}
		bytes := 0
		for id, tok := range v.Tokens {
			if typeOf(id) == tokenizer.TypeByte || (v.Types == nil && isByteToken(tok)) {
				bytes++
			}
		}
		t.ByteFallback = bytes >= 256
	default:
		return t, fmt.Errorf("a %q vocabulary has no tokenizer.json form", v.Kind)
	}
	return t, nil
}
