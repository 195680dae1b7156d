package gguf

import (
	"bufio"
	"fmt"
	"io"
	"math"

	"github.com/lsalign/lsalign/internal/atomicfile"
	"github.com/lsalign/lsalign/internal/half"
)

// WriterTensor is one tensor to write. Data holds the values in ggml order
// (Dims[0] contiguous) and is encoded as Type: F32, F16 or BF16.
type WriterTensor struct {
	Name string
	Dims []uint64
	Type TensorType
	Data []float32
}

// Write writes a GGUF v3 file. Metadata values are written with the GGUF
// type matching their Go type (see KV); a uint32 "general.alignment" entry
// sets the alignment, otherwise it is 32. Everything is validated before
// the first byte is written.
func Write(w io.Writer, kvs []KV, tensors []WriterTensor) error {
	alignment, err := checkWrite(kvs, tensors)
	if err != nil {
		return err
	}
	infos := make([]TensorInfo, len(tensors))
	for i, t := range tensors {
		infos[i] = TensorInfo{Name: t.Name, Dims: t.Dims, Type: t.Type, Bytes: int64(len(t.Data)) * t.Type.BlockBytes()}
	}
	cw := &countingWriter{w: bufio.NewWriterSize(w, 1<<16)}
	writeHeader(cw, kvs, infos, alignment)
	for _, t := range tensors {
		writeTensorData(cw, t)
		cw.pad(alignment)
	}
	if cw.err != nil {
		return cw.err
	}
	return cw.w.Flush()
}

// WriteFile writes a GGUF file atomically: to a temporary file in the same
// directory, synced, then renamed over path.
func WriteFile(path string, kvs []KV, tensors []WriterTensor) error {
	if _, err := checkWrite(kvs, tensors); err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { return Write(w, kvs, tensors) })
}

// checkWrite validates what Write is given and returns the alignment.
func checkWrite(kvs []KV, tensors []WriterTensor) (uint64, error) {
	alignment := uint64(defaultAlignment)
	seen := make(map[string]bool, len(kvs))
	for _, kv := range kvs {
		if kv.Key == "" || len(kv.Key) > maxKeyLen {
			return 0, fmt.Errorf("gguf: write: metadata key %q: length must be 1..%d", kv.Key, maxKeyLen)
		}
		if seen[kv.Key] {
			return 0, fmt.Errorf("gguf: write: metadata key %q: duplicate", kv.Key)
		}
		seen[kv.Key] = true
		if _, err := valueTypeOf(kv.Value); err != nil {
			return 0, fmt.Errorf("gguf: write: metadata key %q: %w", kv.Key, err)
		}
		if kv.Key == "general.alignment" {
			a, ok := kv.Value.(uint32)
			if !ok || a == 0 || a&(a-1) != 0 {
				return 0, fmt.Errorf("gguf: write: general.alignment must be a uint32 power of two, got %v (%T)", kv.Value, kv.Value)
			}
			alignment = uint64(a)
		}
	}
	names := make(map[string]bool, len(tensors))
	for _, t := range tensors {
		if t.Name == "" || len(t.Name) > maxNameLen {
			return 0, fmt.Errorf("gguf: write: tensor %q: name length must be 1..%d", t.Name, maxNameLen)
		}
		if names[t.Name] {
			return 0, fmt.Errorf("gguf: write: tensor %q: duplicate name", t.Name)
		}
		names[t.Name] = true
		if len(t.Dims) > maxDims {
			return 0, fmt.Errorf("gguf: write: tensor %q: %d dims, at most %d", t.Name, len(t.Dims), maxDims)
		}
		n := uint64(1)
		for _, d := range t.Dims {
			if d != 0 && n > math.MaxInt64/d {
				return 0, fmt.Errorf("gguf: write: tensor %q: dims %v overflow", t.Name, t.Dims)
			}
			n *= d
		}
		if n != uint64(len(t.Data)) {
			return 0, fmt.Errorf("gguf: write: tensor %q: dims %v hold %d values, data has %d", t.Name, t.Dims, n, len(t.Data))
		}
		switch t.Type {
		case TypeF32, TypeF16, TypeBF16:
		default:
			return 0, fmt.Errorf("gguf: write: tensor %q: type %s cannot be written (F32, F16 or BF16)", t.Name, t.Type)
		}
	}
	return alignment, nil
}

func writeTensorData(cw *countingWriter, t WriterTensor) {
	switch t.Type {
	case TypeF32:
		for _, x := range t.Data {
			cw.u32(math.Float32bits(x))
		}
	case TypeF16:
		for _, x := range t.Data {
			cw.u16(half.F32ToF16(x))
		}
	case TypeBF16:
		for _, x := range t.Data {
			cw.u16(half.F32ToBF16(x))
		}
	}
}
