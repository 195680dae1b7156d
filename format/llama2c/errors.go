package llama2c

import "strings"

// FormatError reports malformed input: the file, the header field or tensor
// at fault, and what is wrong with it.
type FormatError struct {
	File  string // file name as given by the caller
	Field string // header field, tensor or token; may be empty
	Msg   string
}

func (e *FormatError) Error() string {
	parts := []string{"llama2c"}
	if e.File != "" {
		parts = append(parts, e.File)
	}
	if e.Field != "" {
		parts = append(parts, e.Field)
	}
	return strings.Join(append(parts, e.Msg), ": ")
}
