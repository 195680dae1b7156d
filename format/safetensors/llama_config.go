package safetensors

import (
	"encoding/json"
	"fmt"

	"github.com/lsalign/lsalign/internal/atomicfile"
)

// LlamaConfig is the subset of a Hugging Face Llama config.json this project
// uses. HeadDim 0 means HiddenSize / NumAttentionHeads. A token id of -1
// means none (JSON null).
type LlamaConfig struct {
	Architectures         []string       `json:"architectures"`
	ModelType             string         `json:"model_type"`
	HiddenSize            int            `json:"hidden_size"`
	IntermediateSize      int            `json:"intermediate_size"`
	NumHiddenLayers       int            `json:"num_hidden_layers"`
	NumAttentionHeads     int            `json:"num_attention_heads"`
	NumKeyValueHeads      int            `json:"num_key_value_heads"`
	VocabSize             int            `json:"vocab_size"`
	MaxPositionEmbeddings int            `json:"max_position_embeddings"`
	RMSNormEps            float64        `json:"rms_norm_eps"`
	RopeTheta             float64        `json:"rope_theta"`
	RopeScaling           map[string]any `json:"rope_scaling,omitempty"`
	TieWordEmbeddings     bool           `json:"tie_word_embeddings"`
	BosTokenID            int            `json:"bos_token_id"`
	EosTokenID            int            `json:"eos_token_id"`
	HeadDim               int            `json:"head_dim,omitempty"`
	TorchDType            string         `json:"torch_dtype"`
	HiddenAct             string         `json:"hidden_act"`
}

// HeadSize is HeadDim, or HiddenSize / NumAttentionHeads when HeadDim is 0.
func (c LlamaConfig) HeadSize() int {
	if c.HeadDim != 0 {
		return c.HeadDim
	}
	return c.HiddenSize / c.NumAttentionHeads
}

// llamaConfigJSON shadows the fields whose absence must be told from zero,
// and the token ids, which may be null or (in newer models) lists.
type llamaConfigJSON struct {
	LlamaConfig
	NumKeyValueHeads *int            `json:"num_key_value_heads"`
	RMSNormEps       *float64        `json:"rms_norm_eps"`
	RopeTheta        *float64        `json:"rope_theta"`
	HiddenAct        *string         `json:"hidden_act"`
	BosTokenID       json.RawMessage `json:"bos_token_id"`
	EosTokenID       json.RawMessage `json:"eos_token_id"`
	// PartialRotaryFactor is the fraction of each head that RoPE rotates
	// (Phi, StableLM, some Llama derivatives). Only 1, full rotation, is
	// supported: ignoring a smaller one would rotate dimensions the model
	// never saw rotated and give wrong logits.
	PartialRotaryFactor *float64 `json:"partial_rotary_factor"`
}

// ReadLlamaConfig reads and validates a Llama config.json. Fields absent
// from the file take Hugging Face's LlamaConfig defaults:
// num_key_value_heads = num_attention_heads, rms_norm_eps 1e-6, rope_theta
// 10000, hidden_act "silu", bos 1, eos 2. A list of token ids keeps the
// first.
func ReadLlamaConfig(path string) (LlamaConfig, error) {
	data, err := readJSONFile(path, configLimit)
	if err != nil {
		return LlamaConfig{}, err
	}
	return parseLlamaConfig(data, path)
}

func parseLlamaConfig(data []byte, file string) (LlamaConfig, error) {
	var j llamaConfigJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return LlamaConfig{}, jsonError(err, file, "LlamaConfig")
	}
	if f := j.PartialRotaryFactor; f != nil && *f != 1 {
		return LlamaConfig{}, &FormatError{file, "partial_rotary_factor", fmt.Sprintf("%v: partial rotary embeddings are not supported (only 1, every dimension rotated)", *f)}
	}
	c := j.LlamaConfig
	c.NumKeyValueHeads = valueOr(j.NumKeyValueHeads, c.NumAttentionHeads)
	c.RMSNormEps = valueOr(j.RMSNormEps, 1e-6)
	c.RopeTheta = valueOr(j.RopeTheta, 10000)
	c.HiddenAct = valueOr(j.HiddenAct, "silu")
	var err error
	if c.BosTokenID, err = tokenID(j.BosTokenID, 1, file, "bos_token_id"); err != nil {
		return LlamaConfig{}, err
	}
	if c.EosTokenID, err = tokenID(j.EosTokenID, 2, file, "eos_token_id"); err != nil {
		return LlamaConfig{}, err
	}
	return c, c.validate(file)
}

func (c LlamaConfig) validate(file string) error {
	for _, f := range []struct {
		name string
		v    int
	}{
		{"hidden_size", c.HiddenSize}, {"intermediate_size", c.IntermediateSize},
		{"num_hidden_layers", c.NumHiddenLayers}, {"num_attention_heads", c.NumAttentionHeads},
		{"num_key_value_heads", c.NumKeyValueHeads}, {"vocab_size", c.VocabSize},
		{"max_position_embeddings", c.MaxPositionEmbeddings},
	} {
		if f.v <= 0 {
			return &FormatError{file, f.name, fmt.Sprintf("%d: missing or not positive", f.v)}
		}
	}
	switch {
	case c.NumAttentionHeads%c.NumKeyValueHeads != 0:
		return &FormatError{file, "num_key_value_heads", fmt.Sprintf("%d does not divide num_attention_heads %d", c.NumKeyValueHeads, c.NumAttentionHeads)}
	case c.HeadDim < 0:
		return &FormatError{file, "head_dim", fmt.Sprintf("%d is negative", c.HeadDim)}
	case c.HeadDim == 0 && c.HiddenSize%c.NumAttentionHeads != 0:
		return &FormatError{file, "num_attention_heads", fmt.Sprintf("%d does not divide hidden_size %d", c.NumAttentionHeads, c.HiddenSize)}
	case c.HeadSize()%2 != 0:
		return &FormatError{file, "head_dim", fmt.Sprintf("head size %d is odd; RoPE needs it even", c.HeadSize())}
	}
	if err := positiveFloat(file, "rms_norm_eps", c.RMSNormEps); err != nil {
		return err
	}
	if err := positiveFloat(file, "rope_theta", c.RopeTheta); err != nil {
		return err
	}
	if err := checkTokenID(file, "bos_token_id", c.BosTokenID, c.VocabSize); err != nil {
		return err
	}
	return checkTokenID(file, "eos_token_id", c.EosTokenID, c.VocabSize)
}

// WriteLlamaConfig validates c and writes it as an indented config.json,
// atomically.
func WriteLlamaConfig(path string, c LlamaConfig) error {
	if err := c.validate(path); err != nil {
		return err
	}
	out := struct {
		LlamaConfig
		BosTokenID *int `json:"bos_token_id"`
		EosTokenID *int `json:"eos_token_id"`
	}{c, idOrNil(c.BosTokenID), idOrNil(c.EosTokenID)}
	data, err := marshalIndent(out)
	if err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, data)
}
