package gguf

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

// KV is one metadata entry. Value holds the Go type matching the GGUF type:
// uint8, int8, uint16, int16, uint32, int32, float32, bool, string, uint64,
// int64, float64; arrays as []uint8 … []float64, []bool, []string, and
// arrays of arrays as []any whose elements are such slices.
type KV struct {
	Key   string
	Value any
}

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name   string
	Dims   []uint64 // ggml order: Dims[0] is contiguous
	Type   TensorType
	Offset uint64 // from the start of the data section
	Bytes  int64  // encoded size of the data
}

// Elements is the number of values in the tensor.
func (t TensorInfo) Elements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= int64(d) // cannot overflow: checked when the file was read
	}
	return n
}

// File is an opened GGUF file. KV and Tensors are in file order; treat
// them as read-only, the lookup methods index them.
type File struct {
	Name       string
	Size       int64 // bytes in the file
	Version    uint32
	Alignment  uint64
	DataOffset int64 // absolute offset of the data section
	KV         []KV
	Tensors    []TensorInfo

	r           io.ReaderAt
	closer      io.Closer
	kvIndex     map[string]int
	tensorIndex map[string]int
}

// Open reads the header of the GGUF file at path; tensor data is read on
// demand, so Close the file when done.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	f, err := Read(fh, st.Size(), path)
	if err != nil {
		fh.Close()
		return nil, err
	}
	f.closer = fh
	return f, nil
}

// Read parses the header of a GGUF file of the given size held by r; name
// is used in error messages. r must stay readable while tensors are read.
func Read(r io.ReaderAt, size int64, name string) (*File, error) {
	if size < 0 {
		return nil, &FormatError{File: name, Msg: fmt.Sprintf("negative size %d", size)}
	}
	bufSize := int(min(size, 1<<16))
	d := &decoder{
		name: name,
		br:   bufio.NewReaderSize(io.NewSectionReader(r, 0, size), max(bufSize, 16)),
		size: size,
	}
	f := &File{Name: name, Size: size, r: r, Alignment: defaultAlignment}
	if err := d.header(f); err != nil {
		return nil, err
	}
	return f, nil
}

// Close closes the underlying file when the File came from Open.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	err := f.closer.Close()
	f.closer = nil
	return err
}
