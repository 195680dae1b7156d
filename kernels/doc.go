// Package kernels holds the engine's float32 forward/backward pairs on flat
// row-major slices, one op per file, forward and backward side by side.
//
// Conventions (after llm.c):
//   - Arguments go outputs, saved-for-backward buffers, inputs, weights, then
//     dimensions.
//   - Backward kernels ACCUMULATE (+=) into every gradient they produce, so
//     the caller zeroes gradient buffers once per step and branches of the
//     graph add up naturally. A nil gradient argument means "not needed".
//   - Reductions over rows (weight gradients) are organised so the result is
//     bit-identical whatever GOMAXPROCS is (see internal/parallel.Chunks).
//   - kernels/ref holds a naive float64 twin of every op; tests compare the
//     two and check every backward against central differences.
//
// Dimension names used throughout:
//
//	B   batch size (sequences)
//	T   sequence length (positions 0..T-1 of a fresh sequence)
//	N   rows = B*T
//	C   model width (channels, embedding dim)
//	NH  query heads
//	NKV key/value heads (grouped-query attention: NH % NKV == 0; query head h
//	    reads kv head h / (NH/NKV))
//	HS  head size (C/NH for the models here)
//	H   MLP hidden width
//	V   vocabulary size
//	L   layers
package kernels
