package llama2c

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
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

// TestReadAllTokens reads a tokenizer.bin without being told its size: a
// file cut at a record boundary is a valid shorter vocabulary, a cut
// anywhere else or a corrupt record is an error, as with ReadTokenizer.
func TestReadAllTokens(t *testing.T) {
	b := tokenizerBytes(t)
	path := filepath.Join(t.TempDir(), "tok.bin")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	pieces, scores, maxLen, err := OpenTokenizerAll(path)
	if err != nil || maxLen != 5 || !slices.Equal(pieces, tinyPieces) || !slices.Equal(scores, tinyScores) {
		t.Fatalf("OpenTokenizerAll = %q %v %d, %v", pieces, scores, maxLen, err)
	}
	if _, _, _, err := OpenTokenizerAll(filepath.Join(t.TempDir(), "absent.bin")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	// Record boundaries by hand: 4 bytes of max_token_length, then 8 bytes
	// and the piece per token.
	boundary := map[int]int{}
	off := 4
	for i, p := range tinyPieces {
		off += 8 + len(p)
		boundary[off] = i + 1
	}
	for n := range len(b) + 1 {
		pieces, _, _, err := readTokenizer(bytes.NewReader(b[:n]), int64(n), "tok.bin", allTokens)
		if k, ok := boundary[n]; ok {
			if err != nil || !slices.Equal(pieces, tinyPieces[:k]) {
				t.Fatalf("cut after token %d (%d bytes): %q, %v", k, n, pieces, err)
			}
			continue
		}
		if err == nil {
			t.Fatalf("cut to %d bytes: read %q", n, pieces)
		}
		wantFormatError(t, err, "")
	}
	good := tokenizerBytes(t)
	patch := func(off int, v uint32) []byte {
		b := append([]byte(nil), good...)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	for _, tc := range []struct {
		name, field string
		file        []byte
	}{
		{"negative max length", "max_token_length", patch(0, 0xffffffff)},
		{"piece longer than max", "token[0].len", patch(0, 4)},
		{"negative piece length", "token[0].len", patch(8, 0xfffffff0)},
		{"nan score", "token[0].score", patch(4, math.Float32bits(float32(math.NaN())))},
		{"trailing byte", "token[6]", append(append([]byte(nil), good...), 1)},
		{"no tokens", "file size", good[:4]},
	} {
		_, _, _, err := readTokenizer(bytes.NewReader(tc.file), int64(len(tc.file)), "tok.bin", allTokens)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		wantFormatError(t, err, tc.field)
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
