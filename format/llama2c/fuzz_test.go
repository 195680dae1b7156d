package llama2c

import (
	"bytes"
	"slices"
	"testing"
)

func FuzzRead(f *testing.F) {
	for _, version := range []int{0, 1} {
		for _, shared := range []bool{true, false} {
			c := tinyConfig(shared)
			w := randomWeights(c, 11)
			write := Write
			if version == 0 {
				write = WriteLegacy
			}
			b := encode(f, func(buf *bytes.Buffer) error { return write(buf, c, w) })
			f.Add(b)
			for _, n := range []int{0, 4, 27, 28, 100, 255, 256, len(b) - 1} {
				f.Add(b[:n])
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, w, err := readBytes(data)
		if err != nil {
			wantFormatError(t, err, "")
			return
		}
		// Whatever reads must write back and read the same.
		write := Write
		if c.Version == 0 {
			write = WriteLegacy
		}
		b := encode(t, func(buf *bytes.Buffer) error { return write(buf, c, w) })
		c2, w2, err := readBytes(b)
		if err != nil {
			t.Fatalf("rewritten file does not read: %v", err)
		}
		if c2 != c {
			t.Fatalf("config %+v after rewrite, was %+v", c2, c)
		}
		equalWeights(t, c, w2, w)
	})
}

func FuzzReadTokenizer(f *testing.F) {
	b := tokenizerBytes(f)
	f.Add(b, uint16(6))
	for _, n := range []int{0, 3, 4, 11, 12, 20, len(b) - 1} {
		f.Add(b[:n], uint16(6))
	}
	f.Add(b, uint16(5))
	f.Fuzz(func(t *testing.T, data []byte, vocab uint16) {
		all, allScores, _, allErr := readTokenizer(bytes.NewReader(data), int64(len(data)), "tok.bin", allTokens)
		if allErr != nil {
			wantFormatError(t, allErr, "")
		} else if p, s, _, err := readTok(data, len(all)); err != nil || !slices.Equal(p, all) || !slices.Equal(s, allScores) {
			t.Fatalf("all %d tokens read, but not as ReadTokenizer with that size: %v", len(all), err)
		}
		pieces, scores, _, err := readTok(data, int(vocab))
		if err != nil {
			wantFormatError(t, err, "")
			return
		}
		out := encode(t, func(buf *bytes.Buffer) error { return WriteTokenizer(buf, pieces, scores) })
		p2, s2, _, err := readTok(out, int(vocab))
		if err != nil {
			t.Fatalf("rewritten tokenizer does not read: %v", err)
		}
		for i := range pieces {
			if p2[i] != pieces[i] || s2[i] != scores[i] {
				t.Fatalf("token %d changed on rewrite", i)
			}
		}
	})
}
