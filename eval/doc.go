// Package eval measures long-context ability without downloads:
// perplexity against context length (three conventions, one of them
// llama.cpp's), passkey retrieval, BABILong-style bAbI questions hidden in
// long background text, and the correlation statistics (Pearson and
// Spearman with bootstrap intervals) that test whether Long-Short
// Misalignment predicts those scores (METHOD.md §2, §5).
//
// Decoding is greedy and done here on the model's KV cache; eval does not
// import infer, which sits at the same level.
package eval
