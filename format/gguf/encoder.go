package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

var errUnsupportedValue = errors.New("unsupported value type")

// writeHeader writes a version 3 header: the counts, the metadata (values
// already accepted by valueTypeOf) and the tensor infos, each tensor's data
// placed at the first aligned offset after the Bytes of the one before,
// then the padding up to the data section.
func writeHeader(cw *countingWriter, kvs []KV, tensors []TensorInfo, alignment uint64) {
	cw.bytes([]byte(magic))
	cw.u32(3)
	cw.u64(uint64(len(tensors)))
	cw.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		cw.str(kv.Key)
		t, _ := valueTypeOf(kv.Value)
		cw.u32(uint32(t))
		writeValue(cw, kv.Value)
	}
	var offset uint64
	for _, t := range tensors {
		cw.str(t.Name)
		cw.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			cw.u64(d)
		}
		cw.u32(uint32(t.Type))
		cw.u64(offset)
		offset = alignUp(offset+uint64(t.Bytes), alignment)
	}
	cw.pad(alignment)
}

// valueTypeOf maps a Go metadata value to its GGUF type, checking nested
// arrays all the way down.
func valueTypeOf(v any) (ValueType, error) {
	switch v := v.(type) {
	case uint8:
		return ValueUint8, nil
	case int8:
		return ValueInt8, nil
	case uint16:
		return ValueUint16, nil
	case int16:
		return ValueInt16, nil
	case uint32:
		return ValueUint32, nil
	case int32:
		return ValueInt32, nil
	case float32:
		return ValueFloat32, nil
	case bool:
		return ValueBool, nil
	case string:
		return ValueString, nil
	case uint64:
		return ValueUint64, nil
	case int64:
		return ValueInt64, nil
	case float64:
		return ValueFloat64, nil
	case []uint8, []int8, []uint16, []int16, []uint32, []int32, []float32,
		[]bool, []string, []uint64, []int64, []float64:
		return ValueArray, nil
	case []any:
		for i, e := range v {
			t, err := valueTypeOf(e)
			if err != nil {
				return 0, err
			}
			if t != ValueArray {
				return 0, fmt.Errorf("element %d of an array of arrays is %T, not a slice: %w", i, e, errUnsupportedValue)
			}
		}
		return ValueArray, nil
	}
	return 0, fmt.Errorf("%T: %w", v, errUnsupportedValue)
}

// elemType is the GGUF element type of an array value.
func elemType(v any) ValueType {
	switch v.(type) {
	case []uint8:
		return ValueUint8
	case []int8:
		return ValueInt8
	case []uint16:
		return ValueUint16
	case []int16:
		return ValueInt16
	case []uint32:
		return ValueUint32
	case []int32:
		return ValueInt32
	case []float32:
		return ValueFloat32
	case []bool:
		return ValueBool
	case []string:
		return ValueString
	case []uint64:
		return ValueUint64
	case []int64:
		return ValueInt64
	case []float64:
		return ValueFloat64
	}
	return ValueArray
}

// writeValue writes a value already accepted by valueTypeOf.
func writeValue(cw *countingWriter, v any) {
	switch v := v.(type) {
	case uint8:
		cw.bytes([]byte{v})
	case int8:
		cw.bytes([]byte{byte(v)})
	case uint16:
		cw.u16(v)
	case int16:
		cw.u16(uint16(v))
	case uint32:
		cw.u32(v)
	case int32:
		cw.u32(uint32(v))
	case float32:
		cw.u32(math.Float32bits(v))
	case bool:
		cw.bytes([]byte{boolByte(v)})
	case string:
		cw.str(v)
	case uint64:
		cw.u64(v)
	case int64:
		cw.u64(uint64(v))
	case float64:
		cw.u64(math.Float64bits(v))
	default:
		writeArray(cw, v)
	}
}

func writeArray(cw *countingWriter, v any) {
	cw.u32(uint32(elemType(v)))
	switch a := v.(type) {
	case []uint8:
		cw.u64(uint64(len(a)))
		cw.bytes(a)
	case []int8:
		writeElems(cw, a)
	case []uint16:
		writeElems(cw, a)
	case []int16:
		writeElems(cw, a)
	case []uint32:
		writeElems(cw, a)
	case []int32:
		writeElems(cw, a)
	case []float32:
		writeElems(cw, a)
	case []bool:
		writeElems(cw, a)
	case []string:
		writeElems(cw, a)
	case []uint64:
		writeElems(cw, a)
	case []int64:
		writeElems(cw, a)
	case []float64:
		writeElems(cw, a)
	case []any:
		writeElems(cw, a)
	}
}

func writeElems[T any](cw *countingWriter, a []T) {
	cw.u64(uint64(len(a)))
	for _, e := range a {
		writeValue(cw, e)
	}
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// countingWriter tracks the offset for padding and keeps the first error,
// so the encoding code needs no error plumbing.
type countingWriter struct {
	w       *bufio.Writer
	n       uint64
	err     error
	scratch [8]byte
}

func (c *countingWriter) bytes(b []byte) {
	if c.err != nil {
		return
	}
	_, c.err = c.w.Write(b)
	c.n += uint64(len(b))
}

func (c *countingWriter) u16(v uint16) {
	binary.LittleEndian.PutUint16(c.scratch[:], v)
	c.bytes(c.scratch[:2])
}

func (c *countingWriter) u32(v uint32) {
	binary.LittleEndian.PutUint32(c.scratch[:], v)
	c.bytes(c.scratch[:4])
}

func (c *countingWriter) u64(v uint64) {
	binary.LittleEndian.PutUint64(c.scratch[:], v)
	c.bytes(c.scratch[:8])
}

func (c *countingWriter) str(s string) {
	c.u64(uint64(len(s)))
	if c.err == nil {
		_, c.err = c.w.WriteString(s)
		c.n += uint64(len(s))
	}
}

func (c *countingWriter) pad(alignment uint64) {
	var zeros [64]byte
	for k := alignUp(c.n, alignment) - c.n; k > 0; {
		m := min(k, uint64(len(zeros)))
		c.bytes(zeros[:m])
		k -= m
	}
}
