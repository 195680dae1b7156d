package load

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/format/gguf"
	"github.com/lsalign/lsalign/tokenizer"
)

// writeGGUF saves m as GGUF and returns the path and the parsed header.
func writeGGUF(t *testing.T, cfgSeed uint64) (string, *gguf.File) {
	t.Helper()
	m := randomModel(t, llamaConfig(), cfgSeed)
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := Save(path, m, mustTokenizer(t, spmVocab()), SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return path, f
}

// rewriteGGUF writes a GGUF built from f's metadata and tensors after edit
// changes them.
func rewriteGGUF(t *testing.T, f *gguf.File, edit func(kv []gguf.KV, ts []gguf.WriterTensor) ([]gguf.KV, []gguf.WriterTensor)) string {
	t.Helper()
	var ts []gguf.WriterTensor
	for _, ti := range f.Tensors {
		data, err := f.TensorF32(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, gguf.WriterTensor{Name: ti.Name, Dims: ti.Dims, Type: gguf.TypeF32, Data: data})
	}
	kv := append([]gguf.KV(nil), f.KV...)
	kv, ts = edit(kv, ts)
	path := filepath.Join(t.TempDir(), "edited.gguf")
	if err := gguf.WriteFile(path, kv, ts); err != nil {
		t.Fatal(err)
	}
	return path
}

func setKV(kv []gguf.KV, key string, v any) []gguf.KV {
	for i := range kv {
		if kv[i].Key == key {
			kv[i].Value = v
			return kv
		}
	}
	return append(kv, gguf.KV{Key: key, Value: v})
}

// wantLoadError loads path and requires an error that names the file and
// mentions every fragment.
func wantLoadError(t *testing.T, name, path string, opt Options, fragments ...string) {
	t.Helper()
	_, err := Load(path, opt)
	if err == nil {
		t.Errorf("%s: no error", name)
		return
	}
	msg := err.Error()
	if !strings.Contains(msg, filepath.Base(path)) && !strings.Contains(msg, filepath.Dir(path)) {
		t.Errorf("%s: error does not name the file: %v", name, err)
	}
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			t.Errorf("%s: error %q does not mention %q", name, msg, f)
		}
	}
}

func TestBadGGUF(t *testing.T) {
	path, f := writeGGUF(t, 1)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wantLoadError(t, "truncated", write("trunc.gguf", data[:len(data)/2]), Options{})
	wantLoadError(t, "header only", write("head.gguf", data[:40]), Options{})

	nan := append([]byte(nil), data...)
	ti, _ := f.Tensor("blk.1.ffn_up.weight")
	binary.LittleEndian.PutUint32(nan[f.DataOffset+int64(ti.Offset)+8:], math.Float32bits(float32(math.NaN())))
	wantLoadError(t, "NaN weight", write("nan.gguf", nan), Options{}, "blk.1.ffn_up.weight", "NaN")

	arch := rewriteGGUF(t, f, func(kv []gguf.KV, ts []gguf.WriterTensor) ([]gguf.KV, []gguf.WriterTensor) {
		return setKV(kv, "general.architecture", "mamba"), ts
	})
	wantLoadError(t, "unknown architecture", arch, Options{}, `"mamba"`, "llama", "gpt2")

	missing := rewriteGGUF(t, f, func(kv []gguf.KV, ts []gguf.WriterTensor) ([]gguf.KV, []gguf.WriterTensor) {
		return kv, append(ts[:3:3], ts[4:]...)
	})
	wantLoadError(t, "missing tensor", missing, Options{}, "missing")

	extra := rewriteGGUF(t, f, func(kv []gguf.KV, ts []gguf.WriterTensor) ([]gguf.KV, []gguf.WriterTensor) {
		return kv, append(ts, gguf.WriterTensor{Name: "blk.0.attn_q.bias", Dims: []uint64{32}, Type: gguf.TypeF32, Data: make([]float32, 32)})
	})
	wantLoadError(t, "extra tensor", extra, Options{}, "blk.0.attn_q.bias", "unexpected")

	shape := rewriteGGUF(t, f, func(kv []gguf.KV, ts []gguf.WriterTensor) ([]gguf.KV, []gguf.WriterTensor) {
		return setKV(kv, "llama.feed_forward_length", uint32(47)), ts
	})
	wantLoadError(t, "mis-shaped tensor", shape, Options{}, "ffn_gate.weight", "shape")

	// Absurd sizes fail on the tensors the file really holds, before any
	// allocation from them.
	layers := rewriteGGUF(t, f, func(kv []gguf.KV, ts []gguf.WriterTensor) ([]gguf.KV, []gguf.WriterTensor) {
		return setKV(kv, "llama.block_count", uint32(1<<30)), ts
	})
	wantLoadError(t, "absurd layer count", layers, Options{}, "layers")
	width := rewriteGGUF(t, f, func(kv []gguf.KV, ts []gguf.WriterTensor) ([]gguf.KV, []gguf.WriterTensor) {
		kv = setKV(kv, "llama.embedding_length", uint32(1<<30))
		kv = setKV(kv, "llama.rope.dimension_count", uint32(1<<28))
		return setKV(kv, "llama.feed_forward_length", uint32(1<<30)), ts
	})
	wantLoadError(t, "absurd width", width, Options{}, "shape")
	partial := rewriteGGUF(t, f, func(kv []gguf.KV, ts []gguf.WriterTensor) ([]gguf.KV, []gguf.WriterTensor) {
		return setKV(kv, "llama.rope.dimension_count", uint32(4)), ts
	})
	wantLoadError(t, "partial rotary", partial, Options{}, "dimension_count")
}

func TestBadLlama2C(t *testing.T) {
	m := randomModel(t, llamaConfig(), 2)
	path := filepath.Join(t.TempDir(), "m.bin")
	if err := Save(path, m, nil, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, b := range map[string][]byte{
		"trunc.bin":   data[:len(data)-4],
		"garbage.bin": []byte(strings.Repeat("garbage!", 40)),
		"empty.bin":   nil,
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		wantLoadError(t, name, p, Options{})
	}
	nan := append([]byte(nil), data...)
	binary.LittleEndian.PutUint32(nan[300:], math.Float32bits(float32(math.Inf(1))))
	p := filepath.Join(dir, "inf.bin")
	if err := os.WriteFile(p, nan, 0o644); err != nil {
		t.Fatal(err)
	}
	wantLoadError(t, "Inf weight", p, Options{}, "+Inf")
}

func TestBadHF(t *testing.T) {
	m := randomModel(t, llamaConfig(), 3)
	dir := filepath.Join(t.TempDir(), "hf")
	if err := Save(dir, m, nil, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, configFile)
	orig, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(from, to string) {
		t.Helper()
		if err := os.WriteFile(cfgPath, []byte(strings.Replace(string(orig), from, to, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit(`"model_type": "llama"`, `"model_type": "t5"`)
	wantLoadError(t, "unknown model_type", dir, Options{}, `"t5"`, "llama", "gpt2")
	edit(`"intermediate_size": 48`, `"intermediate_size": 50`)
	wantLoadError(t, "mis-shaped", dir, Options{}, "gate_proj", "shape")
	edit(`"hidden_act": "silu"`, `"hidden_act": "relu"`)
	wantLoadError(t, "activation", dir, Options{}, "relu")
	edit(`"num_hidden_layers": 2`, `"num_hidden_layers": 1`)
	wantLoadError(t, "extra layer", dir, Options{}, "model.layers.1", "unexpected")
	edit(`"tie_word_embeddings": false`, `"tie_word_embeddings": false, "rope_scaling": {"rope_type": "llama3", "factor": 8}`)
	wantLoadError(t, "rope scaling", dir, Options{}, "llama3")
	if err := os.WriteFile(cfgPath, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, weightsFile), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantLoadError(t, "garbage weights", dir, Options{})
	wantLoadError(t, "no config", t.TempDir(), Options{}, configFile)
}

func TestVocabMismatch(t *testing.T) {
	m := randomModel(t, llamaConfig(), 4)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.gguf")
	if err := Save(path, m, nil, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	small := mustTokenizer(t, tokenizer.ByteVocab())
	if err := Save(path, m, small, SaveOptions{}); err == nil {
		t.Error("saved a model with a tokenizer of another size")
	}
	tokPath := filepath.Join(dir, "byte")
	byteCfg := llamaConfig()
	byteCfg.Vocab = small.Size()
	if err := Save(tokPath, randomModel(t, byteCfg, 1), small, SaveOptions{Format: FormatLsalign}); err != nil {
		t.Fatal(err)
	}
	wantLoadError(t, "vocabulary mismatch", path, Options{Tokenizer: filepath.Join(tokPath, ggufVocabFile)},
		"258 tokens", fmt.Sprintf("vocabulary of %d", m.Config.Vocab))
}

// TestBadLsalignDir: an lsalign directory whose config is impossible names
// config.json and the field; NaN weights name the tensor.
func TestBadLsalignDir(t *testing.T) {
	m := randomModel(t, llamaConfig(), 4)
	m.Config.Pos = "alibi" // neither plain llama nor gpt2: saved as an lsalign directory
	dir := filepath.Join(t.TempDir(), "ls")
	if err := Save(dir, m, nil, SaveOptions{Format: FormatLsalign}); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, configFile)
	orig, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(orig), fmt.Sprintf(`"n_heads": %d`, m.Config.Heads), `"n_heads": 3`, 1)
	if bad == string(orig) {
		t.Fatal("test setup: n_heads not found in config.json")
	}
	if err := os.WriteFile(cfgPath, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	wantLoadError(t, "heads not dividing dim", dir, Options{}, configFile, "n_heads")

	if err := os.WriteFile(cfgPath, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	m.Params.View("blk.0.attn_v.weight")[2] = float32(math.NaN())
	// Either the writer refuses the NaN or the reader does; both must name the tensor.
	err = Save(dir, m, nil, SaveOptions{Format: FormatLsalign})
	if err == nil {
		_, err = Load(dir, Options{})
	}
	if err == nil || !strings.Contains(err.Error(), "blk.0.attn_v.weight") {
		t.Fatalf("NaN weight: %v", err)
	}
}
