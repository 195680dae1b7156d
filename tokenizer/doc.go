// Package tokenizer turns text into token ids and back with the vocabularies
// the project meets: SentencePiece-style score BPE with byte fallback
// (llama, llama2.c, phi-3), GPT-2 byte-level BPE, and a plain byte vocabulary
// for models trained from scratch.
//
// Encoding follows llama.cpp (src/llama-vocab.cpp, src/unicode.cpp) token
// for token: llama.cpp's tokenizer test vectors are the acceptance test.
// The package imports nothing of the project; VocabFromGGUF takes a
// metadata getter so that it need not know the GGUF reader.
package tokenizer
