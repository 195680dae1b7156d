package load

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/lsalign/lsalign/format/safetensors"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
)

// saveHF writes a Hugging Face directory: config.json, model.safetensors
// (Q and K in the halves RoPE layout for Llama) and tokenizer.json.
func saveHF(dir string, m *model.Model, tok *tokenizer.Tokenizer, opt SaveOptions) error {
	c := m.Config
	dtype, torchDType := "F32", "float32"
	switch opt.DType {
	case "", "F32":
	case "F16":
		dtype, torchDType = "F16", "float16"
	default:
		return fmt.Errorf("%s: safetensors output is F32 or F16, not %s", dir, opt.DType)
	}
	var hft *safetensors.HFTokenizer
	if tok != nil {
		t, err := hfFromVocab(tok.Vocab())
		if err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
		hft = &t
	}
	bos, eos := 1, 2
	if tok != nil {
		bos, eos = int(tok.BOS()), int(tok.EOS())
	}
	var specs []tensorSpec
	var writeConfig func() error
	cfgPath := filepath.Join(dir, configFile)
	if err := llamaCompatible(c); err == nil {
		base, sc := foldRopeBase(c)
		hc := safetensors.LlamaConfig{Architectures: []string{"LlamaForCausalLM"}, ModelType: ArchLlama,
			HiddenSize: c.Dim, IntermediateSize: c.Hidden, NumHiddenLayers: c.Layers, NumAttentionHeads: c.Heads,
			NumKeyValueHeads: c.KVHeads, VocabSize: c.Vocab, MaxPositionEmbeddings: c.MaxSeq, RMSNormEps: c.NormEps,
			RopeTheta: base, RopeScaling: ropeScalingToHF(sc), TieWordEmbeddings: c.TiedHead,
			BosTokenID: bos, EosTokenID: eos, TorchDType: torchDType, HiddenAct: "silu"}
		specs = hfLlamaSpecs(c)
		writeConfig = func() error { return safetensors.WriteLlamaConfig(cfgPath, hc) }
	} else if err2 := gpt2Compatible(c); err2 == nil {
		if !c.TiedHead {
			return fmt.Errorf("%s: a GPT-2 directory ties the LM head to the embedding; this model's head is separate", dir)
		}
		hc := safetensors.GPT2Config{Architectures: []string{"GPT2LMHeadModel"}, ModelType: ArchGPT2, NEmbd: c.Dim,
			NLayer: c.Layers, NHead: c.Heads, NPositions: c.MaxSeq, NInner: c.Hidden, VocabSize: c.Vocab,
			LayerNormEpsilon: c.NormEps, ActivationFunction: "gelu_new", BosTokenID: bos, EosTokenID: eos,
			TorchDType: torchDType}
		specs = hfGPT2Specs(c, "transformer.")
		writeConfig = func() error { return safetensors.WriteGPT2Config(cfgPath, hc) }
	} else {
		return fmt.Errorf("%s: neither Llama nor GPT-2 (%v; %v); save it as an lsalign checkpoint", dir, err, err2)
	}
	ts, err := exportTensors(m, specs, "halves")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeSafetensors(filepath.Join(dir, weightsFile), ts, dtype); err != nil {
		return err
	}
	if err := writeConfig(); err != nil {
		return err
	}
	if hft != nil {
		return safetensors.WriteTokenizerJSON(filepath.Join(dir, hfTokenizerFile), *hft)
	}
	return nil
}

func writeSafetensors(path string, ts []outTensor, dtype string) error {
	wt := make([]safetensors.WriterTensor, len(ts))
	for i, t := range ts {
		shape := make([]int64, len(t.shape))
		for j, d := range t.shape {
			shape[j] = int64(d)
		}
		wt[i] = safetensors.WriterTensor{Name: t.name, Shape: shape, DType: dtype, Data: t.data}
	}
	return safetensors.WriteFile(path, wt, map[string]string{"format": "pt"})
}
