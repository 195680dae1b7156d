package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/lsalign/lsalign/internal/atomicfile"
	"github.com/lsalign/lsalign/internal/half"
)

// WriterTensor is a tensor to write. DType is "F32" (the default when
// empty), "F16" or "BF16"; F16 and BF16 round to nearest even.
type WriterTensor struct {
	Name  string
	Shape []int64
	DType string
	Data  []float32
}

// Write writes a safetensors file. The output is deterministic: metadata
// first with sorted keys, then tensors sorted by name with contiguous
// offsets, and the header padded with spaces so the data buffer starts at a
// multiple of 8 bytes.
func Write(w io.Writer, tensors []WriterTensor, metadata map[string]string) error {
	sorted := append([]WriterTensor(nil), tensors...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	header, err := encodeHeader(sorted, metadata)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(len(header)))
	bw.Write(b[:]) // errors are sticky in bufio.Writer and reported by Flush
	bw.Write(header)
	for _, t := range sorted {
		switch t.DType {
		case "", "F32":
			for _, v := range t.Data {
				binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
				bw.Write(b[:4])
			}
		case "F16":
			for _, v := range t.Data {
				binary.LittleEndian.PutUint16(b[:], half.F32ToF16(v))
				bw.Write(b[:2])
			}
		case "BF16":
			for _, v := range t.Data {
				binary.LittleEndian.PutUint16(b[:], half.F32ToBF16(v))
				bw.Write(b[:2])
			}
		}
	}
	return bw.Flush()
}

// WriteFile writes a safetensors file to path atomically: to a temporary
// file in the same directory, synced, then renamed over path.
func WriteFile(path string, tensors []WriterTensor, metadata map[string]string) error {
	return atomicfile.Write(path, func(w io.Writer) error { return Write(w, tensors, metadata) })
}

// encodeHeader validates the (name-sorted) tensors and returns the padded
// JSON header.
func encodeHeader(sorted []WriterTensor, metadata map[string]string) ([]byte, error) {
	var h bytes.Buffer
	h.WriteByte('{')
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k, v := range metadata {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return nil, fmt.Errorf("safetensors: write: metadata %q is not valid UTF-8", k)
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		h.WriteString(`"__metadata__":{`)
		for i, k := range keys {
			if i > 0 {
				h.WriteByte(',')
			}
			fmt.Fprintf(&h, "%s:%s", quote(k), quote(metadata[k]))
		}
		h.WriteByte('}')
	}
	offset := int64(0)
	for i, t := range sorted {
		nbytes, err := checkWriterTensor(t)
		if err != nil {
			return nil, err
		}
		if i > 0 && sorted[i-1].Name == t.Name {
			return nil, fmt.Errorf("safetensors: write: tensor name %q appears twice", t.Name)
		}
		if h.Len() > 1 {
			h.WriteByte(',')
		}
		dtype := t.DType
		if dtype == "" {
			dtype = "F32"
		}
		fmt.Fprintf(&h, `%s:{"dtype":"%s","shape":[`, quote(t.Name), dtype)
		for j, d := range t.Shape {
			if j > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.FormatInt(d, 10))
		}
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, offset, offset+nbytes)
		offset += nbytes
	}
	h.WriteByte('}')
	for (8+h.Len())%8 != 0 {
		h.WriteByte(' ')
	}
	if h.Len() > MaxHeaderSize {
		return nil, fmt.Errorf("safetensors: write: header of %d bytes exceeds the %d-byte limit", h.Len(), MaxHeaderSize)
	}
	return h.Bytes(), nil
}

// checkWriterTensor validates t and returns its size in bytes.
func checkWriterTensor(t WriterTensor) (int64, error) {
	switch {
	case t.Name == "__metadata__":
		return 0, fmt.Errorf("safetensors: write: %q is reserved", t.Name)
	case !utf8.ValidString(t.Name):
		return 0, fmt.Errorf("safetensors: write: tensor name %q is not valid UTF-8", t.Name)
	}
	width := int64(4)
	switch t.DType {
	case "", "F32":
	case "F16", "BF16":
		width = 2
	default:
		return 0, fmt.Errorf("safetensors: write: tensor %q: dtype %q is not F32, F16 or BF16", t.Name, t.DType)
	}
	numel := int64(1)
	for _, d := range t.Shape {
		if d < 0 || (d != 0 && numel > math.MaxInt64/d) {
			return 0, fmt.Errorf("safetensors: write: tensor %q: invalid shape %v", t.Name, t.Shape)
		}
		numel *= d
	}
	if numel != int64(len(t.Data)) {
		return 0, fmt.Errorf("safetensors: write: tensor %q: shape %v holds %d values, Data has %d", t.Name, t.Shape, numel, len(t.Data))
	}
	return numel * width, nil
}

// quote returns s as a JSON string, without escaping <, > and &.
func quote(s string) string {
	b, _ := marshalCompact(s) // a string always encodes
	return string(b)
}
