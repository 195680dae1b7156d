package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
)

// value reads one metadata value of type t.
func (d *decoder) value(t ValueType, field string, depth int) (any, error) {
	switch t {
	case ValueString:
		return d.str(field+": string", 0)
	case ValueArray:
		return d.array(field, depth)
	}
	size := t.minEncodedSize()
	if size == 0 {
		return nil, d.errorf(field+": value type", "unknown type %d", uint32(t))
	}
	b, err := d.bytes(int(size), field)
	if err != nil {
		return nil, err
	}
	return decodeScalar(t, b, d, field)
}

// decodeScalar converts the little-endian bytes of one fixed-size value.
func decodeScalar(t ValueType, b []byte, d *decoder, field string) (any, error) {
	switch t {
	case ValueUint8:
		return b[0], nil
	case ValueInt8:
		return int8(b[0]), nil
	case ValueUint16:
		return binary.LittleEndian.Uint16(b), nil
	case ValueInt16:
		return int16(binary.LittleEndian.Uint16(b)), nil
	case ValueUint32:
		return binary.LittleEndian.Uint32(b), nil
	case ValueInt32:
		return int32(binary.LittleEndian.Uint32(b)), nil
	case ValueFloat32:
		return math.Float32frombits(binary.LittleEndian.Uint32(b)), nil
	case ValueBool:
		if b[0] > 1 {
			return nil, d.errorf(field, "bool byte is %d, want 0 or 1", b[0])
		}
		return b[0] == 1, nil
	case ValueUint64:
		return binary.LittleEndian.Uint64(b), nil
	case ValueInt64:
		return int64(binary.LittleEndian.Uint64(b)), nil
	case ValueFloat64:
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
	}
	panic("gguf: decodeScalar called with a non-scalar type") // callers check
}

func (d *decoder) array(field string, depth int) (any, error) {
	if depth >= maxArrayDepth {
		return nil, d.errorf(field, "arrays nested deeper than %d", maxArrayDepth)
	}
	et, err := d.u32(field + ": array type")
	if err != nil {
		return nil, err
	}
	t := ValueType(et)
	unit := t.minEncodedSize()
	if unit == 0 {
		return nil, d.errorf(field+": array type", "unknown type %d", et)
	}
	n64, err := d.u64(field + ": array length")
	if err != nil {
		return nil, err
	}
	if err := d.fits(n64, unit, field+": array length"); err != nil {
		return nil, err
	}
	n := int(n64)
	switch t {
	case ValueString:
		out := make([]string, n)
		sf := field + ": array element"
		for i := range out {
			if out[i], err = d.str(sf, 0); err != nil {
				return nil, err
			}
		}
		return out, nil
	case ValueArray:
		out := make([]any, n)
		for i := range out {
			if out[i], err = d.array(field, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case ValueUint8:
		return readArray(d, n, field, func(b []byte) uint8 { return b[0] })
	case ValueInt8:
		return readArray(d, n, field, func(b []byte) int8 { return int8(b[0]) })
	case ValueUint16:
		return readArray(d, n, field, binary.LittleEndian.Uint16)
	case ValueInt16:
		return readArray(d, n, field, func(b []byte) int16 { return int16(binary.LittleEndian.Uint16(b)) })
	case ValueUint32:
		return readArray(d, n, field, binary.LittleEndian.Uint32)
	case ValueInt32:
		return readArray(d, n, field, func(b []byte) int32 { return int32(binary.LittleEndian.Uint32(b)) })
	case ValueFloat32:
		return readArray(d, n, field, func(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) })
	case ValueUint64:
		return readArray(d, n, field, binary.LittleEndian.Uint64)
	case ValueInt64:
		return readArray(d, n, field, func(b []byte) int64 { return int64(binary.LittleEndian.Uint64(b)) })
	case ValueFloat64:
		return readArray(d, n, field, func(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) })
	case ValueBool:
		out := make([]bool, n)
		sf := field + ": array element"
		for i := range out {
			b, err := d.bytes(1, sf)
			if err != nil {
				return nil, err
			}
			if b[0] > 1 {
				return nil, d.errorf(fmt.Sprintf("%s: array element %d", field, i), "bool byte is %d, want 0 or 1", b[0])
			}
			out[i] = b[0] == 1
		}
		return out, nil
	}
	panic("gguf: array element type not handled") // unit != 0 covers every case above
}

// readArray reads n fixed-size elements decoded by conv; the element size is
// the size of T. The caller has checked n against the bytes left.
func readArray[T uint8 | int8 | uint16 | int16 | uint32 | int32 | float32 | uint64 | int64 | float64](
	d *decoder, n int, field string, conv func([]byte) T) ([]T, error) {
	var zero T
	size := int(binary.Size(zero))
	out := make([]T, n)
	sf := field + ": array data"
	for i := range out {
		b, err := d.bytes(size, sf)
		if err != nil {
			return nil, err
		}
		out[i] = conv(b)
	}
	return out, nil
}

// typeName describes a metadata value in GGUF terms for error messages,
// e.g. "uint32" or "array of string".
func typeName(v any) string {
	if _, ok := v.([]any); ok {
		return "array of arrays"
	}
	t, err := valueTypeOf(v)
	switch {
	case err != nil:
		return fmt.Sprintf("Go type %T", v)
	case t == ValueArray:
		return "array of " + elemType(v).String()
	}
	return t.String()
}
