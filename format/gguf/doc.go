// Package gguf reads and writes GGUF files, the model format of ggml and
// llama.cpp (spec: docs/gguf.md in the ggml repository).
//
// Reading accepts versions 2 and 3, little-endian. Every count and length in
// the header is checked against the bytes left in the file before anything
// is allocated from it, so a hostile file costs at most a small multiple of
// its own size in memory; malformed input yields a *FormatError naming the
// file and the offending field, never a panic. Tensor data is read lazily
// through the io.ReaderAt the File was opened on.
//
// Dimensions are in ggml order: Dims[0] is the fastest-varying (contiguous)
// axis, so a PyTorch tensor of shape [rows, cols] has Dims = [cols, rows].
//
// Writing produces version 3 with F32, F16 or BF16 tensors.
package gguf
