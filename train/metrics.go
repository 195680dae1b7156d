package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"

	"github.com/lsalign/lsalign/internal/atomicfile"
)

// Metrics is one line of metrics.jsonl: the step just taken and, on
// evaluation steps, the evaluator's numbers merged into the same object.
type Metrics struct {
	Step     int      `json:"step"` // optimizer updates done, 1-based
	Loss     float64  `json:"loss"` // the objective (L* with ce+misalign)
	CE       float64  `json:"ce"`   // L_train
	Misalign *float64 `json:"misalign,omitempty"`
	LExtra   int      `json:"l_extra,omitempty"` // this step's l_extra (paired data)
	LR       float64  `json:"lr"`
	GradNorm float64  `json:"grad_norm"` // before clipping
	// Tokens counts the training tokens drawn so far: each step adds its
	// sequences' lengths (batch × (l+1), or batch × (l+l_extra+1) with paired
	// data), so a token drawn again later, or by two overlapping windows'
	// sequences, counts each time it is drawn.
	Tokens int64 `json:"tokens"`
	// Timing: the only fields that differ between identical runs.
	TokensPerS float64 `json:"tokens_per_s"`
	ElapsedS   float64 `json:"elapsed_s"`

	// Eval is merged into the object; non-finite values become null and a
	// key that names one of the fields above gets the prefix "eval_".
	Eval map[string]float64 `json:"-"`
}

// TimingKeys returns the metrics fields that depend on the machine rather
// than on the run; comparisons of runs ignore them.
func TimingKeys() []string { return []string{"tokens_per_s", "elapsed_s"} }

// MarshalJSON writes the fixed fields followed by the evaluation numbers.
func (m Metrics) MarshalJSON() ([]byte, error) {
	type plain Metrics
	b, err := json.Marshal(plain(m))
	if err != nil || len(m.Eval) == 0 {
		return b, err
	}
	var fixed map[string]json.RawMessage
	if err := json.Unmarshal(b, &fixed); err != nil {
		return nil, err
	}
	ev := make(map[string]any, len(m.Eval))
	for k, v := range m.Eval {
		if _, clash := fixed[k]; clash {
			k = "eval_" + k
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			ev[k] = nil
		} else {
			ev[k] = v
		}
	}
	e, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	return append(append(b[:len(b)-1], ','), e[1:]...), nil
}

// metricsLog appends one JSON line per step to a file.
type metricsLog struct {
	path string
	f    *os.File
}

// openMetrics opens path for appending after keeping only the lines of
// steps <= keep (the checkpoint a run resumes from; 0 keeps nothing). A
// line that does not parse, such as one torn by a kill, ends what is kept.
func openMetrics(path string, keep int) (*metricsLog, error) {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var kept []byte
	sc := bufio.NewScanner(bytes.NewReader(old))
	sc.Buffer(nil, 1<<24)
	for keep > 0 && sc.Scan() {
		var line struct {
			Step *int `json:"step"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Step == nil || *line.Step > keep {
			break
		}
		kept = append(append(kept, sc.Bytes()...), '\n')
	}
	if err := atomicfile.WriteBytes(path, kept); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &metricsLog{path: path, f: f}, nil
}

// write appends one line with a single write call, so a kill leaves at
// most one torn line at the end.
func (l *metricsLog) write(m Metrics) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("%s: %w", l.path, err)
	}
	return nil
}

// truncate keeps only the lines of steps <= keep, as openMetrics does,
// and goes on appending after them.
func (l *metricsLog) truncate(keep int) error {
	if err := l.f.Close(); err != nil {
		return err
	}
	nl, err := openMetrics(l.path, keep)
	if err != nil {
		return err
	}
	*l = *nl
	return nil
}

func (l *metricsLog) close() error { return l.f.Close() }
