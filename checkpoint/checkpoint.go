// Package checkpoint saves and restores training state: model weights as
// safetensors with a JSON config beside them (the Hugging Face convention),
// AdamW moments, the step and the RNG state.
//
// A checkpoint is a directory. Save writes a complete new directory next to
// the old one and swaps it in with renames, so a run killed at any moment
// leaves either the previous or the new checkpoint, never a torn one.
package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/lsalign/lsalign/format/safetensors"
	"github.com/lsalign/lsalign/internal/atomicfile"
	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/optim"
)

// File names inside a checkpoint directory.
const (
	WeightsFile   = model.WeightsFile // the model directory (model.WriteDir)
	ConfigFile    = model.ConfigFile
	OptimizerFile = "optimizer.safetensors"
	StateFile     = "state.json"
)

// State is the non-tensor training state.
type State struct {
	Step int       `json:"step"`
	RNG  rng.State `json:"rng"`
	// Extra is the caller's own resumable state (training options, data
	// cursor, metrics so far), stored verbatim.
	Extra json.RawMessage `json:"extra,omitempty"`
}

// Save writes the model, optimizer (may be nil) and state to dir atomically.
func Save(dir string, m *model.Model, opt *optim.AdamW, st State) error {
	return save(dir, m, opt, st, nil)
}

// Stages of Save's swap at which a run can be killed; tests stop there.
const (
	stageOldRemoved = "old removed"   // dir.old deleted, dir (if any) still in place
	stageDirMoved   = "dir moved"     // dir renamed to dir.old, tmp not yet in place
	stageTmpMoved   = "tmp moved"     // tmp renamed to dir, dir.old not yet deleted
	stageRecovered  = "old recovered" // a previous kill's dir.old renamed back to dir
)

// save is Save with an optional kill simulation: stop is called after each
// stage of the swap, and an error it returns ends save there, as a kill
// would (tests use it; Save passes nil).
func save(dir string, m *model.Model, opt *optim.AdamW, st State, stop func(stage string) error) error {
	at := func(stage string) error {
		if stop == nil {
			return nil
		}
		return stop(stage)
	}
	// A Save killed between its two renames left dir.old as the only
	// checkpoint. Put it back first: below, dir.old is deleted before the new
	// checkpoint is in place, and a kill then would leave none.
	recovered, err := recoverOld(dir)
	if err != nil {
		return err
	}
	if recovered {
		if err := at(stageRecovered); err != nil {
			return err
		}
	}
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	if err := m.WriteDir(tmp); err != nil {
		return err
	}
	if opt != nil {
		meta := map[string]string{
			"step": strconv.Itoa(opt.Step), "beta1": ftoa(opt.Beta1), "beta2": ftoa(opt.Beta2),
			"eps": ftoa(opt.Eps), "weight_decay": ftoa(opt.WeightDecay),
		}
		n := int64(len(opt.M))
		err := safetensors.WriteFile(filepath.Join(tmp, OptimizerFile), []safetensors.WriterTensor{
			{Name: "exp_avg", Shape: []int64{n}, DType: "F32", Data: opt.M},
			{Name: "exp_avg_sq", Shape: []int64{n}, DType: "F32", Data: opt.V},
		}, meta)
		if err != nil {
			return err
		}
	}
	if err := atomicfile.WriteJSON(filepath.Join(tmp, StateFile), st); err != nil {
		return err
	}
	if err := syncDir(tmp); err != nil {
		return err
	}
	old := dir + ".old"
	if err := os.RemoveAll(old); err != nil {
		return err
	}
	if err := at(stageOldRemoved); err != nil {
		return err
	}
	if _, err := os.Stat(dir); err == nil {
		if err := os.Rename(dir, old); err != nil {
			return err
		}
		if err := at(stageDirMoved); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		return err
	}
	if err := at(stageTmpMoved); err != nil {
		return err
	}
	return os.RemoveAll(old)
}

// recoverOld renames dir.old back to dir when dir is missing and dir.old
// holds a checkpoint, reporting whether it did.
func recoverOld(dir string) (bool, error) {
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		return false, nil // dir is there (or cannot be examined; the swap below will say)
	}
	old := dir + ".old"
	if _, err := os.Stat(filepath.Join(old, StateFile)); err != nil {
		return false, nil
	}
	if err := os.Rename(old, dir); err != nil {
		return false, err
	}
	return true, syncDir(filepath.Dir(dir))
}

// Exists reports whether dir (or the previous copy a killed Save left)
// holds a checkpoint.
func Exists(dir string) bool {
	_, err := resolve(dir)
	return err == nil
}

// resolve returns the directory to read: dir, or dir.old when a Save was
// killed between its two renames.
func resolve(dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, StateFile)); err == nil {
		return dir, nil
	}
	old := dir + ".old"
	if _, err := os.Stat(filepath.Join(old, StateFile)); err == nil {
		return old, nil
	}
	return "", fmt.Errorf("checkpoint %s: %w", dir, fs.ErrNotExist)
}

// Load restores a checkpoint written by Save. The optimizer is nil when the
// checkpoint has none.
func Load(dir string) (*model.Model, *optim.AdamW, State, error) {
	var st State
	d, err := resolve(dir)
	if err != nil {
		return nil, nil, st, err
	}
	m, err := model.ReadDir(d)
	if err != nil {
		return nil, nil, st, err
	}
	if err := readJSON(filepath.Join(d, StateFile), &st); err != nil {
		return nil, nil, st, err
	}
	opt, err := loadOptimizer(filepath.Join(d, OptimizerFile), m.NumParams())
	if err != nil {
		return nil, nil, st, err
	}
	return m, opt, st, nil
}

func loadOptimizer(path string, n int) (*optim.AdamW, error) {
	f, err := safetensors.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	opt := optim.NewAdamW(n, 0)
	for _, name := range []string{"exp_avg", "exp_avg_sq"} {
		t, ok := f.Tensor(name)
		if !ok {
			return nil, fmt.Errorf("%s: tensor %q: missing", path, name)
		}
		if t.DType != "F32" || !(len(t.Shape) == 1 && t.Shape[0] == int64(n)) {
			return nil, fmt.Errorf("%s: tensor %q: %s %v, want F32 [%d]", path, name, t.DType, t.Shape, n)
		}
		v, err := f.Float32(name)
		if err != nil {
			return nil, err
		}
		if name == "exp_avg" {
			opt.M = v
		} else {
			opt.V = v
		}
	}
	meta := f.Metadata
	var perr error
	num := func(key string) float64 {
		x, err := strconv.ParseFloat(meta[key], 64)
		if err != nil && perr == nil {
			perr = fmt.Errorf("%s: metadata %q: %v", path, key, err)
		}
		return x
	}
	opt.Step = int(num("step"))
	opt.Beta1, opt.Beta2, opt.Eps, opt.WeightDecay = num("beta1"), num("beta2"), num("eps"), num("weight_decay")
	if perr != nil {
		return nil, perr
	}
	return opt, nil
}

func ftoa(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
