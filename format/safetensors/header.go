package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"unicode/utf8"
)

// parseHeader decodes the JSON header and checks it against a data buffer
// of bufLen bytes.
func (f *File) parseHeader(header []byte, bufLen int64) error {
	if !utf8.Valid(header) {
		return &FormatError{f.name, "header", "not valid UTF-8"}
	}
	if len(header) == 0 || header[0] != '{' {
		return &FormatError{f.name, "header", "does not start with '{'"}
	}
	entries, err := objectEntries(header)
	if err != nil {
		return &FormatError{f.name, "header", err.Error()}
	}
	f.index = make(map[string]int, len(entries))
	sawMetadata := false
	for _, e := range entries {
		if e.key == "__metadata__" {
			if sawMetadata {
				return &FormatError{f.name, "__metadata__", "appears twice"}
			}
			sawMetadata = true
			if err := json.Unmarshal(e.value, &f.Metadata); err != nil {
				return &FormatError{f.name, "__metadata__", "not an object of strings: " + err.Error()}
			}
			continue
		}
		if _, dup := f.index[e.key]; dup {
			return &FormatError{f.name, e.key, "tensor name appears twice"}
		}
		t, err := parseTensor(e.key, e.value)
		if err != nil {
			return &FormatError{f.name, err.field, err.msg}
		}
		f.index[e.key] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}
	return f.checkTiling(bufLen)
}

// checkTiling sorts the tensors by offset and requires them to cover the
// buffer exactly, without gaps or overlaps, as the reference does.
func (f *File) checkTiling(bufLen int64) error {
	sort.SliceStable(f.Tensors, func(i, j int) bool {
		a, b := f.Tensors[i], f.Tensors[j]
		return a.Begin < b.Begin || (a.Begin == b.Begin && a.End < b.End)
	})
	end := int64(0)
	prev := "the buffer start"
	for i, t := range f.Tensors {
		switch {
		case t.Begin > end:
			return &FormatError{f.name, t.Name + ".data_offsets",
				fmt.Sprintf("begins at %d, leaving a gap after %s (ends at %d)", t.Begin, prev, end)}
		case t.Begin < end:
			return &FormatError{f.name, t.Name + ".data_offsets",
				fmt.Sprintf("begins at %d, overlapping %s (ends at %d)", t.Begin, prev, end)}
		case t.End > bufLen:
			return &FormatError{f.name, t.Name + ".data_offsets",
				fmt.Sprintf("ends at %d, past the %d-byte data buffer", t.End, bufLen)}
		}
		end, prev = t.End, fmt.Sprintf("tensor %q", t.Name)
		f.index[t.Name] = i
	}
	if end != bufLen {
		return &FormatError{f.name, "data_offsets",
			fmt.Sprintf("tensors cover %d bytes, but the data buffer has %d", end, bufLen)}
	}
	return nil
}

type fieldError struct{ field, msg string }

// parseTensor decodes and checks one tensor entry. Keys are matched
// exactly, unlike encoding/json's case-insensitive struct decoding.
func parseTensor(name string, raw json.RawMessage) (Tensor, *fieldError) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return Tensor{}, &fieldError{name, "tensor entry is not a JSON object"}
	}
	t := Tensor{Name: name}
	var offsets []int64
	for _, d := range []struct {
		key string
		dst any
	}{{"dtype", &t.DType}, {"shape", &t.Shape}, {"data_offsets", &offsets}} {
		v, ok := fields[d.key]
		if !ok {
			return Tensor{}, &fieldError{name + "." + d.key, "missing"}
		}
		if err := json.Unmarshal(v, d.dst); err != nil {
			return Tensor{}, &fieldError{name + "." + d.key, "malformed: " + err.Error()}
		}
	}
	bits, ok := dtypeBits(t.DType)
	if !ok {
		return Tensor{}, &fieldError{name + ".dtype", fmt.Sprintf("unknown dtype %q", t.DType)}
	}
	if t.Shape == nil { // [] decodes to an empty slice, null to nil
		return Tensor{}, &fieldError{name + ".shape", "null, want a list of dimensions"}
	}
	numel := int64(1)
	for i, d := range t.Shape {
		if d < 0 {
			return Tensor{}, &fieldError{name + ".shape", fmt.Sprintf("dimension %d is negative (%d)", i, d)}
		}
		if d != 0 && numel > math.MaxInt64/d {
			return Tensor{}, &fieldError{name + ".shape", "element count overflows int64"}
		}
		numel *= d
	}
	if numel > math.MaxInt64/bits {
		return Tensor{}, &fieldError{name + ".shape", "bit size overflows int64"}
	}
	if numel*bits%8 != 0 {
		return Tensor{}, &fieldError{name + ".shape", fmt.Sprintf("%d elements of %s are not a whole number of bytes", numel, t.DType)}
	}
	if len(offsets) != 2 {
		return Tensor{}, &fieldError{name + ".data_offsets", fmt.Sprintf("has %d entries, want [begin, end]", len(offsets))}
	}
	t.Begin, t.End = offsets[0], offsets[1]
	switch nbytes := numel * bits / 8; {
	case t.Begin < 0 || t.End < t.Begin:
		return Tensor{}, &fieldError{name + ".data_offsets", fmt.Sprintf("[%d, %d] is not a valid range", t.Begin, t.End)}
	case t.End-t.Begin != nbytes:
		return Tensor{}, &fieldError{name + ".data_offsets",
			fmt.Sprintf("[%d, %d] spans %d bytes, but %s %v needs %d", t.Begin, t.End, t.End-t.Begin, t.DType, t.Shape, nbytes)}
	}
	return t, nil
}

type entry struct {
	key   string
	value json.RawMessage
}

// objectEntries splits a JSON object into its entries in order, keeping
// duplicate keys (which encoding/json would silently merge) and rejecting
// anything after the closing brace.
func objectEntries(data []byte) ([]entry, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var entries []entry
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("malformed JSON: %v", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("malformed JSON: object key is not a string")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("malformed JSON in %q: %v", key, err)
		}
		entries = append(entries, entry{key, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("malformed JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("malformed JSON: data after the closing brace")
	}
	return entries, nil
}
