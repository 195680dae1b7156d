package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// readJSONFile reads a whole JSON file of at most limit bytes.
func readJSONFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, &FormatError{path, "", fmt.Sprintf("%d bytes exceeds the %d-byte limit for this file", st.Size(), limit)}
	}
	// Read through a limit in case the file grows after Stat.
	return io.ReadAll(io.LimitReader(f, limit))
}

// jsonError turns an encoding/json error into a FormatError naming the field
// (for type errors) or the byte offset (for syntax errors). embedded names
// the Go struct embedded in the decoding target, which encoding/json puts
// in front of the JSON field path.
func jsonError(err error, file, embedded string) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := strings.TrimPrefix(typeErr.Field, embedded+".")
		return &FormatError{file, field, fmt.Sprintf("JSON %s cannot be a %s", typeErr.Value, typeErr.Type)}
	case errors.As(err, &syntaxErr):
		return &FormatError{file, "", fmt.Sprintf("malformed JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)}
	}
	return &FormatError{file, "", "malformed JSON: " + err.Error()}
}

// marshalIndent encodes v as indented JSON without HTML escaping, ending
// with a newline.
func marshalIndent(v any) ([]byte, error) { return encodeJSON(v, "  ") }

// marshalCompact encodes v as JSON on one line without HTML escaping.
func marshalCompact(v any) ([]byte, error) {
	b, err := encodeJSON(v, "")
	return bytes.TrimSuffix(b, []byte("\n")), err
}

func encodeJSON(v any, indent string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
