package safetensors

import (
	"encoding/json"
	"fmt"
	"math"
)

// configLimit bounds the size of a config.json read into memory.
const configLimit = 16 << 20

func valueOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// tokenID decodes a token id that may be absent (def), null (-1), an
// integer, or a list of integers (the first; -1 if empty).
func tokenID(raw json.RawMessage, def int, file, field string) (int, error) {
	if raw == nil {
		return def, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, &FormatError{file, field, "malformed: " + err.Error()}
	}
	if list, ok := v.([]any); ok {
		if len(list) == 0 {
			return -1, nil
		}
		v = list[0]
	}
	switch x := v.(type) {
	case nil:
		return -1, nil
	case float64:
		if x == math.Trunc(x) && x >= -1 && x <= math.MaxInt32 {
			return int(x), nil
		}
	}
	return 0, &FormatError{file, field, fmt.Sprintf("%s is not a token id", raw)}
}

func checkTokenID(file, field string, id, vocab int) error {
	if id < -1 || id >= vocab {
		return &FormatError{file, field, fmt.Sprintf("%d is outside [0, vocab_size %d)", id, vocab)}
	}
	return nil
}

func positiveFloat(file, field string, v float64) error {
	if !(v > 0) || math.IsInf(v, 0) {
		return &FormatError{file, field, fmt.Sprintf("%v: missing or not a positive finite number", v)}
	}
	return nil
}

func idOrNil(id int) *int {
	if id < 0 {
		return nil
	}
	return &id
}
