package safetensors

import (
	"encoding/json"
	"fmt"

	"github.com/lsalign/lsalign/internal/atomicfile"
)

// GPT2Config is the subset of a Hugging Face GPT-2 config.json this project
// uses. NInner 0 means 4 * NEmbd (JSON null). A token id of -1 means none.
type GPT2Config struct {
	Architectures      []string `json:"architectures"`
	ModelType          string   `json:"model_type"`
	NEmbd              int      `json:"n_embd"`
	NLayer             int      `json:"n_layer"`
	NHead              int      `json:"n_head"`
	NPositions         int      `json:"n_positions"`
	NInner             int      `json:"n_inner,omitempty"`
	VocabSize          int      `json:"vocab_size"`
	LayerNormEpsilon   float64  `json:"layer_norm_epsilon"`
	ActivationFunction string   `json:"activation_function"`
	BosTokenID         int      `json:"bos_token_id"`
	EosTokenID         int      `json:"eos_token_id"`
	TorchDType         string   `json:"torch_dtype,omitempty"`
}

// InnerSize is NInner, or 4 * NEmbd when NInner is 0.
func (c GPT2Config) InnerSize() int {
	if c.NInner != 0 {
		return c.NInner
	}
	return 4 * c.NEmbd
}

type gpt2ConfigJSON struct {
	GPT2Config
	NPositions         *int            `json:"n_positions"`
	NCtx               *int            `json:"n_ctx"`
	NInner             *int            `json:"n_inner"`
	LayerNormEpsilon   *float64        `json:"layer_norm_epsilon"`
	ActivationFunction *string         `json:"activation_function"`
	BosTokenID         json.RawMessage `json:"bos_token_id"`
	EosTokenID         json.RawMessage `json:"eos_token_id"`
}

// ReadGPT2Config reads and validates a GPT-2 config.json. Absent fields take
// Hugging Face's GPT2Config defaults: n_positions from the legacy n_ctx,
// layer_norm_epsilon 1e-5, activation_function "gelu_new", bos and eos 50256.
func ReadGPT2Config(path string) (GPT2Config, error) {
	data, err := readJSONFile(path, configLimit)
	if err != nil {
		return GPT2Config{}, err
	}
	return parseGPT2Config(data, path)
}

func parseGPT2Config(data []byte, file string) (GPT2Config, error) {
	var j gpt2ConfigJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return GPT2Config{}, jsonError(err, file, "GPT2Config")
	}
	c := j.GPT2Config
	c.NPositions = valueOr(j.NPositions, valueOr(j.NCtx, 0))
	c.NInner = valueOr(j.NInner, 0)
	c.LayerNormEpsilon = valueOr(j.LayerNormEpsilon, 1e-5)
	c.ActivationFunction = valueOr(j.ActivationFunction, "gelu_new")
	var err error
	if c.BosTokenID, err = tokenID(j.BosTokenID, 50256, file, "bos_token_id"); err != nil {
		return GPT2Config{}, err
	}
	if c.EosTokenID, err = tokenID(j.EosTokenID, 50256, file, "eos_token_id"); err != nil {
		return GPT2Config{}, err
	}
	return c, c.validate(file)
}

func (c GPT2Config) validate(file string) error {
	for _, f := range []struct {
		name string
		v    int
	}{{"n_embd", c.NEmbd}, {"n_layer", c.NLayer}, {"n_head", c.NHead}, {"n_positions", c.NPositions}, {"vocab_size", c.VocabSize}} {
		if f.v <= 0 {
			return &FormatError{file, f.name, fmt.Sprintf("%d: missing or not positive", f.v)}
		}
	}
	switch {
	case c.NEmbd%c.NHead != 0:
		return &FormatError{file, "n_head", fmt.Sprintf("%d does not divide n_embd %d", c.NHead, c.NEmbd)}
	case c.NInner < 0:
		return &FormatError{file, "n_inner", fmt.Sprintf("%d is negative", c.NInner)}
	}
	if err := positiveFloat(file, "layer_norm_epsilon", c.LayerNormEpsilon); err != nil {
		return err
	}
	if err := checkTokenID(file, "bos_token_id", c.BosTokenID, c.VocabSize); err != nil {
		return err
	}
	return checkTokenID(file, "eos_token_id", c.EosTokenID, c.VocabSize)
}

// WriteGPT2Config validates c and writes it as an indented config.json,
// atomically.
func WriteGPT2Config(path string, c GPT2Config) error {
	if err := c.validate(path); err != nil {
		return err
	}
	out := struct {
		GPT2Config
		NInner     *int `json:"n_inner"`
		BosTokenID *int `json:"bos_token_id"`
		EosTokenID *int `json:"eos_token_id"`
	}{c, nil, idOrNil(c.BosTokenID), idOrNil(c.EosTokenID)}
	if c.NInner != 0 {
		out.NInner = &c.NInner
	}
	data, err := marshalIndent(out)
	if err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, data)
}
