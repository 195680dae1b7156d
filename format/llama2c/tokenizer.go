package llama2c

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// OpenTokenizer reads a tokenizer.bin file; see ReadTokenizer.
func OpenTokenizer(path string, vocabSize int) (pieces []string, scores []float32, maxLen int, err error) {
	err = withFile(path, func(r io.ReaderAt, size int64) error {
		pieces, scores, maxLen, err = ReadTokenizer(r, size, path, vocabSize)
		return err
	})
	return pieces, scores, maxLen, err
}

// OpenTokenizerAll reads every record of a tokenizer.bin file, for callers
// that do not know the vocabulary size: the file does not store it (run.c
// takes it from the model). The checks are ReadTokenizer's, and the file
// must hold at least one token.
func OpenTokenizerAll(path string) (pieces []string, scores []float32, maxLen int, err error) {
	err = withFile(path, func(r io.ReaderAt, size int64) error {
		pieces, scores, maxLen, err = readTokenizer(r, size, path, allTokens)
		return err
	})
	return pieces, scores, maxLen, err
}

// ReadTokenizer reads a llama2.c tokenizer.bin of size bytes: int32
// max_token_length, then vocabSize records of float32 score, int32 length and
// that many bytes. Pieces are raw bytes (not necessarily UTF-8). Every score
// must be finite, every length within [0, max_token_length], and the file
// must end exactly after the last record.
func ReadTokenizer(r io.ReaderAt, size int64, name string, vocabSize int) (pieces []string, scores []float32, maxLen int, err error) {
	if vocabSize <= 0 {
		return nil, nil, 0, &FormatError{name, "vocab_size", fmt.Sprintf("%d is not positive", vocabSize)}
	}
	// Each record takes at least 8 bytes: check before allocating.
	if int64(vocabSize) > (size-4)/8 {
		return nil, nil, 0, &FormatError{name, "file size",
			fmt.Sprintf("%d bytes cannot hold %d tokens (at least %d bytes)", size, vocabSize, 4+8*int64(vocabSize))}
	}
	return readTokenizer(r, size, name, vocabSize)
}

// allTokens asks readTokenizer for every record up to the end of the file.
const allTokens = -1

// readTokenizer reads vocabSize records, checked against size by the
// caller, or with allTokens as many as the file holds (each takes at least
// 8 bytes, which bounds the slices' growth by the file size).
func readTokenizer(r io.ReaderAt, size int64, name string, vocabSize int) (pieces []string, scores []float32, maxLen int, err error) {
	sr := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 1<<16)
	var head [8]byte
	if _, err := io.ReadFull(sr, head[:4]); err != nil {
		return nil, nil, 0, tokenizerReadError(err, name, "max_token_length")
	}
	maxLen = int(int32(binary.LittleEndian.Uint32(head[:4])))
	if maxLen < 0 {
		return nil, nil, 0, &FormatError{name, "max_token_length", fmt.Sprintf("%d is negative", maxLen)}
	}
	if vocabSize != allTokens {
		pieces = make([]string, 0, vocabSize)
		scores = make([]float32, 0, vocabSize)
	}
	off := int64(4)
	buf := make([]byte, 0, 64)
	for i := 0; i < vocabSize || (vocabSize == allTokens && off < size); i++ {
		field := func() string { return fmt.Sprintf("token[%d]", i) } // only on errors
		if _, err := io.ReadFull(sr, head[:]); err != nil {
			return nil, nil, 0, tokenizerReadError(err, name, field())
		}
		score := math.Float32frombits(binary.LittleEndian.Uint32(head[:4]))
		n := int64(int32(binary.LittleEndian.Uint32(head[4:])))
		off += 8
		switch {
		case math.IsNaN(float64(score)) || math.IsInf(float64(score), 0):
			return nil, nil, 0, &FormatError{name, field() + ".score", fmt.Sprintf("%v is not finite", score)}
		case n < 0 || n > int64(maxLen):
			return nil, nil, 0, &FormatError{name, field() + ".len", fmt.Sprintf("%d is outside [0, max_token_length %d]", n, maxLen)}
		case n > size-off:
			return nil, nil, 0, &FormatError{name, field() + ".len", fmt.Sprintf("%d bytes run past the end of the file", n)}
		}
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		b := buf[:n]
		if _, err := io.ReadFull(sr, b); err != nil {
			return nil, nil, 0, tokenizerReadError(err, name, field())
		}
		off += n
		pieces, scores = append(pieces, string(b)), append(scores, score)
	}
	if len(pieces) == 0 {
		return nil, nil, 0, &FormatError{name, "file size", "no tokens after max_token_length"}
	}
	if off != size {
		return nil, nil, 0, &FormatError{name, "file size",
			fmt.Sprintf("%d bytes left after %d tokens (does the vocabulary have more tokens?)", size-off, vocabSize)}
	}
	return pieces, scores, maxLen, nil
}

func tokenizerReadError(err error, name, field string) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return &FormatError{name, field, "unexpected end of file"}
	}
	return fmt.Errorf("llama2c: %s: reading %s: %w", name, field, err)
}

// WriteTokenizer writes pieces and scores as a tokenizer.bin, with
// max_token_length the longest piece in bytes.
func WriteTokenizer(w io.Writer, pieces []string, scores []float32) error {
	if len(pieces) != len(scores) {
		return fmt.Errorf("llama2c: write tokenizer: %d pieces but %d scores", len(pieces), len(scores))
	}
	maxLen := 0
	for i, p := range pieces {
		if len(p) > math.MaxInt32 {
			return fmt.Errorf("llama2c: write tokenizer: piece %d is longer than 2^31-1 bytes", i)
		}
		if s := float64(scores[i]); math.IsNaN(s) || math.IsInf(s, 0) {
			return fmt.Errorf("llama2c: write tokenizer: score %d is %v", i, scores[i])
		}
		maxLen = max(maxLen, len(p))
	}
	bw := bufio.NewWriter(w)
	var b [8]byte
	binary.LittleEndian.PutUint32(b[:4], uint32(maxLen))
	bw.Write(b[:4]) // errors are sticky in bufio.Writer and reported by Flush
	for i, p := range pieces {
		binary.LittleEndian.PutUint32(b[:4], math.Float32bits(scores[i]))
		binary.LittleEndian.PutUint32(b[4:], uint32(len(p)))
		bw.Write(b[:])
		bw.WriteString(p)
	}
	return bw.Flush()
}
