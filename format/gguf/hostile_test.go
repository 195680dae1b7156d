package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// hdr assembles GGUF bytes field by field, valid or not.
type hdr struct{ b []byte }

func newHdr(version uint32, nTensors, nKV uint64) *hdr {
	h := &hdr{b: []byte(magic)}
	return h.u32(version).u64(nTensors).u64(nKV)
}

func (h *hdr) u32(v uint32) *hdr  { h.b = binary.LittleEndian.AppendUint32(h.b, v); return h }
func (h *hdr) u64(v uint64) *hdr  { h.b = binary.LittleEndian.AppendUint64(h.b, v); return h }
func (h *hdr) raw(p ...byte) *hdr { h.b = append(h.b, p...); return h }
func (h *hdr) str(s string) *hdr  { return h.u64(uint64(len(s))).raw([]byte(s)...) }
func (h *hdr) pad(n int) *hdr     { h.b = append(h.b, make([]byte, n)...); return h }

// tensor appends a tensor info.
func (h *hdr) tensor(name string, typ TensorType, offset uint64, dims ...uint64) *hdr {
	h.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		h.u64(d)
	}
	return h.u32(uint32(typ)).u64(offset)
}

// readAllocs reads b and reports the bytes allocated while doing so.
func readAllocs(b []byte) (*File, error, uint64) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f, err := Read(bytes.NewReader(b), int64(len(b)), "bad.gguf")
	runtime.ReadMemStats(&after)
	return f, err, after.TotalAlloc - before.TotalAlloc
}

func TestHostileHeaders(t *testing.T) {
	cases := []struct {
		name, field string
		b           []byte
	}{
		{"bad magic", "magic", []byte("GGML\x03\x00\x00\x00")},
		{"version 1", "version", newHdr(1, 0, 0).b},
		{"big-endian", "version: big-endian", []byte("GGUF\x00\x00\x00\x03")},
		{"version 4", "version", newHdr(4, 0, 0).b},
		{"tensor count 2^40", "tensor count", newHdr(3, 1<<40, 0).b},
		{"kv count 2^62", "metadata kv count", newHdr(3, 0, 1<<62).b},
		{"key length 2^60", "metadata entry 0: key length", newHdr(3, 0, 1).u64(1 << 60).pad(16).b},
		{"key too long", "metadata entry 0: key length", newHdr(3, 0, 1).u64(70000).pad(70016).b},
		{"string value length 2^60", `metadata key "k": string length`, newHdr(3, 0, 1).str("k").u32(uint32(ValueString)).u64(1 << 60).pad(8).b},
		{"array 2^50 int32", `metadata key "k": array length`, newHdr(3, 0, 1).str("k").u32(uint32(ValueArray)).u32(uint32(ValueInt32)).u64(1 << 50).pad(64).b},
		{"array of 2^40 strings", `metadata key "k": array length`, newHdr(3, 0, 1).str("k").u32(uint32(ValueArray)).u32(uint32(ValueString)).u64(1 << 40).pad(64).b},
		{"nested arrays too deep", `metadata key "k"`, nestedArrays(40)},
		{"unknown value type", `metadata key "k": value type`, newHdr(3, 0, 1).str("k").u32(13).pad(8).b},
		{"unknown array type", `metadata key "k": array type`, newHdr(3, 0, 1).str("k").u32(uint32(ValueArray)).u32(99).u64(1).pad(8).b},
		{"bool 2", `metadata key "k"`, newHdr(3, 0, 1).str("k").u32(uint32(ValueBool)).raw(2).pad(8).b},
		{"duplicate key", `metadata key "k": duplicate`, newHdr(3, 0, 2).str("k").u32(uint32(ValueUint8)).raw(1).str("k").u32(uint32(ValueUint8)).raw(1).b},
		{"alignment type", `metadata key "general.alignment": is uint64`, newHdr(3, 0, 1).str("general.alignment").u32(uint32(ValueUint64)).u64(32).b},
		{"alignment 0", `metadata key "general.alignment": 0 is not a power of two`, newHdr(3, 0, 1).str("general.alignment").u32(uint32(ValueUint32)).u32(0).b},
		{"alignment 48", `metadata key "general.alignment"`, newHdr(3, 0, 1).str("general.alignment").u32(uint32(ValueUint32)).u32(48).b},
		{"tensor name too long", "tensor 0: name length", newHdr(3, 1, 0).tensor(strings.Repeat("x", 64), TypeF32, 0, 1).pad(64).b},
		{"five dims", `tensor "t": n_dims`, newHdr(3, 1, 0).tensor("t", TypeF32, 0, 1, 1, 1, 1, 1).pad(64).b},
		{"dims overflow", `tensor "t": dims[1]: element count overflows`, newHdr(3, 1, 0).tensor("t", TypeF32, 0, 1<<32, 1<<32).pad(64).b},
		{"bytes overflow", `tensor "t": dims: byte size overflows`, newHdr(3, 1, 0).tensor("t", TypeF32, 0, 1<<62).pad(64).b},
		{"unknown tensor type", `tensor "t": type: unknown ggml type 4`, newHdr(3, 1, 0).tensor("t", 4, 0, 1).pad(64).b},
		{"partial block", `tensor "t": dims[0]: 33 is not a multiple of the Q8_0 block size 32`, newHdr(3, 1, 0).tensor("t", TypeQ8_0, 0, 33).pad(64).b},
		{"misaligned offset", `tensor "t": offset: 8 is not a multiple of the alignment 32`, newHdr(3, 1, 0).tensor("t", TypeF32, 8, 1).pad(64).b},
		{"data past EOF", `tensor "t": offset: data`, newHdr(3, 1, 0).tensor("t", TypeF32, 0, 1000).pad(64).b},
		{"offset past EOF", `tensor "t": offset`, newHdr(3, 1, 0).tensor("t", TypeF32, 1<<40, 1).pad(64).b},
		{"duplicate tensor", `tensor "t": duplicate tensor name`, newHdr(3, 2, 0).tensor("t", TypeF32, 0, 1).tensor("t", TypeF32, 32, 1).pad(128).b},
		{"overlap", `tensor "u": offset: data overlaps tensor "t"`, newHdr(3, 2, 0).tensor("t", TypeF32, 0, 16).tensor("u", TypeF32, 32, 1).pad(256).b},
		{"overlap past an empty tensor", `tensor "u": offset: data overlaps tensor "t"`,
			newHdr(3, 3, 0).tensor("t", TypeF32, 0, 16).tensor("e", TypeF32, 32, 0).tensor("u", TypeF32, 32, 1).pad(256).b},
	}
	for _, c := range cases {
		f, err, alloc := readAllocs(c.b)
		var fe *FormatError
		if f != nil || !errors.As(err, &fe) {
			t.Errorf("%s: got %v, %v; want a *FormatError", c.name, f, err)
			continue
		}
		if !strings.Contains(err.Error(), c.field) || !strings.HasPrefix(err.Error(), "gguf: bad.gguf: ") {
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.field)
		}
		if limit := uint64(1<<20 + 64*len(c.b)); alloc > limit {
			t.Errorf("%s: allocated %d bytes reading %d", c.name, alloc, len(c.b))
		}
	}
}

// nestedArrays is one key holding arrays nested depth deep.
func nestedArrays(depth int) []byte {
	h := newHdr(3, 0, 1).str("k").u32(uint32(ValueArray))
	for range depth {
		h.u32(uint32(ValueArray)).u64(1)
	}
	return h.u32(uint32(ValueUint8)).u64(0).b
}

// smallFile is a valid file exercising every metadata type and a few
// tensors, small enough to truncate at every offset.
func smallFile(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	err := Write(&buf, allTypesKVs(), []WriterTensor{
		{Name: "a", Dims: []uint64{2, 3}, Type: TypeF32, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "b", Dims: []uint64{5}, Type: TypeF16, Data: []float32{1, 2, 3, 4, 5}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTruncatedEverywhere(t *testing.T) {
	b := smallFile(t)
	full := readBytes(t, b)
	last := full.Tensors[len(full.Tensors)-1]
	end := full.DataOffset + int64(last.Offset) + last.Bytes // end of the last tensor's data
	for cut := range int(end) {
		f, err := Read(bytes.NewReader(b[:cut]), int64(cut), "cut.gguf")
		var fe *FormatError
		if f != nil || !errors.As(err, &fe) {
			t.Fatalf("truncated at %d of %d: got %v, %v; want a *FormatError", cut, end, f, err)
		}
	}
	if _, err := Read(bytes.NewReader(b[:end]), end, "cut.gguf"); err != nil {
		t.Fatalf("file cut after the last tensor's data: %v", err)
	}
}
