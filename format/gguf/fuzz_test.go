package gguf

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzRead checks that any input either reads or fails with a *FormatError,
// never panics, and costs memory in proportion to its size: no array or
// tensor larger than the input, and a bounded total allocation.
func FuzzRead(f *testing.F) {
	valid := smallFile(f)
	f.Add(valid)
	for cut := 0; cut < len(valid); cut += 13 {
		f.Add(valid[:cut])
	}
	f.Add(nestedArrays(3))
	f.Add(newHdr(3, 1, 0).tensor("t", TypeQ8_0, 0, 32).pad(64).b)
	f.Add(newHdr(3, 0, 1).str("k").u32(uint32(ValueArray)).u32(uint32(ValueString)).u64(2).str("a").str("bc").b)
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err, alloc := readAllocs(data)
		if limit := uint64(1<<20 + 64*len(data)); alloc > limit {
			t.Fatalf("allocated %d bytes reading %d", alloc, len(data))
		}
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not a *FormatError", err, err)
			}
			return
		}
		for _, kv := range file.KV {
			if n := valueLen(kv.Value); n > len(data) {
				t.Fatalf("key %q holds %d elements from %d bytes", kv.Key, n, len(data))
			}
		}
		for _, ti := range file.Tensors {
			if ti.Bytes > int64(len(data)) {
				t.Fatalf("tensor %q claims %d bytes of a %d-byte file", ti.Name, ti.Bytes, len(data))
			}
			vals, err := file.TensorF32(ti.Name)
			if err != nil {
				var fe *FormatError
				if !errors.As(err, &fe) || canDequantize(ti.Type) {
					t.Fatalf("TensorF32(%q): %v", ti.Name, err)
				}
				continue
			}
			if len(vals) > 8*len(data) || int64(len(vals)) != ti.Elements() {
				t.Fatalf("tensor %q: %d values from %d bytes", ti.Name, len(vals), len(data))
			}
		}
		// Whatever was read writes back (F32 only) and reads again.
		var kvs []KV
		for _, kv := range file.KV {
			if _, err := valueTypeOf(kv.Value); err == nil {
				kvs = append(kvs, kv)
			}
		}
		var buf bytes.Buffer
		if err := Write(&buf, kvs, nil); err != nil {
			t.Fatalf("rewriting metadata: %v", err)
		}
		if _, err := Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "rewritten"); err != nil {
			t.Fatalf("reading rewritten metadata: %v", err)
		}
	})
}

// valueLen is the element count of an array value (0 for scalars),
// counting nested arrays' elements too.
func valueLen(v any) int {
	switch a := v.(type) {
	case []any:
		n := len(a)
		for _, e := range a {
			n += valueLen(e)
		}
		return n
	case []uint8:
		return len(a)
	case []int8:
		return len(a)
	case []uint16:
		return len(a)
	case []int16:
		return len(a)
	case []uint32:
		return len(a)
	case []int32:
		return len(a)
	case []float32:
		return len(a)
	case []bool:
		return len(a)
	case []string:
		return len(a)
	case []uint64:
		return len(a)
	case []int64:
		return len(a)
	case []float64:
		return len(a)
	}
	return 0
}
