package gguf

import "fmt"

// FormatError reports malformed or unsupported content in a GGUF file.
type FormatError struct {
	File  string // the name given to Read or Open
	Field string // e.g. `tensor "blk.0.attn_q.weight": offset`
	Msg   string
}

func (e *FormatError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("gguf: %s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("gguf: %s: %s: %s", e.File, e.Field, e.Msg)
}

func keyField(key string) string { return fmt.Sprintf("metadata key %q", key) }

func tensorField(name, field string) string {
	if field == "" {
		return fmt.Sprintf("tensor %q", name)
	}
	return fmt.Sprintf("tensor %q: %s", name, field)
}
