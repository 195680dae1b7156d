package safetensors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/lsalign/lsalign/internal/half"
)

// MaxHeaderSize is the largest JSON header accepted, as in the reference
// implementation.
const MaxHeaderSize = 100_000_000

// Tensor describes one tensor; Begin and End are byte offsets into the data
// buffer that follows the header.
type Tensor struct {
	Name       string
	DType      string
	Shape      []int64
	Begin, End int64
}

// File is an opened safetensors file. Tensors are sorted by offset.
type File struct {
	Tensors  []Tensor
	Metadata map[string]string // nil when the header has none

	name      string
	r         io.ReaderAt
	dataStart int64 // file offset of the data buffer
	closer    io.Closer
	index     map[string]int
}

// Open opens and validates a safetensors file. The file stays open for
// Float32 until Close.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	sf, err := Read(f, st.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	sf.closer = f
	return sf, nil
}

// Read validates the header of a safetensors file of size bytes held by r;
// name labels errors. size must be the size of r's content: it bounds every
// allocation. Tensor data is read later, by Float32, so r must stay readable
// while the File is used.
func Read(r io.ReaderAt, size int64, name string) (*File, error) {
	var lenBuf [8]byte
	if size < 8 {
		return nil, &FormatError{name, "header size", fmt.Sprintf("file has %d bytes, fewer than the 8-byte header size", size)}
	}
	if err := readFull(r, 0, lenBuf[:], name, "header size"); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > MaxHeaderSize {
		return nil, &FormatError{name, "header size", fmt.Sprintf("%d exceeds the %d-byte limit", n, MaxHeaderSize)}
	}
	if n > uint64(size-8) {
		return nil, &FormatError{name, "header size", fmt.Sprintf("%d bytes, but only %d follow", n, size-8)}
	}
	header := make([]byte, n)
	if err := readFull(r, 8, header, name, "header"); err != nil {
		return nil, err
	}
	f := &File{name: name, r: r, dataStart: 8 + int64(n)}
	if err := f.parseHeader(header, size-f.dataStart); err != nil {
		return nil, err
	}
	return f, nil
}

// Tensor returns the description of the named tensor.
func (f *File) Tensor(name string) (Tensor, bool) {
	i, ok := f.index[name]
	if !ok {
		return Tensor{}, false
	}
	return f.Tensors[i], true
}

// Float32 reads the named tensor, converting F32, F16, BF16 or F64 values to
// float32 (F64 rounds to nearest; out-of-range values become ±Inf). Values
// are returned as stored: NaN and Inf are not rejected here.
func (f *File) Float32(name string) ([]float32, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, &FormatError{f.name, name, "no such tensor"}
	}
	width := 0
	switch t.DType {
	case "F32":
		width = 4
	case "F16", "BF16":
		width = 2
	case "F64":
		width = 8
	default:
		return nil, &FormatError{f.name, name + ".dtype", fmt.Sprintf("%s cannot be read as float32", t.DType)}
	}
	// The size was checked against the file when the header was read.
	out := make([]float32, (t.End-t.Begin)/int64(width))
	buf := make([]byte, min(readChunk, len(out)*width))
	perChunk := max(len(buf)/width, 1)
	for done := 0; done < len(out); {
		n := min(len(out)-done, perChunk)
		b := buf[:n*width]
		if err := readFull(f.r, f.dataStart+t.Begin+int64(done*width), b, f.name, name); err != nil {
			return nil, err
		}
		decodeFloats(out[done:done+n], b, t.DType)
		done += n
	}
	return out, nil
}

// decodeFloats converts little-endian values of dtype in src to dst, one
// loop per dtype to keep the per-element work free of indirect calls.
func decodeFloats(dst []float32, src []byte, dtype string) {
	switch dtype {
	case "F32":
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case "F16":
		for i := range dst {
			dst[i] = half.F16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case "BF16":
		for i := range dst {
			dst[i] = half.BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case "F64":
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
		}
	}
}

// readChunk bounds the scratch buffer used to decode tensors.
const readChunk = 1 << 20

// Close closes the underlying file if Open opened it.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	err := f.closer.Close()
	f.closer = nil
	return err
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
	return fmt.Errorf("safetensors: %s: reading %s: %w", file, strings.TrimSpace(field), err)
}

// Raw returns the named tensor's bytes as stored (little-endian), for dtypes
// Float32 does not convert, such as I32 token ids.
func (f *File) Raw(name string) ([]byte, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, &FormatError{f.name, name, "no such tensor"}
	}
	// The size was checked against the file when the header was read.
	b := make([]byte, t.End-t.Begin)
	if err := readFull(f.r, f.dataStart+t.Begin, b, f.name, name); err != nil {
		return nil, err
	}
	return b, nil
}
