package model

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lsalign/lsalign/format/safetensors"
	"github.com/lsalign/lsalign/internal/atomicfile"
)

// A model directory is lsalign's own format, the Hugging Face convention of
// weights beside a JSON config: config.json holds the Config and
// model.safetensors every tensor as F32 under its canonical name. Training
// checkpoints and exported lsalign models both use it.
const (
	ConfigFile  = "config.json"
	WeightsFile = "model.safetensors"
)

// maxConfigBytes bounds how much of an untrusted config.json is read.
const maxConfigBytes = 16 << 20

// WriteDir writes config.json and model.safetensors into dir (created if
// needed), each file atomically.
func (m *Model) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ts := make([]safetensors.WriterTensor, 0, len(m.Params.Layout.Tensors))
	for _, t := range m.Params.Layout.Tensors {
		shape := make([]int64, len(t.Shape))
		for i, d := range t.Shape {
			shape[i] = int64(d)
		}
		ts = append(ts, safetensors.WriterTensor{Name: t.Name, Shape: shape, DType: "F32",
			Data: m.Params.Data[t.Off : t.Off+t.Size]})
	}
	if err := safetensors.WriteFile(filepath.Join(dir, WeightsFile), ts, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	return atomicfile.WriteJSON(filepath.Join(dir, ConfigFile), m.Config)
}

// ReadDir reads a model directory written by WriteDir. The config must be
// valid, and the weights file must hold exactly the tensors the config
// needs, with the right shapes, as F32, and finite; errors name the file
// and the field or tensor.
func ReadDir(dir string) (*Model, error) {
	cfgPath := filepath.Join(dir, ConfigFile)
	f, err := os.Open(cfgPath)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	f.Close()
	if err != nil {
		return nil, err
	}
	if len(b) > maxConfigBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", cfgPath, maxConfigBytes)
	}
	var cfg Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	// Validate before New, which would otherwise size slabs from the config.
	if err := cfg.Defaults().Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	path := filepath.Join(dir, WeightsFile)
	st, err := safetensors.Open(path)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	// Every tensor the config needs must be in the file, whose size the
	// reader has checked, so this bounds the allocation New makes.
	layout := NewLayout(cfg.Defaults())
	for _, t := range st.Tensors {
		info, ok := layout.Lookup(t.Name)
		switch {
		case !ok:
			return nil, fmt.Errorf("%s: tensor %q: not part of this model's config", path, t.Name)
		case t.DType != "F32":
			return nil, fmt.Errorf("%s: tensor %q: dtype %s, want F32", path, t.Name, t.DType)
		case !sameShape(t.Shape, info.Shape):
			return nil, fmt.Errorf("%s: tensor %q: shape %v, want %v", path, t.Name, t.Shape, info.Shape)
		}
	}
	if len(st.Tensors) != len(layout.Tensors) { // names are unique and known, so some are missing
		for _, info := range layout.Tensors {
			if _, ok := st.Tensor(info.Name); !ok {
				return nil, fmt.Errorf("%s: tensor %q: missing", path, info.Name)
			}
		}
	}
	m, err := New(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	for _, t := range st.Tensors {
		info, _ := layout.Lookup(t.Name)
		v, err := st.Float32(t.Name)
		if err != nil {
			return nil, err
		}
		copy(m.Params.Data[info.Off:info.Off+info.Size], v)
	}
	if err := m.Params.CheckFinite(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func sameShape(a []int64, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != int64(b[i]) {
			return false
		}
	}
	return true
}
