package llama2c

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/lsalign/lsalign/internal/atomicfile"
)

// Write writes a version 1 checkpoint. c.Version is ignored. It returns an
// error, writing nothing, if c is invalid, a tensor has the wrong length, or
// a weight is not finite (Read would reject the file).
func Write(w io.Writer, c Config, wt Weights) error {
	c.Version = 1
	specs, err := checkWeights(c, &wt)
	if err != nil {
		return err
	}
	var head [v1HeaderSize]byte
	binary.LittleEndian.PutUint32(head[0:], v1Magic)
	binary.LittleEndian.PutUint32(head[4:], 1)
	putInts(head[8:], c)
	if c.SharedClassifier {
		head[8+legacyHeaderSize] = 1
	}
	return writeBody(w, head[:], c, specs)
}

// WriteLegacy writes a version 0 checkpoint, as export.py legacy_export does,
// including the RoPE tables run.c skips. c.Version is ignored.
func WriteLegacy(w io.Writer, c Config, wt Weights) error {
	c.Version = 0
	specs, err := checkWeights(c, &wt)
	if err != nil {
		return err
	}
	var head [legacyHeaderSize]byte
	putInts(head[:], c)
	if !c.SharedClassifier {
		v := int32(-c.VocabSize)
		binary.LittleEndian.PutUint32(head[20:], uint32(v))
	}
	return writeBody(w, head[:], c, specs)
}

// WriteFile writes a version 1 checkpoint to path atomically: to a temporary
// file in the same directory, synced, then renamed over path.
func WriteFile(path string, c Config, wt Weights) error {
	return atomicfile.Write(path, func(w io.Writer) error { return Write(w, c, wt) })
}

func putInts(b []byte, c Config) {
	for i, v := range []int{c.Dim, c.HiddenDim, c.NLayers, c.NHeads, c.NKVHeads, c.VocabSize, c.SeqLen} {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(int32(v)))
	}
}

// checkWeights validates c and the tensor lengths and values, returning the
// layout of wt.
func checkWeights(c Config, wt *Weights) ([]tensorSpec, error) {
	if err := c.validate(""); err != nil {
		return nil, fmt.Errorf("llama2c: write: %w", err)
	}
	specs, ok := layout(c, wt)
	if _, ok2 := fileSize(c, specs); !ok || !ok2 {
		return nil, fmt.Errorf("llama2c: write: config %+v implies more than 2^63 bytes", c)
	}
	if c.SharedClassifier && wt.Wcls != nil {
		return nil, fmt.Errorf("llama2c: write: Wcls must be nil with a shared classifier")
	}
	for _, s := range specs {
		if s.kind != weightTensor {
			continue
		}
		if int64(len(*s.dst)) != s.n {
			return nil, fmt.Errorf("llama2c: write: %s has %d values, want %d", s.name, len(*s.dst), s.n)
		}
		for i, v := range *s.dst {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("llama2c: write: %s[%d] is %v", s.name, i, v)
			}
		}
	}
	return specs, nil
}

func writeBody(w io.Writer, head []byte, c Config, specs []tensorSpec) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.Write(head) // errors are sticky in bufio.Writer and reported by Flush
	for _, s := range specs {
		switch s.kind {
		case weightTensor:
			writeFloats(bw, *s.dst)
		case freqCisReal, freqCisImag:
			writeRope(bw, c.SeqLen, c.HeadSize(), s.kind == freqCisImag)
		}
	}
	return bw.Flush()
}

func writeFloats(bw *bufio.Writer, xs []float32) {
	var b [4]byte
	for _, v := range xs {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		bw.Write(b[:])
	}
}

// ropeFreqs returns the RoPE inverse frequencies theta^(-2i/hs), i < hs/2,
// computed in float32 the way model.py's precompute_freqs_cis does (theta
// 10000).
func ropeFreqs(hs int) []float32 {
	freqs := make([]float32, hs/2)
	for i := range freqs {
		exp := float32(2*i) / float32(hs)
		freqs[i] = 1 / float32(math.Pow(10000, float64(exp)))
	}
	return freqs
}

// writeRope writes the legacy freq_cis_real (cos) or freq_cis_imag (sin)
// table [seqLen, hs/2].
func writeRope(bw *bufio.Writer, seqLen, hs int, sin bool) {
	freqs := ropeFreqs(hs)
	row := make([]float32, len(freqs))
	for t := range seqLen {
		for i, f := range freqs {
			a := float64(float32(t) * f)
			if sin {
				row[i] = float32(math.Sin(a))
			} else {
				row[i] = float32(math.Cos(a))
			}
		}
		writeFloats(bw, row)
	}
}
