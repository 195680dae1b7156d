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

// rawGGUF encodes a v3 file without metadata, alignment 32, around tensors
// of any type, for types Write does not produce.
func rawGGUF(t testing.TB, tensors []rawTensor) []byte {
	t.Helper()
	infos := make([]TensorInfo, len(tensors))
	for i, rt := range tensors {
		infos[i] = TensorInfo{Name: rt.name, Dims: rt.dims, Type: rt.typ, Bytes: int64(len(rt.data))}
	}
	var buf bytes.Buffer
	cw := &countingWriter{w: bufio.NewWriter(&buf)}
	writeHeader(cw, nil, infos, defaultAlignment)
	for _, rt := range tensors {
		cw.bytes(rt.data)
		cw.pad(defaultAlignment)
	}
	if cw.err != nil {
		t.Fatal(cw.err)
	}
	if err := cw.w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
