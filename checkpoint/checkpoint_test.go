package checkpoint_test

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/checkpoint"
	"github.com/lsalign/lsalign/data"
	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/optim"
	"github.com/lsalign/lsalign/train"
)

var cfg = model.Config{Family: "llama", Vocab: 40, Dim: 16, Layers: 2, Heads: 2, KVHeads: 1, Hidden: 24, MaxSeq: 16}

// steps advances a stepper n steps with batches drawn from r.
func steps(t *testing.T, st *train.Stepper, r *rng.RNG, corpus []int32, n int) []float64 {
	t.Helper()
	const B, T = 2, 16
	var losses []float64
	for range n {
		inp, tgt := data.SplitShift(data.RandomWindows(corpus, B, T+1, r), B, T)
		l, err := st.StepCE(inp, tgt, B, T, 1e-2)
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, l)
	}
	return losses
}

// TestKillAndResume: a run stopped after a checkpoint and resumed from it
// continues bit-identically to a run that never stopped.
func TestKillAndResume(t *testing.T) {
	corpus := data.Markov(40, 2000, 3)
	m, err := model.NewInit(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	full := train.NewStepper(m, 0.01)
	r := rng.New(9)
	steps(t, full, r, corpus, 5)
	dir := filepath.Join(t.TempDir(), "ckpt")
	extra, _ := json.Marshal(map[string]int{"cursor": 5})
	if err := checkpoint.Save(dir, m, full.Opt, checkpoint.State{Step: 5, RNG: r.Snapshot(), Extra: extra}); err != nil {
		t.Fatal(err)
	}
	want := steps(t, full, r, corpus, 5)

	m2, opt2, st, err := checkpoint.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, st.Extra); err != nil {
		t.Fatal(err)
	}
	if st.Step != 5 || compact.String() != string(extra) {
		t.Fatalf("state %+v", st)
	}
	resumed := &train.Stepper{Model: m2, Opt: opt2}
	got := steps(t, resumed, rng.FromState(st.RNG), corpus, 5)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("step %d after resume: loss %v, uninterrupted %v", 5+i, got[i], want[i])
		}
	}
	for i, v := range m.Params.Data {
		if m2.Params.Data[i] != v {
			t.Fatalf("parameter %d differs after resume", i)
		}
	}
}

func TestSaveReplacesAndRecovers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ckpt")
	m, _ := model.NewInit(cfg, 1)
	for step := 1; step <= 2; step++ {
		if err := checkpoint.Save(dir, m, optim.NewAdamW(m.NumParams(), 0), checkpoint.State{Step: step}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, st, err := checkpoint.Load(dir); err != nil || st.Step != 2 {
		t.Fatalf("Load after two saves: step %d err %v", st.Step, err)
	}
	// A Save killed between its renames leaves only dir.old: Load still finds it.
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	if _, _, st, err := checkpoint.Load(dir); err != nil || st.Step != 2 {
		t.Fatalf("Load from .old: step %d err %v", st.Step, err)
	}
}

func TestLoadRejectsBadFiles(t *testing.T) {
	m, _ := model.NewInit(cfg, 1)
	good := filepath.Join(t.TempDir(), "good")
	if err := checkpoint.Save(good, m, nil, checkpoint.State{Step: 1}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		mutate func(dir string)
		want   string
	}{
		{"truncated weights", func(d string) {
			p := filepath.Join(d, checkpoint.WeightsFile)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}, checkpoint.WeightsFile},
		{"garbage weights", func(d string) {
			os.WriteFile(filepath.Join(d, checkpoint.WeightsFile), []byte("not a safetensors file at all"), 0o644)
		}, checkpoint.WeightsFile},
		{"heads not dividing dim", withConfig(func(c *model.Config) { c.Heads = 3 }), "n_heads"},
		{"kv heads not dividing heads", withConfig(func(c *model.Config) { c.KVHeads = 3 }), "n_kv_heads"},
		{"negative layers", withConfig(func(c *model.Config) { c.Layers = -1 }), "n_layers"},
		{"different shape", withConfig(func(c *model.Config) { c.Hidden = 32 }), "shape"},
		{"NaN weight", func(d string) {
			bad, _ := model.New(cfg)
			copy(bad.Params.Data, m.Params.Data)
			bad.Params.View("blk.1.ffn_up.weight")[3] = float32(math.NaN())
			bad.WriteDir(d)
		}, checkpoint.WeightsFile + ": tensor blk.1.ffn_up.weight: element 3 is NaN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ck")
			copyDir(t, good, dir)
			tc.mutate(dir)
			_, _, _, err := checkpoint.Load(dir)
			if err == nil {
				t.Fatal("Load accepted a bad checkpoint")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %q", err, tc.want)
			}
		})
	}
}

// withConfig returns a mutation that rewrites the checkpoint's config.json
// with edit applied to the test config.
func withConfig(edit func(*model.Config)) func(dir string) {
	return func(dir string) {
		c := cfg
		edit(&c)
		b, _ := json.Marshal(c)
		os.WriteFile(filepath.Join(dir, checkpoint.ConfigFile), b, 0o644)
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
