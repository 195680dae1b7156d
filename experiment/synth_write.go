package experiment

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/lsalign/lsalign/internal/atomicfile"
	"github.com/lsalign/lsalign/internal/buildinfo"
	"github.com/lsalign/lsalign/model"
)

// SynthConfig is config.json: every setting of a study and where it ran.
type SynthConfig struct {
	Study        string            `json:"study"`
	Options      SynthOptions      `json:"options"`
	Model        model.Config      `json:"model"` // for pe nope and vocab 2; pos and vocab vary by combination
	InitStd      float64           `json:"init_std"`
	Loss         string            `json:"loss"`
	Evaluation   string            `json:"evaluation"`
	Definitions  map[string]string `json:"definitions"`
	Combinations int               `json:"combinations"`
	Workers      int               `json:"workers"`
	GOMAXPROCS   int               `json:"gomaxprocs"`
	GoVersion    string            `json:"go_version"`
	GitCommit    string            `json:"git_commit,omitempty"` // from the binary's build info or git, when known
	GitModified  bool              `json:"git_modified,omitempty"`
	Seconds      float64           `json:"seconds"`
}

// Definitions of the two errors, shared by config.json and summary.md.
const (
	DefMSE = "mean over held-out samples of (f^-1(y) - x)^2, where x is the task's target and y the model's " +
		"output: the error in the task's own units (for the length task, length space)"
	DefMSEFSpace = "mean over held-out samples of (y - f(x))^2: the error in the space the model was " +
		"trained in; equal to mse for the identity and for tasks without a reparameterization"
	DefEvaluation = "eval_samples held-out sequences of the longest test length per (task, seed), from a stream " +
		"disjoint from training; the error at length l is over their prefixes of length l, which for a causal " +
		"model with positions starting at 0 is the same as feeding each prefix alone"
)

// Config describes the study for config.json.
func (r *SynthResult) Config() SynthConfig {
	o := r.Options
	c := SynthConfig{
		Study: "synth", Options: o, Model: o.modelConfig(model.PosNoPE, 2).Defaults(), InitStd: 0.02,
		Loss: "mean squared error on f(target), batch mean", Evaluation: DefEvaluation,
		Definitions:  map[string]string{"mse": DefMSE, "mse_fspace": DefMSEFSpace},
		Combinations: len(r.Training), Workers: o.workerCount(len(r.Training)), GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion: runtime.Version(), Seconds: r.Seconds,
	}
	c.GitCommit, c.GitModified = buildinfo.Commit()
	return c
}

// WriteData writes results.json, results.csv, training.json and
// config.json into dir (which must exist).
func (r *SynthResult) WriteData(dir string) error {
	if err := atomicfile.Write(filepath.Join(dir, "results.json"), r.WriteJSON); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "results.csv"), r.WriteCSV); err != nil {
		return err
	}
	if err := atomicfile.WriteJSON(filepath.Join(dir, "training.json"), r.Training); err != nil {
		return err
	}
	return atomicfile.WriteJSON(filepath.Join(dir, "config.json"), r.Config())
}

// WriteOutputs writes every file of the study into dir (which must exist):
// the data files of WriteData, summary.md and the figures. It returns their
// names.
func (r *SynthResult) WriteOutputs(dir string) ([]string, error) {
	if err := r.WriteData(dir); err != nil {
		return nil, err
	}
	files := []string{"results.json", "results.csv", "training.json", "config.json", "summary.md"}
	err := atomicfile.Write(filepath.Join(dir, "summary.md"), func(w io.Writer) error {
		_, err := io.WriteString(w, r.Summary())
		return err
	})
	if err != nil {
		return nil, err
	}
	figs, err := saveFigures(dir, r.Figures())
	if err != nil {
		return nil, err
	}
	return append(files, figs...), nil
}

// WriteJSON writes the rows as a JSON list, one object per line:
// {"task","pe","reparam","seed","length","mse","mse_fspace"}.
func (r *SynthResult) WriteJSON(w io.Writer) error {
	if _, err := io.WriteString(w, "["); err != nil {
		return err
	}
	for i, row := range r.Rows {
		b, err := json.Marshal(row)
		if err != nil {
			return fmt.Errorf("row %d (%v length %d): %w", i, row.SynthCombo, row.Length, err)
		}
		sep := ",\n"
		if i == 0 {
			sep = "\n"
		}
		if _, err := fmt.Fprintf(w, "%s%s", sep, b); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "\n]\n")
	return err
}

// WriteCSV writes the rows with a header: task,pe,reparam,seed,length,mse,mse_fspace.
func (r *SynthResult) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"task", "pe", "reparam", "seed", "length", "mse", "mse_fspace"})
	for _, row := range r.Rows {
		cw.Write([]string{row.Task, row.PE, row.Reparam, strconv.Itoa(row.Seed), strconv.Itoa(row.Length),
			strconv.FormatFloat(row.MSE, 'g', -1, 64), strconv.FormatFloat(row.MSEFSpace, 'g', -1, 64)})
	}
	cw.Flush()
	return cw.Error()
}
