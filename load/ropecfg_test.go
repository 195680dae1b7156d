package load

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRopeScalingOrigCtx: original_max_position_embeddings, when present,
// must be a positive integer; only its absence (or null) falls back to
// max_position_embeddings.
func TestRopeScalingOrigCtx(t *testing.T) {
	for _, v := range []any{-4096.0, 0.0, 4096.5, 1e300} {
		_, err := ropeScalingFromHF(map[string]any{"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": v}, 8192)
		if err == nil || !strings.Contains(err.Error(), "original_max_position_embeddings") {
			t.Errorf("original_max_position_embeddings %v: got %v, want an error naming the field", v, err)
		}
	}
	for _, c := range []struct {
		v    any
		want int
	}{{nil, 8192}, {2048.0, 2048}} {
		m := map[string]any{"rope_type": "dynamic", "factor": 2.0}
		if c.v != nil {
			m["original_max_position_embeddings"] = c.v
		}
		s, err := ropeScalingFromHF(m, 8192)
		if err != nil || s.OrigCtx != c.want {
			t.Errorf("original_max_position_embeddings %v: context %d, %v; want %d", c.v, s.OrigCtx, err, c.want)
		}
	}
	s, err := ropeScalingFromHF(map[string]any{"rope_type": "yarn", "factor": 2.0, "original_max_position_embeddings": nil}, 1024)
	if err != nil || s.OrigCtx != 1024 {
		t.Errorf("null original_max_position_embeddings: context %d, %v; want the fallback 1024", s.OrigCtx, err)
	}
}

// TestHFConfigRejectsIgnoredSettings: settings the loader cannot honour
// are errors naming config.json and the field, through Load.
func TestHFConfigRejectsIgnoredSettings(t *testing.T) {
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
	const anchor = `"tie_word_embeddings": false`
	if !strings.Contains(string(orig), anchor) {
		t.Fatalf("test setup: %s not in config.json", anchor)
	}
	for _, c := range []struct{ name, extra, field string }{
		{"partial rotary", `, "partial_rotary_factor": 0.4`, "partial_rotary_factor"},
		{"negative original context", `, "rope_scaling": {"rope_type": "yarn", "factor": 4, "original_max_position_embeddings": -1}`,
			"original_max_position_embeddings"},
	} {
		if err := os.WriteFile(cfgPath, []byte(strings.Replace(string(orig), anchor, anchor+c.extra, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		wantLoadError(t, c.name, dir, Options{}, configFile, c.field)
	}
}
