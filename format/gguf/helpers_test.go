package gguf

import (
	"bufio"
	"bytes"
	"testing"
)

// rawTensor is a tensor given as encoded bytes, of any type.
type rawTensor struct {
	name string
	dims []uint64
	typ  TensorType
	data []byte
}

// rawGGUF encodes a v3 file with alignment 32 around tensors of any type,
// for types Write does not produce.
func rawGGUF(t testing.TB, kvs []KV, tensors []rawTensor) []byte {
	t.Helper()
	var buf bytes.Buffer
	cw := &countingWriter{w: bufio.NewWriter(&buf)}
	cw.bytes([]byte(magic))
	cw.u32(3)
	cw.u64(uint64(len(tensors)))
	cw.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		cw.str(kv.Key)
		vt, err := valueTypeOf(kv.Value)
		if err != nil {
			t.Fatal(err)
		}
		cw.u32(uint32(vt))
		writeValue(cw, kv.Value)
	}
	var off uint64
	for _, rt := range tensors {
		cw.str(rt.name)
		cw.u32(uint32(len(rt.dims)))
		for _, d := range rt.dims {
			cw.u64(d)
		}
		cw.u32(uint32(rt.typ))
		cw.u64(off)
		off = alignUp(off+uint64(len(rt.data)), 32)
	}
	cw.pad(32)
	for _, rt := range tensors {
		cw.bytes(rt.data)
		cw.pad(32)
	}
	if cw.err != nil {
		t.Fatal(cw.err)
	}
	cw.w.Flush()
	return buf.Bytes()
}
