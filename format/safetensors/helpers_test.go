package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// build assembles a safetensors file from a header string and a data
// buffer, the way the format is specified.
func build(header string, buf []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, buf...)
}

func readBytes(b []byte) (*File, error) {
	return Read(bytes.NewReader(b), int64(len(b)), "test.safetensors")
}

// wantFormatError fails unless err is a *FormatError whose Field is field
// (any field when field is "").
func wantFormatError(t testing.TB, err error, field string) *FormatError {
	t.Helper()
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T), want *FormatError", err, err)
	}
	if field != "" && fe.Field != field {
		t.Fatalf("error %q names field %q, want %q", err, fe.Field, field)
	}
	return fe
}

func encodeFile(t testing.TB, tensors []WriterTensor, meta map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, tensors, meta); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
