// Package llama2c reads and writes the checkpoint and tokenizer files of
// karpathy/llama2.c.
//
// Two checkpoint layouts exist. The legacy one (version 0, what run.c reads)
// is a header of seven int32 {dim, hidden_dim, n_layers, n_heads, n_kv_heads,
// vocab_size, seq_len}, where a negative vocab_size marks an unshared
// classifier, followed by float32 weights in run.c order, including the
// obsolete RoPE tables freq_cis_real and freq_cis_imag. Version 1 ("ak42",
// export.py version1_export) has a 256-byte header with an explicit
// shared-classifier flag, orders the weights norms first and drops the RoPE
// tables.
//
// Everything read is untrusted: dimensions are validated, the file size must
// match the size the header implies exactly, and nothing is allocated before
// that check. Malformed input returns a *FormatError.
package llama2c
