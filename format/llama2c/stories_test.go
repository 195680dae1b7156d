package llama2c

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lsalign/lsalign/internal/testutil"
)

// stories260K's header as published with the model (karpathy/tinyllamas).
var stories260K = Config{Dim: 64, HiddenDim: 172, NLayers: 5, NHeads: 8, NKVHeads: 4, VocabSize: 512, SeqLen: 512, SharedClassifier: true}

func TestStories260K(t *testing.T) {
	dir := testutil.SharedDir(t, "models/stories260K")
	c0, w0, err := Open(filepath.Join(dir, "stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	c1, w1, err := Open(filepath.Join(dir, "stories260K.v1.bin"))
	if err != nil {
		t.Fatal(err)
	}
	want0, want1 := stories260K, stories260K
	want1.Version = 1
	if c0 != want0 || c1 != want1 {
		t.Fatalf("configs %+v and %+v, want %+v (versions 0 and 1)", c0, c1, stories260K)
	}
	equalWeights(t, stories260K, w1, w0)

	// Writing the weights back reproduces the published files: v1 byte for
	// byte; v0 too except the RoPE tables, which we recompute and so may
	// differ from PyTorch's by float32 rounding.
	v1, err := os.ReadFile(filepath.Join(dir, "stories260K.v1.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if got := encode(t, func(b *bytes.Buffer) error { return Write(b, c0, w0) }); !bytes.Equal(got, v1) {
		t.Fatalf("Write does not reproduce stories260K.v1.bin (first difference at byte %d)", firstDiff(got, v1))
	}
	v0, err := os.ReadFile(filepath.Join(dir, "stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	got := encode(t, func(b *bytes.Buffer) error { return WriteLegacy(b, c0, w0) })
	if len(got) != len(v0) {
		t.Fatalf("WriteLegacy wrote %d bytes, the file has %d", len(got), len(v0))
	}
	ropeBytes := 2 * 4 * 512 * 4 // two tables [seq_len, head_size/2]
	ropeStart := len(v0) - ropeBytes
	if i := firstDiff(got[:ropeStart], v0[:ropeStart]); i >= 0 {
		t.Fatalf("WriteLegacy differs from stories260K.bin at byte %d, before the RoPE tables", i)
	}
	for off := ropeStart; off < len(v0); off += 4 {
		g := math.Float32frombits(binary.LittleEndian.Uint32(got[off:]))
		w := math.Float32frombits(binary.LittleEndian.Uint32(v0[off:]))
		if math.Abs(float64(g-w)) > 1e-5 {
			t.Fatalf("RoPE table value at byte %d = %v, the file has %v", off, g, w)
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

func TestTok512(t *testing.T) {
	dir := testutil.SharedDir(t, "models/stories260K")
	path := filepath.Join(dir, "tok512.bin")
	pieces, scores, maxLen, err := OpenTokenizer(path, 512)
	if err != nil {
		t.Fatal(err)
	}
	// llama2.c's tokenizer.py export: <unk>, then BOS/EOS decorated with
	// newlines, then the 256 byte-fallback tokens <0x00>..<0xFF>, then the
	// merged pieces with scores falling by rank.
	if pieces[0] != "<unk>" || pieces[1] != "\n<s>\n" || pieces[2] != "\n</s>\n" {
		t.Fatalf("ids 0..2 = %q %q %q, want <unk>, \\n<s>\\n, \\n</s>\\n", pieces[0], pieces[1], pieces[2])
	}
	for b := range 256 {
		if want := fmt.Sprintf("<0x%02X>", b); pieces[3+b] != want {
			t.Fatalf("piece %d = %q, want %q", 3+b, pieces[3+b], want)
		}
	}
	longest := 0
	for i, p := range pieces {
		longest = max(longest, len(p))
		if i > 259 && scores[i] > scores[i-1] {
			t.Fatalf("score of merged piece %d (%v) exceeds that of %d (%v)", i, scores[i], i-1, scores[i-1])
		}
	}
	if maxLen != longest {
		t.Fatalf("max_token_length %d, longest piece %d", maxLen, longest)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := encode(t, func(b *bytes.Buffer) error { return WriteTokenizer(b, pieces, scores) }); !bytes.Equal(got, raw) {
		t.Fatalf("WriteTokenizer does not reproduce tok512.bin (first difference at byte %d)", firstDiff(got, raw))
	}
	if all, allScores, allMax, err := OpenTokenizerAll(path); err != nil || !slices.Equal(all, pieces) ||
		!slices.Equal(allScores, scores) || allMax != maxLen {
		t.Fatalf("OpenTokenizerAll reads %d tokens (max length %d), %v; want tok512.bin's 512", len(all), allMax, err)
	}
	if _, _, _, err := OpenTokenizer(path, 511); err == nil {
		t.Fatal("reading tok512.bin with vocabSize 511 succeeded; the file holds 512 tokens")
	}
	if _, _, _, err := OpenTokenizer(path, 513); err == nil {
		t.Fatal("reading tok512.bin with vocabSize 513 succeeded")
	}
}
