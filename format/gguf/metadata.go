package gguf

import (
	"fmt"
	"math"
)

// Value returns the metadata value stored under key.
func (f *File) Value(key string) (any, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return nil, false
	}
	return f.KV[i].Value, true
}

// lookup returns the value under key or a FormatError saying it is missing.
func (f *File) lookup(key string) (any, error) {
	v, ok := f.Value(key)
	if !ok {
		return nil, &FormatError{File: f.Name, Field: keyField(key), Msg: "missing"}
	}
	return v, nil
}

func (f *File) typeError(key string, v any, want string) error {
	return &FormatError{File: f.Name, Field: keyField(key), Msg: fmt.Sprintf("is %s, want %s", typeName(v), want)}
}

// String returns a string value.
func (f *File) String(key string) (string, error) {
	v, err := f.lookup(key)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", f.typeError(key, v, "string")
	}
	return s, nil
}

// Bool returns a bool value.
func (f *File) Bool(key string) (bool, error) {
	v, err := f.lookup(key)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, f.typeError(key, v, "bool")
	}
	return b, nil
}

// Uint returns any integer value as a uint64; negative values are errors.
func (f *File) Uint(key string) (uint64, error) {
	v, err := f.lookup(key)
	if err != nil {
		return 0, err
	}
	u, neg, ok := asInteger(v)
	if !ok {
		return 0, f.typeError(key, v, "an integer")
	}
	if neg {
		return 0, &FormatError{File: f.Name, Field: keyField(key), Msg: fmt.Sprintf("%v is negative", v)}
	}
	return u, nil
}

// Int returns any integer value as an int64, with a range check for uint64.
func (f *File) Int(key string) (int64, error) {
	v, err := f.lookup(key)
	if err != nil {
		return 0, err
	}
	u, neg, ok := asInteger(v)
	if !ok {
		return 0, f.typeError(key, v, "an integer")
	}
	if !neg && u > math.MaxInt64 {
		return 0, &FormatError{File: f.Name, Field: keyField(key), Msg: fmt.Sprintf("%d overflows int64", u)}
	}
	return int64(u), nil
}

// asInteger widens any integer type: the two's-complement bits as uint64,
// whether it is negative, and whether v was an integer at all.
func asInteger(v any) (bits uint64, negative, ok bool) {
	switch v := v.(type) {
	case uint8:
		return uint64(v), false, true
	case uint16:
		return uint64(v), false, true
	case uint32:
		return uint64(v), false, true
	case uint64:
		return v, false, true
	case int8:
		return uint64(int64(v)), v < 0, true
	case int16:
		return uint64(int64(v)), v < 0, true
	case int32:
		return uint64(int64(v)), v < 0, true
	case int64:
		return uint64(v), v < 0, true
	}
	return 0, false, false
}

// Float returns a float32 or float64 value widened to float64.
func (f *File) Float(key string) (float64, error) {
	v, err := f.lookup(key)
	if err != nil {
		return 0, err
	}
	switch x := v.(type) {
	case float32:
		return float64(x), nil
	case float64:
		return x, nil
	}
	return 0, f.typeError(key, v, "float32 or float64")
}

// Strings returns an array of strings.
func (f *File) Strings(key string) ([]string, error) {
	return arrayOf[string](f, key, "array of string")
}

// Float32s returns an array of float32.
func (f *File) Float32s(key string) ([]float32, error) {
	return arrayOf[float32](f, key, "array of float32")
}

// Int32s returns an array of int32.
func (f *File) Int32s(key string) ([]int32, error) { return arrayOf[int32](f, key, "array of int32") }

// Uint32s returns an array of uint32.
func (f *File) Uint32s(key string) ([]uint32, error) {
	return arrayOf[uint32](f, key, "array of uint32")
}

func arrayOf[T any](f *File, key, want string) ([]T, error) {
	v, err := f.lookup(key)
	if err != nil {
		return nil, err
	}
	a, ok := v.([]T)
	if !ok {
		return nil, f.typeError(key, v, want)
	}
	return a, nil
}
