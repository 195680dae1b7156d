package safetensors

import (
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
)

// BenchmarkFloat32 decodes a 4M-element tensor stored as each float dtype;
// bytes/s counts the decoded float32 output.
func BenchmarkFloat32(b *testing.B) {
	data := testutil.Rand32(rng.New(1), 1<<22, 1)
	for _, dtype := range []string{"F32", "F16", "BF16"} {
		b.Run(dtype, func(b *testing.B) {
			file := encodeFile(b, []WriterTensor{{Name: "w", Shape: []int64{1 << 22}, DType: dtype, Data: data}}, nil)
			f, err := readBytes(file)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(4 << 22)
			for b.Loop() {
				if _, err := f.Float32("w"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
