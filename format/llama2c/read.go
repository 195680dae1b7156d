package llama2c

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// Weights holds the checkpoint tensors, each stacked over layers in run.c
// order. Shapes, with C = Dim, H = HiddenDim, V = VocabSize, L = NLayers,
// KV = KVDim():
//
//	TokenEmbedding [V, C]
//	RmsAtt         [L, C]
//	Wq             [L, C, C]   (really [L, NHeads*HeadSize, C])
//	Wk, Wv         [L, KV, C]
//	Wo             [L, C, C]   (really [L, C, NHeads*HeadSize])
//	RmsFfn         [L, C]
//	W1, W3         [L, H, C]
//	W2             [L, C, H]
//	RmsFinal       [C]
//	Wcls           [V, C], nil when the classifier shares TokenEmbedding
type Weights struct {
	TokenEmbedding, RmsAtt, Wq, Wk, Wv, Wo, RmsFfn, W1, W2, W3, RmsFinal, Wcls []float32
}

// Open reads a checkpoint file of either version.
func Open(path string) (c Config, w Weights, err error) {
	err = withFile(path, func(r io.ReaderAt, size int64) error {
		c, w, err = Read(r, size, path)
		return err
	})
	return c, w, err
}

// withFile runs read on the open file at path and its size.
func withFile(path string, read func(r io.ReaderAt, size int64) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	return read(f, st.Size())
}

// Read reads a checkpoint of size bytes from r, detecting the version from
// the "ak42" magic. name labels errors. size must be the size of r's content:
// it bounds every allocation. The file size must equal the size the header
// implies, and every weight must be finite. The v1 header's padding is not
// checked (export.py writes zeros; run.c ignores it).
func Read(r io.ReaderAt, size int64, name string) (Config, Weights, error) {
	c, err := readHeader(r, size, name)
	if err != nil {
		return Config{}, Weights{}, err
	}
	var w Weights
	specs, ok := layout(c, &w)
	want, ok2 := fileSize(c, specs)
	if !ok || !ok2 {
		return Config{}, Weights{}, &FormatError{name, "file size", "the header implies more than 2^63 bytes"}
	}
	if want != size {
		return Config{}, Weights{}, &FormatError{name, "file size",
			fmt.Sprintf("%d bytes, want exactly %d for this header (version %d)", size, want, c.Version)}
	}
	off := int64(legacyHeaderSize)
	if c.Version == 1 {
		off = v1HeaderSize
	}
	buf := make([]byte, readChunk)
	for _, s := range specs {
		if s.kind == weightTensor {
			*s.dst = make([]float32, s.n)
			if err := readFloats(r, off, *s.dst, buf, name, s.name); err != nil {
				return Config{}, Weights{}, err
			}
		}
		off += 4 * s.n
	}
	return c, w, nil
}

// readHeader decodes and validates the header of either version.
func readHeader(r io.ReaderAt, size int64, name string) (Config, error) {
	var head [v1HeaderSize]byte
	n := min(size, int64(len(head)))
	if n < 0 {
		n = 0
	}
	if err := readFull(r, 0, head[:n], name, "header"); err != nil {
		return Config{}, err
	}
	isV1 := n >= 8 && binary.LittleEndian.Uint32(head[:4]) == v1Magic
	hdrLen := int64(legacyHeaderSize)
	if isV1 {
		hdrLen = v1HeaderSize
	}
	if n < hdrLen {
		return Config{}, &FormatError{name, "header", fmt.Sprintf("file has %d bytes, the header needs %d", size, hdrLen)}
	}
	ints := head[:legacyHeaderSize]
	var c Config
	if isV1 {
		if v := int32(binary.LittleEndian.Uint32(head[4:8])); v != 1 {
			return Config{}, &FormatError{name, "version", fmt.Sprintf("%d is not supported (only 1; 2 is int8-quantized)", v)}
		}
		c.Version = 1
		ints = head[8 : 8+legacyHeaderSize]
	}
	field := func(i int) int { return int(int32(binary.LittleEndian.Uint32(ints[4*i:]))) }
	c.Dim, c.HiddenDim, c.NLayers, c.NHeads = field(0), field(1), field(2), field(3)
	c.NKVHeads, c.VocabSize, c.SeqLen = field(4), field(5), field(6)
	if isV1 {
		switch flag := head[8+legacyHeaderSize]; flag {
		case 0, 1:
			c.SharedClassifier = flag == 1
		default:
			return Config{}, &FormatError{name, "shared_classifier", fmt.Sprintf("%d is not 0 or 1", flag)}
		}
		if c.VocabSize < 0 {
			return Config{}, &FormatError{name, "vocab_size", fmt.Sprintf("%d is negative in a version 1 file", c.VocabSize)}
		}
	} else {
		c.SharedClassifier = c.VocabSize > 0
		if c.VocabSize < 0 {
			c.VocabSize = -c.VocabSize
		}
	}
	return c, c.validate(name)
}

// readChunk bounds the scratch buffer used to decode floats, so reading a
// tensor needs its float32 slice and no byte copy of the same size.
const readChunk = 1 << 20

// readFloats fills dst with little-endian float32 values starting at off and
// rejects NaN and Inf, naming the tensor.
func readFloats(r io.ReaderAt, off int64, dst []float32, buf []byte, file, tensor string) error {
	for done := 0; done < len(dst); {
		n := min(len(dst)-done, len(buf)/4)
		b := buf[:4*n]
		if err := readFull(r, off+4*int64(done), b, file, tensor); err != nil {
			return err
		}
		for i := range n {
			v := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return &FormatError{file, tensor, fmt.Sprintf("element %d is %v", done+i, v)}
			}
			dst[done+i] = v
		}
		done += n
	}
	return nil
}

// readFull reads len(b) bytes at off, turning a short read into a
// FormatError and passing other I/O errors through with context.
func readFull(r io.ReaderAt, off int64, b []byte, file, field string) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &FormatError{file, field, fmt.Sprintf("unexpected end of file at byte %d", off+int64(n))}
	}
	return fmt.Errorf("llama2c: %s: reading %s: %w", file, field, err)
}
