package tokenizer

import "fmt"

// Kind names a tokenization algorithm.
type Kind string

// Tokenizer kinds.
const (
	KindSPM  Kind = "spm"  // score BPE with byte fallback (llama.cpp's LLAMA_VOCAB_TYPE_SPM)
	KindGPT2 Kind = "gpt2" // byte-level BPE with merge ranks (LLAMA_VOCAB_TYPE_BPE)
	KindByte Kind = "byte" // one token per byte, plus BOS and EOS
)

// Token types, numbered as llama.cpp's llama_token_type (GGUF
// tokenizer.ggml.token_type).
const (
	TypeNormal      int32 = 1
	TypeUnknown     int32 = 2
	TypeControl     int32 = 3
	TypeUserDefined int32 = 4
	TypeUnused      int32 = 5
	TypeByte        int32 = 6
)

// Vocab is everything a Tokenizer is built from, in the shape GGUF stores
// it. Scores and Types may be nil (all zero, all normal).
type Vocab struct {
	Kind   Kind
	Tokens []string
	Scores []float32 // spm: the merged token's score decides merge order
	Types  []int32   // Type* constants
	Merges []string  // gpt2: "left right" pairs, highest priority first
	// Pre is the gpt2 pre-tokenizer name (tokenizer.ggml.pre); "" and
	// "gpt-2" select GPT-2's split regex, the only one implemented.
	Pre                string
	BOS, EOS, UNK, PAD int // token ids; -1 = none
	AddBOS, AddEOS     bool
	AddSpacePrefix     bool // spm: prepend " " to text that starts a fragment
}

// ByteVocab is the vocabulary of from-scratch models: ids 0..255 are the
// bytes (written "<0x00>".."<0xFF>"), 256 is BOS "<s>" and 257 EOS "</s>".
func ByteVocab() Vocab {
	v := Vocab{Kind: KindByte, BOS: 256, EOS: 257, UNK: -1, PAD: -1, AddBOS: true}
	v.Tokens = make([]string, 258)
	v.Types = make([]int32, 258)
	for b := range 256 {
		v.Tokens[b] = byteTokenText(byte(b))
		v.Types[b] = TypeByte
	}
	v.Tokens[256], v.Tokens[257] = "<s>", "</s>"
	v.Types[256], v.Types[257] = TypeControl, TypeControl
	return v
}

// VocabFromLlama2C builds an spm vocabulary from the pieces and scores of a
// llama2.c tokenizer.bin, the way llama.cpp's convert-llama2c-to-ggml does:
// ids 0, 1, 2 become <unk>, <s>, </s>; pieces spelled <0xXX> are byte
// tokens; empty pieces are control tokens; spaces (which llama2.c stores in
// place of SentencePiece's "▁") are escaped back to "▁". BOS is added and
// a space prefix is used. New reports any inconsistency (e.g. score count).
func VocabFromLlama2C(pieces []string, scores []float32) Vocab {
	v := Vocab{Kind: KindSPM, BOS: 1, EOS: 2, UNK: 0, PAD: -1, AddBOS: true, AddSpacePrefix: true,
		Scores: scores}
	v.Tokens = make([]string, len(pieces))
	v.Types = make([]int32, len(pieces))
	for i, p := range pieces {
		t := TypeNormal
		switch {
		case i == 0:
			p, t = "<unk>", TypeUnknown
		case i == 1:
			p, t = "<s>", TypeControl
		case i == 2:
			p, t = "</s>", TypeControl
		case p == "":
			t = TypeControl
		default:
			if _, ok := parseByteToken(p); ok {
				t = TypeByte
			}
		}
		v.Tokens[i] = escapeSpaces(p)
		v.Types[i] = t
	}
	return v
}

// byteTokenText spells a byte token the SentencePiece way: <0x0A>.
func byteTokenText(b byte) string { return fmt.Sprintf("<0x%02X>", b) }

// parseByteToken reads "<0xXX>" (either hex case, as sscanf %X accepts).
func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || s[:3] != "<0x" || s[5] != '>' {
		return 0, false
	}
	hi, ok1 := hexDigit(s[3])
	lo, ok2 := hexDigit(s[4])
	return hi<<4 | lo, ok1 && ok2
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
