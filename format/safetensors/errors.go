package safetensors

import "strings"

// FormatError reports malformed or unsupported input: the file, the tensor
// or JSON field at fault, and what is wrong with it.
type FormatError struct {
	File  string // file name as given by the caller
	Field string // tensor name and field, or JSON field; may be empty
	Msg   string
}

func (e *FormatError) Error() string {
	parts := []string{"safetensors"}
	if e.File != "" {
		parts = append(parts, e.File)
	}
	if e.Field != "" {
		parts = append(parts, e.Field)
	}
	return strings.Join(append(parts, e.Msg), ": ")
}
