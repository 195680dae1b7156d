// Package safetensors reads and writes Hugging Face safetensors files and
// the JSON files that ship beside them: a Llama or GPT-2 config.json and a
// tokenizer.json.
//
// A safetensors file is an 8-byte little-endian header length N, N bytes of
// JSON mapping tensor names to {"dtype", "shape", "data_offsets"} (plus an
// optional "__metadata__" object of strings), then the data buffer, with
// offsets relative to its start. Read validates the header the way the
// reference implementation does, and more: the header is at most 100 MB and
// fits the file, names are unique, dtypes known, every byte size matches
// its shape (overflow-checked), and the tensors tile the buffer exactly.
// Malformed input returns a *FormatError naming the file, tensor and field.
package safetensors
