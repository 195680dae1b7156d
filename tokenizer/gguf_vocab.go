package tokenizer

import "fmt"

// GGUF metadata keys of the tokenizer.
const (
	keyModel          = "tokenizer.ggml.model"
	keyPre            = "tokenizer.ggml.pre"
	keyTokens         = "tokenizer.ggml.tokens"
	keyScores         = "tokenizer.ggml.scores"
	keyTokenType      = "tokenizer.ggml.token_type"
	keyMerges         = "tokenizer.ggml.merges"
	keyBOS            = "tokenizer.ggml.bos_token_id"
	keyEOS            = "tokenizer.ggml.eos_token_id"
	keyUNK            = "tokenizer.ggml.unknown_token_id"
	keyPAD            = "tokenizer.ggml.padding_token_id"
	keyAddBOS         = "tokenizer.ggml.add_bos_token"
	keyAddEOS         = "tokenizer.ggml.add_eos_token"
	keyAddSpacePrefix = "tokenizer.ggml.add_space_prefix"
	// keyKind marks a byte vocabulary stored in llama.cpp's "llama" form
	// (see byteVocabAsSPM), so reading it gives back ByteVocab.
	keyKind = "lsalign.tokenizer.kind"
)

// VocabFromGGUF reads a vocabulary from GGUF tokenizer.ggml.* metadata,
// with llama.cpp's defaults for what is absent: model "llama" is spm
// (BOS 1, EOS 2, UNK 0, BOS added, space prefix), model "gpt2" is byte-level
// BPE (BOS = EOS = 11, nothing added); model "byte" is ByteVocab's. A
// special-token id of 0xFFFFFFFF (or negative) means none; any other id
// outside the vocabulary keeps the default, as in llama.cpp. meta returns
// the value stored under a key.
func VocabFromGGUF(meta func(key string) (any, bool)) (Vocab, error) {
	var v Vocab
	model, err := metaString(meta, keyModel, true)
	if err != nil {
		return v, err
	}
	if kind, err := metaString(meta, keyKind, false); err != nil {
		return v, err
	} else if kind == string(KindByte) && model == "llama" {
		return ByteVocab(), nil
	}
	switch model {
	case "llama":
		v = Vocab{Kind: KindSPM, BOS: 1, EOS: 2, UNK: 0, PAD: -1, AddBOS: true, AddSpacePrefix: true}
	case "gpt2":
		v = Vocab{Kind: KindGPT2, BOS: 11, EOS: 11, UNK: -1, PAD: -1}
	case "byte": // written by earlier versions of this project
		v = ByteVocab()
		v.Tokens, v.Types = nil, nil
	default:
		return v, fmt.Errorf("tokenizer: gguf %s: model %q is not supported (want llama, gpt2 or byte)", keyModel, model)
	}
	if v.Pre, err = metaString(meta, keyPre, false); err != nil {
		return v, err
	}
	if v.Tokens, err = metaSlice[string](meta, keyTokens, true); err != nil {
		return v, err
	}
	n := len(v.Tokens)
	if v.Scores, err = metaScores(meta, n); err != nil {
		return v, err
	}
	if v.Types, err = metaSlice[int32](meta, keyTokenType, false); err != nil {
		return v, err
	}
	if v.Types != nil {
		if len(v.Types) < n {
			return v, fmt.Errorf("tokenizer: gguf %s: %d entries for %d tokens", keyTokenType, len(v.Types), n)
		}
		v.Types = v.Types[:n]
	}
	if v.Merges, err = metaSlice[string](meta, keyMerges, v.Kind == KindGPT2); err != nil {
		return v, err
	}
	for _, s := range []struct {
		key string
		id  *int
	}{{keyBOS, &v.BOS}, {keyEOS, &v.EOS}, {keyUNK, &v.UNK}, {keyPAD, &v.PAD}} {
		if *s.id, err = metaTokenID(meta, s.key, n, *s.id); err != nil {
			return v, err
		}
	}
	for _, s := range []struct {
		key  string
		flag *bool
	}{{keyAddBOS, &v.AddBOS}, {keyAddEOS, &v.AddEOS}, {keyAddSpacePrefix, &v.AddSpacePrefix}} {
		val, ok := meta(s.key)
		if !ok {
			continue
		}
		b, isBool := val.(bool)
		if !isBool {
			return v, fmt.Errorf("tokenizer: gguf %s: is %T, want bool", s.key, val)
		}
		*s.flag = b
	}
	return v, nil
}

func metaString(meta func(string) (any, bool), key string, required bool) (string, error) {
	val, ok := meta(key)
	if !ok {
		if required {
			return "", fmt.Errorf("tokenizer: gguf %s: missing", key)
		}
		return "", nil
	}
	s, ok := val.(string)
	if !ok {
		return "", fmt.Errorf("tokenizer: gguf %s: is %T, want string", key, val)
	}
	return s, nil
}

func metaSlice[T any](meta func(string) (any, bool), key string, required bool) ([]T, error) {
	val, ok := meta(key)
	if !ok {
		if required {
			return nil, fmt.Errorf("tokenizer: gguf %s: missing", key)
		}
		return nil, nil
	}
	s, ok := val.([]T)
	if !ok {
		return nil, fmt.Errorf("tokenizer: gguf %s: is %T, want %T", key, val, s)
	}
	return s, nil
}

// metaScores accepts float32 or (like llama.cpp) int32 scores.
func metaScores(meta func(string) (any, bool), n int) ([]float32, error) {
	val, ok := meta(keyScores)
	if !ok {
		return nil, nil
	}
	var scores []float32
	switch s := val.(type) {
	case []float32:
		scores = s
	case []int32:
		scores = make([]float32, len(s))
		for i, x := range s {
			scores[i] = float32(x)
		}
	default:
		return nil, fmt.Errorf("tokenizer: gguf %s: is %T, want []float32", keyScores, val)
	}
	if len(scores) < n {
		return nil, fmt.Errorf("tokenizer: gguf %s: %d scores for %d tokens", keyScores, len(scores), n)
	}
	return scores[:n], nil
}

// metaTokenID resolves a special-token id stored as an integer of any
// width: absent or outside [0, n) gives def (itself -1 when outside),
// negative or 0xFFFFFFFF gives -1.
func metaTokenID(meta func(string) (any, bool), key string, n, def int) (int, error) {
	if def >= n {
		def = -1
	}
	val, ok := meta(key)
	if !ok {
		return def, nil
	}
	var u uint64
	switch x := val.(type) {
	case uint8:
		u = uint64(x)
	case uint16:
		u = uint64(x)
	case uint32:
		u = uint64(x)
	case uint64:
		u = x
	case int8:
		u = uint64(int64(x))
	case int16:
		u = uint64(int64(x))
	case int32:
		u = uint64(int64(x))
	case int64:
		u = uint64(x)
	default:
		return 0, fmt.Errorf("tokenizer: gguf %s: is %T, want an integer", key, val)
	}
	switch {
	case int64(u) < 0 || u == 0xFFFFFFFF: // negative (or all ones): none
		return -1, nil
	case u >= uint64(n):
		return def, nil
	}
	return int(u), nil
}

// GGUFMetadata returns the tokenizer.ggml.* entries that VocabFromGGUF
// reads back into v, in a stable order, with the Go types GGUF writers map
// to uint32, bool, string and arrays. A byte vocabulary is written in
// llama.cpp's "llama" form (byteVocabAsSPM), so llama.cpp runs the model
// and tokenizes text to the same ids.
func (v Vocab) GGUFMetadata() (keys []string, values []any) {
	if v.Kind == KindByte {
		keys, values = byteVocabAsSPM(v).GGUFMetadata()
		return append(keys, keyKind), append(values, string(KindByte))
	}
	add := func(k string, val any) {
		keys = append(keys, k)
		values = append(values, val)
	}
	switch v.Kind {
	case KindGPT2:
		add(keyModel, "gpt2")
		pre := v.Pre
		if pre == "" {
			pre = "gpt-2"
		}
		add(keyPre, pre)
	default:
		add(keyModel, "llama")
		add(keyPre, "default")
	}
	add(keyTokens, v.Tokens)
	if v.Scores != nil {
		add(keyScores, v.Scores)
	}
	if v.Types != nil {
		add(keyTokenType, v.Types)
	}
	if v.Kind == KindGPT2 {
		add(keyMerges, append([]string{}, v.Merges...))
	}
	for _, s := range []struct {
		key string
		id  int
	}{{keyBOS, v.BOS}, {keyEOS, v.EOS}, {keyUNK, v.UNK}, {keyPAD, v.PAD}} {
		if s.id >= 0 {
			add(s.key, uint32(s.id))
		} else {
			add(s.key, uint32(0xFFFFFFFF)) // out of range: "none" on reading
		}
	}
	add(keyAddBOS, v.AddBOS)
	add(keyAddEOS, v.AddEOS)
	add(keyAddSpacePrefix, v.AddSpacePrefix)
	return keys, values
}

// byteVocabAsSPM restates a byte vocabulary as a SentencePiece-style one
// that llama.cpp's tokenizer maps to the same ids: every byte is a byte
// token "<0xXX>" reached by byte fallback, except the space, which
// SentencePiece escapes to "▁" before lookup and so is stored as the
// normal token "▁"; no space prefix, no scores to merge by. Valid UTF-8
// tokenizes alike except a literal "▁" (U+2581), which becomes the space's
// id instead of its three bytes; in invalid UTF-8, llama.cpp's lead-byte
// splitting can also swallow part of an escaped space.
func byteVocabAsSPM(v Vocab) Vocab {
	s := v
	s.Kind = KindSPM
	s.Tokens = append([]string(nil), v.Tokens...)
	s.Types = append([]int32(nil), v.Types...)
	s.Tokens[' '], s.Types[' '] = spaceMark, TypeNormal
	s.Scores = make([]float32, len(v.Tokens))
	s.AddSpacePrefix = false
	return s
}
