package llama2c

import (
	"bytes"
	"testing"
)

// BenchmarkRead reads a v1 checkpoint of about 17 MB (dim 256, 4 layers,
// vocab 4096) from memory.
func BenchmarkRead(b *testing.B) {
	c := Config{Dim: 256, HiddenDim: 688, NLayers: 4, NHeads: 8, NKVHeads: 4, VocabSize: 4096, SeqLen: 512, SharedClassifier: true}
	data := encode(b, func(buf *bytes.Buffer) error { return Write(buf, c, randomWeights(c, 1)) })
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, _, err := readBytes(data); err != nil {
			b.Fatal(err)
		}
	}
}
