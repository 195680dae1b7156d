package tokenizer_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lsalign/lsalign/internal/testutil"
)

// benchEncode encodes the first MiB of an English book.
func benchEncode(b *testing.B, vocab string) {
	tok := loadGGUFTokenizer(b, filepath.Join(testutil.SharedDir(b, "tokenizers"), vocab))
	data, err := os.ReadFile(filepath.Join(testutil.SharedDir(b, "corpora"), "gutenberg", "austen-emma.txt"))
	if err != nil {
		b.Fatal(err)
	}
	text := string(data[:min(len(data), 1<<20)])
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	var n int
	for b.Loop() {
		ids, err := tok.Encode(text, true)
		if err != nil {
			b.Fatal(err)
		}
		n = len(ids)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

func BenchmarkEncodeLlamaSPM1MiB(b *testing.B) { benchEncode(b, "ggml-vocab-llama-spm.gguf") }
func BenchmarkEncodeGPT2_1MiB(b *testing.B)    { benchEncode(b, "ggml-vocab-gpt-2.gguf") }
