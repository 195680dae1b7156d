package tokenizer

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/format/gguf"
	"github.com/lsalign/lsalign/internal/testutil"
)

// llama2cPieces is a tiny tokenizer.bin vocabulary as llama2.c exports it:
// <s> and </s> wrapped in newlines, spaces where SentencePiece has "▁".
func llama2cPieces() ([]string, []float32) {
	pieces := []string{"<unk>", "\n<s>\n", "\n</s>\n"}
	scores := []float32{0, 0, 0}
	for b := range 256 {
		pieces = append(pieces, byteTokenText(byte(b)))
		scores = append(scores, 0)
	}
	for _, p := range []struct {
		s     string
		score float32
	}{{" ", -1}, {"h", -2}, {"i", -3}, {"hi", -4}, {" h", -5}, {" hi", -6}, {"", -7}, {"<0x0g>", -8}} {
		pieces = append(pieces, p.s)
		scores = append(scores, p.score)
	}
	return pieces, scores
}

func TestVocabFromLlama2C(t *testing.T) {
	pieces, scores := llama2cPieces()
	v := VocabFromLlama2C(pieces, scores)
	if v.Kind != KindSPM || v.BOS != 1 || v.EOS != 2 || v.UNK != 0 || !v.AddBOS || v.AddEOS || !v.AddSpacePrefix {
		t.Fatalf("vocab header %+v", v)
	}
	wantTok := map[int]string{0: "<unk>", 1: "<s>", 2: "</s>", 3: "<0x00>", 258: "<0xFF>", 259: "▁", 263: "▁h", 264: "▁hi", 265: "", 266: "<0x0g>"}
	wantType := map[int]int32{0: TypeUnknown, 1: TypeControl, 2: TypeControl, 3: TypeByte, 258: TypeByte, 259: TypeNormal, 265: TypeControl, 266: TypeNormal}
	for i, s := range wantTok {
		if v.Tokens[i] != s {
			t.Errorf("token %d = %q, want %q", i, v.Tokens[i], s)
		}
	}
	for i, ty := range wantType {
		if v.Types[i] != ty {
			t.Errorf("type of token %d = %d, want %d", i, v.Types[i], ty)
		}
	}
	tok := mustNew(t, v)
	// "hi" -> "▁hi": ▁h (-5) and hi (-4) compete, hi wins, then ▁ + hi.
	if got, want := encode(t, tok, "hi", true), []int32{1, 264}; !slices.Equal(got, want) {
		t.Errorf("Encode(hi) = %v, want %v", got, want)
	}
	if got, want := encode(t, tok, "hi!", false), []int32{264, 3 + '!'}; !slices.Equal(got, want) {
		t.Errorf("Encode(hi!) = %v, want %v", got, want)
	}
	if s := tok.Decode([]int32{1, 259, 262, 3 + '!', 2}); s != "hi!" {
		t.Errorf("Decode = %q", s)
	}
	// llama2.c strips the space of the first piece after BOS only.
	if p := string(tok.Piece(1, 264)); p != "hi" {
		t.Errorf("Piece(BOS, ▁hi) = %q", p)
	}
	if p := string(tok.Piece(262, 264)); p != " hi" {
		t.Errorf("Piece(hi, ▁hi) = %q", p)
	}
	if p := tok.Piece(262, 3+0x0a); string(p) != "\n" {
		t.Errorf("Piece(<0x0A>) = %q", p)
	}
	if p := tok.Piece(-1, 99999); p != nil {
		t.Errorf("Piece(out of range) = %q", p)
	}
	if _, err := New(VocabFromLlama2C(pieces, scores[:5])); err == nil {
		t.Error("New accepted 5 scores for 267 pieces")
	}
}

// readTokenizerBin parses llama2.c's tokenizer.bin: uint32 max length, then
// per token a float32 score, an int32 length and the bytes.
func readTokenizerBin(t *testing.T, path string, n int) ([]string, []float32) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pieces []string
	var scores []float32
	off := 4
	for range n {
		if off+8 > len(b) {
			t.Fatalf("%s: truncated", path)
		}
		scores = append(scores, math.Float32frombits(binary.LittleEndian.Uint32(b[off:])))
		l := int(binary.LittleEndian.Uint32(b[off+4:]))
		off += 8
		if off+l > len(b) {
			t.Fatalf("%s: truncated", path)
		}
		pieces = append(pieces, string(b[off:off+l]))
		off += l
	}
	return pieces, scores
}

// TestLlama2CMatchesConverter checks VocabFromLlama2C on tok512.bin against
// the vocabulary llama.cpp's convert-llama2c-to-ggml embedded in
// stories260K.gguf from the same file.
func TestLlama2CMatchesConverter(t *testing.T) {
	dir := testutil.SharedDir(t, "models/stories260K")
	pieces, scores := readTokenizerBin(t, filepath.Join(dir, "tok512.bin"), 512)
	got := VocabFromLlama2C(pieces, scores)
	f, err := gguf.Open(filepath.Join(dir, "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, err := VocabFromGGUF(f.Value)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Tokens, want.Tokens) || !reflect.DeepEqual(got.Scores, want.Scores) || !reflect.DeepEqual(got.Types, want.Types) {
		t.Fatal("tok512.bin converted differently from llama.cpp's converter")
	}
	if got.BOS != want.BOS || got.EOS != want.EOS || got.UNK != want.UNK || got.AddBOS != want.AddBOS || got.AddSpacePrefix != want.AddSpacePrefix {
		t.Errorf("specials: got %+v want %+v", got, want)
	}
	tok := mustNew(t, got)
	text := "Once upon a time, there was a little girl named Lily. She liked to play outside!"
	ids := encode(t, tok, text, true)
	if ids[0] != 1 || tok.Decode(ids) != text {
		t.Errorf("round trip of %q: %v -> %q", text, ids, tok.Decode(ids))
	}
}

func TestByteVocab(t *testing.T) {
	tok := mustNew(t, ByteVocab())
	if tok.Size() != 258 || tok.BOS() != 256 || tok.EOS() != 257 || tok.Kind() != KindByte {
		t.Fatalf("size %d BOS %d EOS %d kind %s", tok.Size(), tok.BOS(), tok.EOS(), tok.Kind())
	}
	text := "hé\x00\xff"
	got := encode(t, tok, text, true)
	if want := []int32{256, 'h', 0xc3, 0xa9, 0, 0xff}; !slices.Equal(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
	if s := tok.Decode(append(got, 257)); s != text {
		t.Errorf("Decode = %q", s)
	}
	if p := tok.Piece(256, ' '); string(p) != " " {
		t.Errorf("Piece(BOS, space) = %q: byte vocabularies keep spaces", p)
	}
}

func TestNewRejects(t *testing.T) {
	mutate := map[string]func(v *Vocab){
		"no tokens":        func(v *Vocab) { v.Tokens, v.Scores, v.Types = nil, nil, nil },
		"scores length":    func(v *Vocab) { v.Scores = v.Scores[:3] },
		"types length":     func(v *Vocab) { v.Types = v.Types[1:] },
		"NaN score":        func(v *Vocab) { v.Scores[5] = float32(math.NaN()) },
		"bad type":         func(v *Vocab) { v.Types[5] = 9 },
		"bad byte token":   func(v *Vocab) { v.Tokens[3] = "<0xZZ>" },
		"BOS out of range": func(v *Vocab) { v.BOS = len(v.Tokens) },
		"UNK below -1":     func(v *Vocab) { v.UNK = -2 },
		"AddBOS, no BOS":   func(v *Vocab) { v.BOS = -1 },
		"AddEOS, no EOS":   func(v *Vocab) { v.EOS, v.AddEOS = -1, true },
		"duplicate":        func(v *Vocab) { v.Tokens[len(v.Tokens)-2] = "a" },
		"unknown kind":     func(v *Vocab) { v.Kind = "wordpiece" },
		"byte kind":        func(v *Vocab) { v.Kind = KindByte; v.Tokens[0] = "x" },
	}
	for name, m := range mutate {
		v := tinySPM()
		m(&v)
		if _, err := New(v); err == nil {
			t.Errorf("%s: New accepted it", name)
		} else if !strings.HasPrefix(err.Error(), "tokenizer: ") {
			t.Errorf("%s: error %q", name, err)
		}
	}
}

// metaMap turns GGUFMetadata output into a getter.
func metaMap(keys []string, values []any) func(string) (any, bool) {
	m := make(map[string]any, len(keys))
	for i, k := range keys {
		m[k] = values[i]
	}
	return func(k string) (any, bool) { v, ok := m[k]; return v, ok }
}

func TestGGUFMetadataRoundTrip(t *testing.T) {
	for name, v := range map[string]Vocab{"spm": tinySPM(), "gpt2": tinyGPT2(), "byte": ByteVocab()} {
		keys, values := v.GGUFMetadata()
		// Through a real GGUF file, so that the Go types are the writer's.
		kvs := make([]gguf.KV, len(keys))
		for i := range keys {
			kvs[i] = gguf.KV{Key: keys[i], Value: values[i]}
		}
		path := filepath.Join(t.TempDir(), name+".gguf")
		if err := gguf.WriteFile(path, kvs, nil); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		f, err := gguf.Open(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := VocabFromGGUF(f.Value)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if v.Kind == KindGPT2 && v.Pre == "" {
			v.Pre = "gpt-2"
		}
		if v.Kind == KindSPM {
			v.Pre = "default"
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("%s: read back\n%+v\nwant\n%+v", name, got, v)
		}
	}
}

func TestVocabFromGGUFErrors(t *testing.T) {
	base := func() map[string]any {
		keys, values := tinySPM().GGUFMetadata()
		m := map[string]any{}
		for i, k := range keys {
			m[k] = values[i]
		}
		return m
	}
	cases := []struct {
		key  string
		val  any // nil: delete the key
		want string
	}{
		{"tokenizer.ggml.model", nil, "tokenizer.ggml.model: missing"},
		{"tokenizer.ggml.model", "bert", `model "bert" is not supported`},
		{"tokenizer.ggml.model", uint32(1), "tokenizer.ggml.model: is uint32, want string"},
		{"tokenizer.ggml.tokens", nil, "tokenizer.ggml.tokens: missing"},
		{"tokenizer.ggml.tokens", []int32{1}, "tokenizer.ggml.tokens: is []int32"},
		{"tokenizer.ggml.scores", []string{"x"}, "tokenizer.ggml.scores: is []string"},
		{"tokenizer.ggml.scores", []float32{1}, "tokenizer.ggml.scores: 1 scores"},
		{"tokenizer.ggml.token_type", []float32{1}, "tokenizer.ggml.token_type: is []float32"},
		{"tokenizer.ggml.token_type", []int32{1}, "tokenizer.ggml.token_type: 1 entries"},
		{"tokenizer.ggml.bos_token_id", "1", "tokenizer.ggml.bos_token_id: is string"},
		{"tokenizer.ggml.add_bos_token", uint8(1), "tokenizer.ggml.add_bos_token: is uint8, want bool"},
		{"tokenizer.ggml.pre", 3.0, "tokenizer.ggml.pre: is float64"},
	}
	for _, c := range cases {
		m := base()
		if c.val == nil {
			delete(m, c.key)
		} else {
			m[c.key] = c.val
		}
		_, err := VocabFromGGUF(func(k string) (any, bool) { v, ok := m[k]; return v, ok })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s = %v: error %v, want %q", c.key, c.val, err, c.want)
		}
	}
	// gpt2 needs merges.
	keys, values := tinyGPT2().GGUFMetadata()
	m := metaMap(keys, values)
	_, err := VocabFromGGUF(func(k string) (any, bool) {
		if k == "tokenizer.ggml.merges" {
			return nil, false
		}
		return m(k)
	})
	if err == nil || !strings.Contains(err.Error(), "merges: missing") {
		t.Errorf("gpt2 without merges: %v", err)
	}
	// "None" ids, and out-of-range ids keeping llama.cpp's defaults.
	mm := base()
	mm["tokenizer.ggml.unknown_token_id"] = uint32(0xFFFFFFFF)
	mm["tokenizer.ggml.bos_token_id"] = uint32(1 << 20)
	mm["tokenizer.ggml.eos_token_id"] = int32(-1)
	v, err := VocabFromGGUF(func(k string) (any, bool) { v, ok := mm[k]; return v, ok })
	if err != nil || v.UNK != -1 || v.BOS != 1 || v.EOS != -1 {
		t.Errorf("ids: UNK %d BOS %d EOS %d, %v; want -1, 1 (default), -1", v.UNK, v.BOS, v.EOS, err)
	}
}

// TestByteVocabAsSPMTokenizesAlike: the llama.cpp form of a byte vocabulary
// (what GGUF files hold) gives the byte tokenizer's ids for valid UTF-8
// without a literal U+2581, and reads back as ByteVocab.
func TestByteVocabAsSPMTokenizesAlike(t *testing.T) {
	byteTok, err := New(ByteVocab())
	if err != nil {
		t.Fatal(err)
	}
	spmTok, err := New(byteVocabAsSPM(ByteVocab()))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	texts := []string{"", " ", "  a  b ", "hello world\n", "héllo wörld ✓", "<0x41>", "\x00\x7f"}
	alphabet := []rune(" \n\tab<>0x\x00\x7fé✓😀Ϳ")
	for range 300 {
		rs := make([]rune, r.IntN(40))
		for i := range rs {
			rs[i] = alphabet[r.IntN(len(alphabet))]
		}
		texts = append(texts, string(rs))
	}
	for _, text := range texts {
		want, err1 := byteTok.Encode(text, true)
		got, err2 := spmTok.Encode(text, true)
		if err1 != nil || err2 != nil {
			t.Fatalf("%q: %v / %v", text, err1, err2)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%q: llama form gives %v, byte vocabulary %v", text, got, want)
		}
	}
	keys, values := ByteVocab().GGUFMetadata()
	meta := map[string]any{}
	for i, k := range keys {
		meta[k] = values[i]
	}
	if meta[keyModel] != "llama" {
		t.Fatalf("byte vocabulary written as model %v, want llama (what llama.cpp reads)", meta[keyModel])
	}
	back, err := VocabFromGGUF(func(k string) (any, bool) { v, ok := meta[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if back.Kind != KindByte || !slices.Equal(back.Tokens, ByteVocab().Tokens) {
		t.Fatalf("read back as %s vocabulary", back.Kind)
	}
}
