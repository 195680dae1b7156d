package model

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/format/safetensors"
)

func TestDirRoundTripAndMissingTensor(t *testing.T) {
	m, err := NewInit(Config{Family: "gpt2", Vocab: 11, Dim: 8, Layers: 1, Heads: 2, MaxSeq: 6, Bias: true}, 3)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "m")
	if err := m.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	back, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Config != m.Config {
		t.Fatalf("config %+v, wrote %+v", back.Config, m.Config)
	}
	for i, v := range m.Params.Data {
		if back.Params.Data[i] != v {
			t.Fatalf("parameter %d: %v, wrote %v", i, back.Params.Data[i], v)
		}
	}

	// Drop one tensor: the error names it.
	var ts []safetensors.WriterTensor
	for _, ti := range m.Params.Layout.Tensors {
		if ti.Name == "blk.0.ffn_down.bias" {
			continue
		}
		shape := make([]int64, len(ti.Shape))
		for i, d := range ti.Shape {
			shape[i] = int64(d)
		}
		ts = append(ts, safetensors.WriterTensor{Name: ti.Name, Shape: shape, Data: m.Params.View(ti.Name)})
	}
	if err := safetensors.WriteFile(filepath.Join(dir, WeightsFile), ts, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadDir(dir); err == nil || !strings.Contains(err.Error(), `"blk.0.ffn_down.bias": missing`) {
		t.Fatalf("missing tensor: %v", err)
	}

	// An oversized config.json is refused before it is parsed.
	big := make([]byte, maxConfigBytes+1)
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), big, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadDir(dir); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("oversized config: %v", err)
	}
}
