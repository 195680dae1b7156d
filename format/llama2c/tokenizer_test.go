package llama2c

import (
	"bytes"
	"encoding/binary"
	"math"
	"runtime"
	"testing"
)

var tinyPieces = []string{"<unk>", "\n<s>\n", "", "\xff\xfe", " the", "é"}
var tinyScores = []float32{0, 0, -1.5, 0, -2, -1e30}

func tokenizerBytes(t testing.TB) []byte {
	return encode(t, func(b *bytes.Buffer) error { return WriteTokenizer(b, tinyPieces, tinyScores) })
}

func readTok(b []byte, vocab int) ([]string, []float32, int, error) {
	return ReadTokenizer(bytes.NewReader(b), int64(len(b)), "tok.bin", vocab)
}

func TestTokenizerRoundTrip(t *testing.T) {
	b := tokenizerBytes(t)
	// By hand: 4 + 6 records of 8 bytes + the piece bytes.
	if want := 4 + 6*8 + 5 + 5 + 0 + 2 + 4 + 2; len(b) != want {
		t.Fatalf("tokenizer file has %d bytes, want %d", len(b), want)
	}
	pieces, scores, maxLen, err := readTok(b, len(tinyPieces))
	if err != nil {
		t.Fatal(err)
	}
	if maxLen != 5 {
		t.Fatalf("maxLen = %d, want 5", maxLen)
	}
	for i := range tinyPieces {
		if pieces[i] != tinyPieces[i] || scores[i] != tinyScores[i] {
			t.Fatalf("token %d = %q %v, want %q %v", i, pieces[i], scores[i], tinyPieces[i], tinyScores[i])
		}
	}
}

func TestTokenizerTruncations(t *testing.T) {
	b := tokenizerBytes(t)
	for n := range len(b) {
		_, _, _, err := readTok(b[:n], len(tinyPieces))
		if err == nil {
			t.Fatalf("truncated to %d of %d bytes: no error", n, len(b))
		}
		wantFormatError(t, err, "")
	}
}

func TestTokenizerCorrupt(t *testing.T) {
	good := tokenizerBytes(t)
	patch := func(off int, v uint32) []byte {
		b := append([]byte(nil), good...)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	cases := []struct {
		name  string
		file  []byte
		vocab int
		field string
	}{
		{"negative max length", patch(0, uint32(0xffffffff)), 6, "max_token_length"},
		{"piece longer than max", patch(0, 4), 6, "token[0].len"},
		{"negative piece length", patch(8, 0xfffffff0), 6, "token[0].len"},
		{"piece past end", patch(len(good)-2-4, 5), 6, "token[5].len"},
		{"nan score", patch(4, math.Float32bits(float32(math.NaN()))), 6, "token[0].score"},
		{"inf score", patch(4+8+5, math.Float32bits(float32(math.Inf(-1)))), 6, "token[1].score"},
		{"trailing bytes", append(append([]byte(nil), good...), 1), 6, "file size"},
		{"vocab too small", good, 5, "file size"},
		{"zero vocab", good, 0, "vocab_size"},
		{"absurd vocab", good, 1 << 40, "file size"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, _, err := readTok(tc.file, tc.vocab)
			runtime.ReadMemStats(&after)
			wantFormatError(t, err, tc.field)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
				t.Fatalf("rejecting the file allocated %d bytes", grew)
			}
		})
	}
}

func TestWriteTokenizerRejects(t *testing.T) {
	if err := WriteTokenizer(&bytes.Buffer{}, []string{"a"}, nil); err == nil {
		t.Error("mismatched lengths accepted")
	}
	if err := WriteTokenizer(&bytes.Buffer{}, []string{"a"}, []float32{float32(math.NaN())}); err == nil {
		t.Error("NaN score accepted")
	}
}
