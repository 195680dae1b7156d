// Package train is the training loop: optimizer steps on the plain or
// regularized objective, evaluation, checkpoints, JSONL metrics and resume.
package train

import (
	"fmt"
	"math"

	"github.com/lsalign/lsalign/align"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/optim"
)

// Stepper performs optimizer steps on one model. Not safe for concurrent use.
//
// Before each update it copies the parameters and the AdamW state (three
// parameter-sized buffers, allocated once), so that a step whose update
// makes a weight non-finite can be undone, and Rollback can undo the last
// update when the next step's loss shows that it went wrong.
type Stepper struct {
	Model *model.Model
	Opt   *optim.AdamW
	Obj   align.Objective
	Clip  float64 // global gradient-norm limit; 0 disables clipping

	GradNorm float64 // global gradient norm of the last step, before clipping
	dlogits  []float32
	backup   stepBackup
}

// stepBackup is the state before the latest update.
type stepBackup struct {
	params, m, v []float32
	optStep      int
	valid        bool // holds a state Rollback may restore
}

// NonFiniteError reports a NaN or Inf loss, gradient norm or, after the
// update, parameter. The step that met it leaves the parameters and the
// optimizer state as they were before it.
type NonFiniteError struct {
	What  string // "loss", "gradient norm" or "parameter"
	Value float64
}

func (e *NonFiniteError) Error() string { return fmt.Sprintf("%s is %v", e.What, e.Value) }

func nonFinite(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) }

// NewStepper pairs a model with an AdamW optimizer.
func NewStepper(m *model.Model, weightDecay float64) *Stepper {
	m.EnsureGrads()
	return &Stepper{Model: m, Opt: optim.NewAdamW(m.NumParams(), weightDecay)}
}

func (s *Stepper) grads(n int) []float32 {
	if cap(s.dlogits) < n {
		s.dlogits = make([]float32, n)
	}
	s.dlogits = s.dlogits[:n]
	clear(s.dlogits)
	return s.dlogits
}

// StepCE takes one step on next-token cross-entropy over inputs and
// targets [B, T] and returns the loss before the update. A non-finite loss
// or gradient norm returns a *NonFiniteError and skips the update.
func (s *Stepper) StepCE(inp, tgt []int32, B, T int, lr float64) (float64, error) {
	m := s.Model
	if err := m.Forward(inp, B, T, model.ForwardOptions{Train: true}); err != nil {
		return 0, err
	}
	V := m.Config.Vocab
	dl := s.grads(B * T * V)
	loss := s.Obj.CrossEntropy(m.Logits(), dl, tgt, B*T, V, 1)
	if nonFinite(loss) {
		return loss, &NonFiniteError{"loss", loss}
	}
	return loss, s.finish(dl, lr)
}

// StepPair takes one step on L* = L_train + alpha*L_misalign over B
// sequences of l+extra+1 tokens (see align.PairWindows), running both
// windows in one batch of 2B.
func (s *Stepper) StepPair(seqs []int32, B, l, extra int, lr float64) (align.Loss, error) {
	m := s.Model
	inp, tgt := align.PairWindows(seqs, B, l, extra)
	if err := m.Forward(inp, 2*B, l, model.ForwardOptions{Train: true}); err != nil {
		return align.Loss{}, err
	}
	V := m.Config.Vocab
	dl := s.grads(2 * B * l * V)
	loss := s.Obj.Pair(m.Logits(), dl, tgt, B, l, extra, V)
	if nonFinite(loss.Total) {
		return loss, &NonFiniteError{"loss", loss.Total}
	}
	return loss, s.finish(dl, lr)
}

func (s *Stepper) finish(dlogits []float32, lr float64) error {
	m := s.Model
	m.ZeroGrad()
	if err := m.Backward(dlogits); err != nil {
		return err
	}
	// ClipGradNorm with a limit <= 0 only measures.
	s.GradNorm = optim.ClipGradNorm(m.Grads.Data, s.Clip)
	if nonFinite(s.GradNorm) {
		return &NonFiniteError{"gradient norm", s.GradNorm}
	}
	s.keepBackup()
	s.Opt.Update(m.Params.Data, m.Grads.Data, lr)
	for _, p := range m.Params.Data {
		if nonFinite(float64(p)) {
			s.Rollback()
			return &NonFiniteError{"parameter", float64(p)}
		}
	}
	return nil
}

// keepBackup copies the parameters and the optimizer state into the
// backup buffers, allocating them on first use only.
func (s *Stepper) keepBackup() {
	b, o := &s.backup, s.Opt
	b.params = append(b.params[:0], s.Model.Params.Data...)
	b.m = append(b.m[:0], o.M...)
	b.v = append(b.v[:0], o.V...)
	b.optStep, b.valid = o.Step, true
}

// Rollback restores the parameters and optimizer state from before the
// latest update and reports whether it did: false when no update was
// taken since the Stepper was made or since the previous Rollback (a step
// that met a non-finite parameter has already rolled its own update back).
// The caller uses it when a step's loss or gradient is non-finite: the
// update before that step produced the weights that failed.
func (s *Stepper) Rollback() bool {
	b, o := &s.backup, s.Opt
	if !b.valid {
		return false
	}
	copy(s.Model.Params.Data, b.params)
	copy(o.M, b.m)
	copy(o.V, b.v)
	o.Step, b.valid = b.optStep, false
	return true
}
